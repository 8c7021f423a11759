//! Route53Record: DNS records in a Route 53 hosted zone. Either one record (`name`, `type`,
//! `values`) or the certificate validation CNAMEs of an App Runner custom domain
//! (`certificateValidationRecords: ${AppRunnerCustomDomain/x.validationRecords}`), which appear a
//! little after the association and decide when the domain turns active.

use super::apprunner_custom_domain::DOMAIN;
use super::definition::KindDef;
use crate::schema::*;

const ZONE: StrRule = StrRule {
    expected: "a hosted zone name (example.com) or id (Z0123456789ABCDEFGHIJ)",
    check: |s| is_zone_id(s) || (DOMAIN.check)(s.trim_end_matches('.')),
};

fn is_zone_id(s: &str) -> bool {
    s.starts_with('Z') && (2..=32).contains(&s.len()) && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] =
    &["route53:ListHostedZonesByName", "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("zone", string(ZONE)),
            opt(
                "name",
                string(StrRule {
                    expected: "a DNS name such as app.example.com",
                    check: |s| (DOMAIN.check)(s.trim_start_matches("_").trim_end_matches('.')),
                }),
            ),
            opt("type", Shape::Enum(&["A", "AAAA", "CNAME", "TXT"])),
            opt("values", Shape::List { item: Box::new(any_string()), min: 1, max: 100 }),
            opt("ttl", int(0, 172_800)),
            opt("certificateValidationRecords", any_string()),
        ],
        outputs: vec!["fqdn"],
        retain_by_default: false,
        name_rule: super::definition::GENERIC_NAME,
        check,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    let has = |f: &str| spec.get(f).is_some();
    if has("certificateValidationRecords") {
        for f in ["name", "type", "values"] {
            if has(f) {
                c.error_at(f, "not with certificateValidationRecords (the records come from the domain)");
            }
        }
    } else {
        for f in ["name", "type", "values"] {
            if !has(f) {
                c.error_at(f, "required (or give certificateValidationRecords)");
            }
        }
        if spec.get("type").and_then(Json::as_str) == Some("CNAME")
            && spec.get("values").and_then(Json::as_array).is_some_and(|v| v.len() > 1)
        {
            c.error_at("values", "a CNAME record has exactly one value");
        }
    }
}

// ---- adapter ----
//
// Records carry no tags. steward marks each record it writes with a TXT record beside it,
// `_steward.<name>` (the way external-dns marks its records), written in the same atomic change:
// a record without the mark is someone else's (`NotOwned`, unless `adopt: true`). Every change is
// an UPSERT, so a retried change after a crash or a lost answer does nothing twice.

use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

pub struct Route53RecordAdapter;

const DEFAULT_TTL: i64 = 300;

/// A name as Route 53 keeps it: lower case, with the trailing dot.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

fn mark_name(name: &str) -> String {
    format!("_steward.{}", fqdn(name))
}

fn mark_value(key: &ResourceKey) -> String {
    format!("\"steward:stack={} steward:kind={} steward:name={}\"", key.stack, key.kind, key.name)
}

/// A name as the views show it: lower case, no trailing dot (`records.<name>.values`).
fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The spec a Route53Record's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route53RecordSpec {
    /// The hosted zone: its name or id.
    pub zone: String,
    pub name: Option<String>,
    #[serde(rename = "type", default = "cname")]
    pub record_type: String,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default = "default_ttl")]
    pub ttl: i64,
    /// A custom domain's validation records, as JSON (a resolved reference).
    pub certificate_validation_records: Option<String>,
}

fn cname() -> String {
    "CNAME".into()
}

fn default_ttl() -> i64 {
    DEFAULT_TTL
}

