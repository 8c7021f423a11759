//! A failed call of the store to DynamoDB, kept typed (AWS's code and message, or why no answer
//! came) so that the command line can say what to do without reading error text.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::fmt;

/// What went wrong with one call of the store.
#[derive(Debug, Clone, PartialEq)]
pub enum CallFailure {
    /// AWS answered with an error.
    Refused { code: Option<String>, message: Option<String> },
    /// No answer came: the connection failed or timed out.
    Unreachable,
    /// The request was never sent: no credentials, no region, an invalid request.
    NotSent,
}

#[derive(Debug)]
pub struct StoreCallError {
    /// What the store was doing (`reading from the store`).
    pub what: String,
    pub failure: CallFailure,
    /// The SDK's whole account of it, for `-v`.
    detail: String,
    /// The SDK's error, whose causes say more (the credentials that could not be loaded).
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreCallError {
    pub fn new<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
        what: &str,
        e: SdkError<E>,
    ) -> Self {
        let failure = match &e {
            SdkError::ServiceError(s) => CallFailure::Refused {
                code: s.err().code().map(str::to_string),
                message: s.err().message().map(str::to_string),
            },
            SdkError::TimeoutError(_) => CallFailure::Unreachable,
            SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => CallFailure::Unreachable,
            _ => CallFailure::NotSent,
        };
        let detail = DisplayErrorContext(&e).to_string();
        StoreCallError { what: what.to_string(), failure, detail, source: Some(Box::new(e)) }
    }

    /// A failure as the store saw it, made by hand (tests of what is said about it).
    pub fn from_parts(what: &str, failure: CallFailure, detail: &str) -> Self {
        StoreCallError { what: what.to_string(), failure, detail: detail.to_string(), source: None }
    }

    /// AWS's error code, when AWS answered.
    pub fn code(&self) -> Option<&str> {
        match &self.failure {
            CallFailure::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for StoreCallError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.detail)
    }
}

impl std::error::Error for StoreCallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}
