//! What the manifest layer needs to know about a kind: its schema, outputs, naming rule and
//! default deletion policy. The AWS side lives beside it, in the kind's own file.

use crate::schema::{Checker, Field, StrRule};
use serde_json::Value as Json;

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
