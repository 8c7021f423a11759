//! CacheUser: an ElastiCache user whose password lives in an SSM SecureString. The password itself
//! never appears in a manifest, the store, a diff or a log: only the parameter's name does.
//!
//! The password: steward keeps in its memo the SSM parameter version it last set on the user (a
//! number, not a secret). A missing parameter gets a new generated password; a parameter whose
//! version moved on is set on the user again. The value only ever travels from SSM to ElastiCache
//! inside `password`.

use super::tagging::{elasticache_tag_key, elasticache_tag_list, elasticache_tags, tags_or_last_known};
use super::typed::prelude::*;
use super::values::status_text;
use crate::aws::AwsError;
use aws_sdk_elasticache::types::{AuthenticationMode, InputAuthenticationType};
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};

pub const USER_ID: StrRule = StrRule {
    expected: "a user id of 1 to 40 lowercase letters, digits or hyphens, starting with a letter",
    check: |s| {
        (1..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    },
};

pub const SSM_NAME: StrRule = StrRule {
    expected: "an SSM parameter path such as /app/redis/password (letters, digits and _.-/)",
    check: |s| {
        (2..=1011).contains(&s.len())
            && s.starts_with('/')
            && !s.to_ascii_lowercase().starts_with("/aws")
            && s.chars().all(name_char("_.-/"))
    },
};

const USER_NAME: StrRule = StrRule {
    expected: "a user name of 1 to 120 characters without spaces",
    check: |s| (1..=120).contains(&s.len()) && !s.contains(' '),
};

const KMS_KEY: StrRule = StrRule {
    expected: "a KMS key id, key ARN, alias name (alias/...) or alias ARN",
    check: |s| !s.is_empty() && s.len() <= 2048 && !s.contains(char::is_whitespace),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheUserSpec {
    /// The name clients authenticate as.
    #[field(shape = string(USER_NAME), create_only)]
    pub user_name: String,
    /// redis (the default) or valkey.
    #[serde(default = "redis_engine")]
    #[field(shape = Shape::Enum(&["redis", "valkey"]), create_only)]
    pub engine: String,
    /// What it may run and read (ElastiCache's access string).
    pub access_string: String,
    /// The SSM parameter that holds the password (never the password itself).
    #[field(shape = string(SSM_NAME))]
    pub password_parameter: String,
    /// The length of a password steward generates (32 unless the spec says).
    #[field(shape = int(16, 128))]
    pub password_length: Option<usize>,
    /// The KMS key the parameter is encrypted with (AWS's own key unless the spec names one).
    #[field(shape = string(KMS_KEY))]
    pub password_kms_key: Option<String>,
}

/// A user as the diff compares it: what the spec names, and facts about its password (never the
/// password): whether it was set from the parameter's current version, and that the parameter is
/// the one way in.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheUserView {
    user_name: String,
    access_string: String,
    engine: String,
    password: String,
    password_parameter_type: String,
    /// `no-password` (anyone may connect) is drift like any other.
    authentication: Option<String>,
    /// A second password is drift too.
    password_count: i32,
    password_kms_key: Option<String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheUserOutputs {
    #[field(doc = "the user's id (its name in steward)")]
    pub user_id: String,
    #[field(doc = "the SSM parameter that holds its password")]
    pub password_parameter: String,
    #[field(doc = "the user's ARN")]
    pub arn: String,
}

/// The parameter version the user was last set from.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordMemo {
    /// Absent when a call set no password, so that the version kept stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    password_version: Option<i64>,
}

/// What a pass learns beside the user's configuration.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFacts {
    /// The parameter's current version (an adopted user is taken as set from it).
    parameter_version: Option<i64>,
    /// A user in transition refused its tags: its last known ones stand in this pass.
    tags_unknown: bool,
}

pub struct CacheUser;
pub static ADAPTER: Typed<CacheUser> = Typed::new(CacheUser);

