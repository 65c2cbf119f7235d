//! Signed notes and checkpoints, per [C2SP signed-note] and [C2SP tlog-checkpoint].
//!
//! A signed note is a UTF-8 text ending in a newline, a blank line, then one line per
//! signature (the dash is U+2014):
//!
//! ```text
//! vouch.example/vn-apparel
//! 8
//! XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=
//!
//! — vouch.example/vn-apparel wcI2ozsXV1b5qLfDpu8m/TcItXK9nDZKkcPKXZ5Yz2v/fBtS35l9XKY0S73Y5lc9rX9JeB0O4D2Oo7qazarO01FjBgk=
//! ```
//!
//! Key strings: a verifier key is `<name>+<key id hex>+<base64(0x01 || public key)>`, a
//! signer key `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`, where the key id
//! is the first four bytes of `SHA-256(name || 0x0A || 0x01 || public key)`.
//!
//! Witnesses cosign checkpoints per [C2SP tlog-cosignature]: their keys are the same
//! strings with the algorithm byte 0x04 (`cosignature/v1`), and their signature is a
//! big-endian 64-bit POSIX time followed by an Ed25519 signature of
//! `cosignature/v1\ntime <time>\n` and the checkpoint body. [`Verifier::parse`] and
//! [`Signer::parse`] read only 0x01 keys (a log's, a participant's);
//! [`Verifier::parse_cosigner`] and [`Signer::parse_cosigner`] only 0x04 keys.
//!
//! [C2SP signed-note]: https://c2sp.org/signed-note
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP tlog-cosignature]: https://c2sp.org/tlog-cosignature

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// Standard base64 with padding; decoding refuses missing padding and non-zero
/// trailing bits, so every value has exactly one accepted encoding.
pub const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// The largest note [`open`] accepts.
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// The most signature lines [`open`] reads.
pub const MAX_SIGNATURES: usize = 100;
/// The longest key name accepted.
pub const MAX_NAME_LEN: usize = 256;

const ALG_ED25519: u8 = 0x01;
const ALG_COSIGNATURE_V1: u8 = 0x04;
const NOT_A_WITNESS_KEY: &str = "key is not base64 of 0x04 (cosignature/v1) and 32 bytes: a witness key is made by `vouch keygen NAME --witness`";

/// What a key signs: notes (a log's checkpoints), or cosignatures of checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alg {
    /// Ed25519 over the note body (signature type 0x01).
    Ed25519,
    /// C2SP tlog-cosignature `cosignature/v1`: Ed25519 over a header, a time line and
    /// the checkpoint body, the time sent beside the signature (signature type 0x04).
    CosignatureV1,
}

impl Alg {
    fn byte(self) -> u8 {
        match self {
            Alg::Ed25519 => ALG_ED25519,
            Alg::CosignatureV1 => ALG_COSIGNATURE_V1,
        }
    }
}

/// The message a `cosignature/v1` signs: `cosignature/v1\ntime <time>\n` and the
/// checkpoint body (C2SP tlog-cosignature).
pub fn cosigned_message(body: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{body}").into_bytes()
}

/// The time a `cosignature/v1` signature names (its first eight bytes), if it has the
/// length of one and the time fits in 63 bits, as the spec requires.
pub fn cosignature_time(sig: &[u8]) -> Option<u64> {
    let (time, rest) = sig.split_first_chunk::<8>()?;
    let time = u64::from_be_bytes(*time);
    (rest.len() == 64 && i64::try_from(time).is_ok()).then_some(time)
}
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note, key or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error(
        "key name {0:?} is invalid: it must be 1 to 256 characters with no whitespace and no '+'"
    )]
    InvalidName(String),
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    #[error("malformed signer key: {0}")]
    MalformedSignerKey(&'static str),
    #[error(
        "key id {stated:08x} in the key string does not match the key (computed {computed:08x})"
    )]
    KeyIdMismatch { stated: u32, computed: u32 },
    #[error("note text must be non-empty UTF-8 ending in a newline, without control characters")]
    MalformedText,
    #[error("note is larger than {MAX_NOTE_LEN} bytes")]
    TooLarge,
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("signature by trusted key {name}+{id:08x} does not verify")]
    InvalidSignature { name: String, id: u32 },
    #[error("note has no signature by a trusted key")]
    NoTrustedSignature,
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
}

