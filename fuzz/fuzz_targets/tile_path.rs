//! C2SP tlog-tiles paths: parsing never panics and a parsed path prints back to the
//! same text (paths are canonical, so one tile has one path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch::tiles::TilePath;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(path) = TilePath::parse(text) {
            assert_eq!(path.to_string(), text);
            let _ = path.first_node();
            for size in [0, 1, 255, 256, 257, 1 << 20, u64::MAX] {
                let _ = path.exists_in(size);
            }
        }
    }
    // Entry bundles from a tile's bytes.
    for count in [0, 1, 3, 256] {
        if let Ok(entries) = vouch::tiles::decode_bundle(data, count) {
            assert_eq!(vouch::tiles::encode_bundle(&entries).unwrap(), data);
        }
    }
});
