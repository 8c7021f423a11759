//! A kind in the declared shape: its typed spec declares every field once (`#[derive(Declared)]`),
//! and the kind writes only what is its own: how AWS reads into that spec, and its SDK calls.
//! From the declaration come the schema, the desired view, the diff rules (create-only fields,
//! sets, secrets, fields left to AWS), the docs' field table and the Terraform import mapping.
//! `Typed<K>` turns such a kind into the engine's `Adapter`: JSON stays at that edge.

pub use super::definition::{Declared, FieldDecl};
use super::definition::{KindDef, TerraformImport};
use crate::model::adapter::Discovered;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{
    Adapter, AwsError, Cx, Desired, Drift, FailedOperation, Fix, ObjectState, Observed, ReconcileError, ResourceKey,
};
use crate::schema::{Checker, Shape, StrRule, describe, tags};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub use steward_derive::Declared;

/// What every kind file in the declared shape uses: `use super::typed::prelude::*;`.
pub mod prelude {
    pub use crate::aws::aws;
    pub use crate::kinds::typed::{
        Declared, Discovery, KnownId, Memo, Observation, Seen, TagsAt, Typed, TypedKind, Want,
    };
    pub use crate::kinds::typed::{build_error, from_attributes, to_attributes, unless};
    pub use crate::model::tags::Tagged;
    pub use crate::model::{Cx, Desired, Drift, FailedOperation, Fix, ObjectState, ReconcileError};
    pub use crate::schema::{StrRule, name_char};
    pub use std::collections::{BTreeMap, BTreeSet};
}

/// One resource as a declared kind receives it: its spec and memo read into the kind's types.
pub struct Want<'a, K: TypedKind + ?Sized> {
    pub desired: &'a Desired,
    pub spec: K::Spec,
    pub memo: K::Memo,
}

impl<K: TypedKind + ?Sized> Want<'_, K> {
    pub fn key(&self) -> &ResourceKey {
        &self.desired.key
    }
    /// Every tag the object should carry: the stack's defaults, the spec's and ownership's, as
    /// the SDKs that take a map of tags take them.
    pub fn tags(&self) -> std::collections::HashMap<String, String> {
        self.desired.tags.clone().into_iter().collect()
    }
}

/// A memo that keeps the object's id between passes (a queue's URL), so that a steady pass
/// reads the object by it at once.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownId {
    pub known_id: Option<String>,
}

/// One object as a declared kind's observe found it: AWS's configuration in the kind's spec type
/// (whether it is the resource's own follows from its tags).
pub struct Seen<K: TypedKind + ?Sized> {
    /// What later calls address it by (ARN, URL or name).
    pub id: String,
    pub state: ObjectState,
    /// What AWS has, as the diff sees it (the kind's view), every field filled; fields the spec
    /// leaves to AWS are not compared.
    pub config: K::View,
    /// Its tags as AWS has them (the engine compares and fixes them: a spec never holds them).
    pub tags: BTreeMap<String, String>,
    /// What else observe learnt that a later call needs (a connector's generation).
    pub facts: K::Facts,
    pub outputs: K::Outputs,
}

impl<K: TypedKind + ?Sized> Seen<K> {
    /// An object with nothing to say beyond its spec, tags and outputs (no facts).
    pub fn new(
        id: String,
        state: ObjectState,
        config: K::View,
        tags: BTreeMap<String, String>,
        outputs: K::Outputs,
    ) -> Self {
        Seen { id, state, config, tags, outputs, facts: K::Facts::default() }
    }
}

