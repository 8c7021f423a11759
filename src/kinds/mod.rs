//! The resource kinds steward manages: one file per kind with everything specific to it.
//! Adding a kind means one new file (schema and adapter) and one line in the `kinds!` registry.

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
pub mod route53_record;
pub mod stack;
pub mod vpc_endpoint;

/// The kind registry: one line per kind gives its name, its file, its adapter and the AWS service
/// it talks to (for throttling holds). The enum, `Kind::ALL`, names, schemas and adapters all come
/// from this list, so a kind cannot be half registered. The order is the order of `Kind::ALL`.
macro_rules! kinds {
    ($($kind:ident => $module:ident :: $adapter:ident, $service:literal;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum Kind {
            $($kind,)+
        }

        impl Kind {
            pub const ALL: [Kind; [$(stringify!($kind)),+].len()] = [$(Kind::$kind),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$kind => stringify!($kind),)+
                }
            }

            pub fn definition(self) -> KindDef {
                match self {
                    $(Kind::$kind => $module::definition(),)+
                }
            }

            /// The kind's AWS adapter (its file holds both the schema and the adapter).
            pub fn adapter(self) -> &'static dyn Adapter {
                match self {
                    $(Kind::$kind => &$module::$adapter,)+
                }
            }

            /// The AWS service its calls go to: throttling there holds all of its kinds.
            pub fn service(self) -> &'static str {
                match self {
                    $(Kind::$kind => $service,)+
                }
            }
        }
    };
}

kinds! {
    Stack => stack::StackAdapter, "ec2";
    VpcEndpoint => vpc_endpoint::VpcEndpointAdapter, "ec2";
    CacheSubnetGroup => cache_subnet_group::CacheSubnetGroupAdapter, "elasticache";
    CacheCluster => cache_cluster::CacheClusterAdapter, "elasticache";
    CacheUser => cache_user::CacheUserAdapter, "elasticache";
    AppRunnerVpcConnector => apprunner_vpc_connector::VpcConnectorAdapter, "apprunner";
    AppRunnerService => apprunner_service::AppRunnerServiceAdapter, "apprunner";
    AppRunnerCustomDomain => apprunner_custom_domain::CustomDomainAdapter, "apprunner";
    EcsCluster => ecs_cluster::EcsClusterAdapter, "ecs";
    EcsService => ecs_service::EcsServiceAdapter, "ecs";
    Route53Record => route53_record::Route53RecordAdapter, "route53";
}

impl Kind {
    /// Exact kind names as written in manifests; the CLI also accepts them in any letter case.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A kind as people type it on the command line: any letter case, plural (`ecsservices`),
    /// or its short name (`svc`), as kubectl takes `pods` and `po`.
    pub fn parse_loose(s: &str) -> Option<Kind> {
        let singular = s.strip_suffix(['s', 'S']).unwrap_or(s);
        Kind::ALL.into_iter().find(|k| {
            k.as_str().eq_ignore_ascii_case(s) || k.as_str().eq_ignore_ascii_case(singular) || k.short_name() == s
        })
    }

    /// The short name the command line accepts for the kind.
    pub fn short_name(self) -> &'static str {
        match self {
            Kind::Stack => "st",
            Kind::VpcEndpoint => "vpce",
            Kind::CacheSubnetGroup => "csg",
            Kind::CacheCluster => "cc",
            Kind::CacheUser => "cu",
            Kind::AppRunnerVpcConnector => "arc",
            Kind::AppRunnerService => "ars",
            Kind::AppRunnerCustomDomain => "domain",
            Kind::EcsCluster => "ecsc",
            Kind::EcsService => "svc",
            Kind::Route53Record => "dns",
        }
    }

    /// The kind whose name is closest to a mistyped one (at most 3 edits apart), for "did you mean".
    pub fn closest(s: &str) -> Option<Kind> {
        let typed = s.to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .map(|k| (edit_distance(&typed, &k.as_str().to_ascii_lowercase()), k))
            .filter(|(d, _)| *d <= 3)
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k)
    }
}

/// Levenshtein distance between two short ASCII words.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
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

// ---- shared by the adapters ----

use crate::engine::{Adapter, Desired, ReconcileError, TAG_KIND, TAG_NAME, TAG_STACK};
use std::collections::BTreeMap;

/// The AWS adapter of a kind.
pub fn adapter(kind: Kind) -> &'static dyn Adapter {
    kind.adapter()
}

/// A JSON array of strings, sorted, so that order never counts as drift.
pub(crate) fn sorted(value: Option<&Json>) -> Json {
    let mut items: Vec<String> = value
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    items.sort();
    Json::from(items)
}

