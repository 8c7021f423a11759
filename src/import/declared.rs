//! The import mapping of a kind in the declared shape, made from its declaration: a spec from a
//! Terraform resource's attributes by each field's `tf` name, and a spec as an import writes it
//! (whether read from Terraform or from the live account).

use crate::kinds::FieldDecl;
use crate::schema::Shape;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// A spec from a Terraform resource's attributes, by the declaration's `tf` names: values
/// Terraform writes for "unset" (null, "", {}, a number below the field's range) and AWS's
/// defaults are left out, a JSON document held as a string (a redrive policy) is read as the
/// mapping steward keeps. Tags are the importer's (it leaves out AWS's and steward's own).
pub fn from_terraform(declaration: &[FieldDecl], attributes: &Json) -> Json {
    let mut spec = Map::new();
    for f in declaration {
        let Some(value) = f.terraform.and_then(|t| attributes.get(t)) else { continue };
        let value = match (&f.field.shape, value) {
            (Shape::Struct(_), Json::String(text)) => serde_json::from_str(text).unwrap_or(Json::Null),
            (_, value) => value.clone(),
        };
        spec.insert(f.field.name.to_string(), value);
    }
    as_imported(declaration, &Json::Object(spec))
}

/// Outputs from a Terraform resource's attributes, by the declaration's `tf` names (the text
/// ones: outputs are text).
pub fn outputs_from_terraform(declaration: &[FieldDecl], attributes: &Json) -> BTreeMap<String, String> {
    let outputs = from_terraform(declaration, attributes);
    let text = outputs.as_object().into_iter().flatten();
    text.filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string()))).collect()
}

/// A spec as an import writes it: values that mean "unset" (null, "", {}, a number below the
/// field's range) and AWS's defaults left out.
pub fn as_imported(declaration: &[FieldDecl], spec: &Json) -> Json {
    let mut out = Map::new();
    for f in declaration {
        let Some(value) = spec.get(f.field.name).cloned() else { continue };
        let unset = match (&value, &f.field.shape) {
            (Json::Null, _) => true,
            (Json::String(s), _) => s.is_empty(),
            (Json::Object(m), _) => m.is_empty(),
            (Json::Number(n), Shape::Int { min, .. }) => n.as_i64().is_some_and(|n| n < *min),
            (Json::Number(n), Shape::IntIn(values)) => n.as_i64().is_none_or(|n| !values.contains(&n)),
            _ => false,
        };
        if !unset && f.aws_default.as_ref() != Some(&value) {
            out.insert(f.field.name.to_string(), value);
        }
    }
    Json::Object(out)
}
