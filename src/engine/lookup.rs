//! `{byTag: {…}}` selectors → AWS ids, inside a stack's VPC. One Describe call per object type and
//! VPC, whatever the number of selectors; tags are matched locally.
//!
//! The network is not steward's (Terraform or CloudFormation made it), and it rarely changes, so
//! what a Describe returned is kept across passes for `SELECTOR_TTL`. It is fetched again at once
//! when a selector matches nothing or more than one object in what was kept, and the engine drops
//! it all when AWS says a network id it was given does not exist.

use crate::aws::{AwsError, Clients, aws};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long selector results are reused.
pub const SELECTOR_TTL: Duration = Duration::from_secs(300);

/// Which EC2 object a field selects, by the field's name.
fn object_type(field: &str) -> Option<&'static str> {
    match field {
        "subnets" => Some("subnet"),
        "securityGroups" => Some("security-group"),
        "routeTables" => Some("route-table"),
        _ => None,
    }
}

type Tagged = Vec<(String, BTreeMap<String, String>)>;
/// (region, VPC id, object type).
type ObjectsKey = (String, String, &'static str);

/// A Describe result and when it was fetched (the instant, and the pass number).
#[derive(Clone)]
struct Kept<T> {
    value: T,
    at: Instant,
    pass: u64,
}

#[derive(Default)]
pub struct Lookups {
    cache: Mutex<HashMap<ObjectsKey, Kept<Tagged>>>,
    /// VPCs by (region, selector): stacks that share a VPC share one DescribeVpcs.
    vpcs: Mutex<HashMap<(String, String), Kept<String>>>,
    pass: AtomicU64,
}

/// Why a selector could not be resolved: nothing matches yet (wait), or it is ambiguous (terminal).
#[derive(Debug)]
pub enum LookupError {
    Missing(String),
    Ambiguous(String),
    Aws(AwsError),
}

impl Lookups {
    /// Called at the start of every pass: forgets what is older than `SELECTOR_TTL`.
    pub async fn begin_pass(&self) -> u64 {
        self.cache.lock().await.retain(|_, k| k.at.elapsed() < SELECTOR_TTL);
        self.vpcs.lock().await.retain(|_, k| k.at.elapsed() < SELECTOR_TTL);
        self.pass.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Forgets everything (AWS said an id it was given does not exist).
    pub async fn forget(&self) {
        self.cache.lock().await.clear();
        self.vpcs.lock().await.clear();
    }

    /// Finds the VPC of a stack: an id as given, or the one VPC whose tags match.
    pub async fn vpc(&self, clients: &Clients, selector: &Json, pass: u64) -> Result<String, LookupError> {
        if let Some(id) = selector.as_str() {
            return Ok(id.to_string());
        }
        let key = (clients.region.clone(), selector.to_string());
        if let Some(kept) = self.vpcs.lock().await.get(&key) {
            return Ok(kept.value.clone());
        }
        let wanted = tags_of(selector);
        let mut request = clients.ec2.describe_vpcs();
        for (k, v) in &wanted {
            request = request.filters(aws_sdk_ec2::types::Filter::builder().name(format!("tag:{k}")).values(v).build());
        }
        let out = request.send().await.map_err(|e| LookupError::Aws(aws("DescribeVpcs")(e)))?;
        let ids: Vec<String> = out.vpcs().iter().filter_map(|v| v.vpc_id().map(str::to_string)).collect();
        let id = one_of(ids, "VPC", &wanted)?;
        self.vpcs.lock().await.insert(key, Kept { value: id.clone(), at: Instant::now(), pass });
        Ok(id)
    }

    /// The objects of one type in a VPC with their tags: kept ones, unless `refresh` and they were
    /// fetched before this pass. The flag says whether the answer was fetched in this pass.
    async fn objects(
        &self,
        clients: &Clients,
        vpc: &str,
        object: &'static str,
        pass: u64,
        refresh: bool,
    ) -> Result<(Tagged, bool), AwsError> {
        let key = (clients.region.clone(), vpc.to_string(), object);
        let mut cache = self.cache.lock().await;
        if let Some(kept) = cache.get(&key).filter(|k| !refresh || k.pass >= pass) {
            return Ok((kept.value.clone(), kept.pass >= pass));
        }
        let found = describe(clients, vpc, object).await?;
        cache.insert(key, Kept { value: found.clone(), at: Instant::now(), pass });
        Ok((found, true))
    }

    /// Replaces every selector in a spec with the id it selects.
    pub async fn resolve(&self, clients: &Clients, vpc: &str, spec: &Json, pass: u64) -> Result<Json, LookupError> {
        let mut out = spec.clone();
        self.resolve_in(clients, vpc, &mut out, pass).await?;
        Ok(out)
    }

    fn resolve_in<'a>(
        &'a self,
        clients: &'a Clients,
        vpc: &'a str,
        value: &'a mut Json,
        pass: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), LookupError>> + Send + 'a>> {
        Box::pin(async move {
            let Json::Object(map) = value else { return Ok(()) };
            for (field, child) in map.iter_mut() {
                match (object_type(field), child) {
                    (Some(object), Json::Array(items)) => {
                        for item in items.iter_mut().filter(|i| i.get("byTag").is_some()) {
                            let wanted = tags_of(item);
                            let select = |objects: &Tagged| {
                                let ids = objects
                                    .iter()
                                    .filter(|(_, t)| wanted.iter().all(|(k, v)| t.get(k) == Some(v)))
                                    .map(|(id, _)| id.clone())
                                    .collect();
                                one_of(ids, object, &wanted)
                            };
                            let (objects, fresh) =
                                self.objects(clients, vpc, object, pass, false).await.map_err(LookupError::Aws)?;
                            let id = match select(&objects) {
                                Err(_) if !fresh => {
                                    // Kept from an earlier pass: the network may have changed since.
                                    let (objects, _) = self
                                        .objects(clients, vpc, object, pass, true)
                                        .await
                                        .map_err(LookupError::Aws)?;
                                    select(&objects)?
                                }
                                other => other?,
                            };
                            *item = Json::String(id);
                        }
                    }
                    (_, child @ Json::Object(_)) => self.resolve_in(clients, vpc, child, pass).await?,
                    _ => {}
                }
            }
            Ok(())
        })
    }
}

