//! Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint): parsing never
//! panics, a parsed checkpoint formats back to the same text, and a note that opens
//! under the log key is a checkpoint of that origin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch::note::{self, Checkpoint, KeyName, Signer};

/// The key of the signed-note vectors (seed 0x00..0x1f), which signed the seeds.
fn key() -> note::Verifier {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    Signer::from_seed(KeyName::new("vouch.example/vn-apparel").unwrap(), seed)
        .verifier()
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let key = key();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(text) {
            assert_eq!(
                c.to_text(),
                text,
                "a parsed checkpoint formats back to its text"
            );
        }
        let _ = note::Verifier::parse(text.trim_end());
        let _ = note::Signer::parse(text.trim_end());
    }
    let _ = note::open(data, std::slice::from_ref(&key));
    if let Ok((c, _)) = Checkpoint::open(data, &key) {
        assert_eq!(c.origin(), "vouch.example/vn-apparel");
    }
});
