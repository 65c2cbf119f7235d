//! Journal records (src/store/journal.rs): whatever bytes a disk returns, parsing
//! never panics, and a record that parses re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch::store::journal::{self, Read};

fuzz_target!(|data: &[u8]| {
    if let Read::Record(r) = journal::parse(data) {
        let entries: Vec<&[u8]> = r.entries.iter().map(Vec::as_slice).collect();
        let keys: Vec<_> = r.keys.iter().map(|(k, s)| (*k, s.as_deref())).collect();
        let again = journal::encode(r.start, &entries, &keys, &r.meta, &r.checkpoint);
        assert_eq!(again, &data[..again.len()]);
    }
});
