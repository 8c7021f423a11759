//! What AWS's identifiers name, read from their text (no call): the queue an SQS URL or ARN names.

/// The queue a string names: a queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`,
/// any host: an endpoint's URLs look the same) or a queue ARN (`arn:aws:sqs:<region>:<account>:<name>`).
pub fn queue_named(text: &str) -> Option<&str> {
    let arn = text.starts_with("arn:aws:sqs:");
    let mut parts = text.rsplit(if arn { ':' } else { '/' });
    let (name, account) = (parts.next()?, parts.next()?);
    let account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (account && !name.is_empty() && (arn || text.starts_with("http"))).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::queue_named;

    #[test]
    fn a_queue_is_named_by_its_url_or_its_arn_and_nothing_else() {
        let cases = [
            ("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", Some("jobs")),
            ("http://127.0.0.1:5000/123456789012/jobs-dlq.fifo", Some("jobs-dlq.fifo")),
            ("arn:aws:sqs:eu-west-1:123456789012:jobs-dlq", Some("jobs-dlq")),
            // Not a queue: an account that is not 12 digits, another service's ARN, a path.
            ("https://example.com/app/jobs", None),
            ("arn:aws:sns:eu-west-1:123456789012:topic", None),
            ("/123456789012/jobs", None),
            ("https://sqs.eu-west-1.amazonaws.com/123456789012/", None),
        ];
        for (text, named) in cases {
            assert_eq!(queue_named(text), named, "{text}");
        }
    }
}
