//! DSSE envelopes and the statements inside them, as a submission arrives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(opened) = vouch::envelope::Envelope::parse(data) {
        let _ = opened.dedup_key();
    }
    let _ = vouch::log::Signed::parse(data);
});
