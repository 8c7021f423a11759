//! ElastiCache (one region): subnet groups, cache clusters, users, user groups and tags, with
//! AWS-like asynchronous states (creating, modifying, deleting) that settle after the transition
//! delay. Inputs and outputs use the model's member names; the server turns them into awsQuery.

mod subnet_groups;
mod users;

use crate::api::{ApiError, Call, OpResult, shuffle, text};
use crate::lifecycle::{Lifecycle, Phase, Settled, Words};
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::time::Instant;

pub const NODE_TYPES: &[&str] = &[
    "cache.t3.micro",
    "cache.t3.small",
    "cache.t3.medium",
    "cache.t4g.micro",
    "cache.t4g.small",
    "cache.t4g.medium",
    "cache.m6g.large",
    "cache.m7g.large",
    "cache.r6g.large",
    "cache.r7g.large",
];

/// Engine versions a client may ask for, and the full version AWS reports back for each.
pub const ENGINE_VERSIONS: &[(&str, &str, &str)] = &[
    ("redis", "6.0", "6.0.5"),
    ("redis", "6.2", "6.2.6"),
    ("redis", "7.0", "7.0.7"),
    ("redis", "7.1", "7.1.0"),
    ("valkey", "7.2", "7.2.6"),
    ("valkey", "8.0", "8.0.1"),
];

const MAX_TAGS: usize = 50;

#[derive(Default)]
pub struct ElastiCache {
    clusters: BTreeMap<String, Cluster>,
    subnet_groups: BTreeMap<String, SubnetGroup>,
    users: BTreeMap<String, User>,
    user_groups: BTreeMap<String, UserGroup>,
    tags: BTreeMap<String, Vec<(String, String)>>,
    /// Clusters whose next creation fails (admin API).
    fail_next: Vec<String>,
}

struct Cluster {
    json: Json,
    life: Lifecycle,
    /// Applied when a `modifying` transition ends.
    pending: Map<String, Json>,
    host: String,
    /// The subnet its node runs in: a subnet group cannot drop it (SubnetInUse).
    subnet: String,
}

/// A cluster's states in ElastiCache's words; one whose subnet has no free address ends
/// `incompatible-network` (the failure the admin API asks for).
const CLUSTER: Words = Words {
    creating: "creating",
    available: "available",
    modifying: "modifying",
    deleting: "deleting",
    failed: "incompatible-network",
};

/// A user's and a user group's states.
const USER: Words =
    Words { creating: "creating", available: "active", modifying: "modifying", deleting: "deleting", failed: "failed" };

struct SubnetGroup {
    json: Json,
}

struct User {
    json: Json,
    life: Lifecycle,
    passwords: Vec<String>,
}

struct UserGroup {
    json: Json,
    life: Lifecycle,
    pending: Option<(Vec<String>, Vec<String>)>,
}

fn strings(input: &Json, key: &str) -> Vec<String> {
    input
        .get(key)
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `eu-west-1` → `euw1`, `ap-southeast-1` → `apse1`, as in ElastiCache endpoint host names.
fn region_code(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let direction = |p: &str| match p {
        "northeast" => "ne".to_string(),
        "northwest" => "nw".to_string(),
        "southeast" => "se".to_string(),
        "southwest" => "sw".to_string(),
        other => other.chars().take(1).collect(),
    };
    match parts.as_slice() {
        [area, dir, n] => format!("{area}{}{n}", direction(dir)),
        _ => region.replace('-', ""),
    }
}

fn random_tag(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}

fn arn(call: &Call, kind: &str, id: &str) -> String {
    format!("arn:aws:elasticache:{}:{}:{kind}:{id}", call.region, call.account)
}

fn tags_of(input: &Json) -> Result<Vec<(String, String)>, ApiError> {
    let tags: Vec<(String, String)> = input
        .get("Tags")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|t| (text(t, "Key").unwrap_or_default().to_string(), text(t, "Value").unwrap_or_default().to_string()))
        .collect();
    if tags.len() > MAX_TAGS {
        return Err(ApiError::new("TagQuotaPerResourceExceeded", format!("at most {MAX_TAGS} tags per resource")));
    }
    Ok(tags)
}

