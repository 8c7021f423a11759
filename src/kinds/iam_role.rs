//! IamRole: an IAM role, its trust policy, its managed policies (a set) and its inline policies
//! (by name). Documents are compared as documents (`model::policy`). IAM has no batch read: a
//! role costs GetRole, ListAttachedRolePolicies, ListRolePolicies and one GetRolePolicy per
//! inline policy, so the kind's resync is an hour by default, with events in between.

use super::iam::{
    IAM_NAME, IAM_PATH, POLICY_DOCUMENT, administrative, document_widened, documents_widened, iam_tags, lets_more_in,
    root_path,
};
use super::typed::prelude::*;
use crate::model::AwsError;
use crate::model::policy::policy_as_compared;
use serde_json::Value as Json;

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IamRoleSpec {
    /// Its name in the account.
    #[field(shape = string(IAM_NAME), create_only, tf = "name")]
    pub role_name: String,
    /// Who may assume it: a JSON trust policy.
    #[field(shape = string(POLICY_DOCUMENT), tf = "assume_role_policy")]
    pub assume_role_policy: String,
    /// Every managed policy attached to it (ARNs or `${IamPolicy/name.arn}`), and no other.
    #[serde(default)]
    #[field(shape = list(arn(), 0, 20), set, tf = "managed_policy_arns")]
    pub managed_policy_arns: Vec<String>,
    /// Every inline policy, by name, and no other.
    #[serde(default)]
    #[field(shape = dict(IAM_NAME, string(POLICY_DOCUMENT), 50))]
    pub inline_policies: BTreeMap<String, String>,
    #[field(tf = "description")]
    pub description: Option<String>,
    /// Seconds a session lasts at most.
    #[field(shape = int(3600, 43_200), tf = "max_session_duration", aws_default = 3600)]
    pub max_session_duration: Option<i64>,
    /// The managed policy that bounds its permissions.
    #[field(shape = arn(), tf = "permissions_boundary")]
    pub permissions_boundary: Option<String>,
    /// Its path (`/`, or `/service-role/`…).
    #[serde(default = "root_path")]
    #[field(shape = string(IAM_PATH), create_only, tf = "path")]
    pub path: String,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamRoleOutputs {
    #[field(tf = "arn", doc = "the role's ARN, for a task's or a service's role")]
    pub arn: String,
    #[field(tf = "name", doc = "its name")]
    pub role_name: String,
}

pub struct IamRole;
pub static ADAPTER: Typed<IamRole> = Typed::new(IamRole);

#[async_trait::async_trait]
impl TypedKind for IamRole {
    type Spec = IamRoleSpec;
    type View = Self::Spec;
    type Outputs = IamRoleOutputs;
    type Memo = ();
    type Facts = ();
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_iam_role", "name"));
    const TAGGED: TagsAt = Some(|name| Tagged::IamRole(name));
    const RESYNC: Option<&'static str> = Some("1h");
    const ACTIONS: &'static [&'static str] = crate::actions!("iam": GetRole, ListAttachedRolePolicies,
        ListRolePolicies, GetRolePolicy, CreateRole, UpdateRole, UpdateAssumeRolePolicy,
        PutRolePermissionsBoundary, AttachRolePolicy, DetachRolePolicy, PutRolePolicy, DeleteRolePolicy,
        ListInstanceProfilesForRole, DeleteRole, TagRole, UntagRole);

    /// A trust policy letting someone new in, an administrative AWS policy attached, or an
    /// inline policy allowing `*` is critical.
    fn critical(field: &str, desired: &Json, actual: &Json) -> bool {
        let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
        let arns = |v: &Json| serde_json::from_value::<Vec<String>>(v.clone()).unwrap_or_default();
        let documents = |v: &Json| serde_json::from_value::<BTreeMap<String, String>>(v.clone()).unwrap_or_default();
        match field {
            "assumeRolePolicy" => lets_more_in(Some(&text(desired)), &text(actual)),
            "managedPolicyArns" => arns(actual).iter().any(|a| administrative(a) && !arns(desired).contains(a)),
            "inlinePolicies" => documents_widened(&documents(desired), &documents(actual)),
            // One policy, by name, as the diff of a mapping reports it.
            _ if field.starts_with("inlinePolicies.") => {
                actual.as_str().is_some_and(|actual| document_widened(desired.as_str(), actual))
            }
            _ => false,
        }
    }

    /// Documents in the form compared (canonical), policies in order.
    fn compared(mut spec: IamRoleSpec, _desired: &Desired) -> IamRoleSpec {
        spec.assume_role_policy = policy_as_compared(&spec.assume_role_policy);
        spec.inline_policies.values_mut().for_each(|d| *d = policy_as_compared(d));
        spec.managed_policy_arns.sort();
        spec
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let mut out = Vec::new();
        for want in wanted {
            let name = &want.spec.role_name;
            let read = cx.clients.iam.get_role().role_name(name).send().await.map_err(aws("GetRole"));
            let Some(role) = unless(read, &["NoSuchEntity"])?.and_then(|r| r.role) else { continue };
            let attached = cx.clients.iam.list_attached_role_policies().role_name(name).into_paginator().items();
            let attached: Result<Vec<_>, _> = attached.send().collect().await;
            let mut managed_policy_arns: Vec<String> = attached
                .map_err(aws("ListAttachedRolePolicies"))?
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect();
            managed_policy_arns.sort();
            let inline = cx.clients.iam.list_role_policies().role_name(name).into_paginator().items().send();
            let inline: Result<Vec<String>, _> = inline.collect().await;
            let mut inline_policies = BTreeMap::new();
            for policy in inline.map_err(aws("ListRolePolicies"))? {
                let read = cx.clients.iam.get_role_policy().role_name(name).policy_name(&policy).send().await;
                let document = read.map_err(aws("GetRolePolicy"))?.policy_document;
                inline_policies.insert(policy, policy_as_compared(&document));
            }
            let config = IamRoleSpec {
                role_name: role.role_name.clone(),
                assume_role_policy: policy_as_compared(role.assume_role_policy_document().unwrap_or_default()),
                managed_policy_arns,
                inline_policies,
                description: role.description().map(str::to_string),
                max_session_duration: role.max_session_duration().map(i64::from),
                permissions_boundary: role
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                path: role.path.clone(),
            };
            let tags = role.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect();
            let outputs = IamRoleOutputs { arn: role.arn.clone(), role_name: role.role_name.clone() };
            out.push((want.key().clone(), Seen::new(role.role_name, ObjectState::Ready, config, tags, outputs)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let spec = &want.spec;
        let request = cx.clients.iam.create_role().role_name(&spec.role_name).path(&spec.path);
        let request =
            request.assume_role_policy_document(&spec.assume_role_policy).set_tags(Some(iam_tags(&want.desired.tags)?));
        let request = request
            .set_description(spec.description.clone())
            .set_permissions_boundary(spec.permissions_boundary.clone());
        let request = request.set_max_session_duration(spec.max_session_duration.map(|s| s as i32));
        cx.may_mutate().await?;
        // Made before a crash, it is found by name next pass, and its policies follow as drift.
        unless(request.send().await.map_err(aws("CreateRole")), &["EntityAlreadyExists"])?;
        let none = IamRoleSpec { managed_policy_arns: Vec::new(), inline_policies: BTreeMap::new(), ..spec.clone() };
        set_policies(cx, &none, spec).await
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        let (spec, have) = (Self::compared(want.spec.clone(), want.desired), &seen.config);
        let name = &spec.role_name;
        if spec.assume_role_policy != have.assume_role_policy {
            let request = cx.clients.iam.update_assume_role_policy().role_name(name);
            cx.may_mutate().await?;
            request
                .policy_document(&want.spec.assume_role_policy)
                .send()
                .await
                .map_err(aws("UpdateAssumeRolePolicy"))?;
        }
        let described = spec.description.is_some() && spec.description != have.description;
        let lasting = spec.max_session_duration.is_some() && spec.max_session_duration != have.max_session_duration;
        if described || lasting {
            let request = cx.clients.iam.update_role().role_name(name).set_description(spec.description.clone());
            cx.may_mutate().await?;
            let request = request.set_max_session_duration(spec.max_session_duration.map(|s| s as i32));
            request.send().await.map_err(aws("UpdateRole"))?;
        }
        if let Some(boundary) =
            spec.permissions_boundary.as_ref().filter(|b| have.permissions_boundary.as_ref() != Some(b))
        {
            let request = cx.clients.iam.put_role_permissions_boundary().role_name(name).permissions_boundary(boundary);
            cx.may_mutate().await?;
            request.send().await.map_err(aws("PutRolePermissionsBoundary"))?;
        }
        set_policies(cx, have, &want.spec).await
    }

    /// Its own policies go with it; a role an instance profile still holds waits, naming it.
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        let name = &seen.config.role_name;
        let profiles = cx.clients.iam.list_instance_profiles_for_role().role_name(name).send().await;
        let profiles = profiles.map_err(aws("ListInstanceProfilesForRole"))?;
        let users: Vec<&str> = profiles.instance_profiles().iter().map(|p| p.instance_profile_name()).collect();
        if !users.is_empty() {
            let why = format!("waiting: role {name} is still in instance profile {}", users.join(", "));
            return Err(AwsError::unexpected("DeleteRole", why).into());
        }
        let none =
            IamRoleSpec { managed_policy_arns: Vec::new(), inline_policies: BTreeMap::new(), ..seen.config.clone() };
        set_policies(cx, &seen.config, &none).await?;
        cx.may_mutate().await?;
        let deleted = cx.clients.iam.delete_role().role_name(name).send().await;
        unless(deleted.map_err(aws("DeleteRole")), &["NoSuchEntity"]).map(drop)
    }
}

/// Detaches and deletes the policies `have` holds beyond `need`, then attaches and puts what it
/// lacks (documents compared as documents). Each call is idempotent.
async fn set_policies(cx: &Cx<'_>, have: &IamRoleSpec, need: &IamRoleSpec) -> Result<(), ReconcileError> {
    let name = &need.role_name;
    for policy in have.managed_policy_arns.iter().filter(|a| !need.managed_policy_arns.contains(a)) {
        cx.may_mutate().await?;
        let request = cx.clients.iam.detach_role_policy().role_name(name).policy_arn(policy);
        unless(request.send().await.map_err(aws("DetachRolePolicy")), &["NoSuchEntity"])?;
    }
    for policy in need.managed_policy_arns.iter().filter(|a| !have.managed_policy_arns.contains(a)) {
        cx.may_mutate().await?;
        let request = cx.clients.iam.attach_role_policy().role_name(name).policy_arn(policy);
        request.send().await.map_err(aws("AttachRolePolicy"))?;
    }
    for policy in have.inline_policies.keys().filter(|p| !need.inline_policies.contains_key(*p)) {
        cx.may_mutate().await?;
        let request = cx.clients.iam.delete_role_policy().role_name(name).policy_name(policy);
        unless(request.send().await.map_err(aws("DeleteRolePolicy")), &["NoSuchEntity"])?;
    }
    for (policy, document) in &need.inline_policies {
        if have.inline_policies.get(policy) == Some(&policy_as_compared(document)) {
            continue;
        }
        cx.may_mutate().await?;
        let request = cx.clients.iam.put_role_policy().role_name(name).policy_name(policy).policy_document(document);
        request.send().await.map_err(aws("PutRolePolicy"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_wider_trust_an_administrative_policy_or_a_wildcard_inline_policy_is_critical() {
        let trust = |principal: &str| {
            json!(format!(
                r#"{{"Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{principal}}}]}}"#
            ))
        };
        let ecs = r#"{"Service":"ecs-tasks.amazonaws.com"}"#;
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        let exec = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
        let open = json!(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#);
        let read = json!(r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#);
        let cases = [
            ("assumeRolePolicy", trust(ecs), trust(r#"{"Service":"ecs-tasks.amazonaws.com","AWS":"*"}"#), true),
            (
                "assumeRolePolicy",
                trust(r#"{"Service":["ecs-tasks.amazonaws.com","ecs.amazonaws.com"]}"#),
                trust(ecs),
                false,
            ),
            ("managedPolicyArns", json!([exec]), json!([admin, exec]), true),
            ("managedPolicyArns", json!([exec, admin]), json!([admin, exec]), false),
            ("managedPolicyArns", json!([]), json!([exec]), false),
            ("inlinePolicies.break-glass", Json::Null, open.clone(), true),
            ("inlinePolicies.read", read.clone(), open, true),
            ("inlinePolicies.read", Json::Null, read, false),
            ("description", json!("a"), json!("b"), false),
        ];
        for (field, desired, actual, critical) in cases {
            assert_eq!(IamRole::critical(field, &desired, &actual), critical, "{field}: {desired} → {actual}");
        }
    }
}
