//! Route53Record: DNS records in a Route 53 hosted zone. Either one record (`name`, `type`,
//! `values`) or the certificate validation CNAMEs of a custom domain
//! (`certificateValidationRecords: ${AppRunnerCustomDomain/x.validationRecords}`), which appear a
//! little after the association and decide when the domain turns active. The diff compares the
//! records (`records.<name>.values`), not the spec.
//!
//! Records carry no tags. steward marks each record it writes with a TXT record beside it,
//! `_steward.<name>` (the way external-dns marks its records), written in the same atomic change:
//! a record without the mark is someone else's (`NotOwned`, unless `adopt: true`). Every change is
//! an UPSERT, so a retried change after a crash or a lost answer does nothing twice.

use super::apprunner_custom_domain::DOMAIN;
use super::typed::prelude::*;
use super::values::ValidationRecord;
use crate::model::ResourceKey;
use crate::schema::Checker;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};

const ZONE: StrRule = StrRule {
    expected: "a hosted zone name (example.com) or id (Z0123456789ABCDEFGHIJ)",
    check: |s| is_zone_id(s) || (DOMAIN.check)(s.trim_end_matches('.')),
};

const NAME: StrRule = StrRule {
    expected: "a DNS name such as app.example.com",
    check: |s| (DOMAIN.check)(s.trim_start_matches("_").trim_end_matches('.')),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route53RecordSpec {
    /// The hosted zone: its name or id (a name is looked up once).
    #[field(shape = string(ZONE), create_only)]
    pub zone: String,
    /// The record's name (not with `certificateValidationRecords`).
    #[serde(default)]
    #[field(shape = string(NAME))]
    pub name: String,
    /// Its type: A, AAAA, CNAME (the default) or TXT.
    #[field(shape = Shape::Enum(&["A", "AAAA", "CNAME", "TXT"]), filled)]
    pub r#type: Option<String>,
    /// Its values (a CNAME has one).
    #[serde(default)]
    #[field(shape = Shape::List { item: Box::new(any_string()), min: 1, max: 100 }, set)]
    pub values: Vec<String>,
    /// Seconds resolvers keep it (300 unless the spec says).
    #[serde(default = "default_ttl")]
    #[field(shape = int(0, 172_800))]
    pub ttl: i64,
    /// A certificate's or custom domain's validation records, as JSON (a resolved reference).
    #[serde(default)]
    pub certificate_validation_records: String,
}

/// The records a spec stands for, by name (lower case, no trailing dot), as the diff compares them.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct Records {
    pub records: BTreeMap<String, Record>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Record {
    pub r#type: String,
    pub ttl: Option<i64>,
    /// In order; a CNAME's value fully qualified, as Route 53 keeps it.
    pub values: Vec<String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct Route53RecordOutputs {
    #[field(doc = "the (first) record's name")]
    pub fqdn: String,
}

/// What a pass learns beside the records.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct ZoneFacts {
    /// The hosted zone's id.
    zone: String,
    /// Every record found carries steward's mark for this resource.
    marked: bool,
}

pub struct Route53Record;
pub static ADAPTER: Typed<Route53Record> = Typed::new(Route53Record);

const DEFAULT_TTL: i64 = 300;

fn default_ttl() -> i64 {
    DEFAULT_TTL
}

#[async_trait::async_trait]
impl TypedKind for Route53Record {
    type Spec = Route53RecordSpec;
    type View = Records;
    type Outputs = Route53RecordOutputs;
    type Memo = ();
    type Facts = ZoneFacts;
    const TAGGED: TagsAt = None;
    const ACTIONS: &'static [&'static str] =
        crate::actions!("route53": ListHostedZonesByName, ListResourceRecordSets, ChangeResourceRecordSets);

    fn check(spec: &Route53RecordSpec, c: &mut Checker) {
        let given =
            [("name", !spec.name.is_empty()), ("type", spec.r#type.is_some()), ("values", !spec.values.is_empty())];
        for (field, given) in given {
            match (spec.certificate_validation_records.is_empty(), given) {
                (false, true) => {
                    c.error_at(field, "not with certificateValidationRecords (the records come from the domain)")
                }
                (true, false) => c.error_at(field, "required (or give certificateValidationRecords)"),
                _ => {}
            }
        }
        if spec.r#type.as_deref() == Some("CNAME") && spec.values.len() > 1 {
            c.error_at("values", "a CNAME record has exactly one value");
        }
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        // The zone of each resource, then one listing per zone for all of them.
        let mut zones: BTreeMap<String, Vec<&Want<Self>>> = BTreeMap::new();
        for want in wanted {
            zones.entry(zone_id(cx, &want.spec.zone).await?).or_default().push(want);
        }
        let mut out = Vec::new();
        for (zone, wants) in zones {
            // Each resource's records, made from its spec once.
            let wants: Vec<(&Want<Self>, Records)> = wants.into_iter().map(|w| (w, w.spec.clone().into())).collect();
            let mut names = BTreeSet::new();
            for (name, record) in wants.iter().flat_map(|(_, records)| &records.records) {
                names.extend(wanted_keys(name, record));
            }
            let sets = zone_record_sets(cx, &zone, &names).await?;
            for (want, records) in wants {
                if let Some(seen) = observed_records(want, records, &zone, &sets) {
                    out.push((want.key().clone(), seen));
                }
            }
        }
        Ok(out)
    }

    fn owned_untagged(seen: &Seen<Self>) -> bool {
        seen.facts.marked
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let zone = zone_id(cx, &want.spec.zone).await?;
        apply(cx, want, &zone).await
    }

    /// Every wanted record is upserted: records that did not drift are rewritten unchanged.
    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        apply(cx, want, &seen.facts.zone).await
    }

    /// Adopting writes the marks (and the records as the spec wants them).
    async fn adopt(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        apply(cx, want, &seen.facts.zone).await
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        let zone = &seen.facts.zone;
        let mut batch = ChangeBatch::builder();
        for (name, record) in &seen.config.records {
            batch = batch.changes(record_change(ChangeAction::Delete, name, record)?);
            if let Some(mark) = record_set(cx, zone, &mark_name(name), "TXT").await? {
                let values: Vec<String> = mark.resource_records().iter().map(|v| v.value().to_string()).collect();
                let ttl = mark.ttl().or(record.ttl).unwrap_or(DEFAULT_TTL);
                batch = batch.changes(change(ChangeAction::Delete, &mark_name(name), "TXT", ttl, &values)?);
            }
        }
        send(cx, zone, batch).await
    }
}