/// Pages through `items` by `MaxRecords` (20 to 100, default 100) and an opaque `Marker`.
fn page(items: Vec<(String, Json)>, input: &Json) -> Result<(Vec<Json>, Option<String>), ApiError> {
    let max = input.get("MaxRecords").and_then(Json::as_i64).unwrap_or(100);
    if !(20..=100).contains(&max) {
        return Err(ApiError::new("InvalidParameterValueException", "MaxRecords must be between 20 and 100."));
    }
    let after = text(input, "Marker");
    let rest: Vec<(String, Json)> = items.into_iter().filter(|(k, _)| after.is_none_or(|m| k.as_str() > m)).collect();
    let more = rest.len() > max as usize;
    let shown: Vec<(String, Json)> = rest.into_iter().take(max as usize).collect();
    let marker = if more { shown.last().map(|(k, _)| k.clone()) } else { None };
    Ok((shown.into_iter().map(|(_, v)| v).collect(), marker))
}

impl ElastiCache {
    /// Moves every resource whose transition has ended to its next state.
    fn settle(&mut self, now: Instant) {
        self.clusters.retain(|_, c| match c.life.settle(now) {
            Settled::Gone => false,
            Settled::Done => {
                // A change applied with ApplyImmediately shows once its transition ends.
                for (k, v) in std::mem::take(&mut c.pending) {
                    c.json[k] = v;
                }
                true
            }
            Settled::Unchanged => true,
        });
        let mut gone_users = Vec::new();
        self.users.retain(|_, u| {
            let gone = u.life.settle(now) == Settled::Gone;
            if gone {
                gone_users.push(u.json["ARN"].as_str().unwrap_or_default().to_string());
            }
            !gone
        });
        for arn in gone_users {
            self.tags.remove(&arn);
        }
        self.user_groups.retain(|_, g| {
            let settled = g.life.settle(now);
            // Membership changes show once the group's transition ends.
            if let Some((add, remove)) = g.pending.take_if(|_| settled == Settled::Done) {
                let mut ids = strings(&g.json, "UserIds");
                ids.retain(|i| !remove.contains(i));
                ids.extend(add);
                g.json["UserIds"] = json!(ids);
            }
            settled != Settled::Gone
        });
        let live: Vec<String> =
            self.users.values().map(|u| u.json["UserId"].as_str().unwrap_or_default().to_string()).collect();
        for g in self.user_groups.values_mut() {
            if let Some(ids) = g.json["UserIds"].as_array_mut() {
                ids.retain(|i| i.as_str().is_some_and(|i| live.iter().any(|l| l == i)));
            }
        }
    }

    /// Makes the next CreateCacheCluster of `cluster_id` fail asynchronously: the cluster ends
    /// `incompatible-network` instead of `available`.
    pub fn fail_next(&mut self, operation: &str, cluster_id: &str) -> Result<(), String> {
        if operation != "CreateCacheCluster" {
            return Err("ElastiCache operations that can fail: CreateCacheCluster".into());
        }
        self.fail_next.push(cluster_id.to_lowercase());
        Ok(())
    }