/// One paginated Describe of the objects of a type in a VPC, with their tags.
async fn describe(clients: &Clients, vpc: &str, object: &'static str) -> Result<Tagged, AwsError> {
    let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc).build();
    let tags = |t: &[aws_sdk_ec2::types::Tag]| -> BTreeMap<String, String> {
        t.iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect()
    };
    let mut found = Vec::new();
    match object {
        "subnet" => {
            let mut pages = clients.ec2.describe_subnets().filters(filter).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(aws("DescribeSubnets"))?;
                found.extend(
                    page.subnets().iter().map(|s| (s.subnet_id().unwrap_or_default().to_string(), tags(s.tags()))),
                );
            }
        }
        "security-group" => {
            let mut pages = clients.ec2.describe_security_groups().filters(filter).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(aws("DescribeSecurityGroups"))?;
                found.extend(page.security_groups().iter().map(|g| {
                    let mut t = tags(g.tags());
                    // A security group's name is also selectable as a tag, like the console shows it.
                    t.entry("GroupName".into()).or_insert_with(|| g.group_name().unwrap_or_default().to_string());
                    (g.group_id().unwrap_or_default().to_string(), t)
                }));
            }
        }
        _ => {
            let mut pages = clients.ec2.describe_route_tables().filters(filter).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(aws("DescribeRouteTables"))?;
                found.extend(
                    page.route_tables()
                        .iter()
                        .map(|r| (r.route_table_id().unwrap_or_default().to_string(), tags(r.tags()))),
                );
            }
        }
    }
    Ok(found)
}

fn tags_of(selector: &Json) -> BTreeMap<String, String> {
    selector
        .get("byTag")
        .and_then(Json::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

fn one_of(mut ids: Vec<String>, what: &str, wanted: &BTreeMap<String, String>) -> Result<String, LookupError> {
    let shown: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    match ids.len() {
        0 => {
            let place = if what == "VPC" { "this region" } else { "the stack's VPC" };
            Err(LookupError::Missing(format!(
                "no {what} with tags {} in {place}: was it renamed or retagged? Fix the tags or the selector",
                shown.join(", ")
            )))
        }
        1 => Ok(ids.remove(0)),
        n => Err(LookupError::Ambiguous(format!(
            "{n} {what}s have tags {}: {}; make the selector specific",
            shown.join(", "),
            ids.join(", ")
        ))),
    }
}
