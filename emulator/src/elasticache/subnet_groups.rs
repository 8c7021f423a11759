//! ElastiCache subnet groups: their subnets must share one VPC, as EC2 (moto) reports it.

use super::{ElastiCache, SubnetGroup, arn, page, strings, tags_of, with_marker};
use crate::api::{ApiError, Call, OpResult, shuffle, text};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

impl ElastiCache {
    pub(super) fn create_subnet_group(&mut self, input: &Json, call: &Call) -> OpResult {
        let name = text(input, "CacheSubnetGroupName").unwrap_or_default().to_lowercase();
        if self.subnet_groups.contains_key(&name) {
            return Err(ApiError::new(
                "CacheSubnetGroupAlreadyExistsFault",
                format!("Cache subnet group {name} already exists."),
            ));
        }
        let subnets = strings(input, "SubnetIds");
        let vpc = match &call.subnet_vpcs {
            Some(known) => one_vpc(&subnets, known, None)?,
            None => vpc_of(&subnets),
        };
        let arn = arn(call, "subnetgroup", &name);
        let json = json!({
            "CacheSubnetGroupName": name,
            "CacheSubnetGroupDescription": text(input, "CacheSubnetGroupDescription").unwrap_or_default(),
            "VpcId": vpc,
            "Subnets": subnet_list(&subnets, &call.region),
            "ARN": arn,
            "SupportedNetworkTypes": ["ipv4"],
        });
        self.tags.insert(arn, tags_of(input)?);
        let group = SubnetGroup { json };
        let shown = group.render();
        self.subnet_groups.insert(name, group);
        Ok(json!({ "CacheSubnetGroup": shown }))
    }

    pub(super) fn describe_subnet_groups(&self, input: &Json) -> OpResult {
        let items: Vec<(String, Json)> = match text(input, "CacheSubnetGroupName") {
            Some(name) => match self.subnet_groups.get(name) {
                Some(g) => vec![(name.to_string(), g.render())],
                None => {
                    return Err(ApiError::new(
                        "CacheSubnetGroupNotFoundFault",
                        format!("Cache subnet group {name} not found."),
                    ));
                }
            },
            None => self.subnet_groups.iter().map(|(k, g)| (k.clone(), g.render())).collect(),
        };
        let (groups, marker) = page(items, input)?;
        Ok(with_marker(json!({ "CacheSubnetGroups": groups }), marker))
    }

    pub(super) fn modify_subnet_group(&mut self, input: &Json, call: &Call) -> OpResult {
        let name = text(input, "CacheSubnetGroupName").unwrap_or_default();
        let group = self.subnet_groups.get(name).ok_or_else(|| {
            ApiError::new("CacheSubnetGroupNotFoundFault", format!("Cache subnet group {name} not found."))
        })?;
        let subnets = strings(input, "SubnetIds");
        if !subnets.is_empty() {
            // The group keeps its VPC, and cannot drop a subnet a cluster's node runs in.
            let vpc = group.json["VpcId"].as_str().unwrap_or_default();
            if let Some(known) = &call.subnet_vpcs {
                one_vpc(&subnets, known, Some(vpc))?;
            }
            let used = self.clusters.values().filter(|c| c.json["CacheSubnetGroupName"] == name);
            if let Some(c) = used.into_iter().find(|c| !subnets.contains(&c.subnet)) {
                return Err(ApiError::new(
                    "SubnetInUse",
                    format!("The subnet {} is in use by cache cluster {}.", c.subnet, c.json["CacheClusterId"]),
                ));
            }
        }
        let group = self.subnet_groups.get_mut(name).expect("found above");
        if let Some(d) = text(input, "CacheSubnetGroupDescription") {
            group.json["CacheSubnetGroupDescription"] = json!(d);
        }
        if !subnets.is_empty() {
            group.json["Subnets"] = subnet_list(&subnets, &call.region);
        }
        Ok(json!({ "CacheSubnetGroup": group.render() }))
    }

    pub(super) fn delete_subnet_group(&mut self, input: &Json) -> OpResult {
        let name = text(input, "CacheSubnetGroupName").unwrap_or_default();
        if !self.subnet_groups.contains_key(name) {
            return Err(ApiError::new(
                "CacheSubnetGroupNotFoundFault",
                format!("Cache subnet group {name} not found."),
            ));
        }
        if self.clusters.values().any(|c| c.json["CacheSubnetGroupName"] == name) {
            return Err(ApiError::new(
                "CacheSubnetGroupInUse",
                format!("Cache subnet group {name} is currently in use by a cache cluster."),
            ));
        }
        if let Some(g) = self.subnet_groups.remove(name) {
            self.tags.remove(g.json["ARN"].as_str().unwrap_or_default());
        }
        Ok(json!({}))
    }
}

impl SubnetGroup {
    pub(super) fn render(&self) -> Json {
        let mut shown = self.json.clone();
        shuffle(&mut shown["Subnets"]);
        shown
    }
}

/// The one VPC of `subnets` (and `expected`, when the group has one already), or InvalidSubnet.
fn one_vpc(subnets: &[String], known: &BTreeMap<String, String>, expected: Option<&str>) -> Result<String, ApiError> {
    let invalid = |m: String| ApiError::new("InvalidSubnet", m);
    let mut vpc = expected.map(str::to_string);
    for s in subnets {
        let Some(of) = known.get(s) else { return Err(invalid(format!("The subnet ID {s} does not exist."))) };
        match &vpc {
            Some(v) if v != of => {
                return Err(invalid(format!("Subnet {s} is in {of}; the cache subnet group's subnets are in {v}.")));
            }
            _ => vpc = Some(of.clone()),
        }
    }
    Ok(vpc.unwrap_or_default())
}

fn subnet_list(ids: &[String], region: &str) -> Json {
    let zones = ["a", "b", "c"];
    json!(
        ids.iter()
            .enumerate()
            .map(|(i, id)| json!({
                "SubnetIdentifier": id,
                "SubnetAvailabilityZone": { "Name": format!("{region}{}", zones[i % 3]) },
                "SupportedNetworkTypes": ["ipv4"],
            }))
            .collect::<Vec<_>>()
    )
}

/// The emulator does not know EC2; a stable VPC id derived from the subnets stands in for it.
fn vpc_of(subnets: &[String]) -> String {
    let mut hash: u64 = 1469598103934665603;
    for b in subnets.first().map(String::as_bytes).unwrap_or_default() {
        hash = (hash ^ u64::from(*b)).wrapping_mul(1099511628211);
    }
    format!("vpc-{:017x}", hash & 0xfffffffffffffff)
}