    pub fn call(&mut self, operation: &str, input: &Json, call: &Call) -> OpResult {
        self.settle(call.now);
        // AWS keeps these identifiers in lower case and finds them in any case (QUIRKS.md).
        let mut input = input.clone();
        for key in ["CacheClusterId", "CacheSubnetGroupName", "UserId"] {
            if let Some(id) = text(&input, key).map(str::to_lowercase) {
                input[key] = json!(id);
            }
        }
        if let Some(ids) = input.get_mut("UserIds").and_then(Json::as_array_mut) {
            for id in ids.iter_mut() {
                *id = json!(id.as_str().unwrap_or_default().to_lowercase());
            }
        }
        let input = &input;
        if !self.users.contains_key("default") {
            self.users.insert("default".into(), default_user(call));
        }
        match operation {
            "CreateCacheSubnetGroup" => self.create_subnet_group(input, call),
            "DescribeCacheSubnetGroups" => self.describe_subnet_groups(input),
            "ModifyCacheSubnetGroup" => self.modify_subnet_group(input, call),
            "DeleteCacheSubnetGroup" => self.delete_subnet_group(input),
            "CreateCacheCluster" => self.create_cluster(input, call),
            "DescribeCacheClusters" => self.describe_clusters(input),
            "ModifyCacheCluster" => self.modify_cluster(input, call),
            "DeleteCacheCluster" => self.delete_cluster(input, call),
            "CreateUser" => self.create_user(input, call),
            "DescribeUsers" => self.describe_users(input),
            "ModifyUser" => self.modify_user(input, call),
            "DeleteUser" => self.delete_user(input, call),
            "CreateUserGroup" => self.create_user_group(input, call),
            "DescribeUserGroups" => self.describe_user_groups(input),
            "ModifyUserGroup" => self.modify_user_group(input, call),
            "DeleteUserGroup" => self.delete_user_group(input, call),
            "AddTagsToResource" => self.add_tags(input),
            "RemoveTagsFromResource" => self.remove_tags(input),
            "ListTagsForResource" => self.list_tags(input),
            other => Err(ApiError::new("InvalidAction", format!("The emulator does not implement {other}."))),
        }
    }

    // ---- cache clusters ----

