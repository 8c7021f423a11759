//! IAM policy documents as steward compares them (an endpoint's policy today; a role's trust and
//! permissions, a bucket's or a queue's policy next): equivalent spellings are one document.

use serde_json::{Value as Json, json};

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
}
