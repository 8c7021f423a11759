//! AppRunnerVpcConnector: lets an App Runner service reach private subnets (Redis).
//!
//! A VPC connector cannot be modified, a name has one revision in practice, and AWS refuses to
//! delete a connector a service uses (QUIRKS.md). So a change creates a new connector under a new
//! name (`<name>-r2`, `-r3`, …, tagged as this resource), the service follows through its
//! reference, and the superseded connector is deleted once no service uses it any more.

use super::tagging::{apprunner_tag_list, apprunner_tags};
use super::typed::prelude::*;
use super::values::status_text;
use crate::model::tags::owns;
use aws_sdk_apprunner::types::VpcConnector as Connector;

pub const NAME: StrRule = StrRule {
    expected: "a name of 4 to 36 letters, digits, '-' or '_', starting with a letter or digit (a replacement adds -r<N>)",
    check: |s| {
        (4..=36).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(name_char("-_"))
    },
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpcConnectorSpec {
    #[field(shape = selectors("subnet-"), set, doc = "The subnets the service reaches.")]
    pub subnets: Vec<String>,
    #[field(shape = selectors("sg-"), set, doc = "The security groups of its network interfaces.")]
    pub security_groups: Vec<String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct VpcConnectorOutputs {
    #[field(doc = "the connector's ARN, which a service's network names")]
    pub arn: String,
}

/// What observe learns of the resource's other connectors.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct Generations {
    /// The newest connector's replacement number (1 for `<name>`, N for `<name>-rN`).
    newest: u32,
    /// The older connectors of this resource, deleted once no service uses them.
    superseded: Vec<String>,
}

pub struct VpcConnector;
pub static ADAPTER: Typed<VpcConnector> = Typed::new(VpcConnector);

#[async_trait::async_trait]
impl TypedKind for VpcConnector {
    type Spec = VpcConnectorSpec;
    type View = Self::Spec;
    type Outputs = VpcConnectorOutputs;
    type Memo = ();
    type Facts = Generations;
    const NAME_RULE: StrRule = NAME;
    const TAGGED: TagsAt = Some(|arn| Tagged::AppRunner(arn));
    const ACTIONS: &'static [&'static str] = crate::actions!("apprunner": ListVpcConnectors, ListTagsForResource,
        CreateVpcConnector, DeleteVpcConnector, TagResource, UntagResource);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let mut connectors: Vec<Connector> = Vec::new();
        let mut pages = cx.clients.apprunner.list_vpc_connectors().into_paginator().send();
        while let Some(page) = pages.next().await {
            connectors.extend(page.map_err(aws("ListVpcConnectors"))?.vpc_connectors().iter().cloned());
        }
        let mut out = Vec::new();
        for want in wanted {
            // This resource's connectors, newest replacement first.
            let mut mine: Vec<(u32, &Connector)> = connectors
                .iter()
                .filter(|c| c.status().is_some_and(|s| status_text(s.as_str()) == "active"))
                .filter_map(|c| generation(&want.key().name, c.vpc_connector_name()?).map(|n| (n, c)))
                .collect();
            mine.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
            let Some((newest, current)) = mine.first().copied() else { continue };
            let arn = current.vpc_connector_arn().unwrap_or_default().to_string();
            let mut superseded = Vec::new();
            for (_, older) in mine.iter().skip(1) {
                let older_arn = older.vpc_connector_arn().unwrap_or_default();
                if owns(&apprunner_tags(cx, older_arn).await?, want.key()) {
                    superseded.push(older_arn.to_string());
                }
            }
            let config = VpcConnectorSpec {
                subnets: current.subnets().to_vec(),
                security_groups: current.security_groups().to_vec(),
            };
            let (tags, outputs) = (apprunner_tags(cx, &arn).await?, VpcConnectorOutputs { arn: arn.clone() });
            let facts = Generations { newest, superseded };
            out.push((want.key().clone(), Seen { id: arn, state: ObjectState::Ready, config, tags, outputs, facts }));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        create_named(cx, want, &want.key().name).await
    }

    /// A new connector under the next name; the old one is retired once the service moved.
    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        if drift.iter().all(|x| crate::model::tags::is_tag_field(&x.field)) {
            return Ok(());
        }
        create_named(cx, want, &format!("{}-r{}", want.key().name, seen.facts.newest + 1)).await
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        for arn in std::iter::once(&seen.id).chain(&seen.facts.superseded) {
            cx.may_mutate().await?;
            let request = cx.clients.apprunner.delete_vpc_connector().vpc_connector_arn(arn);
            request.send().await.map_err(aws("DeleteVpcConnector"))?;
        }
        Ok(())
    }

    async fn retire_superseded(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        for arn in &seen.facts.superseded {
            cx.may_mutate().await?;
            match cx.clients.apprunner.delete_vpc_connector().vpc_connector_arn(arn).send().await {
                Ok(_) => {}
                // Still used by a service that has not moved yet: a later pass deletes it.
                Err(e) if e.as_service_error().is_some_and(|e| e.is_invalid_request_exception()) => {}
                Err(e) => return Err(aws("DeleteVpcConnector")(e).into()),
            }
        }
        Ok(())
    }
}

async fn create_named(cx: &Cx<'_>, want: &Want<'_, VpcConnector>, name: &str) -> Memo<VpcConnector> {
    cx.may_mutate().await?;
    let request = cx.clients.apprunner.create_vpc_connector().vpc_connector_name(name);
    let request = request.set_subnets(Some(want.spec.subnets.clone()));
    let request = request.set_security_groups(Some(want.spec.security_groups.clone()));
    request.set_tags(Some(apprunner_tag_list(&want.desired.tags))).send().await.map_err(aws("CreateVpcConnector"))?;
    Ok(())
}

/// The replacement number in a connector name of this resource: 1 for `<name>`, N for
/// `<name>-rN`; None for another name.
fn generation(resource: &str, connector: &str) -> Option<u32> {
    if connector == resource {
        return Some(1);
    }
    connector.strip_prefix(resource)?.strip_prefix("-r")?.parse().ok().filter(|n| *n >= 2)
}

#[cfg(test)]
mod tests {
    use super::generation;

    #[test]
    fn replacement_names_are_numbered() {
        assert_eq!(generation("mm-vpc-connector", "mm-vpc-connector"), Some(1));
        assert_eq!(generation("mm-vpc-connector", "mm-vpc-connector-r3"), Some(3));
        assert_eq!(generation("mm-vpc-connector", "mm-vpc-connector-r1"), None);
        assert_eq!(generation("mm-vpc-connector", "mm-vpc-connector-other"), None);
        assert_eq!(generation("mm", "mm-vpc-connector"), None);
    }
}
