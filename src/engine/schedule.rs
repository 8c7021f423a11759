//! What a timer's pass looks at: a resource's resync (its own or its stack's), whether it is due,
//! and when it is next due. Pure: times come in as arguments.

use crate::model::duration::{next_due, parse_duration_secs};
use crate::model::heal_window::HealWindow;
use crate::status::{Phase, Status};
use chrono::{DateTime, Utc};

/// A resync setting: a duration or a 6-field cron, and whether it is the resource's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resync<'a> {
    pub setting: &'a str,
    pub own: bool,
}

/// The default resync when neither the resource nor its stack names one.
pub const DEFAULT_RESYNC: &str = "60s";

impl<'a> Resync<'a> {
    /// A resource's resync: its own `resync`, else its stack's, else 60 s.
    pub fn of(own: Option<&'a str>, stack: Option<&'a str>) -> Self {
        match own {
            Some(setting) => Resync { setting, own: true },
            None => Resync { setting: stack.unwrap_or(DEFAULT_RESYNC), own: false },
        }
    }

    /// The interval in seconds (a cron counts as the default, 60 s): how long a terminal error
    /// waits before the next attempt.
    pub fn secs(&self) -> u64 {
        parse_duration_secs(self.setting).unwrap_or(60)
    }
}

/// Whether a resource whose last observation was at `last` is due at `now`. A resource on its
/// stack's resync may be early by a fifth of it (the resync timer has jitter); one with its own
/// resync has its own wake-up, so a second of slack is enough.
fn is_due(resync: Resync, last: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let Some(next) = next_due(resync.setting, last) else { return true };
    let slack = match resync.own {
        true => chrono::Duration::seconds(1),
        false => (next - last) / 5,
    };
    next <= now + slack
}

/// A resource with nothing in progress: a timer's pass may leave it alone until it is due.
/// (A paused one is always looked at: what it is, its dependents learn only from a look.)
fn is_quiet(version: u64, prev: &Status) -> bool {
    [Phase::Ready, Phase::Deleted, Phase::Retained, Phase::Deferred].contains(&prev.phase)
        && prev.next_attempt_at.is_none()
        && prev.observed_generation == version
}

/// What a timer's pass does with a resource at desired-state `version`: whether it may leave
/// it alone, and when the resource's own `resync` (if it has one) is next due. `last`: its last
/// observation.
pub fn timing(
    version: u64,
    prev: &Status,
    resync: Resync,
    window: Option<&HealWindow>,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (bool, Option<DateTime<Utc>>) {
    // Deferred drift is due once its window has opened.
    let window_opened = prev.phase == Phase::Deferred && window.is_none_or(|w| w.is_open(now));
    let not_due = is_quiet(version, prev) && !window_opened && last.is_some_and(|t| !is_due(resync, t, now));
    let observed = if not_due { last } else { Some(now) };
    let next = observed.filter(|_| resync.own).and_then(|t| next_due(resync.setting, t));
    (not_due, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn status(phase: Phase) -> Status {
        Status { phase, observed_generation: 1, ..Status::default() }
    }

    #[test]
    fn a_timers_pass_leaves_alone_only_settled_resources_that_are_not_due() {
        let now = at("2026-12-01T10:00:30Z");
        let last = Some(at("2026-12-01T10:00:25Z"));
        let own = Resync { setting: "10s", own: true };
        let stack = Resync { setting: "60s", own: false };
        // Its own 10 s resync: not due 5 s after the last look, due again at 10:00:35.
        assert_eq!(timing(1, &status(Phase::Ready), own, None, last, now), (true, Some(at("2026-12-01T10:00:35Z"))));
        assert!(!timing(1, &status(Phase::Ready), own, None, Some(at("2026-12-01T10:00:19Z")), now).0);
        // The stack's resync has jitter: a fifth of it early still counts as due.
        assert!(!timing(1, &status(Phase::Ready), stack, None, Some(at("2026-12-01T09:59:40Z")), now).0);
        assert!(timing(1, &status(Phase::Ready), stack, None, Some(at("2026-12-01T09:59:55Z")), now).0);
        assert_eq!(timing(1, &status(Phase::Ready), stack, None, last, now).1, None, "no wake-up of its own");
        // Never looked at by this process, busy, failed, paused or behind its desired version: looked at.
        assert!(!timing(1, &status(Phase::Ready), own, None, None, now).0);
        for phase in [Phase::Busy, Phase::Failed, Phase::Paused, Phase::Waiting, Phase::Drifted] {
            assert!(!timing(1, &status(phase), own, None, last, now).0, "{phase}");
        }
        let backing_off = Status { next_attempt_at: Some("2026-12-01T10:01:00Z".into()), ..status(Phase::Ready) };
        assert!(!timing(1, &backing_off, own, None, last, now).0);
        assert!(!timing(2, &status(Phase::Ready), own, None, last, now).0);
        // Deferred drift waits while its window is shut and is due once it opens.
        let shut = HealWindow::from_spec(&json!({"start": "11:00", "end": "12:00"})).unwrap();
        let open = HealWindow::from_spec(&json!({"start": "10:00", "end": "11:00"})).unwrap();
        assert!(timing(1, &status(Phase::Deferred), own, Some(&shut), last, now).0);
        assert!(!timing(1, &status(Phase::Deferred), own, Some(&open), last, now).0);
    }

    #[test]
    fn a_resources_own_resync_wins_over_its_stacks() {
        assert_eq!(Resync::of(Some("10s"), Some("5m")), Resync { setting: "10s", own: true });
        assert_eq!(Resync::of(None, Some("5m")).secs(), 300);
        assert_eq!(Resync::of(None, None).secs(), 60);
        assert_eq!(Resync::of(Some("0 */5 * * * *"), None).secs(), 60, "a cron counts as the default");
    }
}
