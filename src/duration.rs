//! Durations as people write them in specs and flags: `250ms`, `60s`, `5m`, `1h`.

use std::time::Duration;

/// `250ms`, `60s`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = digits.parse().ok()?;
    let millis = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(millis).map(Duration::from_millis)
}

/// A duration in whole seconds (`90s`, `10m`); fractions of a second are refused.
pub fn parse_duration_secs(s: &str) -> Option<u64> {
    parse_duration(s).filter(|d| d.subsec_millis() == 0).map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_refusals() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration_secs("1h"), Some(3600));
        assert_eq!(parse_duration_secs("1500ms"), None);
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5d"), None);
    }
}
