//! The one state machine of the emulator's asynchronous objects. AWS answers a create, a change
//! or a delete at once; the object is then `creating`, `modifying` or `deleting` until the
//! transition delay has passed, and then available, gone, or failed (when a failure was asked
//! for through the admin API). Each service names the phases in its own words.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Creating,
    Available,
    Modifying,
    Deleting,
    Failed,
}

/// What a service calls each phase (an ElastiCache cluster is `available`, a user `active`).
pub struct Words {
    pub creating: &'static str,
    pub available: &'static str,
    pub modifying: &'static str,
    pub deleting: &'static str,
    pub failed: &'static str,
}

/// How a transition ended when its time came.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// Nothing was due.
    Unchanged,
    /// A creation or change ended: the object is available (or failed).
    Done,
    /// A deletion ended: the object is gone.
    Gone,
}

#[derive(Clone, Debug)]
pub struct Lifecycle {
    phase: Phase,
    until: Option<Instant>,
    /// The transition under way ends failed (a creation AWS fails asynchronously).
    failing: bool,
}

impl Lifecycle {
    /// A new object, `creating` for `transition`.
    pub fn creating(now: Instant, transition: Duration) -> Self {
        Lifecycle { phase: Phase::Creating, until: Some(now + transition), failing: false }
    }

    /// An object that is there from the start (an account's default user).
    pub fn available() -> Self {
        Lifecycle { phase: Phase::Available, until: None, failing: false }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is(&self, phase: Phase) -> bool {
        self.phase == phase
    }

    /// Starts a change or a deletion.
    pub fn begin(&mut self, phase: Phase, now: Instant, transition: Duration) {
        self.phase = phase;
        self.until = Some(now + transition);
    }

    /// Makes the transition under way end failed.
    pub fn fail_when_done(&mut self) {
        self.failing = true;
    }

    /// Ends the transition under way if its time has come.
    pub fn settle(&mut self, now: Instant) -> Settled {
        if self.until.is_none_or(|u| u > now) {
            return Settled::Unchanged;
        }
        self.until = None;
        if self.phase == Phase::Deleting {
            return Settled::Gone;
        }
        self.phase = if std::mem::take(&mut self.failing) { Phase::Failed } else { Phase::Available };
        Settled::Done
    }

    /// The phase in the service's words.
    pub fn word(&self, words: &Words) -> &'static str {
        match self.phase {
            Phase::Creating => words.creating,
            Phase::Available => words.available,
            Phase::Modifying => words.modifying,
            Phase::Deleting => words.deleting,
            Phase::Failed => words.failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: Words = Words {
        creating: "creating",
        available: "available",
        modifying: "modifying",
        deleting: "deleting",
        failed: "x",
    };

    #[test]
    fn transitions_end_when_their_time_comes() {
        let (now, t) = (Instant::now(), Duration::from_secs(5));
        let mut life = Lifecycle::creating(now, t);
        assert_eq!(life.settle(now), Settled::Unchanged);
        assert_eq!(life.word(&WORDS), "creating");
        assert_eq!(life.settle(now + t), Settled::Done);
        assert!(life.is(Phase::Available));
        life.begin(Phase::Modifying, now + t, t);
        assert_eq!(life.word(&WORDS), "modifying");
        assert_eq!(life.settle(now + t * 2), Settled::Done);
        life.begin(Phase::Deleting, now + t * 2, t);
        assert_eq!(life.settle(now + t * 3), Settled::Gone);
        let mut failing = Lifecycle::creating(now, t);
        failing.fail_when_done();
        assert_eq!(failing.settle(now + t), Settled::Done);
        assert_eq!(failing.word(&WORDS), "x");
    }
}
