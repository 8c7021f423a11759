//! Small helpers the adapters share for values: AWS statuses, client tokens, DNS validation
//! records.

use crate::model::Desired;
use crate::model::hash::{fnv1a, fnv1a_start};

/// A name read in lower case (`#[serde(deserialize_with = "lower_case")]`): DNS names, and the
/// names ElastiCache keeps in lower case and finds in any case.
pub(crate) fn lower_case<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    <String as serde::Deserialize>::deserialize(d).map(|s| s.to_ascii_lowercase())
}

/// An AWS status as steward compares it: in lower case. Services do not always answer in the
/// case of their own model's enum (App Runner custom domains say `active`, EC2 endpoints
/// `available`), so no status is ever compared as the model spells it.
pub(crate) fn status_text(status: &str) -> String {
    status.to_ascii_lowercase()
}

/// The longest prefix all `names` share (a listing by prefix reads them all), or None for none.
pub(crate) fn common_prefix<'a>(mut names: impl Iterator<Item = &'a str>) -> Option<String> {
    let first = names.next()?.to_string();
    Some(names.fold(first, |p, n| p.chars().zip(n.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect()))
}

/// A client token that is the same for every retry of one create (a crash between the call and
/// the status write must not make a duplicate) and new for the next incarnation of the object.
pub(crate) fn client_token(desired: &Desired) -> String {
    let creates = desired.memo_count("creates");
    let text = format!("{}/{}/{}/{}/{creates}", desired.key.stack, desired.key.kind, desired.key.name, desired.version);
    // 32 hex digits (some APIs want at least 32): two rounds of FNV-1a, the second continuing the first.
    let mut hash = fnv1a_start();
    let mut out = String::new();
    for round in 0..2u8 {
        hash = fnv1a(hash, text.bytes().chain([round]));
        out.push_str(&format!("{hash:016x}"));
    }
    out
}

/// A DNS record that validates a certificate or a custom domain, as a `validationRecords` output
/// lists them (JSON text) and a Route53Record reads them.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ValidationRecord {
    pub name: String,
    pub r#type: Option<String>,
    pub value: String,
}

/// The `validationRecords` output: the records as JSON text, or None while there are none.
pub(crate) fn validation_records_output(records: &[ValidationRecord]) -> Option<String> {
    (!records.is_empty()).then(|| serde_json::to_string(records).unwrap_or_default())
}