    fn create_cluster(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "CacheClusterId").unwrap_or_default().to_lowercase();
        let invalid = |m: String| Err(ApiError::new("InvalidParameterValueException", m));
        if id.is_empty()
            || id.len() > 40
            || !id.starts_with(|c: char| c.is_ascii_lowercase())
            || id.contains("--")
            || id.ends_with('-')
        {
            return invalid(format!("Invalid cache cluster identifier {id:?}."));
        }
        if self.clusters.contains_key(&id) {
            return Err(ApiError::new("CacheClusterAlreadyExistsFault", format!("Cache cluster {id} already exists.")));
        }
        let engine = text(input, "Engine").unwrap_or("redis");
        // AWS: CreateCacheCluster takes memcached or redis; Valkey needs a replication group.
        if engine == "valkey" {
            return invalid(
                "Engine valkey is not supported for CreateCacheCluster; use CreateReplicationGroup.".into(),
            );
        }
        let node_type = text(input, "CacheNodeType").unwrap_or_default();
        if !NODE_TYPES.contains(&node_type) {
            return invalid(format!("Invalid or unsupported node type {node_type:?}."));
        }
        let asked = text(input, "EngineVersion").unwrap_or(if engine == "valkey" { "8.0" } else { "7.1" });
        let Some((_, _, full)) =
            ENGINE_VERSIONS.iter().find(|(e, short, full)| *e == engine && (*short == asked || *full == asked))
        else {
            return invalid(format!("Cannot find version {asked} for {engine}"));
        };
        let nodes = input.get("NumCacheNodes").and_then(Json::as_i64).unwrap_or(1);
        if nodes != 1 {
            return Err(ApiError::new(
                "InvalidParameterCombinationException",
                "Cannot create a Redis cluster with a NumCacheNodes parameter greater than 1.",
            ));
        }
        let group = text(input, "CacheSubnetGroupName").unwrap_or("default");
        let Some(subnet_group) = self.subnet_groups.get(group) else {
            return Err(ApiError::new(
                "CacheSubnetGroupNotFoundFault",
                format!("Cache subnet group {group} not found."),
            ));
        };
        let subnet = subnet_group.json.pointer("/Subnets/0/SubnetIdentifier").and_then(Json::as_str);
        let subnet = subnet.unwrap_or_default().to_string();
        let major = full.split('.').next().unwrap_or("7");
        let default_group = format!("default.{engine}{major}{}", if major == "6" { ".x" } else { "" });
        let arn = arn(call, "cluster", &id);
        let json = json!({
            "CacheClusterId": id,
            "ClientDownloadLandingPage": "https://console.aws.amazon.com/elasticache/home#client-download:",
            "CacheNodeType": node_type,
            "Engine": engine,
            "EngineVersion": full,
            "CacheClusterStatus": "creating",
            "NumCacheNodes": nodes,
            "PreferredAvailabilityZone": format!("{}a", call.region),
            "CacheClusterCreateTime": now_iso(),
            "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
            "PendingModifiedValues": {},
            "CacheSecurityGroups": [],
            "CacheParameterGroup": {
                "CacheParameterGroupName": text(input, "CacheParameterGroupName").unwrap_or(&default_group),
                "ParameterApplyStatus": "in-sync",
                "CacheNodeIdsToReboot": []
            },
            "CacheSubnetGroupName": group,
            "AutoMinorVersionUpgrade": true,
            "SecurityGroups": security_groups(&strings(input, "SecurityGroupIds")),
            "SnapshotRetentionLimit": 0,
            "SnapshotWindow": "03:00-04:00",
            "AuthTokenEnabled": false,
            "TransitEncryptionEnabled": false,
            "AtRestEncryptionEnabled": false,
            "ARN": arn,
            "ReplicationGroupLogDeliveryEnabled": false,
            "LogDeliveryConfigurations": [],
            "NetworkType": "ipv4",
            "IpDiscovery": "ipv4",
            "Port": input.get("Port").and_then(Json::as_i64).unwrap_or(6379),
        });
        self.tags.insert(arn, tags_of(input)?);
        let host = format!("{id}.{}.0001.{}.cache.amazonaws.com", random_tag(6), region_code(&call.region));
        let mut life = Lifecycle::creating(call.now, call.transition);
        if self.fail_next.iter().position(|c| *c == id).map(|i| self.fail_next.remove(i)).is_some() {
            life.fail_when_done();
        }
        let cluster = Cluster { json, life, pending: Map::new(), host, subnet };
        let shown = cluster.render(false);
        self.clusters.insert(id, cluster);
        Ok(json!({ "CacheCluster": shown }))
    }

    fn describe_clusters(&self, input: &Json) -> OpResult {
        let nodes = input.get("ShowCacheNodeInfo").and_then(Json::as_bool).unwrap_or(false);
        let items: Vec<(String, Json)> = match text(input, "CacheClusterId") {
            Some(id) => match self.clusters.get(id) {
                Some(c) => vec![(id.to_string(), c.render(nodes))],
                None => return Err(not_found_cluster(id)),
            },
            None => self.clusters.iter().map(|(k, c)| (k.clone(), c.render(nodes))).collect(),
        };
        let (clusters, marker) = page(items, input)?;
        Ok(with_marker(json!({ "CacheClusters": clusters }), marker))
    }

    fn modify_cluster(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "CacheClusterId").unwrap_or_default();
        let cluster = self.clusters.get_mut(id).ok_or_else(|| not_found_cluster(id))?;
        if !cluster.life.is(Phase::Available) {
            return Err(ApiError::new(
                "InvalidCacheClusterStateFault",
                format!("Cache cluster {id} is not in available state (it is {}).", cluster.life.word(&CLUSTER)),
            ));
        }
        let immediately = input.get("ApplyImmediately").and_then(Json::as_bool).unwrap_or(false);
        let mut pending = Map::new();
        if let Some(t) = text(input, "CacheNodeType").filter(|t| Some(*t) != cluster.json["CacheNodeType"].as_str()) {
            if !NODE_TYPES.contains(&t) {
                return Err(ApiError::new(
                    "InvalidParameterValueException",
                    format!("Invalid or unsupported node type {t:?}."),
                ));
            }
            pending.insert("CacheNodeType".into(), json!(t));
        }
        if let Some(v) = text(input, "EngineVersion") {
            let engine = cluster.json["Engine"].as_str().unwrap_or("redis").to_string();
            let full =
                ENGINE_VERSIONS.iter().find(|(e, s, f)| *e == engine && (*s == v || *f == v)).map(|(_, _, f)| *f);
            let Some(full) = full else {
                return Err(ApiError::new(
                    "InvalidParameterValueException",
                    format!("Cannot find version {v} for {engine}"),
                ));
            };
            let current = cluster.json["EngineVersion"].as_str().unwrap_or_default();
            let number = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
            if number(full) < number(current) {
                // AWS: "you cannot downgrade to an earlier engine version" (ModifyCacheCluster).
                return Err(ApiError::new(
                    "InvalidParameterCombinationException",
                    format!("Cannot downgrade cluster {id} from engine version {current} to {full}."),
                ));
            }
            if full != current {
                pending.insert("EngineVersion".into(), json!(full));
            }
        }
        if let Some(n) = input.get("NumCacheNodes").and_then(Json::as_i64)
            && n != 1
        {
            return Err(ApiError::new("InvalidParameterCombinationException", "A Redis cluster has exactly one node."));
        }
        let groups = strings(input, "SecurityGroupIds");
        let mut changed = !pending.is_empty();
        if !groups.is_empty() {
            cluster.json["SecurityGroups"] = security_groups(&groups);
            changed = true;
        }
        if let Some(p) = text(input, "CacheParameterGroupName") {
            cluster.json["CacheParameterGroup"]["CacheParameterGroupName"] = json!(p);
            changed = true;
        }
        // Modifications asked for earlier without ApplyImmediately wait for the maintenance
        // window; one applied immediately takes them along (ModifyCacheCluster reference).
        let mut all = std::mem::take(&mut cluster.pending);
        all.extend(pending);
        if immediately && (changed || !all.is_empty()) {
            cluster.life.begin(Phase::Modifying, call.now, call.transition);
        }
        cluster.pending = all;
        Ok(json!({ "CacheCluster": cluster.render(false) }))
    }

    fn delete_cluster(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "CacheClusterId").unwrap_or_default();
        let cluster = self.clusters.get_mut(id).ok_or_else(|| not_found_cluster(id))?;
        if ![Phase::Available, Phase::Failed].contains(&cluster.life.phase()) {
            return Err(ApiError::new(
                "InvalidCacheClusterStateFault",
                format!("Cache cluster {id} is not in available state (it is {}).", cluster.life.word(&CLUSTER)),
            ));
        }
        cluster.life.begin(Phase::Deleting, call.now, call.transition);
        let shown = cluster.render(false);
        self.tags.remove(shown["ARN"].as_str().unwrap_or_default());
        Ok(json!({ "CacheCluster": shown }))
    }

    // ---- tags ----

    /// The tag list of an existing resource's ARN, or the modelled error for a bad or unknown ARN.
    fn tag_list(&mut self, arn: &str) -> Result<&mut Vec<(String, String)>, ApiError> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        if parts.len() != 7 || parts[0] != "arn" || parts[2] != "elasticache" {
            return Err(ApiError::new("InvalidARNFault", format!("{arn} is not a valid ElastiCache ARN.")));
        }
        let (kind, id) = (parts[5], parts[6].to_lowercase());
        let id = id.as_str();
        let exists = match kind {
            "cluster" => self.clusters.get(id).is_some_and(|c| !c.life.is(Phase::Deleting)),
            "subnetgroup" => self.subnet_groups.contains_key(id),
            "user" => self.users.contains_key(id),
            "usergroup" => self.user_groups.contains_key(id),
            _ => {
                return Err(ApiError::new("InvalidARNFault", format!("{arn} is not a taggable ElastiCache resource.")));
            }
        };
        if !exists {
            let shape = match kind {
                "cluster" => "CacheClusterNotFoundFault",
                "subnetgroup" => "CacheSubnetGroupNotFoundFault",
                "user" => "UserNotFoundFault",
                _ => "UserGroupNotFoundFault",
            };
            return Err(ApiError::new(shape, format!("{id} not found.")));
        }
        // AWS: tag calls on a user in transition fail as if it did not exist (QUIRKS.md).
        if kind == "user" && self.users.get(id).is_some_and(|u| !u.life.is(Phase::Available)) {
            return Err(ApiError::new("UserNotFoundFault", format!("User {id} is not available for tagging.")));
        }
        Ok(self.tags.entry(arn.to_string()).or_default())
    }

    fn add_tags(&mut self, input: &Json) -> OpResult {
        let new = tags_of(input)?;
        let list = self.tag_list(text(input, "ResourceName").unwrap_or_default())?;
        for (k, v) in new {
            match list.iter_mut().find(|(key, _)| *key == k) {
                Some(existing) => existing.1 = v,
                None => list.push((k, v)),
            }
        }
        if list.len() > MAX_TAGS {
            return Err(ApiError::new("TagQuotaPerResourceExceeded", format!("at most {MAX_TAGS} tags per resource")));
        }
        Ok(tag_message(list))
    }

    fn remove_tags(&mut self, input: &Json) -> OpResult {
        let keys = strings(input, "TagKeys");
        let list = self.tag_list(text(input, "ResourceName").unwrap_or_default())?;
        if let Some(missing) = keys.iter().find(|k| !list.iter().any(|(key, _)| key == *k)) {
            return Err(ApiError::new("TagNotFoundFault", format!("Tag {missing} not found.")));
        }
        list.retain(|(k, _)| !keys.contains(k));
        Ok(tag_message(list))
    }

    fn list_tags(&mut self, input: &Json) -> OpResult {
        let list = self.tag_list(text(input, "ResourceName").unwrap_or_default())?;
        Ok(tag_message(list))
    }
}

