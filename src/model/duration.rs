//! Durations as people write them in specs and flags (`250ms`, `60s`, `5m`, `1h`), and the
//! six-field crons a `resync` or heal window may be instead.

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

/// When a resync setting (a duration, or a 6-field cron expression) is next due after `after`.
pub fn next_due(setting: &str, after: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
    match parse_duration(setting) {
        Some(every) => Some(after + chrono::Duration::from_std(every).ok()?),
        None => parse_cron(setting)?.find_next_occurrence(&after, false).ok(),
    }
}

/// A six-field cron expression (seconds first), as the Stack's `resync` takes.
pub fn parse_cron(s: &str) -> Option<croner::Cron> {
    use croner::parser::{CronParser, Seconds};
    if s.split_whitespace().count() != 6 {
        return None;
    }
    let cron = CronParser::builder().seconds(Seconds::Required).build().parse(s).ok()?;
    // A pattern that never matches (`0 0 0 30 2 *`) would keep the window shut for good.
    cron.find_next_occurrence(&chrono::Utc::now(), false).ok()?;
    Some(cron)
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
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:30Z").unwrap().to_utc();
        assert_eq!(next_due("10s", t).unwrap().to_rfc3339(), "2026-12-01T10:00:40+00:00");
        assert_eq!(next_due("0 */5 * * * *", t).unwrap().to_rfc3339(), "2026-12-01T10:05:00+00:00");
        assert_eq!(next_due("often", t), None);
    }
}
