//! AWS access: one set of SDK clients per region, every call counted by service and operation,
//! and errors classified (throttling, transient, terminal) by their AWS error code.

mod errors;
pub mod names;

pub use errors::aws;

pub use crate::model::clients::Clients;
pub use crate::model::error::{AwsError, ErrorClass};

use aws_sdk_sts::config::interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

type Counts = BTreeMap<(String, String), u64>;

/// Counts every attempt the SDK sends (retries included: each costs a request), and every call
/// that still failed after the SDK's own retries, by service and operation. Shared by all clients
/// of a process.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    attempts: Arc<Mutex<Counts>>,
    failures: Arc<Mutex<Counts>>,
}

tokio::task_local! {
    /// The counter of the pass running in this task, if any: with several passes at once, each
    /// reports only its own calls.
    static PASS_CALLS: CallCounter;
}

fn bump(counts: &Mutex<Counts>, service: &str, operation: &str) {
    *counts.lock().unwrap().entry((service.to_string(), operation.to_string())).or_insert(0) += 1;
}

impl CallCounter {
    /// Counts an attempt here, and in the counter of the pass running in this task.
    pub fn record(&self, service: &str, operation: &str) {
        bump(&self.attempts, service, operation);
        let _ = PASS_CALLS.try_with(|pass| bump(&pass.attempts, service, operation));
    }

    fn record_failure(&self, service: &str, operation: &str) {
        bump(&self.failures, service, operation);
        let _ = PASS_CALLS.try_with(|pass| bump(&pass.failures, service, operation));
    }

    /// Runs `work` with this as the pass counter of its task (and of nothing else).
    pub async fn scope<F: std::future::Future>(&self, work: F) -> F::Output {
        PASS_CALLS.scope(self.clone(), work).await
    }

    /// Attempts so far, as `{ "Service": { "Operation": n } }`.
    pub fn by_service(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        by_service(&self.attempts.lock().unwrap())
    }

    /// Calls that failed after the SDK's retries, in the same shape.
    pub fn failures_by_service(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        by_service(&self.failures.lock().unwrap())
    }
}

fn by_service(counts: &Counts) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((service, op), n) in counts {
        out.entry(service.clone()).or_default().insert(op.clone(), *n);
    }
    out
}

/// Whether an operation changes anything (everything but Describe*, List*, Get*).
pub fn is_mutating(operation: &str) -> bool {
    !["Describe", "List", "Get", "Query", "Scan", "BatchGet"].iter().any(|p| operation.starts_with(p))
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "StewardCallCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_sts::error::BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.record(m.service(), m.name());
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_sts::error::BoxError> {
        if let (Some(Err(_)), Some(m)) = (context.output_or_error(), cfg.load::<Metadata>()) {
            // A read answered "no such object" is an answer (steward looks things up to learn
            // whether they exist, such as the password parameter), not a failed call.
            let not_found = !is_mutating(m.name())
                && context.response().is_some_and(|r| {
                    let body = r.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
                    matches!(r.status().as_u16(), 400 | 404) && (body.contains("NotFound") || body.contains("NoSuch"))
                });
            if !not_found {
                self.record_failure(m.service(), m.name());
            }
        }
        Ok(())
    }
}

/// Clients by region, made on first use from the shared SDK configuration.
#[derive(Clone)]
pub struct Aws {
    base: aws_config::SdkConfig,
    pub calls: CallCounter,
    regions: Arc<Mutex<BTreeMap<String, Clients>>>,
}

macro_rules! client {
    ($krate:ident, $base:expr, $region:expr, $calls:expr) => {
        $krate::Client::from_conf(
            $krate::config::Builder::from($base)
                .region(aws_config::Region::new($region.to_string()))
                .interceptor($calls.clone())
                .build(),
        )
    };
}

impl Aws {
    pub fn new(base: aws_config::SdkConfig) -> Self {
        Aws { base, calls: CallCounter::default(), regions: Arc::default() }
    }

    pub fn base(&self) -> &aws_config::SdkConfig {
        &self.base
    }

    pub fn region(&self, region: &str) -> Clients {
        let mut regions = self.regions.lock().unwrap();
        if let Some(clients) = regions.get(region) {
            return clients.clone();
        }
        regions
            .entry(region.to_string())
            .or_insert_with(|| Clients {
                region: region.to_string(),
                ec2: client!(aws_sdk_ec2, &self.base, region, self.calls),
                ecs: client!(aws_sdk_ecs, &self.base, region, self.calls),
                elasticache: client!(aws_sdk_elasticache, &self.base, region, self.calls),
                apprunner: client!(aws_sdk_apprunner, &self.base, region, self.calls),
                ssm: client!(aws_sdk_ssm, &self.base, region, self.calls),
                // Route 53 is global: its endpoint is the same from every region.
                route53: client!(aws_sdk_route53, &self.base, region, self.calls),
                acm: client!(aws_sdk_acm, &self.base, region, self.calls),
                elbv2: client!(aws_sdk_elasticloadbalancingv2, &self.base, region, self.calls),
                logs: client!(aws_sdk_cloudwatchlogs, &self.base, region, self.calls),
                sqs: client!(aws_sdk_sqs, &self.base, region, self.calls),
                iam: client!(aws_sdk_iam, &self.base, region, self.calls),
                ecr: client!(aws_sdk_ecr, &self.base, region, self.calls),
            })
            .clone()
    }

    /// An SQS client with the call counter, for the events queue.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&self.base).interceptor(self.calls.clone()).build(),
        )
    }

    /// An STS client with the call counter (who steward is).
    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.base).interceptor(self.calls.clone()).build(),
        )
    }

    /// A DynamoDB client with the call counter, for the store.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.base).interceptor(self.calls.clone()).build(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_pass_counts_only_the_calls_of_its_own_task() {
        let process = CallCounter::default();
        let (a, b) = (CallCounter::default(), CallCounter::default());
        let (p1, p2) = (process.clone(), process.clone());
        let first = a.scope(async move {
            p1.record("EC2", "DescribeVpcEndpoints");
            tokio::task::yield_now().await;
            p1.record("EC2", "DescribeVpcEndpoints");
        });
        let second = b.scope(async move {
            p2.record("ECS", "DescribeServices");
            tokio::task::yield_now().await;
        });
        tokio::join!(first, second);
        process.record("DynamoDB", "UpdateItem");
        assert_eq!(
            a.by_service(),
            BTreeMap::from([("EC2".into(), BTreeMap::from([("DescribeVpcEndpoints".into(), 2)]))])
        );
        assert_eq!(b.by_service(), BTreeMap::from([("ECS".into(), BTreeMap::from([("DescribeServices".into(), 1)]))]));
        assert_eq!(process.by_service().values().map(|ops| ops.values().sum::<u64>()).sum::<u64>(), 4);
    }
}
