//! Manifests: desired state as Kubernetes-style YAML files. Pure: parsing, validation, references
//! and the dependency graph, no I/O beyond reading the files.

pub mod document;
pub mod parse;
pub mod references;
pub mod robustness;

pub use document::{API_VERSION, MAX_FILE_BYTES, MAX_SPEC_BYTES, Manifest, ManifestError, Source, ValidationErrors};
pub use parse::{load_paths, parse_manifests, validate_set};

#[cfg(test)]
mod tests;