/// The `password` field of the view: a fact about the SSM parameter's version, never a secret.
const PASSWORD_IN_SYNC: &str = "set from the parameter's current version";

const DEFAULT_PASSWORD_LENGTH: usize = 32;

fn redis_engine() -> String {
    "redis".into()
}

impl From<CacheUserSpec> for CacheUserView {
    fn from(spec: CacheUserSpec) -> Self {
        CacheUserView {
            user_name: spec.user_name,
            access_string: spec.access_string,
            engine: spec.engine,
            password: PASSWORD_IN_SYNC.into(),
            password_parameter_type: "SecureString".into(),
            authentication: Some("password".into()),
            password_count: 1,
            password_kms_key: spec.password_kms_key,
        }
    }
}

#[async_trait::async_trait]
impl TypedKind for CacheUser {
    type Spec = CacheUserSpec;
    type View = CacheUserView;
    type Outputs = CacheUserOutputs;
    type Memo = PasswordMemo;
    type Facts = UserFacts;
    const NAME_RULE: StrRule = USER_ID;
    const RETAIN_BY_DEFAULT: bool = true;
    const TAGGED: TagsAt = Some(|arn| Tagged::ElastiCache(arn));
    const REPLACED_BY_DELETING: bool = true;
    const TAGS_BY: Option<&'static str> = Some("arn");
    const STAND_FOR_SECRETS: &'static [&'static str] = &["password"];
    const ACTIONS: &'static [&'static str] = &[
        "elasticache:DescribeUsers",
        "elasticache:ListTagsForResource",
        "elasticache:CreateUser",
        "elasticache:ModifyUser",
        "elasticache:DeleteUser",
        "elasticache:AddTagsToResource",
        "elasticache:RemoveTagsFromResource",
        "ssm:DescribeParameters",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:PutParameter",
    ];

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let users: Result<Vec<_>, _> =
            cx.clients.elasticache.describe_users().into_paginator().items().send().collect().await;
        let users = users.map_err(aws("DescribeUsers"))?;
        let parameters = parameter_facts(cx, wanted).await?;
        let mut out = Vec::new();
        for want in wanted {
            let Some(user) = users.iter().find(|u| u.user_id() == Some(want.key().name.as_str())) else { continue };
            let status = status_text(user.status().unwrap_or_default());
            let state = match status.as_str() {
                "active" => ObjectState::Ready,
                other => ObjectState::Busy(other.to_string()),
            };
            let arn = user.arn().unwrap_or_default().to_string();
            // A user in transition refuses tag calls (QUIRKS.md). It is busy, so this pass only
            // waits on it: its last known tags do, and ownership is decided once it is active.
            let read = elasticache_tags(cx, &arn, "").await;
            let (tags, tags_unknown) =
                tags_or_last_known(cx, read, &elasticache_tag_key(&arn, ""), status != "active")?;
            // Facts about the password, never the password: they tell one rotation from the next.
            let parameter = parameters.get(&want.spec.password_parameter);
            let password = match (parameter.map(|p| p.version), want.memo.password_version) {
                (None, _) => "the parameter is missing".to_string(),
                (Some(v), Some(s)) if v == s => PASSWORD_IN_SYNC.to_string(),
                (Some(v), Some(s)) => format!("the parameter is at version {v}; the user was set from version {s}"),
                (Some(v), None) => format!("the parameter is at version {v}; steward never set the user from it"),
            };
            let authentication = user.authentication();
            let wanted_key = want.spec.password_kms_key.as_ref();
            let config = CacheUserView {
                user_name: user.user_name().unwrap_or_default().to_string(),
                access_string: user.access_string().unwrap_or_default().to_string(),
                engine: user.engine().unwrap_or_default().to_string(),
                password,
                // A missing parameter is the password's drift, not its type's.
                password_parameter_type: parameter.map_or("SecureString", |p| p.kind.as_str()).to_string(),
                authentication: authentication.and_then(|a| a.r#type()).map(|t| t.as_str().to_string()),
                password_count: authentication.and_then(|a| a.password_count()).unwrap_or(0),
                password_kms_key: wanted_key.and_then(|key| parameter.map_or(Some(key.clone()), |p| p.kms_key.clone())),
            };
            let outputs = CacheUserOutputs {
                user_id: want.key().name.clone(),
                password_parameter: want.spec.password_parameter.clone(),
                arn,
            };
            let facts = UserFacts { parameter_version: parameter.map(|p| p.version), tags_unknown };
            let seen = Seen { id: want.key().name.clone(), state, config, tags, facts, outputs };
            out.push((want.key().clone(), seen));
        }
        Ok(out)
    }

    /// A deleting user still holds its id, and one whose tags are unknown is waited on.
    fn owned_anyway(seen: &Seen<Self>) -> bool {
        seen.state == ObjectState::Busy("deleting".into()) || seen.facts.tags_unknown
    }

    /// An adopted user keeps its password: the parameter's current version is taken as the one
    /// it was set from (an import must not rotate a password the applications use).
    fn adopted_memo(seen: &Seen<Self>) -> PasswordMemo {
        PasswordMemo { password_version: seen.facts.parameter_version }
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let (password, version) = password(cx, want).await?;
        let spec = &want.spec;
        let request = cx.clients.elasticache.create_user().user_id(&want.key().name).user_name(&spec.user_name);
        let request = request.engine(&spec.engine).access_string(&spec.access_string).passwords(password);
        let request = request.set_tags(Some(elasticache_tag_list(&want.desired.tags)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateUser"))?;
        Ok(PasswordMemo { password_version: Some(version) })
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, _: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        let drifted = |fields: &[&str]| drift.iter().any(|x| fields.contains(&x.field.as_str()));
        let mut request = cx.clients.elasticache.modify_user().user_id(&want.key().name);
        let mut memo = PasswordMemo::default();
        if drifted(&["accessString"]) {
            request = request.access_string(&want.spec.access_string);
        }
        // One password, the parameter's, and no other way in: the rotation and the authentication
        // fix are the same call.
        let retype = drifted(&["passwordParameterType", "passwordKmsKey"]);
        if retype {
            encrypt_parameter(cx, &want.spec).await?;
        }
        // After a retype the parameter is at a new version: the user is set from it again.
        if retype || drifted(&["password", "authentication", "passwordCount"]) {
            let (password, version) = password(cx, want).await?;
            let mode = AuthenticationMode::builder().r#type(InputAuthenticationType::Password).passwords(password);
            request = request.authentication_mode(mode.build());
            memo.password_version = Some(version);
        }
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyUser"))?;
        Ok(memo)
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.elasticache.delete_user().user_id(&seen.id).send().await.map_err(aws("DeleteUser"))?;
        Ok(())
    }
}

/// A random password of letters and digits (ElastiCache refuses , " / @ and spaces).
fn generate_password(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..length).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}

