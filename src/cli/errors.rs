//! Errors a person can act on: the common failures of the AWS configuration, recognised in the
//! SDK's error text and said in one line with the next step. The full error stays available
//! with `-v`.

/// A one-line explanation of `error` (its full text, causes included), if it is a known case.
pub fn explain(error: &str, table: &str) -> Option<String> {
    let has = |words: &str| error.contains(words);
    if has("no credentials")
        || has("CredentialsNotLoaded")
        || has("loading credentials")
        || has("the credential provider was not enabled")
    {
        return Some(
            "no AWS credentials were found. The SDK looks in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             AWS_PROFILE and ~/.aws/config and credentials, web identity and SSO, then the ECS or EC2 role"
                .into(),
        );
    }
    if has("missing signing region") || has("No region") || has("no region") || has("region must be set") {
        return Some("no AWS region is set: set AWS_REGION or pass --region".into());
    }
    if has("ResourceNotFoundException") && (has("the store") || has("table")) {
        return Some(format!(
            "the table {table} does not exist in this account and region: run `steward bootstrap` (or pass --table)"
        ));
    }
    if let Some(denied) = access_denied(error) {
        return Some(denied);
    }
    if has("Connection refused") || has("dns error") || has("connection closed before message completed") {
        let service = service_of(error);
        let endpoint =
            endpoint_of(error).or_else(|| configured_endpoint(service)).unwrap_or_else(|| "its AWS endpoint".into());
        return Some(format!(
            "cannot reach {service} at {endpoint}: check AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) and the network"
        ));
    }
    None
}

/// AWS's own words for an access denial: they name the principal and the action.
fn access_denied(error: &str) -> Option<String> {
    let code =
        ["AccessDeniedException", "AccessDenied", "UnauthorizedOperation"].into_iter().find(|c| error.contains(c))?;
    let message = error
        .split("message: Some(\"")
        .nth(1)
        .and_then(|m| m.split('"').next())
        .filter(|m| !m.is_empty())
        .unwrap_or(code);
    Some(format!("access denied ({code}): {message}"))
}

/// The URL in the error text, if the SDK named one.
fn endpoint_of(error: &str) -> Option<String> {
    let start = error.find("http://").or_else(|| error.find("https://"))?;
    let url: String = error[start..].chars().take_while(|c| !c.is_whitespace() && !"\"'),".contains(*c)).collect();
    Some(url)
}

/// The endpoint the standard variables point the service at, if any (the SDK's own order:
/// the service's variable, then the general one).
fn configured_endpoint(service: &str) -> Option<String> {
    let specific = match service {
        "DynamoDB (the store)" => Some("AWS_ENDPOINT_URL_DYNAMODB"),
        "STS" => Some("AWS_ENDPOINT_URL_STS"),
        _ => None,
    };
    specific.into_iter().chain(["AWS_ENDPOINT_URL"]).find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// Which service the failed call was for, from steward's own description of it.
fn service_of(error: &str) -> &'static str {
    if error.contains("the store") || error.contains("DynamoDB") || error.contains("lease") || error.contains("table") {
        "DynamoDB (the store)"
    } else if error.contains("GetCallerIdentity") {
        "STS"
    } else {
        "AWS"
    }
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

    #[test]
    fn known_failures_get_one_line_with_the_next_step() {
        let creds =
            "reading from the store: dispatch failure: other: no credentials in the chain (CredentialsNotLoaded)";
        assert!(explain(creds, "steward").unwrap().starts_with("no AWS credentials were found"));
        let table = "querying the store: service error: ResourceNotFoundException: Requested resource not found";
        assert_eq!(
            explain(table, "nope").unwrap(),
            "the table nope does not exist in this account and region: run `steward bootstrap` (or pass --table)"
        );
        let refused = "reading from the store: dispatch failure: io error: error trying to connect: tcp connect error: \
                       Connection refused (os error 111) http://127.0.0.1:1/";
        assert_eq!(
            explain(refused, "steward").unwrap(),
            "cannot reach DynamoDB (the store) at http://127.0.0.1:1/: check AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) and the network"
        );
        let denied = r#"service error: AccessDeniedException(ErrorMetadata { code: Some("AccessDeniedException"), message: Some("User: arn:aws:iam::1:user/x is not authorized to perform: dynamodb:Query on resource: t") })"#;
        assert_eq!(
            explain(denied, "t").unwrap(),
            "access denied (AccessDeniedException): User: arn:aws:iam::1:user/x is not authorized to perform: dynamodb:Query on resource: t"
        );
        assert_eq!(explain("KIND/NAME expected", "t"), None);
    }
}
