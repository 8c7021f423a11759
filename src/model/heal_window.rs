//! Heal windows (`healWindow` on a Stack or on any resource): when steward may heal drift.
//! Outside the window drift is found and alerted (`action: deferred`) but left alone. Two forms:
//!
//! ```yaml
//! healWindow: {days: [Mon-Fri], start: "08:00", end: "18:00", timeZone: Europe/Berlin}
//! healWindow: {cron: "0 0 22 * * Sat", duration: 4h, timeZone: UTC}
//! ```
//!
//! `missing: window` holds the re-creation of a deleted object too (by default it is made again
//! at once), and `changes: window` holds desired-state changes (by default they are applied at
//! once: a person asked for them).

use super::duration::parse_cron;
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::Value as Json;

pub const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The longest cron window (a week: longer would never close).
const MAX_DURATION_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct HealWindow {
    schedule: Schedule,
    tz: Tz,
    /// `missing: window`: a deleted object waits for the window too.
    pub missing_waits: bool,
    /// `changes: window`: desired-state changes wait for the window too.
    pub changes_wait: bool,
    /// `critical: window`: critical drift waits for the window too (it is healed at once by default).
    pub critical_waits: bool,
}

#[derive(Debug, Clone)]
enum Schedule {
    /// Open from `start` to `end`, in minutes after midnight (`end` 1440 is midnight; an `end`
    /// earlier than `start` is the next day's), on the days set.
    Daily { days: [bool; 7], start: u32, end: u32 },
    /// Open for `duration` from each time the cron expression matches.
    Cron { cron: Box<croner::Cron>, duration: Duration },
}

/// A problem with a `healWindow`: the field under it (`timeZone`, `days[1]`, or "" for the
/// window itself) and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowError {
    pub field: String,
    pub message: String,
}

fn error(field: &str, message: impl Into<String>) -> WindowError {
    WindowError { field: field.to_string(), message: message.into() }
}

/// `Mon`, or a range like `Mon-Fri` (`Fri-Mon` wraps over the weekend): the days it covers.
pub fn parse_days(item: &str) -> Option<Vec<usize>> {
    let index = |d: &str| DAY_NAMES.iter().position(|n| n.eq_ignore_ascii_case(d));
    match item.split_once('-') {
        None => Some(vec![index(item)?]),
        Some((from, to)) => {
            let (from, to) = (index(from)?, index(to)?);
            let len = (to + 7 - from) % 7 + 1;
            Some((0..len).map(|i| (from + i) % 7).collect())
        }
    }
}

