//! IAM policy documents as steward compares them (an endpoint's policy today; a role's trust and
//! permissions, a bucket's or a queue's policy next): equivalent spellings are one document.

use serde_json::{Value as Json, json};
use std::collections::BTreeSet;

/// A policy as compared: canonical, or its text where it does not read as a document.
pub fn policy_as_compared(text: &str) -> String {
    canonical_policy(text).unwrap_or_else(|| text.to_string())
}

/// A policy document in one canonical form, so that equivalent spellings are not drift: one
/// compact line, keys in order at every level, Statement always a list, a single action,
/// resource or principal as a one-element list, lists sorted, `{"AWS": "*"}` as `"*"`. A
/// document as IAM returns it (URL-encoded) reads the same. None when it is not a JSON object
/// with a Statement.
pub fn canonical_policy(text: &str) -> Option<String> {
    let mut doc: Json = serde_json::from_str(text).or_else(|_| serde_json::from_str(&percent_decoded(text))).ok()?;
    let statements = match doc.get_mut("Statement")?.take() {
        Json::Array(list) => list,
        one @ Json::Object(_) => vec![one],
        _ => return None,
    };
    let mut canonical: Vec<Json> = statements.into_iter().map(canonical_statement).collect();
    canonical.sort_by_key(Json::to_string);
    doc["Statement"] = Json::Array(canonical);
    Some(keys_in_order(doc).to_string())
}

fn canonical_statement(mut statement: Json) -> Json {
    for key in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(v) = statement.get_mut(key) {
            *v = as_sorted_list(v.take());
        }
    }
    if statement.get("Principal") == Some(&json!({ "AWS": "*" })) {
        statement["Principal"] = json!("*");
    }
    for key in ["Principal", "NotPrincipal"] {
        if let Some(Json::Object(principals)) = statement.get_mut(key) {
            principals.values_mut().for_each(|v| *v = as_sorted_list(v.take()));
        }
    }
    // In order before the statements are sorted, so that their order does not depend on spelling.
    keys_in_order(statement)
}

fn as_sorted_list(value: Json) -> Json {
    let mut list = match value {
        Json::Array(list) => list,
        other => vec![other],
    };
    list.sort_by_key(Json::to_string);
    Json::Array(list)
}

/// JSON text in one form (keys in order, compact), or None when it is not JSON: for documents
/// that are not IAM policies (an ECR lifecycle policy).
pub fn canonical_json(text: &str) -> Option<String> {
    serde_json::from_str(text).ok().map(|doc| keys_in_order(doc).to_string())
}

/// A value with the keys of every mapping in order.
fn keys_in_order(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().map(|(k, v)| (k, keys_in_order(v))).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(keys_in_order).collect()),
        other => other,
    }
}

/// The Allow statements of a document as canonical values (none when it is not a document).
fn allowed(text: &str) -> Vec<Json> {
    let doc: Option<Json> = canonical_policy(text).and_then(|c| serde_json::from_str(&c).ok());
    let statements = doc.and_then(|mut d| d.get_mut("Statement").map(Json::take));
    let statements = statements.and_then(|s| s.as_array().cloned()).unwrap_or_default();
    statements.into_iter().filter(|s| s.get("Effect").and_then(Json::as_str) == Some("Allow")).collect()
}

/// Whether `actual` allows, in a statement `desired` does not have, every action of a service
/// or on every resource: an Action or Resource of `*` or `service:*`.
pub fn wildcard_added(desired: &str, actual: &str) -> bool {
    let wanted = allowed(desired);
    let wide = |s: &Json, key: &str| {
        let values = s.get(key).and_then(Json::as_array).cloned().unwrap_or_default();
        values.iter().filter_map(Json::as_str).any(|v| v == "*" || v.ends_with(":*"))
    };
    allowed(actual).iter().any(|s| !wanted.contains(s) && (wide(s, "Action") || wide(s, "Resource")))
}

/// Whether `actual` lets a principal in that `desired` does not name (a trust policy gained one).
pub fn principal_added(desired: &str, actual: &str) -> bool {
    let principals = |text: &str| -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        for statement in allowed(text) {
            match statement.get("Principal") {
                Some(Json::Object(by_type)) => {
                    for (kind, names) in by_type {
                        let names = names.as_array().into_iter().flatten().filter_map(Json::as_str);
                        all.extend(names.map(|n| format!("{kind}:{n}")));
                    }
                }
                Some(other) => drop(all.insert(other.to_string())),
                None => {}
            }
        }
        all
    };
    !principals(actual).is_subset(&principals(desired))
}

/// Text with its `%XX` escapes (and `+` for a space) decoded, as a URL's query or IAM's documents
/// carry it; an escape that is not one stays as written.
pub fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes[i] {
            b'%' => text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 2;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_documents_are_one_and_iam_s_encoding_reads_the_same() {
        let written = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}"#;
        let reordered = r#"{"Statement":{"Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":["sts:AssumeRole"],"Effect":"Allow"},"Version":"2012-10-17"}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%7D%5D%7D";
        assert_eq!(canonical_policy(written), canonical_policy(reordered));
        assert_eq!(canonical_policy(written), canonical_policy(encoded));
        let two = |a: &str, b: &str| format!(r#"{{"Statement":[{a},{b}]}}"#);
        let (allow, deny) = (r#"{"Effect":"Allow","Action":"s3:GetObject"}"#, r#"{"Action":"s3:*","Effect":"Deny"}"#);
        let deny_reordered = r#"{"Effect":"Deny","Action":"s3:*"}"#;
        assert_eq!(canonical_policy(&two(allow, deny)), canonical_policy(&two(deny_reordered, allow)));
        assert_eq!(canonical_policy("[]"), None);
        assert_eq!(canonical_policy(r#"{"Version":"2012-10-17"}"#), None);
        assert_eq!(percent_decoded("ab%2Fc+d%zz%4"), "ab/c d%zz%4");
    }

    #[test]
    fn a_wildcard_or_a_principal_gained_is_told_apart_from_a_narrow_change() {
        let doc = |statements: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        let read = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#;
        let admin = r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#;
        let all_s3 = r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"}"#;
        let deny_all = r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#;
        let cases = [
            (doc(read), doc(&format!("{read},{admin}")), true, "every action on everything"),
            (doc(read), doc(&format!("{read},{all_s3}")), true, "every action of a service"),
            (doc(read), doc(&format!("{read},{deny_all}")), false, "a Deny takes away"),
            (doc(admin), doc(admin), false, "a wildcard the spec has"),
            (
                doc(read),
                doc(r#"{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}"#),
                false,
                "narrow",
            ),
        ];
        for (desired, actual, critical, why) in cases {
            assert_eq!(wildcard_added(&desired, &actual), critical, "{why}");
        }
        let trust = |principal: &str| {
            doc(&format!(r#"{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{principal}}}"#))
        };
        let ecs = r#"{"Service":"ecs-tasks.amazonaws.com"}"#;
        assert!(principal_added(
            &trust(ecs),
            &trust(r#"{"Service":"ecs-tasks.amazonaws.com","AWS":"arn:aws:iam::999999999999:root"}"#)
        ));
        assert!(principal_added(&trust(ecs), &trust(r#""*""#)));
        assert!(!principal_added(&trust(ecs), &trust(r#"{"Service":["ecs-tasks.amazonaws.com"]}"#)));
        assert!(!principal_added(
            &trust(r#"{"Service":["ecs-tasks.amazonaws.com","build.apprunner.amazonaws.com"]}"#),
            &trust(ecs)
        ));
    }
}
