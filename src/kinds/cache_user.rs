//! CacheUser: an ElastiCache user whose password lives in an SSM SecureString. The password itself
//! never appears in a manifest, the store, a diff or a log: only the parameter's name does.

use super::definition::KindDef;
use crate::schema::*;

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

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
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

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req(
                "userName",
                string(StrRule {
                    expected: "a user name of 1 to 120 characters without spaces",
                    check: |s| (1..=120).contains(&s.len()) && !s.contains(' '),
                }),
            ),
            opt("engine", Shape::Enum(&["redis", "valkey"])),
            req("accessString", any_string()),
            req("passwordParameter", string(SSM_NAME)),
            opt("passwordLength", int(16, 128)),
            opt(
                "passwordKmsKey",
                string(StrRule {
                    expected: "a KMS key id, key ARN, alias name (alias/...) or alias ARN",
                    check: |s| !s.is_empty() && s.len() <= 2048 && !s.contains(char::is_whitespace),
                }),
            ),
            opt("tags", tags()),
        ],
        outputs: vec!["userId", "passwordParameter"],
        retain_by_default: true,
        name_rule: USER_ID,
        check: super::definition::no_extra_checks,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

// ---- adapter ----
//
// The password: steward keeps in its status memo the SSM parameter version it last set on the
// user (a number, not a secret). A missing parameter gets a new generated password; a parameter
// whose version moved on is set on the user again. The value only ever travels from SSM to
// ElastiCache inside `set_password`.

use super::tagging::{elasticache_tag_list, elasticache_tags};
use super::values::status_text;
use crate::aws::{AwsError, aws};
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_ssm::types::ParameterType;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

pub struct CacheUserAdapter;

/// The `password` field of the view: a fact about the SSM parameter's version, never a secret.
const PASSWORD_IN_SYNC: &str = "set from the parameter's current version";

const DEFAULT_PASSWORD_LENGTH: usize = 32;

/// The spec a CacheUser's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheUserSpec {
    pub user_name: String,
    #[serde(default = "redis_engine")]
    pub engine: String,
    pub access_string: String,
    /// The SSM parameter that holds the password (never the password itself).
    pub password_parameter: String,
    pub password_length: Option<usize>,
    pub password_kms_key: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn redis_engine() -> String {
    "redis".into()
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

/// Facts of the given SSM parameters (absent ones are missing from the map): version and type
/// ten per GetParameters call, and the KMS key for those whose spec names one (DescribeParameters).
async fn parameter_facts(
    cx: &Cx<'_>,
    wanted: &[CacheUserSpec],
) -> Result<BTreeMap<String, ParameterFacts>, ReconcileError> {
    let names: Vec<String> = wanted.iter().map(|s| s.password_parameter.clone()).collect();
    let mut facts = BTreeMap::new();
    for chunk in names.chunks(10) {
        let out = cx
            .clients
            .ssm
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(aws("GetParameters"))?;
        for p in out.parameters() {
            let kind = p.r#type().map(|t| t.as_str().to_string()).unwrap_or_default();
            facts.insert(
                p.name().unwrap_or_default().to_string(),
                ParameterFacts { version: p.version(), kind, kms_key: None },
            );
        }
    }
    let keyed: Vec<String> =
        wanted.iter().filter(|s| s.password_kms_key.is_some()).map(|s| s.password_parameter.clone()).collect();
    for chunk in keyed.chunks(50) {
        let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .set_values(Some(chunk.to_vec()))
            .build()
            .map_err(|e| ReconcileError::invalid_spec("build request", e))?;
        let mut pages = cx.clients.ssm.describe_parameters().parameter_filters(filter).into_paginator().send();
        while let Some(page) = pages.next().await {
            for p in page.map_err(aws("DescribeParameters"))?.parameters() {
                if let Some(f) = p.name().and_then(|n| facts.get_mut(n)) {
                    f.kms_key = p.key_id().map(str::to_string);
                }
            }
        }
    }
    Ok(facts)
}

impl CacheUserAdapter {
    /// Puts the parameter's current value back as a SecureString (under the spec's key): a
    /// parameter re-put as a plain String keeps the password readable to anyone who may read
    /// parameters. Returns nothing secret; the new version is picked up by `password`.
    async fn encrypt_parameter(&self, cx: &Cx<'_>, d: &Desired) -> Result<(), ReconcileError> {
        let spec: CacheUserSpec = d.spec_as()?;
        let name = spec.password_parameter;
        let read = cx.clients.ssm.get_parameter().name(&name).with_decryption(true).send().await;
        let value = read
            .map_err(aws("GetParameter"))?
            .parameter
            .and_then(|p| p.value)
            .ok_or_else(|| AwsError::unexpected("GetParameter", "SSM returned no value"))?;
        cx.may_mutate().await?;
        cx.clients
            .ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .set_key_id(spec.password_kms_key.clone())
            .overwrite(true)
            .send()
            .await
            .map_err(aws("PutParameter"))?;
        Ok(())
    }

    /// Makes sure the SSM parameter exists (generating a password if not) and returns its value
    /// and version. The value is returned to the caller only to hand it to ElastiCache.
    async fn password(&self, cx: &Cx<'_>, d: &Desired) -> Result<(String, i64), ReconcileError> {
        let spec: CacheUserSpec = d.spec_as()?;
        let name = spec.password_parameter;
        let read = cx.clients.ssm.get_parameter().name(&name).with_decryption(true).send().await;
        match read {
            Ok(out) => {
                let p =
                    out.parameter.ok_or_else(|| AwsError::unexpected("GetParameter", "SSM returned no parameter"))?;
                return Ok((p.value.unwrap_or_default(), p.version));
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_parameter_not_found()) => {}
            Err(e) => return Err(aws("GetParameter")(e).into()),
        }
        let length = spec.password_length.unwrap_or(DEFAULT_PASSWORD_LENGTH);
        let value = generate_password(length);
        let tags: Vec<aws_sdk_ssm::types::Tag> = d
            .tags
            .iter()
            .filter_map(|(k, v)| aws_sdk_ssm::types::Tag::builder().key(k).value(v).build().ok())
            .collect();
        cx.may_mutate().await?;
        let put = cx
            .clients
            .ssm
            .put_parameter()
            .name(name)
            .value(&value)
            .r#type(ParameterType::SecureString)
            .set_key_id(spec.password_kms_key.clone())
            .description(format!("Password of ElastiCache user {} (managed by steward)", d.key.name))
            .set_tags(Some(tags))
            .send()
            .await;
        match put {
            Ok(out) => Ok((value, out.version)),
            // Someone (another replica) wrote it first: use theirs.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_parameter_already_exists()) => {
                Box::pin(self.password(cx, d)).await
            }
            Err(e) => Err(aws("PutParameter")(e).into()),
        }
    }
}

