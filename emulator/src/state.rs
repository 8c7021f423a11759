//! The emulator's state: each service's objects by region, the request log and the switches the
//! admin API sets, behind one lock.

use crate::apprunner::AppRunner;
use crate::elasticache::ElastiCache;
use crate::express::Express;
use crate::faults::Faults;
use crate::model::Model;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Emulator {
    pub apprunner_model: Model,
    pub elasticache_model: Model,
    pub ecs_model: Model,
    pub account: String,
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
}

pub struct State {
    pub transition: Duration,
    pub apprunner: BTreeMap<String, AppRunner>,
    pub elasticache: BTreeMap<String, ElastiCache>,
    /// How long a new Express service's tasks take to pass the load balancer's health checks.
    pub health_check: Duration,
    /// ECS Express Mode services, by region.
    pub express: BTreeMap<String, Express>,
    /// Calls served, by "service:Operation", for tests and benchmarks to cross-check.
    pub requests: BTreeMap<String, u64>,
    /// App Runner's own events are put on EventBridge (`--service-events`, admin API).
    pub service_events: bool,
    /// The access key of the latest call: the account service events are put in.
    pub last_caller: Option<String>,
}

impl State {
    pub fn new(transition: Duration) -> Self {
        State {
            transition,
            apprunner: BTreeMap::new(),
            elasticache: BTreeMap::new(),
            express: BTreeMap::new(),
            health_check: transition * 2,
            requests: BTreeMap::new(),
            service_events: false,
            last_caller: None,
        }
    }
}
