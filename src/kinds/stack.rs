//! Stack: the settings every resource of a stack shares (region, VPC, tags, parameters; its
//! `resync` and `healWindow` are the defaults of its resources).

use super::typed::prelude::*;
use crate::schema::{Checker, StrRule};
use serde_json::Value as Json;

pub const REGION: StrRule = StrRule {
    expected: "an AWS region such as eu-west-1",
    check: |s| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() >= 3
            && parts[0].len() == 2
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.parse::<u8>().is_ok())
    },
};

pub const PARAM_NAME: StrRule = StrRule {
    expected: "a parameter name (letters, digits and _, starting with a letter)",
    check: |s| {
        (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    },
};

/// A Stack's own spec, as resolution reads it (its `resync` and `healWindow` are common fields).
#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackSpec {
    /// The AWS region of its resources.
    #[field(shape = string(REGION))]
    pub region: String,
    /// The VPC: an id, or a `{byTag: {…}}` selector resolved in the region.
    #[field(shape = Shape::Selector { id_prefix: "vpc-" })]
    pub vpc: Json,
    /// Tags every resource of the stack carries.
    #[serde(default)]
    #[field(shape = tags())]
    pub default_tags: BTreeMap<String, String>,
    /// Whether tags steward did not declare are left alone (`merge`, the default) or removed
    /// (`exact`).
    #[serde(default)]
    #[field(shape = Shape::Enum(&["merge", "exact"]))]
    pub tag_policy: TagPolicy,
    /// Literal values other manifests reference (`${Stack/name.params.x}`): image URIs, a hosted
    /// zone, an account.
    #[serde(default)]
    #[field(shape = dict(PARAM_NAME, Shape::Str { rule: ANY_STRING, max_len: 1024 }, 50))]
    pub params: BTreeMap<String, String>,
}

/// Whether tags steward did not declare are left alone (`merge`) or removed (`exact`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagPolicy {
    #[default]
    Merge,
    Exact,
}

/// A Stack compares nothing: it is settings, not an AWS object.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct Settings {}

impl From<StackSpec> for Settings {
    fn from(_: StackSpec) -> Self {
        Settings {}
    }
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackOutputs {
    #[field(doc = "the id of its VPC")]
    pub vpc_id: String,
}

pub struct Stack;
pub static ADAPTER: Typed<Stack> = Typed::new(Stack);

#[async_trait::async_trait]
impl TypedKind for Stack {
    type Spec = StackSpec;
    type View = Settings;
    type Outputs = StackOutputs;
    type Memo = ();
    type Facts = ();
    const TAGGED: TagsAt = None;
    /// None: the VPC it names is looked up by the engine.
    const ACTIONS: &'static [&'static str] = &[];

    /// Parameters are literal values other manifests reference; they may not reference anything.
    fn check(spec: &StackSpec, c: &mut Checker) {
        for (name, _) in spec.params.iter().filter(|(_, value)| value.contains("${")) {
            c.error_at(&format!("params.{name}"), "expected a literal value; parameters cannot hold references");
        }
    }

    /// The engine resolved the VPC (one DescribeVpcs per stack) before it got here.
    async fn observe(&self, _cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let found = wanted.iter().map(|want| {
            let vpc_id = want.desired.vpc_id.clone();
            let outputs = StackOutputs { vpc_id: vpc_id.clone() };
            (want.key().clone(), Seen::new(vpc_id, ObjectState::Ready, Settings {}, BTreeMap::new(), outputs))
        });
        Ok(found.collect())
    }

    async fn create(&self, _cx: &Cx<'_>, _want: &Want<'_, Self>) -> Memo<Self> {
        Ok(())
    }

    async fn update(&self, _cx: &Cx<'_>, _want: &Want<'_, Self>, _seen: &Seen<Self>, _drift: &[Drift]) -> Memo<Self> {
        Ok(())
    }

    async fn delete(&self, _cx: &Cx<'_>, _seen: &Seen<Self>) -> Result<(), ReconcileError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::RESYNC;

    #[test]
    fn regions_and_resync() {
        assert!((REGION.check)("eu-west-1"));
        assert!((REGION.check)("us-gov-west-1"));
        assert!(!(REGION.check)("Europe"));
        assert!((RESYNC.check)("60s"));
        assert!((RESYNC.check)("5m"));
        assert!(!(RESYNC.check)("1s"));
        assert!(!(RESYNC.check)("sometimes"));
        assert!((RESYNC.check)("0 */5 * * * *"));
    }
}