/// The records the spec wants: bare name → {type, ttl, values}.
fn wanted_records(d: &Desired) -> Result<BTreeMap<String, Json>, ReconcileError> {
    let spec: Route53RecordSpec = d.spec_as()?;
    let ttl = spec.ttl;
    let mut out = BTreeMap::new();
    if let Some(text) = &spec.certificate_validation_records {
        let records: Vec<Json> = serde_json::from_str(text).unwrap_or_default();
        for r in records {
            let (Some(name), Some(value)) = (r["name"].as_str(), r["value"].as_str()) else { continue };
            let kind = r["type"].as_str().unwrap_or("CNAME");
            out.insert(bare(name), json!({ "type": kind, "ttl": ttl, "values": [fqdn(value)] }));
        }
        return Ok(out);
    }
    let kind = spec.record_type.as_str();
    let mut values = spec.values.clone();
    if kind == "CNAME" {
        values = values.iter().map(|v| fqdn(v)).collect();
    }
    values.sort();
    let Some(name) = &spec.name else {
        return Err(ReconcileError::invalid_spec("read spec", format!("{}: spec.name is missing", d.key.short())));
    };
    out.insert(bare(name), json!({ "type": kind, "ttl": ttl, "values": values }));
    Ok(out)
}

/// The hosted zone's id, from the spec's id, or by name: one ListHostedZonesByName call the first
/// time, kept after that.
async fn zone_id(cx: &Cx<'_>, zone: &str) -> Result<String, ReconcileError> {
    if is_zone_id(zone) {
        return Ok(zone.to_string());
    }
    let name = fqdn(zone).to_ascii_lowercase();
    if let Some(id) = cx.cache.hosted_zones.lock().unwrap().get(&name) {
        return Ok(id.clone());
    }
    let out = cx
        .clients
        .route53
        .list_hosted_zones_by_name()
        .dns_name(&name)
        .max_items(1)
        .send()
        .await
        .map_err(aws("ListHostedZonesByName"))?;
    let id = out
        .hosted_zones()
        .iter()
        .find(|z| z.name().eq_ignore_ascii_case(&name))
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .ok_or_else(|| {
            ReconcileError::Unresolvable(format!(
                "no hosted zone named {zone} in this account: create it, or give the zone's id in `zone`"
            ))
        })?;
    cx.cache.hosted_zones.lock().unwrap().insert(name, id.clone());
    Ok(id)
}

/// Where Route 53 lists a name: by its labels reversed (`com.example.mmweb`), in lower case.
fn listing_order(name: &str) -> String {
    let bare = name.trim_end_matches('.').to_ascii_lowercase();
    bare.rsplit('.').collect::<Vec<_>>().join(".")
}

/// Record sets keyed by (fully qualified name in lower case, type).
type RecordSets = BTreeMap<(String, String), ResourceRecordSet>;

/// A record set's key in `RecordSets`: the name as `fqdn` writes it, and the type.
fn set_key(name: &str, kind: &str) -> (String, String) {
    (fqdn(name), kind.to_string())
}

/// The keys of a wanted record (`name`, its spec `r`) and of its ownership mark.
fn wanted_keys(name: &str, r: &Json) -> [(String, String); 2] {
    [set_key(name, r["type"].as_str().unwrap_or("CNAME")), set_key(&mark_name(name), "TXT")]
}

/// The record sets of `zone` named in `wanted`, in one listing: it starts at the first wanted
/// name in Route 53's order and follows the pages until every wanted set was seen or the listing
/// is past the last one. The records of one stack sit side by side in that order (a name, its
/// `_steward` mark and its validation records share the name's labels), so this is one page.
async fn zone_record_sets(
    cx: &Cx<'_>,
    zone: &str,
    wanted: &BTreeSet<(String, String)>,
) -> Result<RecordSets, ReconcileError> {
    let mut found = RecordSets::new();
    let Some(first) = wanted.iter().min_by_key(|(name, kind)| (listing_order(name), kind.clone())) else {
        return Ok(found);
    };
    let last = wanted.iter().map(|(name, _)| listing_order(name)).max().unwrap_or_default();
    let (mut start, mut start_type) = (Some(first.0.clone()), Some(RrType::from(first.1.as_str())));
    loop {
        let page = cx
            .clients
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .set_start_record_name(start)
            .set_start_record_type(start_type)
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                // A zone deleted (and perhaps made again): its id is looked up afresh next time.
                cx.cache.hosted_zones.lock().unwrap().retain(|_, id| id != zone);
                return Err(aws("ListResourceRecordSets")(e).into());
            }
        };
        let mut past = false;
        for set in page.resource_record_sets() {
            let key = set_key(set.name(), set.r#type().as_str());
            past |= listing_order(&key.0) > last;
            if wanted.contains(&key) {
                found.insert(key, set.clone());
            }
        }
        if found.len() == wanted.len() || past || !page.is_truncated() {
            return Ok(found);
        }
        start = page.next_record_name().map(String::from);
        start_type = page.next_record_type().cloned();
    }
}