/// A kind in the declared shape. Its observe is batched and never changes anything; every
/// mutating call is preceded by `cx.may_mutate()` and is idempotent.
#[async_trait::async_trait]
pub trait TypedKind: Send + Sync + 'static {
    type Spec: Declared + Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    /// The object as the diff compares it: the spec itself (`type View = Self::Spec;`), or, where
    /// one spec stands for several AWS objects (a DNS name's records), their form, made from the
    /// spec. Its JSON field paths are what drift events name.
    type View: Serialize + DeserializeOwned + From<Self::Spec> + Send + Sync + 'static;
    type Outputs: Declared + Serialize + DeserializeOwned + Send + Sync;
    /// Facts the kind keeps between passes (beside the engine's own memo).
    type Memo: Serialize + DeserializeOwned + Default + Send + Sync;
    /// What observe learns beside the spec and the outputs, for the kind's own later calls.
    type Facts: Serialize + DeserializeOwned + Default + Send + Sync;
    /// The rule for `metadata.name` (the AWS name is a spec field, so any safe name by default).
    const NAME_RULE: StrRule = super::definition::GENERIC_NAME;
    /// Kinds that hold data are retained when their manifest is deleted.
    const RETAIN_BY_DEFAULT: bool = false;
    /// Every AWS action its calls need (checked against the controller's policy).
    const ACTIONS: &'static [&'static str];
    /// The Terraform resource type it is imported from, and the attribute its name comes from.
    const TERRAFORM: Option<(&'static str, &'static str)> = None;
    /// Where the object's tags live, by its id (`Some(|id| Tagged::Sqs(id))`)… or None for an
    /// object AWS keeps no tags for (a custom domain belongs to its service): it is always
    /// steward's, its spec takes no `tags`, and adopting it changes nothing.
    const TAGGED: TagsAt;
    /// …or by this output, where the id is not what tags are kept by (a subnet group's ARN).
    const TAGS_BY: Option<&'static str> = None;
    /// A replacement (create-only drift, under `allowReplacement` or `steward approve`) is made by
    /// deleting the object now; the next pass creates the new one. A kind that replaces otherwise
    /// (a connector made anew under a new name) leaves it false and does it in `update`.
    const REPLACED_BY_DELETING: bool = false;
    /// The resync of its resources that give none (see `Adapter::default_resync`).
    const RESYNC: Option<&'static str> = None;
    /// Fields of a view made from the spec that stand for a secret without holding one (a
    /// user's password facts): shown, but never ignored by `ignoreChanges` nor accepted.
    const STAND_FOR_SECRETS: &'static [&'static str] = &[];
    /// Lists of a view made from the spec compared as sets, by their last name (a service's
    /// `network.subnets`), beside the spec's own set fields.
    const SETS: &'static [&'static str] = &[];
    /// Cross-field rules the declaration cannot say, on the spec as written: once it fits the
    /// schema, before its references are resolved (a selector reads as an id; a spec with a
    /// number given by reference is checked by AWS once resolved).
    fn check(_spec: &Self::Spec, _checker: &mut Checker) {}
    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self>;
    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self>;
    /// Fixes `drift` in place (tags are the engine's, through `tagged`).
    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self>;
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError>;
    /// The objects `steward import aws` takes: those the other imported objects name (every
    /// string of their specs is in `mentioned`), with their AWS names.
    async fn discover(&self, _cx: &Cx<'_>, _mentioned: &BTreeSet<String>) -> Discovery<Self> {
        Ok(Vec::new())
    }
    /// The memo of an object taken over by `adopt: true`.
    fn adopted_memo(_seen: &Seen<Self>) -> Self::Memo {
        Self::Memo::default()
    }
    /// Whether an object of an untagged kind is the resource's own: by default always (it is
    /// reached only through what steward keeps); a DNS record only with steward's mark beside it.
    fn owned_untagged(_seen: &Seen<Self>) -> bool {
        true
    }
    /// Marks an untagged kind's object as the resource's own (`adopt: true`); a tagged kind's
    /// objects are adopted by their tags, through `TAGGED`.
    async fn adopt(&self, _cx: &Cx<'_>, _want: &Want<'_, Self>, _seen: &Seen<Self>) -> Result<(), ReconcileError> {
        Ok(())
    }
    /// An object that holds the resource's identity though its tags say nothing (a deleting
    /// cluster keeps its name until it is gone): never a duplicate beside it.
    fn owned_anyway(_seen: &Seen<Self>) -> bool {
        false
    }
    /// A change the declaration cannot call a replacement by its field alone (an engine version
    /// going down).
    fn replaced_by_change(_field: &str, _desired: &Json, _actual: &Json) -> bool {
        false
    }
    /// Deletes what a replacement left behind once nothing uses it (see `Adapter`).
    async fn retire_superseded(&self, _cx: &Cx<'_>, _seen: &Seen<Self>) -> Result<(), ReconcileError> {
        Ok(())
    }
    /// The spec as the diff compares it, where a field's absence means steward's default or a
    /// field does not apply (a Gateway endpoint has no subnets): its `filled` fields filled (a
    /// log region is the stack's), and values in the form AWS reads back (a policy document
    /// canonical). By default, as written.
    fn compared(spec: Self::Spec, _desired: &Desired) -> Self::Spec {
        spec
    }
    /// Whether a drift of `field` is security-relevant (a rule opening a group): said as
    /// `severity: critical`, and healed at once even while a heal window is shut.
    fn critical(_field: &str, _desired: &Json, _actual: &Json) -> bool {
        false
    }
    /// An operation AWS rolled back on the object (a deployment whose canary failed), from what
    /// its observe learnt.
    fn failed_operation(_seen: &Seen<Self>) -> Option<FailedOperation> {
        None
    }
    /// Whether what refers to the object may go ahead (by default, once it is ready).
    fn ready_for_dependents(seen: &Seen<Self>) -> bool {
        seen.state == ObjectState::Ready
    }
}