impl From<Route53RecordSpec> for Records {
    /// The records the spec wants (one without a name or validation records, which validation
    /// refuses, wants none).
    fn from(spec: Route53RecordSpec) -> Records {
        let ttl = Some(spec.ttl);
        let mut records = BTreeMap::new();
        if !spec.certificate_validation_records.is_empty() {
            let validation: Vec<ValidationRecord> =
                serde_json::from_str(&spec.certificate_validation_records).unwrap_or_default();
            for r in validation {
                let r#type = r.r#type.unwrap_or_else(|| "CNAME".into());
                records.insert(bare(&r.name), Record { r#type, ttl, values: vec![fqdn(&r.value)] });
            }
        } else if !spec.name.is_empty() {
            let r#type = spec.r#type.unwrap_or_else(|| "CNAME".into());
            records.insert(bare(&spec.name), Record { values: in_order(&r#type, &spec.values), r#type, ttl });
        }
        Records { records }
    }
}

/// Values as Route 53 keeps them, in order: a CNAME's fully qualified.
fn in_order(r#type: &str, values: &[String]) -> Vec<String> {
    let mut values: Vec<String> = values.iter().map(|v| if r#type == "CNAME" { fqdn(v) } else { v.clone() }).collect();
    values.sort();
    values
}

fn is_zone_id(s: &str) -> bool {
    s.starts_with('Z') && (2..=32).contains(&s.len()) && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

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

/// The hosted zone's id, from the spec's id, or by name: one ListHostedZonesByName call the first
/// time, kept after that.
async fn zone_id(cx: &Cx<'_>, zone: &str) -> Result<String, ReconcileError> {
    if is_zone_id(zone) {
        return Ok(zone.to_string());
    }
    let name = fqdn(zone);
    if let Some(id) = cx.cache.hosted_zones.lock().unwrap().get(&name) {
        return Ok(id.clone());
    }
    let request = cx.clients.route53.list_hosted_zones_by_name().dns_name(&name).max_items(1);
    let out = request.send().await.map_err(aws("ListHostedZonesByName"))?;
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
    bare(name).rsplit('.').collect::<Vec<_>>().join(".")
}

/// Record sets keyed by (fully qualified name in lower case, type).
type RecordSets = BTreeMap<(String, String), ResourceRecordSet>;

/// A record set's key in `RecordSets`: the name as `fqdn` writes it, and the type.
fn set_key(name: &str, r#type: &str) -> (String, String) {
    (fqdn(name), r#type.to_string())
}

/// The keys of a wanted record and of its ownership mark.
fn wanted_keys(name: &str, record: &Record) -> [(String, String); 2] {
    [set_key(name, &record.r#type), set_key(&mark_name(name), "TXT")]
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
    let Some(first) = wanted.iter().min_by_key(|(name, r#type)| (listing_order(name), r#type.clone())) else {
        return Ok(found);
    };
    let last = wanted.iter().map(|(name, _)| listing_order(name)).max().unwrap_or_default();
    let (mut start, mut start_type) = (Some(first.0.clone()), Some(RrType::from(first.1.as_str())));
    loop {
        let request = cx.clients.route53.list_resource_record_sets().hosted_zone_id(zone);
        let page = match request.set_start_record_name(start).set_start_record_type(start_type).send().await {
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
    r#type: &str,
) -> Result<Option<ResourceRecordSet>, ReconcileError> {
    let request = cx.clients.route53.list_resource_record_sets().hosted_zone_id(zone).start_record_name(name);
    let request = request.start_record_type(RrType::from(r#type)).max_items(1);
    let out = request.send().await.map_err(aws("ListResourceRecordSets"))?;
    let mut sets = out.resource_record_sets().iter();
    Ok(sets.find(|s| s.name().eq_ignore_ascii_case(name) && s.r#type().as_str() == r#type).cloned())
}

/// What one resource's records are on AWS, from its zone's listing; None when none exists.
fn observed_records(
    want: &Want<Route53Record>,
    wanted: Records,
    zone: &str,
    sets: &RecordSets,
) -> Option<Seen<Route53Record>> {
    let mut records = BTreeMap::new();
    let mut marked = true;
    for (name, wanted) in wanted.records {
        let [record, mark] = wanted_keys(&name, &wanted);
        let Some(set) = sets.get(&record) else { continue };
        let mark = sets.get(&mark);
        marked &= mark.is_some_and(|m| m.resource_records().iter().any(|v| v.value() == mark_value(want.key())));
        let values: Vec<String> = set.resource_records().iter().map(|r| r.value().to_string()).collect();
        let r#type = set.r#type().as_str().to_string();
        records.insert(name, Record { values: in_order(&r#type, &values), r#type, ttl: set.ttl() });
    }
    let first = records.keys().next()?.clone();
    let outputs = Route53RecordOutputs { fqdn: first.clone() };
    let facts = ZoneFacts { zone: zone.to_string(), marked };
    let config = Records { records };
    Some(Seen { id: first, state: ObjectState::Ready, config, tags: BTreeMap::new(), facts, outputs })
}

fn change(
    action: ChangeAction,
    name: &str,
    r#type: &str,
    ttl: i64,
    values: &[String],
) -> Result<Change, ReconcileError> {
    let invalid = |e: aws_sdk_route53::error::BuildError| ReconcileError::invalid_spec("ChangeResourceRecordSets", e);
    let mut set = ResourceRecordSet::builder().name(name).r#type(RrType::from(r#type)).ttl(ttl);
    for v in values {
        set = set.resource_records(ResourceRecord::builder().value(v).build().map_err(invalid)?);
    }
    Change::builder().action(action).resource_record_set(set.build().map_err(invalid)?).build().map_err(invalid)
}

/// The change of one record, under its bare name.
fn record_change(action: ChangeAction, name: &str, record: &Record) -> Result<Change, ReconcileError> {
    let ttl = record.ttl.unwrap_or(DEFAULT_TTL);
    change(action, &fqdn(name), &record.r#type, ttl, &record.values)
}

/// One atomic change: each record the spec wants with its ownership mark beside it.
async fn apply(cx: &Cx<'_>, want: &Want<'_, Route53Record>, zone: &str) -> Result<(), ReconcileError> {
    let records = Records::from(want.spec.clone()).records;
    if records.is_empty() {
        return Ok(());
    }
    let mut batch = ChangeBatch::builder().comment(format!("steward {}", want.key().short()));
    for (name, record) in &records {
        let ttl = record.ttl.unwrap_or(DEFAULT_TTL);
        batch = batch.changes(record_change(ChangeAction::Upsert, name, record)?);
        batch = batch.changes(change(ChangeAction::Upsert, &mark_name(name), "TXT", ttl, &[mark_value(want.key())])?);
    }
    send(cx, zone, batch).await
}

/// Sends one atomic change of the zone's records.
async fn send(
    cx: &Cx<'_>,
    zone: &str,
    batch: aws_sdk_route53::types::builders::ChangeBatchBuilder,
) -> Result<(), ReconcileError> {
    let batch = batch.build().map_err(|e| ReconcileError::invalid_spec("ChangeResourceRecordSets", e))?;
    let request = cx.clients.route53.change_resource_record_sets().hosted_zone_id(zone).change_batch(batch);
    cx.may_mutate().await?;
    request.send().await.map_err(aws("ChangeResourceRecordSets"))?;
    Ok(())
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

    #[test]
    fn a_spec_stands_for_its_records() {
        let spec =
            |json: serde_json::Value| Records::from(serde_json::from_value::<Route53RecordSpec>(json).unwrap()).records;
        let one = spec(
            serde_json::json!({ "zone": "example.com", "name": "MMweb.example.com.", "values": ["b.aws.", "a.aws"] }),
        );
        let record = &one["mmweb.example.com"];
        assert_eq!((record.r#type.as_str(), record.ttl), ("CNAME", Some(300)));
        assert_eq!(record.values, ["a.aws.", "b.aws."]);
        let validation = r#"[{"name": "_x.example.com.", "type": "CNAME", "value": "_y.acm-validations.aws."}]"#;
        let both =
            spec(serde_json::json!({ "zone": "example.com", "certificateValidationRecords": validation, "ttl": 60 }));
        assert_eq!(both["_x.example.com"].values, ["_y.acm-validations.aws."]);
        assert_eq!(both["_x.example.com"].ttl, Some(60));
    }
}
