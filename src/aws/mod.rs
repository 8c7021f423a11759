//! AWS access: one set of SDK clients per region, every call counted by service and operation,
//! and errors classified (throttling, transient, terminal) by their AWS error code.

mod errors;

pub use errors::aws;

pub use errors::{AwsError, ErrorClass};

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

impl CallCounter {
    pub fn record(&self, service: &str, operation: &str) {
        *self.attempts.lock().unwrap().entry((service.to_string(), operation.to_string())).or_insert(0) += 1;
    }

    pub fn snapshot(&self) -> Counts {
        self.attempts.lock().unwrap().clone()
    }

    pub fn failures_snapshot(&self) -> Counts {
        self.failures.lock().unwrap().clone()
    }

    /// Calls since `before`, as `{ "Service": { "Operation": n } }`.
    pub fn since(&self, before: &Counts) -> BTreeMap<String, BTreeMap<String, u64>> {
        delta(&self.snapshot(), before)
    }

    /// Failed calls since `before`, in the same shape.
    pub fn failures_since(&self, before: &Counts) -> BTreeMap<String, BTreeMap<String, u64>> {
        delta(&self.failures_snapshot(), before)
    }
}

fn delta(now: &Counts, before: &Counts) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((service, op), n) in now {
        let delta = n - before.get(&(service.clone(), op.clone())).copied().unwrap_or(0);
        if delta > 0 {
            out.entry(service.clone()).or_default().insert(op.clone(), delta);
        }
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
            let key = (m.service().to_string(), m.name().to_string());
            *self.failures.lock().unwrap().entry(key).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// The clients of one region, each with the call counter installed.
#[derive(Clone, Debug)]
pub struct Clients {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub apprunner: aws_sdk_apprunner::Client,
    pub ssm: aws_sdk_ssm::Client,
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
        regions
            .entry(region.to_string())
            .or_insert_with(|| Clients {
                region: region.to_string(),
                ec2: client!(aws_sdk_ec2, &self.base, region, self.calls),
                ecs: client!(aws_sdk_ecs, &self.base, region, self.calls),
                elasticache: client!(aws_sdk_elasticache, &self.base, region, self.calls),
                apprunner: client!(aws_sdk_apprunner, &self.base, region, self.calls),
                ssm: client!(aws_sdk_ssm, &self.base, region, self.calls),
            })
            .clone()
    }

    /// A DynamoDB client with the call counter, for the store.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.base).interceptor(self.calls.clone()).build(),
        )
    }
}
