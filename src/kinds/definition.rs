//! What the manifest layer and the importers need to know about a kind: its schema, outputs,
//! naming rule, default deletion policy, and its fields as declared (`#[derive(Declared)]`). The
//! AWS side lives beside it, in the kind's own file.

use crate::schema::name_char;
use crate::schema::{Checker, Field, Shape, StrRule};
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
    /// Its spec's fields and its outputs as declared (`typed.rs`): the import mapping is made
    /// from them.
    pub declaration: fn() -> Vec<FieldDecl>,
    pub output_declaration: fn() -> Vec<FieldDecl>,
    /// How `steward import terraform` reads it.
    pub terraform: Option<TerraformImport>,
    /// Its field table for docs/kinds.md, for kinds in the declared shape.
    pub field_table: Option<fn() -> String>,
}

/// Which Terraform resource a kind is read from (its fields by their declared `tf` names).
pub struct TerraformImport {
    pub resource_type: &'static str,
    /// The attribute its manifest name comes from.
    pub name_attribute: &'static str,
}

/// The generic name rule: what every kind accepts at least, and what is safe in keys and logs.
pub const GENERIC_NAME: StrRule = StrRule {
    expected: "a name of 1 to 63 letters, digits, '_' or '-', starting with a letter or digit",
    check: |s| {
        (1..=63).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(name_char("_-"))
    },
};

/// One field of a kind's spec as its declaration says.
pub struct FieldDecl {
    /// Its name (AWS's API name in lowerCamelCase), rule and whether it is required.
    pub field: Field,
    /// AWS changes it only by a new object: a difference is fixed by a replacement.
    pub create_only: bool,
    /// A list compared as a set: one drift for the field, members added and removed.
    pub set: bool,
    /// A secret: shown as `(sensitive)`, kept only as a fingerprint.
    pub sensitive: bool,
    /// Left out of a spec, AWS's value is kept: never drift.
    pub left_to_aws: bool,
    /// The Terraform attribute it is imported from.
    pub terraform: Option<&'static str>,
    /// What AWS sets when it is left out (an import leaves that value out).
    pub aws_default: Option<Json>,
    /// What it is, for the docs.
    pub doc: &'static str,
}

/// A typed spec (or typed outputs) whose fields are declared (`#[derive(Declared)]`).
pub trait Declared {
    fn fields() -> Vec<FieldDecl>;
    /// The mapping it is, as a field of another declaration (`network`, a list's members).
    fn shape() -> Shape {
        Shape::Struct(Self::fields().into_iter().map(|f| f.field).collect())
    }
}