/// A key name: non-empty, no whitespace, no `+`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// # Errors
    /// [`NoteError::InvalidName`] when the name is empty, too long, or has whitespace or `+`.
    pub fn new(name: &str) -> Result<Self, NoteError> {
        if name.is_empty()
            || name.len() > MAX_NAME_LEN
            || name.contains('+')
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(NoteError::InvalidName(name.to_owned()));
        }
        Ok(KeyName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key id of an Ed25519 key: the first four bytes of
/// `SHA-256(name || 0x0A || 0x01 || public key)`.
pub fn key_id(name: &KeyName, key: &VerifyingKey) -> u32 {
    key_id_of(Alg::Ed25519, name, key)
}

/// The key id of a key for `alg`: `SHA-256(name || 0x0A || alg byte || public key)[:4]`.
pub fn key_id_of(alg: Alg, name: &KeyName, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_str().as_bytes());
    h.update([b'\n', alg.byte()]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Eight hex digits; Go's sumdb/note accepts either case, and so does vouch.
fn parse_key_id(hex_id: &str) -> Option<u32> {
    let ok = hex_id.len() == 8 && hex_id.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| u32::from_str_radix(hex_id, 16).ok()).flatten()
}

fn decode_key_bytes(b64: &str, alg: Alg) -> Option<[u8; 32]> {
    let raw = BASE64.decode(b64).ok()?;
    match raw.split_first() {
        Some((&b, key)) if b == alg.byte() => key.try_into().ok(),
        _ => None,
    }
}

/// Verifier keys that parsed, by their text (see [`Verifier::parse_as`]).
static PARSED: std::sync::LazyLock<quick_cache::sync::Cache<String, Verifier>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(16_384));

/// A public key that verifies a note's signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: KeyName,
    id: u32,
    key: VerifyingKey,
    alg: Alg,
}

impl Verifier {
    pub fn new(name: KeyName, key: VerifyingKey) -> Self {
        Self::of(Alg::Ed25519, name, key)
    }

    /// A key that makes `alg` signatures.
    pub fn of(alg: Alg, name: KeyName, key: VerifyingKey) -> Self {
        let id = key_id_of(alg, &name, &key);
        Verifier { name, id, key, alg }
    }

    /// Parses a verifier key string `<name>+<key id hex>+<base64(0x01 || key)>`.
    ///
    /// # Errors
    /// When a part is malformed or the key id does not match the key.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        Self::parse_as(s, Alg::Ed25519)
    }

    /// Parses a witness's verifier key string (a C2SP vkey with signature type 0x04,
    /// `cosignature/v1`): `<name>+<key id hex>+<base64(0x04 || key)>`.
    ///
    /// # Errors
    /// When a part is malformed or the key id does not match the key.
    pub fn parse_cosigner(s: &str) -> Result<Self, NoteError> {
        Self::parse_as(s, Alg::CosignatureV1)
    }

    /// [`Verifier::parse_as`], remembering the keys that parse: a registry names each
    /// participant's keys in text, and every verification replays the registry, so the
    /// same few keys are parsed again and again (a point decompression each).
    fn parse_as(s: &str, alg: Alg) -> Result<Self, NoteError> {
        let s = s.trim_end_matches(['\n', '\r']);
        if let Some(v) = PARSED.get(s).filter(|v| v.alg == alg) {
            return Ok(v);
        }
        let v = Self::parse_text(s, alg)?;
        PARSED.insert(s.to_owned(), v.clone());
        Ok(v)
    }

    fn parse_text(s: &str, alg: Alg) -> Result<Self, NoteError> {
        // The key's base64 may itself hold '+'; names never do.
        let parts: Vec<&str> = s.splitn(3, '+').collect();
        let [name, id, key] = parts[..] else {
            return Err(NoteError::MalformedVerifierKey(
                "expected <name>+<key id>+<key>",
            ));
        };
        let name = KeyName::new(name)?;
        let stated = parse_key_id(id).ok_or(NoteError::MalformedVerifierKey(
            "key id is not 8 hex digits",
        ))?;
        let bytes =
            decode_key_bytes(key, alg).ok_or(NoteError::MalformedVerifierKey(match alg {
                Alg::Ed25519 => "key is not base64 of 0x01 and 32 bytes",
                Alg::CosignatureV1 => NOT_A_WITNESS_KEY,
            }))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::MalformedVerifierKey("not a valid Ed25519 public key"))?;
        // One encoding per key: a point written with its y coordinate unreduced (or
        // x = 0 with the sign bit set) is refused, as Go and WebCrypto refuse it.
        if key.to_edwards().compress().to_bytes() != bytes {
            return Err(NoteError::MalformedVerifierKey(
                "not the canonical encoding of an Ed25519 public key",
            ));
        }
        let v = Verifier::of(alg, name, key);
        if v.id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                computed: v.id,
            });
        }
        Ok(v)
    }

    pub fn name(&self) -> &KeyName {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Whether `sig` is this key's signature of the note body `msg`: for a cosigner, a
    /// `cosignature/v1` (time, then the signature of [`cosigned_message`]).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let strict = |m: &[u8], s: &[u8]| {
            Signature::from_slice(s)
                .is_ok_and(|s| crate::envelope::signature_holds(m, &s, &self.key))
        };
        match self.alg {
            Alg::Ed25519 => strict(msg, sig),
            Alg::CosignatureV1 => {
                let (Some(time), Ok(body)) = (cosignature_time(sig), std::str::from_utf8(msg))
                else {
                    return false;
                };
                strict(&cosigned_message(body, time), &sig[8..])
            }
        }
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![self.alg.byte()];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(raw))
    }
}