pub(crate) fn strings(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// An AWS status as steward compares it: in lower case. Services do not always answer in the
/// case of their own model's enum (App Runner custom domains say `active`, EC2 endpoints
/// `available`), so no status is ever compared as the model spells it.
pub(crate) fn status_text(status: &str) -> String {
    status.to_ascii_lowercase()
}

pub(crate) fn sorted_strings(items: &[String]) -> Json {
    let mut items = items.to_vec();
    items.sort();
    Json::from(items)
}

/// Whether a tag set carries the ownership tags of this resource.
pub(crate) fn owns(tags: &BTreeMap<String, String>, key: &crate::manifest::ResourceKey) -> bool {
    tags.get(TAG_STACK) == Some(&key.stack)
        && tags.get(TAG_KIND).map(String::as_str) == Some(key.kind.as_str())
        && tags.get(TAG_NAME) == Some(&key.name)
}

/// Tags as compared in a diff: AWS's own `aws:` tags are not ours to manage.
pub(crate) fn tag_view(tags: &BTreeMap<String, String>) -> Json {
    Json::Object(
        tags.iter().filter(|(k, _)| !k.starts_with("aws:")).map(|(k, v)| (k.clone(), Json::from(v.clone()))).collect(),
    )
}

/// A client token that is the same for every retry of one create (a crash between the call and
/// the status write must not make a duplicate) and new for the next incarnation of the object.
pub(crate) fn client_token(desired: &Desired) -> String {
    let creates = desired.memo.get("creates").and_then(Json::as_u64).unwrap_or(0);
    let text = format!("{}/{}/{}/{}/{creates}", desired.key.stack, desired.key.kind, desired.key.name, desired.version);
    let mut hash: u64 = 0xcbf29ce484222325;
    let mut out = String::new();
    for round in 0..2u8 {
        for b in text.bytes().chain([round]) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
        out.push_str(&format!("{hash:016x}"));
    }
    out
}

/// Reads a `(key, value)` tag list into a map.
pub(crate) fn tag_map<'a>(pairs: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> BTreeMap<String, String> {
    pairs.map(|(k, v)| (k.unwrap_or_default().to_string(), v.unwrap_or_default().to_string())).collect()
}

/// Tags from the cache (if fetched since `cx.tags_fresh_since`), or from `fetch` (one ListTagsForResource call), remembered under `key`.
async fn cached_tags(
    cx: &crate::engine::Cx<'_>,
    key: String,
    fetch: impl std::future::Future<Output = Result<BTreeMap<String, String>, ReconcileError>>,
) -> Result<BTreeMap<String, String>, ReconcileError> {
    if let Some(tags) = cx.cache.tags(&key, cx.tags_fresh_since) {
        return Ok(tags);
    }
    let tags = fetch.await?;
    cx.cache.keep_tags(key, tags.clone());
    Ok(tags)
}

/// Tags read for an object that may be in transition, when AWS can refuse tag calls
/// (QUIRKS.md): a transient refusal gives the last tags kept under `key` and `true` (unknown),
/// so that the busy object is only waited on in this pass. Other errors, and any error for an
/// object not in transition, are returned.
pub(crate) fn tags_or_last_known(
    cx: &crate::engine::Cx<'_>,
    read: Result<BTreeMap<String, String>, ReconcileError>,
    key: &str,
    in_transition: bool,
) -> Result<(BTreeMap<String, String>, bool), ReconcileError> {
    match read {
        Ok(tags) => Ok((tags, false)),
        Err(e) if in_transition && e.class() == crate::aws::ErrorClass::Transient => {
            Ok((cx.cache.last_tags(key).unwrap_or_default(), true))
        }
        Err(e) => Err(e),
    }
}

/// The cache key of an ElastiCache resource's tags.
pub(crate) fn elasticache_tag_key(arn: &str, incarnation: &str) -> String {
    format!("{arn}#{incarnation}")
}

/// Tags of an ElastiCache resource. `incarnation` tells objects of the same ARN apart (a
/// cluster's create time); tags steward changes itself are written through the cache.
pub(crate) async fn elasticache_tags(
    cx: &crate::engine::Cx<'_>,
    arn: &str,
    incarnation: &str,
) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, elasticache_tag_key(arn, incarnation), async {
        let request = cx.clients.elasticache.list_tags_for_resource().resource_name(arn);
        let out = request.send().await.map_err(crate::aws::aws("ListTagsForResource"))?;
        Ok(tag_map(out.tag_list().iter().map(|t| (t.key(), t.value()))))
    })
    .await
}