#[async_trait::async_trait]
impl Adapter for CacheUserAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut users = Vec::new();
        let mut pages = cx.clients.elasticache.describe_users().into_paginator().send();
        while let Some(page) = pages.next().await {
            users.extend(page.map_err(aws("DescribeUsers"))?.users().to_vec());
        }
        let specs: Vec<CacheUserSpec> = wanted.iter().map(Desired::spec_as).collect::<Result<_, _>>()?;
        let parameters = parameter_facts(cx, &specs).await?;
        let mut out = BTreeMap::new();
        for (d, spec) in wanted.iter().zip(&specs) {
            let Some(u) = users.iter().find(|u| u.user_id() == Some(d.key.name.as_str())) else { continue };
            let status = status_text(u.status().unwrap_or_default());
            let phase = match status.as_str() {
                "active" => ObjectState::Ready,
                "deleting" => ObjectState::Busy("deleting".into()),
                other => ObjectState::Busy(other.to_string()),
            };
            let arn = u.arn().unwrap_or_default();
            // A user in transition refuses tag calls (QUIRKS.md). It is busy, so this pass only
            // waits on it: its last known tags do, and ownership is decided once it is active.
            let read = elasticache_tags(cx, arn, "").await;
            let (tags, tags_unknown) = super::tagging::tags_or_last_known(
                cx,
                read,
                &super::tagging::elasticache_tag_key(arn, ""),
                status != "active",
            )?;
            let set_version = d.memo.get("passwordVersion").and_then(Json::as_i64);
            // Facts about the password, never the password: they tell one rotation from the next.
            let parameter = parameters.get(&spec.password_parameter);
            let password = match (parameter.map(|p| p.version), set_version) {
                (None, _) => "the parameter is missing".to_string(),
                (Some(v), Some(s)) if v == s => PASSWORD_IN_SYNC.to_string(),
                (Some(v), Some(s)) => format!("the parameter is at version {v}; the user was set from version {s}"),
                (Some(v), None) => format!("the parameter is at version {v}; steward never set the user from it"),
            };
            // Who may connect: `no-password` (anyone) or a second password are drift like any other.
            let authentication = u.authentication();
            let mut config = json!({
                "userName": u.user_name(), "accessString": u.access_string(), "engine": u.engine(),
                "password": password, "tags": tag_view(&tags),
                // A missing parameter is the password's drift, not its type's.
                "passwordParameterType": parameter.map_or("SecureString", |p| p.kind.as_str()),
                "authentication": authentication.and_then(|a| a.r#type()).map(|t| t.as_str()),
                "passwordCount": authentication.and_then(|a| a.password_count()).unwrap_or(0),
            });
            if let Some(wanted_key) = &spec.password_kms_key {
                config["passwordKmsKey"] = json!(parameter.map_or(Some(wanted_key.as_str()), |p| p.kms_key.as_deref()));
            }
            let outputs = BTreeMap::from([
                ("userId".to_string(), d.key.name.clone()),
                ("passwordParameter".to_string(), spec.password_parameter.clone()),
            ]);
            let owned = status == "deleting" || tags_unknown || owns(&tags, &d.key);
            out.insert(
                d.key.clone(),
                Observed {
                    id: d.key.name.clone(),
                    owned,
                    state: phase,
                    config,
                    outputs,
                    extra: json!({ "arn": arn, "parameterVersion": parameter.map(|p| p.version) }),
                },
            );
        }
        Ok(out)
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &["password"]
    }

    /// An adopted user keeps its password: the parameter's current version is taken as the one
    /// it was set from (an import must not rotate a password the applications use).
    fn adopted_memo(&self, observed: &Observed) -> Option<Json> {
        let version = observed.extra.get("parameterVersion").and_then(Json::as_i64)?;
        Some(json!({ "passwordVersion": version }))
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: CacheUserSpec = d.spec_as()?;
        let mut view = json!({
            "userName": spec.user_name,
            "accessString": spec.access_string,
            "engine": spec.engine,
            "password": PASSWORD_IN_SYNC,
            "tags": tag_view(&d.tags),
            "authentication": "password",
            "passwordCount": 1,
            "passwordParameterType": "SecureString",
        });
        if let Some(key) = spec.password_kms_key {
            view["passwordKmsKey"] = json!(key);
        }
        Ok(view)
    }

    fn fix_for(&self, field: &str) -> Fix {
        match field {
            "userName" | "engine" => Fix::Replace,
            _ => Fix::InPlace,
        }
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let (password, version) = self.password(cx, d).await?;
        let spec: CacheUserSpec = d.spec_as()?;
        cx.may_mutate().await?;
        cx.clients
            .elasticache
            .create_user()
            .user_id(&d.key.name)
            .user_name(spec.user_name)
            .engine(spec.engine)
            .access_string(spec.access_string)
            .passwords(password)
            .set_tags(Some(elasticache_tag_list(&d.tags)))
            .send()
            .await
            .map_err(aws("CreateUser"))?;
        Ok(json!({ "passwordVersion": version }))
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        if drift.iter().any(|x| x.fix == Fix::Replace) {
            return self.delete(cx, o).await.map(|()| Json::Null);
        }
        let mut request = cx.clients.elasticache.modify_user().user_id(&d.key.name);
        let mut memo = Json::Null;
        if drift.iter().any(|x| x.field == "accessString") {
            request = request.access_string(d.spec_as::<CacheUserSpec>()?.access_string);
        }
        // One password, the parameter's, and no other way in: the rotation and the authentication
        // fix are the same call.
        let retype = drift.iter().any(|x| ["passwordParameterType", "passwordKmsKey"].contains(&x.field.as_str()));
        if retype {
            self.encrypt_parameter(cx, d).await?;
        }
        // After a retype the parameter is at a new version: the user is set from it again.
        if retype || drift.iter().any(|x| ["password", "authentication", "passwordCount"].contains(&x.field.as_str())) {
            let (password, version) = self.password(cx, d).await?;
            let mode = aws_sdk_elasticache::types::AuthenticationMode::builder()
                .r#type(aws_sdk_elasticache::types::InputAuthenticationType::Password)
                .passwords(password)
                .build();
            request = request.authentication_mode(mode);
            memo = json!({ "passwordVersion": version });
        }
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyUser"))?;
        Ok(memo)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.elasticache.delete_user().user_id(&o.id).send().await.map_err(aws("DeleteUser"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::ElastiCache(o.extra_str("arn")))
    }
}
