//! The resource kinds steward manages: one file per kind with everything specific to it (its
//! typed spec, schema and adapter), the registry that lists them, and the helpers they share.
//! Adding a kind means one new file (in the declared shape: `typed.rs`) and one line in
//! `model::key::kind_list!`.
//!
//! Files here import one another directly (`super::tagging::retag`), never through this index.

pub mod acm_certificate;
pub mod apprunner_custom_domain;
pub mod apprunner_service;
pub mod apprunner_vpc_connector;
pub mod cache_cluster;
pub mod cache_subnet_group;
pub mod cache_user;
pub mod definition;
pub mod ec2;
pub mod ecr_repository;
pub mod ecs_cluster;
pub mod ecs_express_service;
pub mod ecs_service;
pub mod iam;
pub mod iam_policy;
pub mod iam_role;
pub mod listener_rule;
pub mod log_group;
pub mod registry;
pub mod route53_record;
pub mod route_table;
pub mod security_group;
pub mod sqs_queue;
pub mod stack;
pub mod subnet;
pub mod tagging;
pub mod typed;
pub mod values;
pub mod vpc;
pub mod vpc_endpoint;

pub use definition::FieldDecl;
pub use definition::{GENERIC_NAME, KindDef};
pub use registry::{adapter, definition};
pub use tagging::retag;