/// A kind's AWS actions, one service's on one line: `actions!("sqs": GetQueueUrl, CreateQueue)`
/// is `&["sqs:GetQueueUrl", "sqs:CreateQueue"]`.
#[macro_export]
macro_rules! actions {
    ($service:literal: $($action:ident),* $(,)?) => {
        &[$(concat!($service, ":", stringify!($action))),*]
    };
}

/// Where a kind's tags live: by the object's id (or the output `TAGS_BY` names).
pub type TagsAt = Option<for<'a> fn(&'a str) -> Tagged<'a>>;
/// What a declared kind's observe returns: the objects found, by resource.
pub type Observation<K> = Result<Vec<(ResourceKey, Seen<K>)>, ReconcileError>;
/// What a declared kind's create and update return: facts for its memo.
pub type Memo<K> = Result<<K as TypedKind>::Memo, ReconcileError>;
/// What a declared kind's discover returns: the objects found for an import, with their AWS names.
pub type Discovery<K> = Result<Vec<(String, Seen<K>)>, ReconcileError>;

/// A call's answer, or None where AWS answered with one of `codes` (a create that finds the
/// object made before a crash, a delete that finds it gone).
pub fn unless<T>(result: Result<T, AwsError>, codes: &[&str]) -> Result<Option<T>, ReconcileError> {
    match result {
        Ok(answer) => Ok(Some(answer)),
        Err(e) if e.is_code(codes) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// An SDK request that could not be built from the spec (a required member missing): the spec's
/// fault, not AWS's.
pub fn build_error(e: impl std::fmt::Display) -> ReconcileError {
    ReconcileError::invalid_spec("build request", e)
}

/// The engine's adapter for a declared kind.
pub struct Typed<K> {
    kind: K,
    sets: OnceLock<&'static [&'static str]>,
    sensitive: OnceLock<&'static [&'static str]>,
    secrets: OnceLock<&'static [&'static str]>,
}

impl<K: TypedKind> Typed<K> {
    pub const fn new(kind: K) -> Self {
        Typed { kind, sets: OnceLock::new(), sensitive: OnceLock::new(), secrets: OnceLock::new() }
    }

    fn want<'a>(desired: &'a Desired) -> Result<Want<'a, K>, ReconcileError> {
        // A memo from another version of the kind reads as empty: its facts are found again.
        let memo = serde_json::from_value(desired.memo.clone()).unwrap_or_default();
        Ok(Want { desired, spec: desired.spec_except(&["tags"])?, memo })
    }

    fn seen(observed: &Observed) -> Result<Seen<K>, ReconcileError> {
        let unreadable = |e: serde_json::Error| ReconcileError::invalid_spec("read observation", e.to_string());
        let outputs = Json::Object(observed.outputs.iter().map(|(k, v)| (k.clone(), Json::from(v.clone()))).collect());
        let mut config = observed.config.clone();
        let tags = config.as_object_mut().and_then(|c| c.remove("tags")).unwrap_or_else(|| Json::Object(Map::new()));
        Ok(Seen {
            id: observed.id.clone(),
            state: observed.state.clone(),
            config: serde_json::from_value(config).map_err(unreadable)?,
            tags: serde_json::from_value(tags).map_err(unreadable)?,
            facts: serde_json::from_value(observed.extra.clone()).map_err(unreadable)?,
            outputs: serde_json::from_value(outputs).map_err(unreadable)?,
        })
    }
}

