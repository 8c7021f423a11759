//! The work queue: stacks due for a pass, and what kind of pass each needs, batched for the
//! workers (stacks that are due together are passed together).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// A queue of stacks to pass, each at most once, never two passes of one stack at a time.
#[derive(Default)]
pub struct WorkQueue {
    inner: Mutex<QueueState>,
    notify: Notify,
}

/// What a stack is queued for: a full pass (a change, an AWS event, a new lease) or a timer's
/// pass of what is due (`PassOptions::due_only`). A full request wins over a timer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Full,
    Due,
}

#[derive(Default)]
struct QueueState {
    queue: VecDeque<String>,
    queued: HashMap<String, Need>,
    running: HashSet<String>,
    rerun: HashMap<String, Need>,
    closed: bool,
}

fn merge(need: &mut Need, more: Need) {
    if more == Need::Full {
        *need = Need::Full;
    }
}

/// Stacks to pass together, and which of them only for what is due.
#[derive(Debug, PartialEq)]
pub struct Batch {
    pub stacks: Vec<String>,
    pub due_only: BTreeSet<String>,
}

impl WorkQueue {
    /// Queues a full pass of the stack.
    pub fn push(&self, stack: &str) {
        self.push_for(stack, Need::Full);
    }

    pub fn push_for(&self, stack: &str, need: Need) {
        let mut s = self.inner.lock().unwrap();
        if s.closed {
            return;
        }
        if s.running.contains(stack) {
            merge(s.rerun.entry(stack.to_string()).or_insert(need), need);
        } else if let Some(queued) = s.queued.get_mut(stack) {
            merge(queued, need);
        } else {
            s.queued.insert(stack.to_string(), need);
            s.queue.push_back(stack.to_string());
            self.notify.notify_one();
        }
    }

    pub fn push_after(self: &Arc<Self>, stack: String, delay: Duration, need: Need) {
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.push_for(&stack, need);
        });
    }

    /// The next stacks to pass, at most `max` and at least one (all marked running), or None once
    /// closed. Stacks that are due together are passed together: one listing per kind serves them all.
    pub async fn pop_batch(&self, max: usize) -> Option<Batch> {
        loop {
            {
                let mut s = self.inner.lock().unwrap();
                if s.closed {
                    return None;
                }
                if !s.queue.is_empty() {
                    let n = s.queue.len().min(max.max(1));
                    let stacks: Vec<String> = s.queue.drain(..n).collect();
                    let mut due_only = BTreeSet::new();
                    for stack in &stacks {
                        if s.queued.remove(stack) == Some(Need::Due) {
                            due_only.insert(stack.clone());
                        }
                        s.running.insert(stack.clone());
                    }
                    return Some(Batch { stacks, due_only });
                }
            }
            self.notify.notified().await;
        }
    }

    /// Marks a pass finished; a stack pushed while it ran is queued again.
    pub fn done(&self, stack: &str) {
        let rerun = {
            let mut s = self.inner.lock().unwrap();
            s.running.remove(stack);
            s.rerun.remove(stack)
        };
        if let Some(need) = rerun {
            self.push_for(stack, need);
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn close(&self) {
        self.inner.lock().unwrap().closed = true;
        self.notify.notify_waiters();
    }
}
