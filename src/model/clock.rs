//! The one way steward writes and reads times: RFC 3339 in UTC, milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};

pub type Time = DateTime<Utc>;

/// `t` as steward stores and prints it (`2026-12-05T10:00:00.000Z`).
pub fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Now, as `rfc3339` writes it.
pub fn now_rfc3339() -> String {
    rfc3339(Utc::now())
}

/// A time written by `rfc3339` (or any RFC 3339 time), in UTC.
pub fn parse_time(s: &str) -> Option<Time> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}
