//! RouteTable: a route table of the stack's VPC, its routes and subnet associations as sets.
//! The `local` route and the routes gateway endpoints add (`vpce-…`, kept by VpcEndpoint) are
//! AWS's and the endpoints', never the table's. One DescribeRouteTables a pass finds the pass's
//! tables by their ownership tags, or, for adoption, by `Name`; a VPC's main table stays AWS's.

use super::ec2::claimant;
use super::tagging::{ec2_tag_list, tag_map};
use super::typed::prelude::*;
use crate::model::AwsError;
use crate::schema::Checker;
use aws_sdk_ec2::types::{Filter, ResourceType, TagSpecification};
use serde_json::Value as Json;

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteTableSpec {
    /// Every route beside the VPC's local one, and no other (none unless listed: an isolated
    /// table).
    #[serde(default)]
    #[field(shape = list(Route::shape(), 0, 50), set)]
    pub routes: Vec<Route>,
    /// The subnets that use it, by id or `${Subnet/name.id}`.
    #[serde(default)]
    #[field(shape = list(Association::shape(), 0, 200), set)]
    pub associations: Vec<Association>,
}

/// One route: a destination and one target (shown without the members it does not have).
#[derive(Declared, Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_cidr_block: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_ipv6_cidr_block: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_prefix_list_id: Option<String>,
    /// An internet gateway (`igw-…`) or a virtual private gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_gateway_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_only_internet_gateway_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transit_gateway_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_peering_connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_interface_id: Option<String>,
}

/// A subnet that uses the table.
#[derive(Declared, Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Association {
    pub subnet_id: String,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct RouteTableOutputs {
    #[field(tf = "id", doc = "the route table's id")]
    pub id: String,
}

/// The association ids of the table's subnets, which removing one needs.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct AssociationIds(BTreeMap<String, String>);

pub struct RouteTable;
pub static ADAPTER: Typed<RouteTable> = Typed::new(RouteTable);