/// What steward reads of a password parameter without decrypting it.
struct ParameterFacts {
    version: i64,
    kind: String,
    /// Read only for users whose spec names a key (one more call).
    kms_key: Option<String>,
}

/// Facts of the wanted users' SSM parameters (absent ones are missing from the map): version and
/// type ten per GetParameters call, and the KMS key for those whose spec names one
/// (DescribeParameters).
async fn parameter_facts(
    cx: &Cx<'_>,
    wanted: &[Want<'_, CacheUser>],
) -> Result<BTreeMap<String, ParameterFacts>, ReconcileError> {
    let names: Vec<String> = wanted.iter().map(|w| w.spec.password_parameter.clone()).collect();
    let mut facts = BTreeMap::new();
    for chunk in names.chunks(10) {
        let request = cx.clients.ssm.get_parameters().set_names(Some(chunk.to_vec()));
        let out = request.send().await.map_err(aws("GetParameters"))?;
        for p in out.parameters() {
            let kind = p.r#type().map(|t| t.as_str().to_string()).unwrap_or_default();
            let name = p.name().unwrap_or_default().to_string();
            facts.insert(name, ParameterFacts { version: p.version(), kind, kms_key: None });
        }
    }
    let keyed = wanted.iter().filter(|w| w.spec.password_kms_key.is_some());
    let keyed: Vec<String> = keyed.map(|w| w.spec.password_parameter.clone()).collect();
    for chunk in keyed.chunks(50) {
        let filter = ParameterStringFilter::builder().key("Name").option("Equals").set_values(Some(chunk.to_vec()));
        let filter = filter.build().map_err(build_error)?;
        let pages = cx.clients.ssm.describe_parameters().parameter_filters(filter).into_paginator().send();
        let pages: Result<Vec<_>, _> = pages.collect().await;
        for p in pages.map_err(aws("DescribeParameters"))?.iter().flat_map(|page| page.parameters()) {
            if let Some(f) = p.name().and_then(|n| facts.get_mut(n)) {
                f.kms_key = p.key_id().map(str::to_string);
            }
        }
    }
    Ok(facts)
}

/// Puts the parameter's current value back as a SecureString (under the spec's key): a parameter
/// re-put as a plain String keeps the password readable to anyone who may read parameters.
/// Returns nothing secret; the new version is picked up by `password`.
async fn encrypt_parameter(cx: &Cx<'_>, spec: &CacheUserSpec) -> Result<(), ReconcileError> {
    let name = &spec.password_parameter;
    let read = cx.clients.ssm.get_parameter().name(name).with_decryption(true).send().await;
    let value = read
        .map_err(aws("GetParameter"))?
        .parameter
        .and_then(|p| p.value)
        .ok_or_else(|| AwsError::unexpected("GetParameter", "SSM returned no value"))?;
    let request = cx.clients.ssm.put_parameter().name(name).value(value).r#type(ParameterType::SecureString);
    let request = request.set_key_id(spec.password_kms_key.clone()).overwrite(true);
    cx.may_mutate().await?;
    request.send().await.map_err(aws("PutParameter"))?;
    Ok(())
}

/// Makes sure the SSM parameter exists (generating a password if not) and returns its value and
/// version. The value is returned to the caller only to hand it to ElastiCache.
async fn password(cx: &Cx<'_>, want: &Want<'_, CacheUser>) -> Result<(String, i64), ReconcileError> {
    let spec = &want.spec;
    let name = &spec.password_parameter;
    match cx.clients.ssm.get_parameter().name(name).with_decryption(true).send().await {
        Ok(out) => {
            let p = out.parameter.ok_or_else(|| AwsError::unexpected("GetParameter", "SSM returned no parameter"))?;
            return Ok((p.value.unwrap_or_default(), p.version));
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_parameter_not_found()) => {}
        Err(e) => return Err(aws("GetParameter")(e).into()),
    }
    let value = generate_password(spec.password_length.unwrap_or(DEFAULT_PASSWORD_LENGTH));
    let tags = want.desired.tags.iter();
    let tags = tags.filter_map(|(k, v)| aws_sdk_ssm::types::Tag::builder().key(k).value(v).build().ok());
    let request = cx.clients.ssm.put_parameter().name(name).value(&value).r#type(ParameterType::SecureString);
    let request = request.set_key_id(spec.password_kms_key.clone()).set_tags(Some(tags.collect()));
    let request = request.description(format!("Password of ElastiCache user {} (managed by steward)", want.key().name));
    cx.may_mutate().await?;
    match request.send().await {
        Ok(out) => Ok((value, out.version)),
        // Someone (another replica) wrote it first: use theirs.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_parameter_already_exists()) => {
            Box::pin(password(cx, want)).await
        }
        Err(e) => Err(aws("PutParameter")(e).into()),
    }
}