/// `08:00` as minutes after midnight; `24:00` (1440) is the end of the day.
pub fn parse_clock(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn clock_text(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

pub fn parse_time_zone(s: &str) -> Option<Tz> {
    s.parse().ok()
}

impl HealWindow {
    /// The window a (schema-checked) `healWindow` value describes, or what is wrong with it.
    pub fn from_spec(v: &Json) -> Result<HealWindow, WindowError> {
        let text = |f: &str| v.get(f).and_then(Json::as_str);
        let tz = match text("timeZone") {
            None => Tz::UTC,
            Some(name) => parse_time_zone(name).ok_or_else(|| {
                error("timeZone", format!("expected an IANA time zone like Europe/Berlin or UTC, got {name:?}"))
            })?,
        };
        let daily = ["days", "start", "end"].iter().any(|f| v.get(*f).is_some());
        let cron = ["cron", "duration"].iter().any(|f| v.get(*f).is_some());
        let schedule = match (daily, cron) {
            (true, true) => {
                return Err(error("", "expected either start and end (with days) or cron and duration, not both"));
            }
            (false, false) => return Err(error("", "expected start and end (with days), or cron and duration")),
            (true, false) => {
                let clock = |f: &str| match text(f) {
                    None => Err(error(f, "required with days or start/end; expected a time like 08:00")),
                    Some(s) => parse_clock(s).ok_or_else(|| error(f, format!("expected a time like 08:00, got {s:?}"))),
                };
                let (start, end) = (clock("start")?, clock("end")?);
                if start == 24 * 60 {
                    return Err(error("start", "expected a time from 00:00 to 23:59 (24:00 is only an end)"));
                }
                if start == end {
                    return Err(error(
                        "end",
                        "equals start: the window would never open (leave healWindow out to heal at any time)",
                    ));
                }
                let mut days = [v.get("days").is_none(); 7];
                for (i, item) in v.get("days").and_then(Json::as_array).into_iter().flatten().enumerate() {
                    let s = item.as_str().unwrap_or_default();
                    let covered = parse_days(s).ok_or_else(|| {
                        error(
                            &format!("days[{i}]"),
                            format!("expected a day like Mon or a range like Mon-Fri, got {s:?}"),
                        )
                    })?;
                    covered.into_iter().for_each(|d| days[d] = true);
                }
                Schedule::Daily { days, start, end }
            }
            (false, true) => {
                let Some(expr) = text("cron") else {
                    return Err(error("cron", "required with duration; expected a 6-field cron expression"));
                };
                let cron = parse_cron(expr).ok_or_else(|| {
                    error(
                        "cron",
                        format!(
                            "expected a 6-field cron expression that matches (like \"0 0 22 * * Sat\"), got {expr:?}"
                        ),
                    )
                })?;
                let Some(span) = text("duration") else {
                    return Err(error("duration", "required with cron; expected a duration like 2h"));
                };
                let secs = super::duration::parse_duration_secs(span)
                    .filter(|s| (60..=MAX_DURATION_SECS).contains(s))
                    .ok_or_else(|| error("duration", format!("expected a duration from 1m to 168h, got {span:?}")))?;
                Schedule::Cron { cron: Box::new(cron), duration: Duration::seconds(secs as i64) }
            }
        };
        let waits = |f: &str| text(f) == Some("window");
        let (missing_waits, changes_wait, critical_waits) = (waits("missing"), waits("changes"), waits("critical"));
        Ok(HealWindow { schedule, tz, missing_waits, changes_wait, critical_waits })
    }

    /// Whether steward may heal at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz);
        match &self.schedule {
            Schedule::Daily { days, start, end } => {
                let today = local.weekday().num_days_from_monday() as usize;
                let yesterday = (today + 6) % 7;
                let (now, start, end) = (local.num_seconds_from_midnight(), start * 60, end * 60);
                if start < end {
                    days[today] && (start..end).contains(&now)
                } else {
                    // Over midnight: open from start today, or until end from yesterday's start.
                    (days[today] && now >= start) || (days[yesterday] && now < end)
                }
            }
            Schedule::Cron { cron, duration } => {
                cron.find_previous_occurrence(&local, true).is_ok_and(|opened| local < opened + *duration)
            }
        }
    }

    /// When the window next opens at or after `at` (`at` itself when it is open).
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return Some(at);
        }
        let local = at.with_timezone(&self.tz);
        match &self.schedule {
            Schedule::Daily { days, start, .. } => (0..=7).find_map(|offset| {
                let date = local.date_naive() + Duration::days(offset);
                let day = date.weekday().num_days_from_monday() as usize;
                let start = NaiveTime::from_num_seconds_from_midnight_opt(start * 60, 0)?;
                // A start inside a daylight-saving gap opens at the first time after it.
                let opens = (0..3).find_map(|h| {
                    self.tz.from_local_datetime(&(date.and_time(start) + Duration::hours(h))).earliest()
                })?;
                (days[day] && opens > local).then(|| opens.with_timezone(&Utc))
            }),
            Schedule::Cron { cron, .. } => cron.find_next_occurrence(&local, false).ok().map(|t| t.with_timezone(&Utc)),
        }
    }

    /// For people: `Mon-Fri 08:00-18:00 Europe/Berlin`, `cron "0 0 22 * * Sat" for 4h UTC`.
    pub fn describe(&self) -> String {
        match &self.schedule {
            Schedule::Daily { days, start, end } => {
                let named: Vec<&str> = (0..7).filter(|d| days[*d]).map(|d| DAY_NAMES[d]).collect();
                let days = match named.len() {
                    7 => "every day".to_string(),
                    _ => named.join(","),
                };
                format!("{days} {}-{} {}", clock_text(*start), clock_text(*end), self.tz.name())
            }
            Schedule::Cron { cron, duration } => {
                let hours = duration.num_minutes() as f64 / 60.0;
                format!("cron \"{}\" for {hours}h {}", cron.pattern, self.tz.name())
            }
        }
    }
}

