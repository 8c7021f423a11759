//! Any bytes as a manifest file: parsing and validation never panic, every error names the file,
//! and what is accepted survives a round trip through steward's own YAML writer unchanged (what
//! `steward get -o yaml` prints can be applied again).
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward::manifest::{parse_manifests, validate_set};
use steward::schema::yaml;

const FILE: &str = "fuzz.yaml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let manifests = match parse_manifests(text, FILE, Some("fuzz")) {
        Ok(m) => m,
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(errors.0.iter().all(|e| e.file == FILE && !e.message.is_empty()), "{errors}");
            return;
        }
    };
    if let Err(errors) = validate_set(&manifests, &[]) {
        assert!(errors.0.iter().all(|e| e.file == FILE && !e.message.is_empty()), "{errors}");
    }
    for m in &manifests {
        let document = m.to_document();
        let text = yaml::to_yaml(&document);
        let again = parse_manifests(&text, FILE, None).unwrap_or_else(|e| panic!("{text}\nre-parsed with: {e}"));
        assert_eq!(again.len(), 1, "{text}");
        assert_eq!(again[0].to_document(), document, "round trip changed\n{text}");
    }
});