#[async_trait::async_trait]
impl TypedKind for RouteTable {
    type Spec = RouteTableSpec;
    type View = Self::Spec;
    type Outputs = RouteTableOutputs;
    type Memo = ();
    type Facts = AssociationIds;
    const TAGGED: TagsAt = Some(|id| Tagged::Ec2(id));
    const ACTIONS: &'static [&'static str] = crate::actions!("ec2": DescribeRouteTables, CreateRouteTable,
        CreateRoute, DeleteRoute, AssociateRouteTable, ReplaceRouteTableAssociation, DisassociateRouteTable,
        DeleteRouteTable, DescribeNetworkInterfaces, CreateTags, DeleteTags);

    fn check(spec: &RouteTableSpec, c: &mut Checker) {
        for (i, route) in spec.routes.iter().enumerate() {
            let destinations =
                [&route.destination_cidr_block, &route.destination_ipv6_cidr_block, &route.destination_prefix_list_id];
            if destinations.iter().filter(|d| d.is_some()).count() != 1 {
                c.error_at(
                    &format!("routes[{i}]"),
                    "expected exactly one of destinationCidrBlock, destinationIpv6CidrBlock, destinationPrefixListId",
                );
            }
            if targets(route).len() != 1 {
                c.error_at(&format!("routes[{i}]"), "expected exactly one target (gatewayId, natGatewayId, …)");
            }
            if route.gateway_id.as_deref().is_some_and(|g| g == "local" || g.starts_with("vpce-")) {
                c.error_at(
                    &format!("routes[{i}].gatewayId"),
                    "the local route is AWS's and an endpoint's routes are its VpcEndpoint's: leave them out",
                );
            }
        }
    }

    /// A route the spec does not have is critical when it leads to the internet, or when the
    /// table is kept without one (an isolated table stays isolated).
    fn critical(field: &str, desired: &Json, actual: &Json) -> bool {
        let routes = |v: &Json| serde_json::from_value::<Vec<Route>>(v.clone()).unwrap_or_default();
        let (wanted, found) = (routes(desired), routes(actual));
        let isolated = !wanted.iter().any(to_internet);
        field == "routes" && found.iter().any(|r| !wanted.contains(r) && (isolated || to_internet(r)))
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let vpcs: BTreeSet<String> = wanted.iter().map(|w| w.desired.vpc_id.clone()).collect();
        let request = cx.clients.ec2.describe_route_tables();
        let request =
            request.filters(Filter::builder().name("vpc-id").set_values(Some(vpcs.into_iter().collect())).build());
        let tables: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
        let mut out = Vec::new();
        for t in tables.map_err(aws("DescribeRouteTables"))? {
            let tags = tag_map(t.tags().iter().map(|t| (t.key(), t.value())));
            let main = t.associations().iter().any(|a| a.main() == Some(true));
            let Some(want) = claimant(&tags, wanted).filter(|w| !main && t.vpc_id() == Some(&w.desired.vpc_id)) else {
                continue;
            };
            let mut routes: Vec<Route> = t.routes().iter().filter_map(route_of).collect();
            routes.sort();
            let subnets =
                t.associations().iter().filter_map(|a| Some((a.subnet_id()?, a.route_table_association_id()?)));
            let ids = AssociationIds(subnets.map(|(s, a)| (s.to_string(), a.to_string())).collect());
            let associations = ids.0.keys().map(|s| Association { subnet_id: s.clone() }).collect();
            let id = t.route_table_id().unwrap_or_default().to_string();
            let outputs = RouteTableOutputs { id: id.clone() };
            let config = RouteTableSpec { routes, associations };
            out.push((want.key().clone(), Seen { id, state: ObjectState::Ready, config, tags, facts: ids, outputs }));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let tags = TagSpecification::builder().resource_type(ResourceType::RouteTable);
        let request = cx.clients.ec2.create_route_table().vpc_id(&want.desired.vpc_id);
        let request = request.tag_specifications(tags.set_tags(Some(ec2_tag_list(&want.desired.tags))).build());
        cx.may_mutate().await?;
        // Made before a crash, it is found by its tags next pass, and its routes follow as drift.
        let made = request.send().await.map_err(aws("CreateRouteTable"))?;
        let id = made.route_table().and_then(|t| t.route_table_id()).unwrap_or_default();
        set_routes(cx, id, &[], &want.spec.routes).await?;
        associate(cx, id, &AssociationIds::default(), &want.spec.associations).await
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        set_routes(cx, &seen.id, &seen.config.routes, &want.spec.routes).await?;
        associate(cx, &seen.id, &seen.facts, &want.spec.associations).await
    }

    /// Its own associations go with it (the subnets fall back to the VPC's main table); a
    /// table something else still uses waits, and says what.
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        associate(cx, &seen.id, &seen.facts, &[]).await?;
        cx.may_mutate().await?;
        let deleted = cx.clients.ec2.delete_route_table().route_table_id(&seen.id).send().await;
        match unless(deleted.map_err(aws("DeleteRouteTable")), &["InvalidRouteTableID.NotFound"]) {
            Err(e) if e.code() == Some("DependencyViolation") => Err(users(cx, &seen.id).await?.into()),
            other => other.map(drop),
        }
    }
}

/// A route as the table keeps it, or None for the routes that are not the table's own.
fn route_of(r: &aws_sdk_ec2::types::Route) -> Option<Route> {
    let gateway = r.gateway_id();
    if gateway == Some("local") || gateway.is_some_and(|g| g.starts_with("vpce-")) {
        return None;
    }
    if r.origin().is_some_and(|o| o.as_str() == "EnableVgwRoutePropagation") {
        return None;
    }
    let text = |v: Option<&str>| v.map(str::to_string);
    Some(Route {
        destination_cidr_block: text(r.destination_cidr_block()),
        destination_ipv6_cidr_block: text(r.destination_ipv6_cidr_block()),
        destination_prefix_list_id: text(r.destination_prefix_list_id()),
        gateway_id: text(gateway),
        nat_gateway_id: text(r.nat_gateway_id()),
        egress_only_internet_gateway_id: text(r.egress_only_internet_gateway_id()),
        transit_gateway_id: text(r.transit_gateway_id()),
        vpc_peering_connection_id: text(r.vpc_peering_connection_id()),
        // An instance's route reads back with its interface; only an interface route names one.
        network_interface_id: text(r.network_interface_id()).filter(|_| r.instance_id().is_none()),
    })
}