/// The window that applies to a resource: its own `healWindow`, else its Stack's.
pub fn effective(resource_spec: &Json, stack_spec: Option<&Json>) -> Option<HealWindow> {
    let v = resource_spec.get("healWindow").or_else(|| stack_spec.and_then(|s| s.get("healWindow")))?;
    HealWindow::from_spec(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn window(v: Json) -> HealWindow {
        HealWindow::from_spec(&v).unwrap()
    }

    #[test]
    fn weekday_office_hours_in_a_named_time_zone() {
        let w = window(json!({"days": ["Mon-Fri"], "start": "08:00", "end": "18:00", "timeZone": "Europe/Berlin"}));
        // 2026-12-01 is a Tuesday; Berlin is UTC+1 in winter.
        assert!(w.is_open(at("2026-12-01T07:00:00Z")));
        assert!(!w.is_open(at("2026-12-01T06:59:59Z")));
        assert!(!w.is_open(at("2026-12-01T17:00:00Z")));
        assert!(!w.is_open(at("2026-12-05T10:00:00Z")), "Saturday");
        assert_eq!(w.next_open(at("2026-12-01T18:00:00Z")), Some(at("2026-12-02T07:00:00Z")));
        assert_eq!(w.next_open(at("2026-12-04T18:00:00Z")), Some(at("2026-12-07T07:00:00Z")), "Friday evening");
        assert_eq!(w.next_open(at("2026-12-01T10:00:00Z")), Some(at("2026-12-01T10:00:00Z")), "open now");
        assert_eq!(w.describe(), "Mon,Tue,Wed,Thu,Fri 08:00-18:00 Europe/Berlin");
        // Summer time moves the window by an hour in UTC.
        assert!(w.is_open(at("2026-07-01T06:00:00Z")));
    }

    #[test]
    fn overnight_windows_belong_to_the_day_they_open() {
        let w = window(json!({"days": ["Fri"], "start": "22:00", "end": "04:00"}));
        assert!(w.is_open(at("2026-12-04T23:00:00Z")), "Friday night");
        assert!(w.is_open(at("2026-12-05T03:59:00Z")), "Saturday early, still Friday's window");
        assert!(!w.is_open(at("2026-12-05T23:00:00Z")), "Saturday night");
        let to_midnight = window(json!({"start": "20:00", "end": "24:00"}));
        assert!(to_midnight.is_open(at("2026-12-01T23:59:00Z")));
        assert!(!to_midnight.is_open(at("2026-12-02T00:00:00Z")));
        assert_eq!(to_midnight.describe(), "every day 20:00-24:00 UTC");
        let weekends = window(json!({"days": ["Sat-Sun"], "start": "00:00", "end": "24:00"}));
        assert!(weekends.is_open(at("2026-12-05T00:00:00Z")) && weekends.is_open(at("2026-12-06T23:59:59Z")));
        assert!(!weekends.is_open(at("2026-12-07T00:00:00Z")), "Monday");
    }

    #[test]
    fn cron_windows_are_open_for_their_duration() {
        let w = window(json!({"cron": "0 0 22 * * Sat", "duration": "4h", "timeZone": "UTC"}));
        assert!(w.is_open(at("2026-12-05T22:00:00Z")));
        assert!(w.is_open(at("2026-12-06T01:59:59Z")));
        assert!(!w.is_open(at("2026-12-06T02:00:00Z")));
        assert_eq!(w.next_open(at("2026-12-01T00:00:00Z")), Some(at("2026-12-05T22:00:00Z")));
    }

    #[test]
    fn bad_windows_name_the_field() {
        let bad = |v: Json| HealWindow::from_spec(&v).unwrap_err();
        assert_eq!(bad(json!({"start": "08:00", "end": "18:00", "timeZone": "Mars/Olympus"})).field, "timeZone");
        assert_eq!(bad(json!({"start": "8", "end": "18:00"})).field, "start");
        assert_eq!(bad(json!({"start": "08:00"})).field, "end");
        assert_eq!(bad(json!({"start": "08:00", "end": "08:00"})).field, "end");
        assert_eq!(bad(json!({"start": "24:00", "end": "08:00"})).field, "start");
        assert_eq!(bad(json!({"days": ["Mon", "Someday"], "start": "08:00", "end": "09:00"})).field, "days[1]");
        assert_eq!(bad(json!({"cron": "0 0 22 * *", "duration": "1h"})).field, "cron");
        assert_eq!(bad(json!({"cron": "0 0 0 30 2 *", "duration": "1h"})).field, "cron", "never matches");
        assert_eq!(bad(json!({"cron": "0 0 22 * * Sat", "duration": "200h"})).field, "duration");
        assert_eq!(bad(json!({"cron": "0 0 22 * * Sat", "start": "08:00", "end": "09:00"})).field, "");
        assert_eq!(bad(json!({"missing": "window"})).field, "");
    }

    #[test]
    fn days_and_ranges() {
        assert_eq!(parse_days("mon"), Some(vec![0]));
        assert_eq!(parse_days("Fri-Mon"), Some(vec![4, 5, 6, 0]));
        assert_eq!(parse_days("Mon-Mon"), Some(vec![0]));
        assert_eq!(parse_days("Monday"), None);
        assert_eq!(parse_clock("24:00"), Some(1440));
        assert_eq!(parse_clock("08:30"), Some(510));
        assert_eq!(parse_clock("24:01"), None);
        assert_eq!(parse_clock("12:60"), None);
    }
}
