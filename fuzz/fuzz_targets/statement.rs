//! Statement and registry statement payloads: parsing and validation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vouch::statement::Statement::parse(data);
    let _ = vouch::statement::RegistryStatement::parse(data);
    let _ = vouch::entry::Entry::parse(data);
});
