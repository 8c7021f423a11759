//! Whether this process may change a stack right now. One-shot passes take no lease; the daemon's
//! guard checks the stack's lease. A leaf module: the store uses it to fence status writes.

use async_trait::async_trait;

/// This replica does not hold the stack's lease (any longer): nothing may be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseLost {
    pub stack: String,
}

impl std::fmt::Display for LeaseLost {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "this replica no longer holds the lease of stack {}", self.stack)
    }
}

#[async_trait]
pub trait Guard: Send + Sync {
    /// Called before every mutating AWS call.
    async fn check(&self, stack: &str) -> Result<(), LeaseLost>;
    /// The fencing token status writes for this stack must be conditional on, if any.
    fn fence(&self, _stack: &str) -> Option<u64> {
        None
    }
}

/// One-shot passes (`steward reconcile`) take no lease.
pub struct NoGuard;

#[async_trait]
impl Guard for NoGuard {
    async fn check(&self, _stack: &str) -> Result<(), LeaseLost> {
        Ok(())
    }
}