fn targets(r: &Route) -> Vec<&String> {
    let all = [
        &r.gateway_id,
        &r.nat_gateway_id,
        &r.egress_only_internet_gateway_id,
        &r.transit_gateway_id,
        &r.vpc_peering_connection_id,
        &r.network_interface_id,
    ];
    all.into_iter().flatten().collect()
}

/// A route out to the internet: through an internet or NAT gateway.
fn to_internet(r: &Route) -> bool {
    r.nat_gateway_id.is_some()
        || r.egress_only_internet_gateway_id.is_some()
        || r.gateway_id.as_deref().is_some_and(|g| g.starts_with("igw-"))
}

/// Deletes the routes `have` holds beyond `need`, then creates what it lacks (a destination
/// whose target changed is deleted and made again). Each call is idempotent: a route already
/// gone or already there is what was wanted.
async fn set_routes(cx: &Cx<'_>, id: &str, have: &[Route], need: &[Route]) -> Result<(), ReconcileError> {
    for route in have.iter().filter(|r| !need.contains(r)) {
        let request = cx.clients.ec2.delete_route().route_table_id(id);
        let request = request.set_destination_cidr_block(route.destination_cidr_block.clone());
        let request = request.set_destination_ipv6_cidr_block(route.destination_ipv6_cidr_block.clone());
        let request = request.set_destination_prefix_list_id(route.destination_prefix_list_id.clone());
        cx.may_mutate().await?;
        unless(request.send().await.map_err(aws("DeleteRoute")), &["InvalidRoute.NotFound"])?;
    }
    for route in need.iter().filter(|r| !have.contains(r)) {
        let request = cx.clients.ec2.create_route().route_table_id(id);
        let request = request.set_destination_cidr_block(route.destination_cidr_block.clone());
        let request = request.set_destination_ipv6_cidr_block(route.destination_ipv6_cidr_block.clone());
        let request = request.set_destination_prefix_list_id(route.destination_prefix_list_id.clone());
        let request = request.set_gateway_id(route.gateway_id.clone()).set_nat_gateway_id(route.nat_gateway_id.clone());
        let request = request.set_egress_only_internet_gateway_id(route.egress_only_internet_gateway_id.clone());
        let request = request.set_transit_gateway_id(route.transit_gateway_id.clone());
        let request = request.set_vpc_peering_connection_id(route.vpc_peering_connection_id.clone());
        let request = request.set_network_interface_id(route.network_interface_id.clone());
        cx.may_mutate().await?;
        unless(request.send().await.map_err(aws("CreateRoute")), &["RouteAlreadyExists"])?;
    }
    Ok(())
}

/// Disassociates the subnets `have` holds beyond `need`, and associates what it lacks. A subnet
/// another table holds explicitly is moved over with ReplaceRouteTableAssociation.
async fn associate(cx: &Cx<'_>, id: &str, have: &AssociationIds, need: &[Association]) -> Result<(), ReconcileError> {
    for (subnet, association) in &have.0 {
        if need.iter().any(|a| &a.subnet_id == subnet) {
            continue;
        }
        cx.may_mutate().await?;
        let request = cx.clients.ec2.disassociate_route_table().association_id(association);
        unless(request.send().await.map_err(aws("DisassociateRouteTable")), &["InvalidAssociationID.NotFound"])?;
    }
    for subnet in need.iter().map(|a| &a.subnet_id).filter(|s| !have.0.contains_key(*s)) {
        cx.may_mutate().await?;
        let request = cx.clients.ec2.associate_route_table().route_table_id(id).subnet_id(subnet);
        match request.send().await.map_err(aws("AssociateRouteTable")) {
            Err(e) if e.is_code(&["Resource.AlreadyAssociated"]) => replace_association(cx, id, subnet).await?,
            other => drop(other?),
        }
    }
    Ok(())
}