/// Adds the ownership tags to an ElastiCache resource (`adopt: true`).
pub(crate) async fn elasticache_adopt(
    cx: &crate::engine::Cx<'_>,
    desired: &Desired,
    arn: &str,
) -> Result<(), ReconcileError> {
    cx.may_mutate().await?;
    cx.clients
        .elasticache
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(elasticache_tag_list(&desired.ownership_tags())))
        .send()
        .await
        .map_err(crate::aws::aws("AddTagsToResource"))?;
    cx.cache.forget_tags(&format!("{arn}#"));
    Ok(())
}

pub(crate) fn elasticache_tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_elasticache::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_elasticache::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Tags of an App Runner resource (its ARN is unique per incarnation).
pub(crate) async fn apprunner_tags(
    cx: &crate::engine::Cx<'_>,
    arn: &str,
) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, arn.to_string(), async {
        let request = cx.clients.apprunner.list_tags_for_resource().resource_arn(arn);
        let out = request.send().await.map_err(crate::aws::aws("ListTagsForResource"))?;
        Ok(tag_map(out.tags().iter().map(|t| (t.key(), t.value()))))
    })
    .await
}

pub(crate) async fn apprunner_adopt(
    cx: &crate::engine::Cx<'_>,
    desired: &Desired,
    arn: &str,
) -> Result<(), ReconcileError> {
    cx.may_mutate().await?;
    cx.clients
        .apprunner
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(apprunner_tag_list(&desired.ownership_tags())))
        .send()
        .await
        .map_err(crate::aws::aws("TagResource"))?;
    cx.cache.forget_tags(arn);
    Ok(())
}

pub(crate) fn apprunner_tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_apprunner::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_apprunner::types::Tag::builder().key(k).value(v).build()).collect()
}

pub(crate) fn ecs_tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_ecs::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Puts the ownership tags on an ECS cluster or service (`adopt: true`).
pub(crate) async fn ecs_adopt(cx: &crate::engine::Cx<'_>, desired: &Desired, arn: &str) -> Result<(), ReconcileError> {
    cx.may_mutate().await?;
    cx.clients
        .ecs
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(ecs_tag_list(&desired.ownership_tags())))
        .send()
        .await
        .map_err(crate::aws::aws("TagResource"))?;
    Ok(())
}

/// Where an object's tags live: its id or ARN, by the service that tags it.
pub enum Tagged<'a> {
    Ec2(&'a str),
    ElastiCache(&'a str),
    AppRunner(&'a str),
    Ecs(&'a str),
}

/// Sets the tags `set` on an object and removes the keys `remove` (the engine calls it for drift
/// under `tags`, instead of the kind's update). Cached tags of the object are dropped.
pub async fn retag(
    cx: &crate::engine::Cx<'_>,
    target: Tagged<'_>,
    set: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), ReconcileError> {
    use crate::aws::aws;
    let keys = || Some(remove.to_vec());
    cx.may_mutate().await?;
    match target {
        Tagged::Ec2(id) => {
            let tags = set.iter().map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
            let request = cx.clients.ec2.create_tags().resources(id).set_tags(Some(tags.collect()));
            request.send().await.map_err(aws("CreateTags"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let gone = remove.iter().map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build());
                let request = cx.clients.ec2.delete_tags().resources(id).set_tags(Some(gone.collect()));
                request.send().await.map_err(aws("DeleteTags"))?;
            }
        }
        Tagged::ElastiCache(arn) => {
            let request = cx.clients.elasticache.add_tags_to_resource().resource_name(arn);
            request.set_tags(Some(elasticache_tag_list(set))).send().await.map_err(aws("AddTagsToResource"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request =
                    cx.clients.elasticache.remove_tags_from_resource().resource_name(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("RemoveTagsFromResource"))?;
            }
            cx.cache.forget_tags(&format!("{arn}#"));
        }
        Tagged::AppRunner(arn) => {
            let request = cx.clients.apprunner.tag_resource().resource_arn(arn);
            request.set_tags(Some(apprunner_tag_list(set))).send().await.map_err(aws("TagResource"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.apprunner.untag_resource().resource_arn(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("UntagResource"))?;
            }
            cx.cache.forget_tags(arn);
        }
        Tagged::Ecs(arn) => {
            let request = cx.clients.ecs.tag_resource().resource_arn(arn).set_tags(Some(ecs_tag_list(set)));
            request.send().await.map_err(aws("TagResource"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.ecs.untag_resource().resource_arn(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("UntagResource"))?;
            }
        }
    }
    Ok(())
}
