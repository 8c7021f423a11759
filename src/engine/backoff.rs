//! Per-resource retry delays: exponential (backon's schedule: base, factor, cap) with full jitter
//! (a uniform draw between zero and the exponential delay, as the AWS Architecture Blog defines
//! it; backon's own jitter only adds to the delay).

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub factor: f32,
    pub cap: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy { base: Duration::from_secs(2), factor: 2.0, cap: Duration::from_secs(300) }
    }
}

/// The shortest wait after a failure, so that a zero draw never turns into a hot loop.
const FLOOR: Duration = Duration::from_millis(250);

impl BackoffPolicy {
    /// The exponential delay before attempt `failures + 1`, without jitter.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let mut schedule = ExponentialBuilder::default()
            .with_min_delay(self.base)
            .with_factor(self.factor)
            .with_max_delay(self.cap)
            .without_max_times()
            .build();
        schedule.nth(failures.saturating_sub(1) as usize).unwrap_or(self.cap)
    }

    /// The delay to wait after the `failures`-th consecutive failure.
    pub fn delay(&self, failures: u32) -> Duration {
        self.delay_with(failures, rand::random::<f64>())
    }

    /// `delay` with the jitter's uniform draw (0 to 1) given.
    pub fn delay_with(&self, failures: u32, draw: f64) -> Duration {
        let ceiling = self.ceiling(failures);
        ceiling.mul_f64(draw.clamp(0.0, 1.0)).max(FLOOR.min(ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_the_factor_up_to_the_cap() {
        let p = BackoffPolicy::default();
        let secs: Vec<u64> = (1..=10).map(|n| p.ceiling(n).as_secs()).collect();
        assert_eq!(secs, vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn jitter_stays_between_the_floor_and_the_ceiling() {
        let p = BackoffPolicy::default();
        for n in 1..12 {
            for _ in 0..50 {
                let d = p.delay(n);
                assert!(d >= FLOOR && d <= p.ceiling(n), "{d:?} for attempt {n}");
            }
        }
    }
}