/// The record set with exactly this name and type, if any.
async fn record_set(
    cx: &Cx<'_>,
    zone: &str,
    name: &str,
    kind: &str,
) -> Result<Option<ResourceRecordSet>, ReconcileError> {
    let out = cx
        .clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(name)
        .start_record_type(RrType::from(kind))
        .max_items(1)
        .send()
        .await
        .map_err(aws("ListResourceRecordSets"))?;
    Ok(out
        .resource_record_sets()
        .iter()
        .find(|s| s.name().eq_ignore_ascii_case(name) && s.r#type().as_str() == kind)
        .cloned())
}

fn set_view(set: &ResourceRecordSet) -> Json {
    let mut values: Vec<String> = set.resource_records().iter().map(|r| r.value().to_string()).collect();
    if set.r#type().as_str() == "CNAME" {
        values = values.iter().map(|v| fqdn(v)).collect();
    }
    values.sort();
    json!({ "type": set.r#type().as_str(), "ttl": set.ttl(), "values": values })
}

fn change(action: ChangeAction, name: &str, kind: &str, ttl: i64, values: &[String]) -> Result<Change, ReconcileError> {
    let invalid = |e: aws_sdk_route53::error::BuildError| ReconcileError::invalid_spec("ChangeResourceRecordSets", e);
    let mut set = ResourceRecordSet::builder().name(name).r#type(RrType::from(kind)).ttl(ttl);
    for v in values {
        set = set.resource_records(ResourceRecord::builder().value(v).build().map_err(invalid)?);
    }
    Change::builder().action(action).resource_record_set(set.build().map_err(invalid)?).build().map_err(invalid)
}

/// The change of one record from its view (`{type, ttl, values}`), under its bare name.
fn record_change(action: ChangeAction, name: &str, r: &Json) -> Result<Change, ReconcileError> {
    let ttl = r["ttl"].as_i64().unwrap_or(DEFAULT_TTL);
    change(action, &fqdn(name), r["type"].as_str().unwrap_or("CNAME"), ttl, &super::values::strings(r.get("values")))
}

/// Sends one atomic change of the zone's records.
async fn send(
    cx: &Cx<'_>,
    zone: &str,
    batch: aws_sdk_route53::types::builders::ChangeBatchBuilder,
) -> Result<(), ReconcileError> {
    let batch = batch.build().map_err(|e| ReconcileError::invalid_spec("ChangeResourceRecordSets", e))?;
    cx.may_mutate().await?;
    cx.clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await
        .map_err(aws("ChangeResourceRecordSets"))?;
    Ok(())
}

/// What one resource's records are on AWS, from its zone's listing; None when none exists.
fn observed_records(d: &Desired, zone: &str, sets: &RecordSets) -> Result<Option<Observed>, ReconcileError> {
    let mut records = Map::new();
    let mut owned = true;
    for (name, r) in wanted_records(d)? {
        let [record, mark] = wanted_keys(&name, &r);
        let Some(set) = sets.get(&record) else { continue };
        let mark = sets.get(&mark);
        owned &= mark.is_some_and(|m| m.resource_records().iter().any(|v| v.value() == mark_value(&d.key)));
        records.insert(name, set_view(set));
    }
    if records.is_empty() {
        return Ok(None);
    }
    let first = records.keys().next().cloned().unwrap_or_default();
    Ok(Some(Observed {
        id: first.clone(),
        owned,
        state: ObjectState::Ready,
        config: json!({ "records": Json::Object(records.clone()) }),
        outputs: BTreeMap::from([("fqdn".to_string(), first)]),
        extra: json!({ "zone": zone, "records": Json::Object(records) }),
    }))
}

impl Route53RecordAdapter {
    /// One atomic change: each record with its ownership mark beside it.
    async fn apply(
        &self,
        cx: &Cx<'_>,
        d: &Desired,
        zone: &str,
        records: &BTreeMap<String, Json>,
    ) -> Result<(), ReconcileError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut batch = ChangeBatch::builder().comment(format!("steward {}", d.key.short()));
        for (name, r) in records {
            let ttl = r["ttl"].as_i64().unwrap_or(DEFAULT_TTL);
            batch = batch.changes(record_change(ChangeAction::Upsert, name, r)?);
            batch = batch.changes(change(ChangeAction::Upsert, &mark_name(name), "TXT", ttl, &[mark_value(&d.key)])?);
        }
        send(cx, zone, batch).await
    }
}

#[async_trait::async_trait]
impl Adapter for Route53RecordAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        // The zone of each resource, then one listing per zone for all of them.
        let mut zones: BTreeMap<String, Vec<&Desired>> = BTreeMap::new();
        for d in wanted {
            zones.entry(zone_id(cx, &d.spec_as::<Route53RecordSpec>()?.zone).await?).or_default().push(d);
        }
        let mut out = BTreeMap::new();
        for (zone, ds) in zones {
            let mut names = BTreeSet::new();
            for d in &ds {
                for (name, r) in wanted_records(d)? {
                    names.extend(wanted_keys(&name, &r));
                }
            }
            let sets = zone_record_sets(cx, &zone, &names).await?;
            for d in ds {
                if let Some(observed) = observed_records(d, &zone, &sets)? {
                    out.insert(d.key.clone(), observed);
                }
            }
        }
        Ok(out)
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["values"]
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        Ok(json!({ "records": wanted_records(d)? }))
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let zone = zone_id(cx, &d.spec_as::<Route53RecordSpec>()?.zone).await?;
        self.apply(cx, d, &zone, &wanted_records(d)?).await?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, _drift: &[Drift]) -> Result<Json, ReconcileError> {
        // Every wanted record is upserted: records that did not drift are rewritten unchanged.
        self.apply(cx, d, o.extra_str("zone"), &wanted_records(d)?).await?;
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        let zone = o.extra_str("zone");
        let mut batch = ChangeBatch::builder();
        for (name, r) in o.extra["records"].as_object().into_iter().flatten() {
            let ttl = r["ttl"].as_i64().unwrap_or(DEFAULT_TTL);
            batch = batch.changes(record_change(ChangeAction::Delete, name, r)?);
            if let Some(mark) = record_set(cx, zone, &mark_name(name), "TXT").await? {
                let values: Vec<String> = mark.resource_records().iter().map(|v| v.value().to_string()).collect();
                batch = batch.changes(change(
                    ChangeAction::Delete,
                    &mark_name(name),
                    "TXT",
                    mark.ttl().unwrap_or(ttl),
                    &values,
                )?);
            }
        }
        send(cx, zone, batch).await
    }

    async fn adopt(&self, cx: &Cx<'_>, d: &Desired, o: &Observed) -> Result<(), ReconcileError> {
        // Adopting writes the marks (and the records as the spec wants them).
        self.apply(cx, d, o.extra_str("zone"), &wanted_records(d)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_as_route53_keeps_them() {
        assert_eq!(fqdn("MMweb.Example.com"), "mmweb.example.com.");
        assert_eq!(fqdn("mmweb.example.com."), "mmweb.example.com.");
        assert_eq!(mark_name("_abc.example.com"), "_steward._abc.example.com.");
        assert!(is_zone_id("Z0123456789ABCDEFGHIJ"));
        assert!(!is_zone_id("example.com"));
    }
}
