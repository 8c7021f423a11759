//! Errors a person can act on: the common failures of the AWS configuration and the store,
//! recognised by their types and said in one line with the next step. The full error stays
//! available with `-v`.

use crate::store::{CallFailure, StoreCallError};

/// Configuration steward cannot work without, noted where the AWS configuration is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Neither `--region`, `AWS_REGION` nor the profile names a region.
    NoRegion,
}

impl std::fmt::Display for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Setup::NoRegion => f.write_str("the AWS configuration names no region"),
        }
    }
}

impl std::error::Error for Setup {}

/// The AWS error codes of a denied call.
const DENIED: [&str; 3] = ["AccessDeniedException", "AccessDenied", "UnauthorizedOperation"];

/// A one-line explanation of `error`, with the next step, if it is a known case: read from the
/// typed errors in its chain (the SDK's credentials error, `Setup`, the store's `StoreCallError`).
pub fn explain(error: &anyhow::Error, table: &str) -> Option<String> {
    let found = |pick: &dyn Fn(&(dyn std::error::Error + 'static)) -> bool| error.chain().any(pick);
    if found(&|e| e.is::<aws_credential_types::provider::error::CredentialsError>()) {
        return Some(
            "no AWS credentials were found. The SDK looks in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             AWS_PROFILE and ~/.aws/config and credentials, web identity and SSO, then the ECS or EC2 role"
                .into(),
        );
    }
    if error.downcast_ref::<Setup>() == Some(&Setup::NoRegion) {
        return Some("no AWS region is set: set AWS_REGION or pass --region".into());
    }
    let call = error.chain().find_map(|e| e.downcast_ref::<StoreCallError>())?;
    match (&call.failure, call.code()) {
        (_, Some("ResourceNotFoundException")) => Some(format!(
            "the table {table} does not exist in this account and region: run `steward bootstrap` (or pass --table)"
        )),
        (CallFailure::Refused { message, .. }, Some(code)) if DENIED.contains(&code) => {
            Some(format!("access denied ({code}): {}", message.as_deref().unwrap_or(code)))
        }
        (CallFailure::Unreachable, _) => {
            let endpoint = configured_endpoint().unwrap_or_else(|| "its AWS endpoint".into());
            Some(format!(
                "cannot reach DynamoDB (the store) at {endpoint}: check AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) and the network"
            ))
        }
        _ => None,
    }
}

/// The endpoint the standard variables point the store at, if any (the SDK's own order: the
/// service's variable, then the general one).
fn configured_endpoint() -> Option<String> {
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// Restores the default action of SIGPIPE, so that writing to a closed pipe ends the process
/// silently instead of a panic in `println!`.
pub fn quiet_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_error(failure: CallFailure) -> anyhow::Error {
        anyhow::Error::new(StoreCallError::from_parts("reading from the store", failure, "details"))
    }

    #[test]
    fn known_failures_get_one_line_with_the_next_step() {
        let refused = |code: &str, text: &str| {
            let (code, message) = (Some(code.to_string()), Some(text.to_string()));
            CallFailure::Refused { code, message }
        };
        let missing = store_error(refused("ResourceNotFoundException", "Requested resource not found"));
        assert_eq!(
            explain(&missing, "nope").unwrap(),
            "the table nope does not exist in this account and region: run `steward bootstrap` (or pass --table)"
        );
        let principal = "User: arn:aws:iam::1:user/x is not authorized to perform: dynamodb:Query on resource: t";
        let denied = store_error(refused("AccessDeniedException", principal));
        assert_eq!(explain(&denied, "t").unwrap(), format!("access denied (AccessDeniedException): {principal}"));
        let region = anyhow::Error::new(Setup::NoRegion).context("reading from the store");
        assert_eq!(explain(&region, "t").unwrap(), "no AWS region is set: set AWS_REGION or pass --region");
        assert_eq!(explain(&store_error(CallFailure::NotSent), "t"), None);
        assert_eq!(explain(&anyhow::anyhow!("KIND/NAME expected"), "t"), None);
    }
}
