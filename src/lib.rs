//! vouch: a public, tamper-evident ledger of supplier performance records.
//!
//! Auditors, buyers and suppliers sign statements about garment and footwear
//! factories; vouch sequences them into an append-only [RFC 9162] Merkle log, signs
//! [C2SP] checkpoints, and serves tiles and proofs that any standard client can check.
//!
//! The pure core ([`merkle`], [`note`], [`tiles`]) does no I/O; [`store`] and [`log`]
//! do. `docs/design.md` describes the architecture.
//!
//! [RFC 9162]: https://www.rfc-editor.org/rfc/rfc9162
//! [C2SP]: https://c2sp.org/tlog-checkpoint
#![forbid(unsafe_code)]

pub mod bundle;
pub mod cli;
pub mod client;
pub mod entry;
pub mod envelope;
pub mod index;
pub mod keyfile;
pub mod log;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod policy;
pub mod proof;
pub mod registry;
pub mod server;
pub mod standing;
pub mod statement;
pub mod store;
pub mod summary;
pub mod tiles;
pub mod untp;
pub mod verify;
pub mod witness;
pub mod words;
