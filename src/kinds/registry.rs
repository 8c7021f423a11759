//! The kind registry: for each kind, its definition (schema, outputs, naming) and its adapter.
//! The matches are exhaustive, so a kind added to `model::key::Kind` and not here does not build.

use super::definition::KindDef;
use super::{apprunner_custom_domain, apprunner_service, apprunner_vpc_connector, cache_cluster, cache_subnet_group};
use super::{cache_user, ecs_cluster, ecs_service, route53_record, stack, vpc_endpoint};
use crate::model::{Adapter, Kind};

/// What the manifest layer needs to know about a kind.
pub fn definition(kind: Kind) -> KindDef {
    match kind {
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
        Kind::Route53Record => route53_record::definition(),
    }
}

/// The kind's AWS adapter.
pub fn adapter(kind: Kind) -> &'static dyn Adapter {
    match kind {
        Kind::Stack => &stack::StackAdapter,
        Kind::VpcEndpoint => &vpc_endpoint::VpcEndpointAdapter,
        Kind::CacheSubnetGroup => &cache_subnet_group::CacheSubnetGroupAdapter,
        Kind::CacheCluster => &cache_cluster::CacheClusterAdapter,
        Kind::CacheUser => &cache_user::CacheUserAdapter,
        Kind::AppRunnerVpcConnector => &apprunner_vpc_connector::VpcConnectorAdapter,
        Kind::AppRunnerService => &apprunner_service::AppRunnerServiceAdapter,
        Kind::AppRunnerCustomDomain => &apprunner_custom_domain::CustomDomainAdapter,
        Kind::EcsCluster => &ecs_cluster::EcsClusterAdapter,
        Kind::EcsService => &ecs_service::EcsServiceAdapter,
        Kind::Route53Record => &route53_record::Route53RecordAdapter,
    }
}
