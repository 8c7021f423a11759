//! Any bytes as a manifest file: parsing and validation never panic, every error names the file,
//! and what is accepted survives a round trip through steward's own YAML writer unchanged (what
//! `steward get -o yaml` prints can be applied again): `steward::manifest::robustness`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = steward::manifest::robustness::check_any_input(data, "fuzz.yaml") {
        panic!("{broken}");
    }
});
