//! steward-emulator: App Runner and ElastiCache on loopback, and a fault-injecting proxy for every
//! AWS service, for steward's tests, demo and benchmarks.

pub mod admin;
pub mod api;
pub mod apprunner;
pub mod dns;
pub mod ecs;
pub mod elasticache;
pub mod express;
pub mod express_infra;
pub mod faults;
pub mod lifecycle;
pub mod model;
pub mod network;
pub mod proxy;
pub mod server;
pub mod service_events;
pub mod state;
pub mod trail;
pub mod upstream;
