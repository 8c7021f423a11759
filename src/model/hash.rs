//! FNV-1a, the one hash steward uses for fingerprints and client tokens: stable across
//! processes and versions (unlike std's `DefaultHasher`), so stored fingerprints stay comparable.

const OFFSET: u64 = 0xcbf29ce484222325;
const PRIME: u64 = 0x100000001b3;

/// FNV-1a of `bytes`, continuing from `seed` (start with `fnv1a_start()`).
pub fn fnv1a(seed: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(seed, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

pub fn fnv1a_start() -> u64 {
    OFFSET
}

/// The 16 hex digits of FNV-1a over `text`.
pub fn fnv1a_hex(text: &str) -> String {
    format!("{:016x}", fnv1a(OFFSET, text.bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(super::fnv1a_hex(""), "cbf29ce484222325");
        assert_eq!(super::fnv1a_hex("a"), "af63dc4c8601ec8c");
    }
}