/// A private key that signs notes.
#[derive(Clone)]
pub struct Signer {
    verifier: Verifier,
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({})", self.verifier)
    }
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, seed: [u8; 32]) -> Self {
        Self::from_seed_as(Alg::Ed25519, name, seed)
    }

    /// A signer of `alg` signatures (a witness's, for [`Alg::CosignatureV1`]) from a
    /// 32-byte Ed25519 seed.
    pub fn from_seed_as(alg: Alg, name: KeyName, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        Signer {
            verifier: Verifier::of(alg, name, key.verifying_key()),
            key,
        }
    }

    /// A new signer with a random key from the operating system.
    ///
    /// # Errors
    /// When the operating system has no randomness to give.
    pub fn generate(name: KeyName) -> Result<Self, getrandom::Error> {
        Self::generate_as(Alg::Ed25519, name)
    }

    /// A new signer of `alg` signatures with a random key from the operating system.
    ///
    /// # Errors
    /// When the operating system has no randomness to give.
    pub fn generate_as(alg: Alg, name: KeyName) -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)?;
        Ok(Self::from_seed_as(alg, name, seed))
    }

    /// Parses a signer key string `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`.
    ///
    /// # Errors
    /// When a part is malformed or the key id does not match the key.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        Self::parse_as(s, Alg::Ed25519)
    }

    /// Parses a witness's signer key string, the same with the algorithm byte 0x04:
    /// `PRIVATE+KEY+<name>+<key id hex>+<base64(0x04 || seed)>` (the form of Go's
    /// `sumdb/note` keys; C2SP defines no private key string).
    ///
    /// # Errors
    /// When a part is malformed or the key id does not match the key.
    pub fn parse_cosigner(s: &str) -> Result<Self, NoteError> {
        Self::parse_as(s, Alg::CosignatureV1)
    }

    fn parse_as(s: &str, alg: Alg) -> Result<Self, NoteError> {
        let s = s.trim_end_matches(['\n', '\r']);
        let parts: Vec<&str> = s.splitn(5, '+').collect();
        let ["PRIVATE", "KEY", name, id, key] = parts[..] else {
            return Err(NoteError::MalformedSignerKey(
                "expected PRIVATE+KEY+<name>+<key id>+<key>",
            ));
        };
        let name = KeyName::new(name)?;
        let stated =
            parse_key_id(id).ok_or(NoteError::MalformedSignerKey("key id is not 8 hex digits"))?;
        let seed = decode_key_bytes(key, alg).ok_or(NoteError::MalformedSignerKey(match alg {
            Alg::Ed25519 => "key is not base64 of 0x01 and 32 bytes",
            Alg::CosignatureV1 => NOT_A_WITNESS_KEY,
        }))?;
        let signer = Signer::from_seed_as(alg, name, seed);
        if signer.verifier.id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                computed: signer.verifier.id,
            });
        }
        Ok(signer)
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    pub fn name(&self) -> &KeyName {
        &self.verifier.name
    }

    pub fn key_id(&self) -> u32 {
        self.verifier.id
    }

    /// The Ed25519 key itself, for signing other formats (DSSE envelopes).
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The signer key string. It is a secret: write it only to a private file.
    pub fn to_key_string(&self) -> String {
        let mut raw = vec![self.verifier.alg.byte()];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.verifier.name,
            self.verifier.id,
            BASE64.encode(raw)
        )
    }

    /// The signature line this signer adds to a note with body `text`; a cosigner's
    /// is timestamped now ([`Signer::cosignature_line`]).
    pub fn signature_line(&self, text: &str) -> String {
        match self.verifier.alg {
            Alg::Ed25519 => self.line(&self.key.sign(text.as_bytes()).to_bytes()),
            Alg::CosignatureV1 => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                self.cosignature_line(text, now)
            }
        }
    }

    /// The `cosignature/v1` line of this witness for the checkpoint body `text`, as of
    /// `time` (POSIX seconds).
    ///
    /// # Panics
    /// When the signer is not a cosigner.
    pub fn cosignature_line(&self, text: &str, time: u64) -> String {
        assert_eq!(self.verifier.alg, Alg::CosignatureV1, "not a cosigner key");
        let sig = self.key.sign(&cosigned_message(text, time));
        let mut raw = time.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        self.line(&raw)
    }

    fn line(&self, sig: &[u8]) -> String {
        let mut raw = self.verifier.id.to_be_bytes().to_vec();
        raw.extend_from_slice(sig);
        format!(
            "{SIG_PREFIX}{} {}\n",
            self.verifier.name,
            BASE64.encode(raw)
        )
    }
}