async fn replace_association(cx: &Cx<'_>, id: &str, subnet: &str) -> Result<(), ReconcileError> {
    let request = cx.clients.ec2.describe_route_tables();
    let found = request.filters(Filter::builder().name("association.subnet-id").values(subnet).build()).send().await;
    let tables = found.map_err(aws("DescribeRouteTables"))?;
    let associations = tables.route_tables().iter().flat_map(|t| t.associations());
    let current = associations.filter(|a| a.subnet_id() == Some(subnet)).find_map(|a| a.route_table_association_id());
    let Some(current) = current else { return Ok(()) };
    cx.may_mutate().await?;
    let request = cx.clients.ec2.replace_route_table_association().association_id(current).route_table_id(id);
    request.send().await.map_err(aws("ReplaceRouteTableAssociation"))?;
    Ok(())
}

/// Why a table cannot go yet: the associations and endpoint routes it still has (the error is
/// transient, so the delete waits and the status says what for).
async fn users(cx: &Cx<'_>, id: &str) -> Result<AwsError, ReconcileError> {
    let found = cx.clients.ec2.describe_route_tables().route_table_ids(id).send().await;
    let tables = found.map_err(aws("DescribeRouteTables"))?;
    let table = tables.route_tables().iter().flat_map(|t| t.associations().iter().filter_map(|a| a.subnet_id()));
    let endpoints = tables.route_tables().iter().flat_map(|t| t.routes().iter().filter_map(|r| r.gateway_id()));
    let users: Vec<&str> = table.chain(endpoints.filter(|g| g.starts_with("vpce-"))).collect();
    Ok(AwsError::unexpected("DeleteRouteTable", format!("waiting: {id} is still used by {}", users.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_route_out_is_critical_and_so_is_anything_added_to_an_isolated_table() {
        let to_igw = json!([{ "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1" }]);
        let to_peer = json!([{ "destinationCidrBlock": "10.9.0.0/16", "vpcPeeringConnectionId": "pcx-1" }]);
        let both = json!([to_peer[0], to_igw[0]]);
        let cases = [
            ("routes", json!([]), to_igw.clone(), true, "a way out where there was none"),
            ("routes", json!([]), to_peer.clone(), true, "anything added to an isolated table"),
            ("routes", to_igw.clone(), both.clone(), false, "a peering beside the declared way out"),
            ("routes", to_peer.clone(), both, true, "a way out added beside a peering"),
            ("routes", to_igw.clone(), json!([]), false, "a route removed opens nothing"),
            ("associations", json!([]), json!([{ "subnetId": "subnet-1" }]), false, "a subnet is not a route"),
        ];
        for (field, desired, actual, critical, why) in cases {
            assert_eq!(RouteTable::critical(field, &desired, &actual), critical, "{why}");
        }
    }

    #[test]
    fn the_local_route_endpoint_routes_and_propagated_routes_are_not_the_tables() {
        use aws_sdk_ec2::types::{Route as AwsRoute, RouteOrigin};
        let local = AwsRoute::builder().destination_cidr_block("10.0.0.0/16").gateway_id("local").build();
        let endpoint = AwsRoute::builder().destination_prefix_list_id("pl-1").gateway_id("vpce-1").build();
        let propagated = AwsRoute::builder().destination_cidr_block("192.168.0.0/16").gateway_id("vgw-1");
        let propagated = propagated.origin(RouteOrigin::EnableVgwRoutePropagation).build();
        let out = AwsRoute::builder().destination_cidr_block("0.0.0.0/0").gateway_id("igw-1").build();
        let kept: Vec<Route> = [local, endpoint, propagated, out].iter().filter_map(route_of).collect();
        let expected = Route {
            destination_cidr_block: Some("0.0.0.0/0".into()),
            gateway_id: Some("igw-1".into()),
            ..Route::default()
        };
        assert_eq!(kept, [expected]);
    }
}
