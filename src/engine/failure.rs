//! The failure policy: what an error means for when the resource is tried again. Pure: the
//! jitter's draw and the time come in as arguments.

use super::backoff::BackoffPolicy;
use crate::model::ErrorClass;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// When a failed resource is tried again.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// This failure's number in a row (1 for the first).
    pub attempt: u32,
    pub delay: Duration,
    pub at: DateTime<Utc>,
    /// Retrying the same call cannot help: tried again only at the resource's resync.
    pub terminal: bool,
}

/// An error of `class` after `failures_before` failures in a row: a terminal error waits for the
/// resource's resync (`resync_secs`, its own or its stack's); others back off, growing with each
/// failure, with `draw` (0 to 1) as the jitter.
pub fn retry(
    class: ErrorClass,
    failures_before: u32,
    resync_secs: u64,
    policy: &BackoffPolicy,
    draw: f64,
    now: DateTime<Utc>,
) -> Retry {
    let attempt = failures_before + 1;
    let terminal = class == ErrorClass::Terminal;
    let delay = match terminal {
        true => Duration::from_secs(resync_secs),
        false => policy.delay_with(attempt, draw),
    };
    let at = now + chrono::Duration::from_std(delay).unwrap_or_default();
    Retry { attempt, delay, at, terminal }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_errors_wait_for_the_resync_others_back_off() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().to_utc();
        let policy = BackoffPolicy::default();
        let r = retry(ErrorClass::Terminal, 0, 300, &policy, 0.5, now);
        assert_eq!((r.attempt, r.delay, r.terminal), (1, Duration::from_secs(300), true));
        let r = retry(ErrorClass::Transient, 2, 300, &policy, 1.0, now);
        assert_eq!((r.attempt, r.delay, r.terminal), (3, Duration::from_secs(8), false));
        assert_eq!(r.at.to_rfc3339(), "2026-12-01T10:00:08+00:00");
        let r = retry(ErrorClass::Throttling, 0, 300, &policy, 0.0, now);
        assert_eq!(r.delay, Duration::from_millis(250), "a zero draw is floored");
    }
}