/// ASCII control characters other than newline are not allowed anywhere in a note.
fn is_forbidden(c: char) -> bool {
    c < '\u{20}' && c != '\n'
}

fn check_text(text: &str) -> Result<(), NoteError> {
    let ok = !text.is_empty() && text.ends_with('\n') && !text.chars().any(is_forbidden);
    if ok {
        Ok(())
    } else {
        Err(NoteError::MalformedText)
    }
}

/// Signs `text` with every signer and returns the signed note.
///
/// # Errors
/// [`NoteError::MalformedText`] when `text` is not a valid note body.
pub fn sign(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
    check_text(text)?;
    let mut out = String::with_capacity(text.len() + 1 + 128 * signers.len());
    out.push_str(text);
    out.push('\n');
    for s in signers {
        out.push_str(&s.signature_line(text));
    }
    Ok(out)
}

/// A signature line of an opened note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

/// A note whose signatures were checked against a set of trusted verifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The body, ending with a newline.
    pub text: String,
    /// Signatures by trusted keys, all verified.
    pub verified: Vec<NoteSignature>,
    /// Signatures by keys not in the trusted set, not checked.
    pub unverified: Vec<NoteSignature>,
}

/// A verified `cosignature/v1` on a checkpoint: who cosigned it, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    pub witness: Verifier,
    /// POSIX seconds.
    pub time: u64,
}

impl Note {
    /// The cosignatures of `witnesses` (cosigner keys) among the signatures of keys
    /// the note was not opened with: one per witness, checked.
    ///
    /// # Errors
    /// [`NoteError::InvalidSignature`] when a signature names a witness (its name and
    /// key id) and does not verify.
    pub fn cosignatures(&self, witnesses: &[Verifier]) -> Result<Vec<Cosignature>, NoteError> {
        let mut out: Vec<Cosignature> = Vec::new();
        for sig in &self.unverified {
            let Some(w) = witnesses
                .iter()
                .find(|w| w.name.as_str() == sig.name && w.id == sig.key_id)
            else {
                continue;
            };
            let time = cosignature_time(&sig.signature)
                .filter(|_| w.verify(self.text.as_bytes(), &sig.signature))
                .ok_or_else(|| NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    id: sig.key_id,
                })?;
            if !out.iter().any(|c| c.witness == *w) {
                out.push(Cosignature {
                    witness: w.clone(),
                    time,
                });
            }
        }
        Ok(out)
    }
}

/// Parses a signed note and checks its signatures against `trusted`.
///
/// Signatures by unknown keys are kept unverified and otherwise ignored; a signature by
/// a trusted key that does not verify is an error; at least one trusted signature is
/// needed.
///
/// # Errors
/// When the note is malformed, a trusted signature is bad, or no trusted key signed it.
pub fn open(msg: &[u8], trusted: &[Verifier]) -> Result<Note, NoteError> {
    if msg.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge);
    }
    let msg = std::str::from_utf8(msg).map_err(|_| NoteError::Malformed("not UTF-8"))?;
    if msg.chars().any(is_forbidden) {
        return Err(NoteError::Malformed("control character"));
    }
    let split = msg
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed(
            "signature block must end in a newline",
        ));
    }
    check_text(text)?;
    let mut note = Note {
        text: text.to_owned(),
        verified: Vec::new(),
        unverified: Vec::new(),
    };
    for (n, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
            "signature line must start with \"— \"",
        ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("signature line has no key name"))?;
        // Any valid name, long or not: lines of unknown keys are ignored.
        if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
            return Err(NoteError::Malformed("bad key name in signature line"));
        }
        let raw = BASE64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("signature is not canonical base64"))?;
        if raw.len() < 5 {
            return Err(NoteError::Malformed("signature too short"));
        }
        let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let sig = NoteSignature {
            name: name.to_owned(),
            key_id,
            signature: raw[4..].to_vec(),
        };
        match trusted
            .iter()
            .find(|v| v.name.as_str() == name && v.id == key_id)
        {
            Some(v) => {
                if !v.verify(text.as_bytes(), &sig.signature) {
                    return Err(NoteError::InvalidSignature {
                        name: name.to_owned(),
                        id: key_id,
                    });
                }
                if !note
                    .verified
                    .iter()
                    .any(|s| s.name == name && s.key_id == key_id)
                {
                    note.verified.push(sig);
                }
            }
            None => {
                if !note.unverified.contains(&sig) {
                    note.unverified.push(sig);
                }
            }
        }
    }
    if note.verified.is_empty() {
        return Err(NoteError::NoTrustedSignature);
    }
    Ok(note)
}

