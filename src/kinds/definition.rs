//! What the manifest layer needs to know about a kind: its schema, outputs, naming rule and
//! default deletion policy. The AWS side lives beside it, in the kind's own file.

use crate::schema::name_char;
use crate::schema::{Checker, Field, StrRule};
use serde_json::Value as Json;

/// What the manifest layer needs to know about a kind; the AWS adapter lives beside it.
pub struct KindDef {
    /// The spec's own fields; the common ones (policies, adopt) are added by the validator.
    pub fields: Vec<Field>,
    /// Names other resources may reference as `${Kind/name.output}`.
    pub outputs: Vec<&'static str>,
    /// `Retain` for kinds that hold data (cache clusters, users), `Delete` otherwise.
    pub retain_by_default: bool,
    /// The AWS naming rule for `metadata.name`.
    pub name_rule: StrRule,
    /// Cross-field rules the schema cannot express (Fargate cpu/memory pairs and the like).
    pub check: fn(&Json, &mut Checker),
    /// Every AWS action the kind's calls need (tests/least_privilege.rs holds the controller's
    /// policy to them).
    pub actions: &'static [&'static str],
    /// How `steward import terraform` reads it, for kinds in the declared shape (`typed.rs`).
    pub terraform: Option<TerraformImport>,
    /// Its field table for docs/kinds.md, for kinds in the declared shape.
    pub field_table: Option<fn() -> String>,
}

/// How a kind is read from a Terraform state's resource instance.
pub struct TerraformImport {
    pub resource_type: &'static str,
    /// The attribute its manifest name comes from.
    pub name_attribute: &'static str,
    /// The spec from the attributes (Terraform's unset values and AWS's defaults left out).
    pub spec: fn(&Json) -> Json,
    /// The outputs from the attributes.
    pub outputs: fn(&Json) -> std::collections::BTreeMap<String, String>,
}

pub fn no_extra_checks(_: &Json, _: &mut Checker) {}

/// The generic name rule: what every kind accepts at least, and what is safe in keys and logs.
pub const GENERIC_NAME: StrRule = StrRule {
    expected: "a name of 1 to 63 letters, digits, '_' or '-', starting with a letter or digit",
    check: |s| {
        (1..=63).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(name_char("_-"))
    },
};
