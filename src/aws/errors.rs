//! AWS errors, classified by code so the engine knows whether to slow down, retry or stop.

use crate::model::error::{AwsError, ErrorClass};
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::fmt;

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
];

const TERMINAL: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidParameterException",
    "ValidationException",
    "InvalidRequestException",
    "InvalidARN",
    "ClientException",
    "MissingParameter",
    "ServiceQuotaExceededException",
    "LimitExceededException",
    "InvalidSubnet",
    "SubnetInUse",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidRouteTableId.NotFound",
    "InvalidServiceName",
    "ParameterPatternMismatch",
    "UnsupportedOperation",
];

/// Answers whose code reads terminal but that AWS gives for a passing state (emulator/QUIRKS.md):
/// (code, words of the message), retried as transient.
const TRANSIENT_DESPITE_CODE: &[(&str, &str)] = &[
    // A role created moments ago is not yet visible to App Runner (IAM propagation); Terraform's
    // provider retries CreateService on this message.
    ("InvalidRequestException", "Error in assuming instance role"),
    // Tag calls on an ElastiCache user that is modifying; Terraform's provider retries them.
    ("UserNotFound", "is not available for tagging"),
    ("UserNotFoundFault", "is not available for tagging"),
];

/// The class of an answer, from its code and, for the known exceptions, its message.
pub fn classify(code: Option<&str>, message: &str, status: Option<u16>) -> ErrorClass {
    if TRANSIENT_DESPITE_CODE.iter().any(|(c, words)| code == Some(*c) && message.contains(words)) {
        return ErrorClass::Transient;
    }
    classify_code(code, status)
}

pub fn classify_code(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    match code {
        Some(c) if THROTTLING.contains(&c) => ErrorClass::Throttling,
        Some(c) if TERMINAL.contains(&c) || (c.contains("Quota") && c.contains("Exceeded")) => ErrorClass::Terminal,
        _ if status == Some(429) => ErrorClass::Throttling,
        _ => ErrorClass::Transient,
    }
}

impl AwsError {
    pub fn from_sdk<E, R>(operation: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let (code, message) = match err.as_service_error() {
            Some(e) => (e.code().map(str::to_string), e.message().unwrap_or("no message").to_string()),
            None => (None, DisplayErrorContext(&err).to_string()),
        };
        let class = classify(code.as_deref(), &message, None);
        AwsError { operation: operation.to_string(), code, message, class }
    }
}

/// `.map_err(aws("Operation"))` on an SDK call.
pub fn aws<E, R>(operation: &'static str) -> impl Fn(SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    move |e| AwsError::from_sdk(operation, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify_code(Some("Throttling"), None), ErrorClass::Throttling);
        assert_eq!(classify_code(Some("ThrottlingException"), None), ErrorClass::Throttling);
        assert_eq!(classify_code(Some("InvalidParameterValue"), None), ErrorClass::Terminal);
        assert_eq!(classify_code(Some("ClusterQuotaForCustomerExceeded"), None), ErrorClass::Terminal);
        assert_eq!(classify_code(Some("InternalFailure"), None), ErrorClass::Transient);
        assert_eq!(classify_code(Some("InvalidStateException"), None), ErrorClass::Transient);
        assert_eq!(classify_code(None, Some(429)), ErrorClass::Throttling);
        assert_eq!(classify_code(None, None), ErrorClass::Transient);
        let propagating = "Error in assuming instance role arn:aws:iam::123456789012:role/mmweb-exec";
        assert_eq!(classify(Some("InvalidRequestException"), propagating, None), ErrorClass::Transient);
        assert_eq!(classify(Some("InvalidRequestException"), "Cpu 3 is invalid", None), ErrorClass::Terminal);
        let tagging = "User redisadmin is not available for tagging";
        assert_eq!(classify(Some("UserNotFound"), tagging, None), ErrorClass::Transient);
    }
}