impl Cluster {
    fn render(&self, with_nodes: bool) -> Json {
        let mut shown = self.json.clone();
        let port = shown.as_object_mut().and_then(|m| m.remove("Port")).unwrap_or(json!(6379));
        let status = self.life.word(&CLUSTER);
        shown["CacheClusterStatus"] = json!(status);
        shuffle(&mut shown["SecurityGroups"]);
        if self.life.is(Phase::Modifying) || !self.pending.is_empty() {
            shown["PendingModifiedValues"] = Json::Object(self.pending.clone());
        }
        if with_nodes && !self.life.is(Phase::Creating) {
            shown["CacheNodes"] = json!([{
                "CacheNodeId": "0001",
                "CacheNodeStatus": status,
                "CacheNodeCreateTime": self.json["CacheClusterCreateTime"],
                "Endpoint": { "Address": self.host, "Port": port },
                "ParameterGroupStatus": "in-sync",
                "CustomerAvailabilityZone": self.json["PreferredAvailabilityZone"],
            }]);
        }
        shown
    }
}

fn not_found_cluster(id: &str) -> ApiError {
    ApiError::new("CacheClusterNotFoundFault", format!("CacheCluster not found: {id}"))
}

fn security_groups(ids: &[String]) -> Json {
    json!(ids.iter().map(|id| json!({ "SecurityGroupId": id, "Status": "active" })).collect::<Vec<_>>())
}

fn tag_message(list: &[(String, String)]) -> Json {
    json!({ "TagList": list.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect::<Vec<_>>() })
}

fn with_marker(mut out: Json, marker: Option<String>) -> Json {
    if let Some(m) = marker {
        out["Marker"] = json!(m);
    }
    out
}

/// The user every account has.
fn default_user(call: &Call) -> User {
    let json = json!({
        "UserId": "default", "UserName": "default", "Engine": "redis", "MinimumEngineVersion": "6.0",
        "AccessString": "on ~* +@all", "UserGroupIds": [], "Authentication": { "Type": "no-password" },
        "ARN": arn(call, "user", "default"),
    });
    User { json, life: Lifecycle::available(), passwords: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes_match_endpoint_host_names() {
        assert_eq!(region_code("eu-west-1"), "euw1");
        assert_eq!(region_code("us-east-2"), "use2");
        assert_eq!(region_code("ap-southeast-1"), "apse1");
    }
}
