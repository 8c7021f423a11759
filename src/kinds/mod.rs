//! The resource kinds steward manages: one file per kind with everything specific to it.
//! Adding a kind means one new file and one line in `Kind::ALL` / `definition`.

use crate::manifest::schema::{Checker, Field, StrRule};
use serde_json::Value as Json;
use std::fmt;

pub mod apprunner_custom_domain;
pub mod apprunner_service;
pub mod apprunner_vpc_connector;
pub mod cache_cluster;
pub mod cache_subnet_group;
pub mod cache_user;
pub mod ecs_cluster;
pub mod ecs_service;
pub mod stack;
pub mod vpc_endpoint;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Stack,
    VpcEndpoint,
    CacheSubnetGroup,
    CacheCluster,
    CacheUser,
    AppRunnerVpcConnector,
    AppRunnerService,
    AppRunnerCustomDomain,
    EcsCluster,
    EcsService,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Stack,
        Kind::VpcEndpoint,
        Kind::CacheSubnetGroup,
        Kind::CacheCluster,
        Kind::CacheUser,
        Kind::AppRunnerVpcConnector,
        Kind::AppRunnerService,
        Kind::AppRunnerCustomDomain,
        Kind::EcsCluster,
        Kind::EcsService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stack => "Stack",
            Kind::VpcEndpoint => "VpcEndpoint",
            Kind::CacheSubnetGroup => "CacheSubnetGroup",
            Kind::CacheCluster => "CacheCluster",
            Kind::CacheUser => "CacheUser",
            Kind::AppRunnerVpcConnector => "AppRunnerVpcConnector",
            Kind::AppRunnerService => "AppRunnerService",
            Kind::AppRunnerCustomDomain => "AppRunnerCustomDomain",
            Kind::EcsCluster => "EcsCluster",
            Kind::EcsService => "EcsService",
        }
    }

    /// Exact kind names as written in manifests; the CLI also accepts them in any letter case.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn parse_loose(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    pub fn definition(self) -> KindDef {
        match self {
            Kind::Stack => stack::definition(),
            Kind::VpcEndpoint => vpc_endpoint::definition(),
            Kind::CacheSubnetGroup => cache_subnet_group::definition(),
            Kind::CacheCluster => cache_cluster::definition(),
            Kind::CacheUser => cache_user::definition(),
            Kind::AppRunnerVpcConnector => apprunner_vpc_connector::definition(),
            Kind::AppRunnerService => apprunner_service::definition(),
            Kind::AppRunnerCustomDomain => apprunner_custom_domain::definition(),
            Kind::EcsCluster => ecs_cluster::definition(),
            Kind::EcsService => ecs_service::definition(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the manifest layer needs to know about a kind; the AWS adapter lives beside it.
pub struct KindDef {
    /// The spec's own fields; the common ones (policies, adopt) are added by the validator.
    pub fields: Vec<Field>,
    /// Names other resources may reference as `${Kind/name.output}`.
    pub outputs: &'static [&'static str],
    /// `Retain` for kinds that hold data (cache clusters, users), `Delete` otherwise.
    pub retain_by_default: bool,
    /// The AWS naming rule for `metadata.name`.
    pub name_rule: StrRule,
    /// Cross-field rules the schema cannot express (Fargate cpu/memory pairs and the like).
    pub check: fn(&Json, &mut Checker),
}

pub fn no_extra_checks(_: &Json, _: &mut Checker) {}

/// The generic name rule: what every kind accepts at least, and what is safe in keys and logs.
pub const GENERIC_NAME: StrRule = StrRule {
    expected: "a name of 1 to 63 letters, digits, '_' or '-', starting with a letter or digit",
    check: |s| {
        (1..=63).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    },
};