/// A spec as the diff sees it: fields left to AWS that the spec leaves out are not there, sets
/// are in order (so that a drift shows both sides alike), and the tags are the ones given (AWS's
/// own `aws:` tags left out).
fn view_of<S: Serialize>(spec: &S, tags: Option<&BTreeMap<String, String>>, sets: &[&str]) -> Json {
    let mut view = match serde_json::to_value(spec) {
        Ok(Json::Object(fields)) => fields,
        _ => Map::new(),
    };
    view.retain(|_, v| !v.is_null());
    for name in sets {
        if let Some(Json::Array(members)) = view.get_mut(*name) {
            members.sort_by_key(Json::to_string);
        }
    }
    if let Some(tags) = tags {
        view.insert("tags".into(), tag_view(tags));
    }
    Json::Object(view)
}

/// The spec's fields `pick` chooses, and the view's `more`, for the life of the process.
fn names_where<K: TypedKind>(pick: fn(&FieldDecl) -> bool, more: &[&'static str]) -> &'static [&'static str] {
    let declared = K::Spec::fields().into_iter().filter(pick).map(|f| f.field.name);
    Vec::leak(declared.chain(more.iter().copied()).collect())
}

fn top_field(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

#[async_trait::async_trait]
impl<K: TypedKind> Adapter for Typed<K> {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let wanted: Vec<Want<K>> = wanted.iter().map(Self::want).collect::<Result<_, _>>()?;
        let mut out = BTreeMap::new();
        for (key, seen) in self.kind.observe(cx, &wanted).await? {
            let outputs = string_fields(&seen.outputs);
            let config = view_of(&seen.config, K::TAGGED.map(|_| &seen.tags), self.set_fields());
            // Owned: its tags carry the resource's ownership tags (an untagged one, as its kind says).
            let owned = match K::TAGGED {
                Some(_) => owns(&seen.tags, &key),
                None => K::owned_untagged(&seen),
            };
            let owned = owned || K::owned_anyway(&seen);
            let extra = serde_json::to_value(&seen.facts).unwrap_or_default();
            let failed_operation = K::failed_operation(&seen);
            let observed = Observed { id: seen.id, owned, state: seen.state, config, outputs, extra, failed_operation };
            out.insert(key, observed);
        }
        Ok(out)
    }

    fn desired_view(&self, desired: &Desired) -> Result<Json, ReconcileError> {
        let compared: K::View = K::compared(Self::want(desired)?.spec, desired).into();
        Ok(view_of(&compared, K::TAGGED.map(|_| &desired.tags), self.set_fields()))
    }

    fn fix_for(&self, field: &str) -> Fix {
        let create_only = K::Spec::fields().iter().any(|f| f.create_only && f.field.name == top_field(field));
        if create_only { Fix::Replace } else { Fix::InPlace }
    }

    fn critical(&self, field: &str, desired: &Json, actual: &Json) -> bool {
        K::critical(field, desired, actual)
    }

    fn default_resync(&self) -> Option<&'static str> {
        K::RESYNC
    }

    fn fix_for_change(&self, field: &str, desired: &Json, actual: &Json) -> Fix {
        if K::replaced_by_change(field, desired, actual) { Fix::Replace } else { self.fix_for(field) }
    }

    fn set_fields(&self) -> &'static [&'static str] {
        self.sets.get_or_init(|| names_where::<K>(|f| f.set, K::SETS))
    }

    fn sensitive(&self, field: &str) -> bool {
        // Asked for every drift shown: the declaration is read once.
        let sensitive = self.sensitive.get_or_init(|| names_where::<K>(|f| f.sensitive, &[]));
        sensitive.contains(&top_field(field))
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        self.secrets.get_or_init(|| names_where::<K>(|f| f.sensitive, K::STAND_FOR_SECRETS))
    }

    async fn create(&self, cx: &Cx<'_>, desired: &Desired) -> Result<Json, ReconcileError> {
        let memo = self.kind.create(cx, &Self::want(desired)?).await?;
        Ok(serde_json::to_value(memo).unwrap_or(Json::Null))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        desired: &Desired,
        o: &Observed,
        drift: &[Drift],
    ) -> Result<Json, ReconcileError> {
        let seen = Self::seen(o)?;
        let memo = if K::REPLACED_BY_DELETING && drift.iter().any(|x| x.fix == Fix::Replace) {
            self.kind.delete(cx, &seen).await?;
            K::Memo::default()
        } else {
            self.kind.update(cx, &Self::want(desired)?, &seen, drift).await?
        };
        Ok(serde_json::to_value(memo).unwrap_or(Json::Null))
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        self.kind.delete(cx, &Self::seen(o)?).await
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some((K::TAGGED?)(K::TAGS_BY.and_then(|output| o.outputs.get(output)).unwrap_or(&o.id)))
    }

    async fn discover(&self, cx: &Cx<'_>, mentioned: &BTreeSet<String>) -> Result<Vec<Discovered>, ReconcileError> {
        let found = self.kind.discover(cx, mentioned).await?;
        let discovered = found.into_iter().map(|(name, seen)| Discovered {
            name,
            spec: serde_json::to_value(&seen.config).unwrap_or_default(),
            tags: seen.tags,
            outputs: string_fields(&seen.outputs),
            id: seen.id,
        });
        Ok(discovered.collect())
    }

    async fn retire_superseded(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        self.kind.retire_superseded(cx, &Self::seen(o)?).await
    }

    fn ready_for_dependents(&self, o: &Observed) -> bool {
        Self::seen(o).is_ok_and(|seen| K::ready_for_dependents(&seen))
    }

    /// Only an untagged kind's objects reach here (a tagged one's are adopted through `tagged`).
    async fn adopt(&self, cx: &Cx<'_>, desired: &Desired, o: &Observed) -> Result<(), ReconcileError> {
        self.kind.adopt(cx, &Self::want(desired)?, &Self::seen(o)?).await
    }

    fn adopted_memo(&self, o: &Observed) -> Option<Json> {
        let seen = Self::seen(o).ok()?;
        serde_json::to_value(K::adopted_memo(&seen)).ok()
    }
}

