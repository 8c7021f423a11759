//! What any input must get from the manifest layer, whatever its bytes: no panic, errors that
//! name the file, and what is accepted comes back unchanged through steward's own YAML writer
//! (what `steward get -o yaml` prints can be applied again). The fuzz target (`fuzz/`) runs it
//! on generated inputs; the tests run it on the fuzz target's seeds.

use super::{parse_manifests, validate_set};
use crate::schema::yaml;

/// Checks one input as a manifest file named `file`; the error says which promise it broke.
pub fn check_any_input(data: &[u8], file: &str) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok(()) };
    let manifests = match parse_manifests(text, file, Some("fuzz")) {
        Ok(m) => m,
        Err(errors) => return names_the_file(&errors.0, file).map_err(|e| format!("{e}: {errors}")),
    };
    if let Err(errors) = validate_set(&manifests, &[]) {
        names_the_file(&errors.0, file).map_err(|e| format!("{e}: {errors}"))?;
    }
    for m in &manifests {
        let document = m.to_document();
        let text = yaml::to_yaml(&document);
        let again = parse_manifests(&text, file, None).map_err(|e| format!("{text}\nre-parsed with: {e}"))?;
        if again.len() != 1 || again[0].to_document() != document {
            return Err(format!("the round trip changed\n{text}"));
        }
    }
    Ok(())
}

fn names_the_file(errors: &[super::ManifestError], file: &str) -> Result<(), &'static str> {
    if errors.is_empty() {
        return Err("refused without an error");
    }
    if errors.iter().any(|e| e.file != file || e.message.is_empty()) {
        return Err("an error does not name the file or says nothing");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The fuzz target's seeds (the Mentor Match manifests) keep every promise.
    #[test]
    fn the_fuzz_seeds_keep_every_promise() {
        let seeds = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds")).unwrap();
        let mut checked = 0;
        for seed in seeds {
            let path = seed.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            super::check_any_input(&data, "fuzz.yaml").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Cut short anywhere, it must still keep them (a truncated file is the commonest bad input).
            for end in (0..data.len()).step_by(37) {
                super::check_any_input(&data[..end], "fuzz.yaml")
                    .unwrap_or_else(|e| panic!("{}[..{end}]: {e}", path.display()));
            }
            checked += 1;
        }
        assert!(checked >= 5, "the seeds are missing");
    }
}
