//! Bundles and histories as a verifier receives them from anyone: parsing and
//! verification never panic, and what a stranger sends never verifies as valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch::bundle::{Bundle, History};
use vouch::note::{KeyName, Signer};
use vouch::verify::{self, Verdict};

fuzz_target!(|data: &[u8]| {
    let key = Signer::from_seed(KeyName::new("fuzz.example/log").unwrap(), [7; 32])
        .verifier()
        .clone();
    let now = time::OffsetDateTime::UNIX_EPOCH;
    if let Ok(b) = serde_json::from_slice::<Bundle>(data) {
        // Nothing in the corpus is signed by this key.
        assert_ne!(verify::verify_bundle(&b, &key, now).verdict, Verdict::Valid);
    }
    if let Ok(h) = serde_json::from_slice::<History>(data) {
        let _ = verify::verify_history(&h, "VN2024164XQ3F74", &key, now);
    }
});