/// What the manifest layer needs of a declared kind, from its declaration.
pub fn definition<K: TypedKind>() -> KindDef {
    KindDef {
        fields: K::Spec::fields()
            .into_iter()
            .map(|f| f.field)
            .chain(K::TAGGED.map(|_| crate::schema::opt("tags", tags())))
            .collect(),
        outputs: K::Outputs::fields().into_iter().map(|f| f.field.name).collect(),
        retain_by_default: K::RETAIN_BY_DEFAULT,
        name_rule: K::NAME_RULE,
        check: check_declared::<K>,
        actions: K::ACTIONS,
        declaration: K::Spec::fields,
        output_declaration: K::Outputs::fields,
        terraform: K::TERRAFORM
            .map(|(resource_type, name_attribute)| TerraformImport { resource_type, name_attribute }),
        field_table: Some(field_table::<K>),
    }
}

/// A kind's cross-field rules on a spec that fits its schema, read into the kind's spec (its own
/// fields, not the engine's common ones). The manifest layer gives it as resolution would leave
/// it: each `{byTag: …}` selector an id.
fn check_declared<K: TypedKind>(spec: &Json, checker: &mut Checker) {
    let Shape::Struct(fields) = K::Spec::shape() else { return };
    let own = fields.iter().filter_map(|f| Some((f.name.to_string(), spec.get(f.name)?.clone())));
    if let Ok(spec) = serde_json::from_value::<K::Spec>(Json::Object(own.collect())) {
        K::check(&spec, checker);
    }
}