/// A tree head per C2SP tlog-checkpoint: origin, size, root, optional extension lines.
/// Always valid once built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// # Errors
    /// [`NoteError::MalformedCheckpoint`] when the origin or an extension line is empty
    /// or holds a newline or control character.
    pub fn new(
        origin: &str,
        size: u64,
        root: Hash,
        extensions: Vec<String>,
    ) -> Result<Self, NoteError> {
        let line_ok = |l: &str| !l.is_empty() && !l.chars().any(char::is_control);
        if !line_ok(origin) {
            return Err(NoteError::MalformedCheckpoint(
                "origin line is empty or invalid",
            ));
        }
        if !extensions.iter().all(|l| line_ok(l)) {
            return Err(NoteError::MalformedCheckpoint(
                "extension line is empty or invalid",
            ));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Parses a checkpoint body (the text of a note).
    ///
    /// # Errors
    /// [`NoteError::MalformedCheckpoint`] saying which line is wrong.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(NoteError::MalformedCheckpoint("must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("missing size line"))?;
        let root = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("missing root hash line"))?;
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size = canonical
            .then(|| size.parse::<u64>().ok())
            .flatten()
            .ok_or(NoteError::MalformedCheckpoint(
                "size is not a canonical decimal number",
            ))?;
        let root: Hash = BASE64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(NoteError::MalformedCheckpoint(
                "root hash is not base64 of 32 bytes",
            ))?;
        Checkpoint::new(origin, size, root, lines.map(str::to_owned).collect())
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> &Hash {
        &self.root
    }

    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note body: `<origin>\n<size>\n<base64 root>\n[extensions\n]`.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Signs the checkpoint with the log's key (and any others).
    pub fn sign(&self, signers: &[&Signer]) -> String {
        sign(&self.to_text(), signers).expect("a checkpoint body is always a valid note text")
    }

    /// Opens a signed checkpoint: the note must carry a valid signature by `log_key`,
    /// whose name must be the checkpoint's origin.
    ///
    /// # Errors
    /// When the note or the checkpoint is malformed, or `log_key` did not sign it.
    pub fn open(msg: &[u8], log_key: &Verifier) -> Result<(Self, Note), NoteError> {
        let note = open(msg, std::slice::from_ref(log_key))?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        if checkpoint.origin != log_key.name.as_str() {
            return Err(NoteError::MalformedCheckpoint(
                "origin is not the log key's name",
            ));
        }
        Ok((checkpoint, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::from_seed(KeyName::new("example.org/log").unwrap(), [7; 32])
    }

    #[test]
    fn key_strings_round_trip() {
        let s = signer();
        assert_eq!(
            Signer::parse(&s.to_key_string()).unwrap().key_id(),
            s.key_id()
        );
        assert_eq!(
            Verifier::parse(&s.verifier().to_string()).unwrap(),
            *s.verifier()
        );
    }

    #[test]
    fn unknown_signatures_are_ignored_but_one_trusted_is_needed() {
        let a = signer();
        let b = Signer::from_seed(KeyName::new("other").unwrap(), [9; 32]);
        let msg = sign("hello\n", &[&b, &a]).unwrap();
        let note = open(msg.as_bytes(), &[a.verifier().clone()]).unwrap();
        assert_eq!(note.verified.len(), 1);
        assert_eq!(note.unverified.len(), 1);
        assert_eq!(
            open(msg.as_bytes(), &[]).unwrap_err(),
            NoteError::NoTrustedSignature
        );
    }
}
