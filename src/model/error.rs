//! Why a reconcile action did not happen: the one error type adapters and the engine return, and
//! the AWS errors inside it. Its `code` is the `errorCode` of `reconcile_failed` events (a
//! contract in docs/alerts.md).

use super::guard::LeaseLost;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorClass {
    /// The service asked us to slow down: back off, and hold other calls to that service.
    Throttling,
    /// Worth retrying with backoff: 5xx, timeouts, connection errors, conflicting states.
    Transient,
    /// Retrying the same call cannot succeed (invalid parameter, quota, access denied):
    /// rechecked at the slow resync cadence.
    Terminal,
}

#[derive(Debug, Clone)]
pub struct AwsError {
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
    pub class: ErrorClass,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{}: {code}: {}", self.operation, self.message),
            None => write!(f, "{}: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for AwsError {}

impl AwsError {
    /// An answer that lacks what the API promises (retried: it is AWS's to fix, not the spec's).
    pub fn unexpected(operation: &str, message: impl Into<String>) -> Self {
        AwsError { operation: operation.into(), code: None, message: message.into(), class: ErrorClass::Transient }
    }

    pub fn is_code(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

/// AWS accepted a call, and the operation failed later: a failed object state, or (App Runner)
/// an update rolled back. Counted once towards the resource's backoff.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncFailure {
    /// Tells one failure from the next: the object id and state, or the operation id.
    pub mark: String,
    /// What failed: `creation`, `deletion`, or the operation's type (`UPDATE_SERVICE`).
    pub operation: String,
    /// AWS's word for it (CREATE_FAILED, ROLLBACK_SUCCEEDED, incompatible-network).
    pub status: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub enum ReconcileError {
    /// AWS refused or failed a call (after the SDK's own retries).
    Aws(AwsError),
    /// The daemon lost the stack's lease before a mutating call.
    LeaseLost(LeaseLost),
    /// Calls to this service are held after it throttled us.
    Throttled { service: &'static str, remaining: Duration },
    /// The resolved spec cannot be turned into a valid request (validation should have caught it).
    InvalidSpec { operation: &'static str, message: String },
    /// A selector or reference cannot be resolved to one object.
    Unresolvable(String),
    /// An operation AWS accepted failed later (CREATE_FAILED, a rolled-back update).
    AsyncFailure(AsyncFailure),
}

impl ReconcileError {
    pub fn invalid_spec(operation: &'static str, message: impl fmt::Display) -> Self {
        ReconcileError::InvalidSpec { operation, message: message.to_string() }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            ReconcileError::Aws(e) => e.class,
            ReconcileError::LeaseLost(_) | ReconcileError::AsyncFailure(_) => ErrorClass::Transient,
            ReconcileError::Throttled { .. } => ErrorClass::Throttling,
            ReconcileError::InvalidSpec { .. } | ReconcileError::Unresolvable(_) => ErrorClass::Terminal,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ReconcileError::Aws(e) => e.code.as_deref(),
            ReconcileError::LeaseLost(_) => Some("LeaseLost"),
            ReconcileError::Throttled { .. } => Some("Throttled"),
            ReconcileError::InvalidSpec { .. } => Some("InvalidSpec"),
            ReconcileError::Unresolvable(_) => Some("Unresolvable"),
            ReconcileError::AsyncFailure(f) => Some(&f.status),
        }
    }

    pub fn operation(&self) -> &str {
        match self {
            ReconcileError::Aws(e) => &e.operation,
            ReconcileError::LeaseLost(_) => "lease check",
            ReconcileError::Throttled { .. } => "throttling hold",
            ReconcileError::InvalidSpec { operation, .. } => operation,
            ReconcileError::Unresolvable(_) => "resolve",
            ReconcileError::AsyncFailure(f) => &f.operation,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ReconcileError::Aws(e) => e.message.clone(),
            ReconcileError::LeaseLost(l) => l.to_string(),
            ReconcileError::Throttled { service, remaining } => {
                format!("holding calls to {service} for {} ms after throttling", remaining.as_millis())
            }
            ReconcileError::InvalidSpec { message, .. } | ReconcileError::Unresolvable(message) => message.clone(),
            ReconcileError::AsyncFailure(f) => f.message.clone(),
        }
    }

    /// Whether AWS answered with one of these error codes.
    pub fn is_code(&self, codes: &[&str]) -> bool {
        matches!(self, ReconcileError::Aws(e) if e.is_code(codes))
    }

    /// A throttling answer from AWS itself (not steward's own hold).
    pub fn is_aws_throttling(&self) -> bool {
        matches!(self, ReconcileError::Aws(e) if e.class == ErrorClass::Throttling)
    }
}

impl fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.code() {
            Some(code) => write!(f, "{}: {code}: {}", self.operation(), self.message()),
            None => write!(f, "{}: {}", self.operation(), self.message()),
        }
    }
}

impl std::error::Error for ReconcileError {}

impl From<AwsError> for ReconcileError {
    fn from(e: AwsError) -> Self {
        ReconcileError::Aws(e)
    }
}

impl From<LeaseLost> for ReconcileError {
    fn from(e: LeaseLost) -> Self {
        ReconcileError::LeaseLost(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_classes_for_events() {
        let lost = ReconcileError::from(LeaseLost { stack: "s".into() });
        assert_eq!(lost.code(), Some("LeaseLost"));
        assert_eq!(lost.class(), ErrorClass::Transient);
        let held = ReconcileError::Throttled { service: "ecs", remaining: Duration::from_millis(1500) };
        assert_eq!(held.to_string(), "throttling hold: Throttled: holding calls to ecs for 1500 ms after throttling");
        assert!(!held.is_aws_throttling());
        let aws = AwsError {
            operation: "CreateService".into(),
            code: Some("ThrottlingException".into()),
            message: "slow down".into(),
            class: ErrorClass::Throttling,
        };
        assert!(ReconcileError::from(aws).is_aws_throttling());
        assert_eq!(ReconcileError::Unresolvable("x".into()).class(), ErrorClass::Terminal);
    }
}