/// The kind's field table for the docs (docs/kinds.md), generated from its declaration.
pub fn field_table<K: TypedKind>() -> String {
    let mut out = String::from("| field | expected | in place | Terraform | notes |\n|---|---|---|---|---|\n");
    for f in K::Spec::fields() {
        let mut notes = Vec::new();
        if f.field.required {
            notes.push("required".to_string());
        }
        if f.left_to_aws {
            notes.push(match &f.aws_default {
                Some(value) => format!("left to AWS when left out (AWS sets {value}; never drift)"),
                None => "left to AWS when left out (never drift)".into(),
            });
        }
        if f.set {
            notes.push("a set".into());
        }
        if f.sensitive {
            notes.push("sensitive".into());
        }
        if !f.doc.is_empty() {
            notes.push(f.doc.to_string());
        }
        let names = |members: &[crate::schema::Field]| members.iter().map(|m| m.name).collect::<Vec<_>>().join(", ");
        let expected = match &f.field.shape {
            Shape::Struct(members) => format!("a mapping of {}", names(members)),
            Shape::List { item, .. } => match &**item {
                Shape::Struct(members) => format!("a list of mappings of {}", names(members)),
                _ => describe(&f.field.shape),
            },
            shape => describe(shape),
        };
        let changes = if f.create_only { "no: replaced" } else { "yes" };
        let terraform = f.terraform.map(|t| format!("`{t}`")).unwrap_or_default();
        let row = [format!("`{}`", f.field.name), expected, changes.into(), terraform, notes.join("; ")];
        out.push_str(&format!("| {} |\n", row.join(" | ").replace('\n', " ")));
    }
    // Tags are the engine's: every declared kind that AWS tags takes them.
    if K::TAGGED.is_some() {
        out.push_str("| `tags` | a mapping of names to values | yes |  | ");
        out.push_str("Its tags (the stack's `defaultTags` and the ownership tags are added). |\n");
    }
    let outputs: Vec<String> = K::Outputs::fields().iter().map(|f| format!("`{}` ({})", f.field.name, f.doc)).collect();
    out.push_str(&format!("\nOutputs: {}.\n", outputs.join(", ")));
    out
}

/// The string fields of typed outputs, as the engine keeps outputs.
fn string_fields<T: Serialize>(outputs: &T) -> BTreeMap<String, String> {
    match serde_json::to_value(outputs) {
        Ok(Json::Object(fields)) => {
            fields.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect()
        }
        _ => BTreeMap::new(),
    }
}

/// A spec as an attribute map (SQS, SNS): each field but `except` that is set (and drifted, when
/// `drift` is given) as the attribute of its name in PascalCase, its value as text (a document
/// as JSON).
pub fn to_attributes<S: Declared + Serialize, A: for<'a> From<&'a str> + Eq + std::hash::Hash>(
    spec: &S,
    except: &[&str],
    drift: Option<&[Drift]>,
) -> std::collections::HashMap<A, String> {
    let view = serde_json::to_value(spec).unwrap_or_default();
    let drifted = |field: &str| drift.is_none_or(|d| d.iter().any(|x| top_field(&x.field) == field));
    let text = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let names = S::fields().into_iter().map(|f| f.field.name);
    let set: Vec<&str> = names.filter(|f| !except.contains(f) && drifted(f) && !view[*f].is_null()).collect();
    set.into_iter().map(|f| (A::from(pascal_case(f).as_str()), text(&view[f]))).collect()
}

/// A spec read from an attribute map (`attribute` answers by PascalCase name) over `known`, the
/// fields that are not attributes: each value as JSON where it is (numbers, booleans,
/// documents), else as text, and a number a document holds as text (`"maxReceiveCount": "5"`)
/// as the number its declaration says. None when AWS's answer does not fit the spec.
pub fn from_attributes<'a, S: Declared + DeserializeOwned>(
    mut known: Json,
    except: &[&str],
    attribute: impl Fn(&str) -> Option<&'a String>,
) -> Option<S> {
    for f in S::fields().into_iter().filter(|f| !except.contains(&f.field.name)) {
        let Some(text) = attribute(&pascal_case(f.field.name)) else { continue };
        let mut value = serde_json::from_str(text).unwrap_or_else(|_| Json::from(text.as_str()));
        if let (Shape::Struct(members), Json::Object(document)) = (&f.field.shape, &mut value) {
            for member in members.iter().filter(|m| matches!(m.shape, Shape::Int { .. })) {
                let number = document.get(member.name).and_then(Json::as_str).and_then(|n| n.parse::<i64>().ok());
                if let Some(number) = number {
                    document.insert(member.name.into(), number.into());
                }
            }
        }
        known[f.field.name] = value;
    }
    serde_json::from_value(known).ok()
}

fn pascal_case(field: &str) -> String {
    field[..1].to_uppercase() + &field[1..]
}
