//! AppRunnerVpcConnector: lets an App Runner service reach private subnets (Redis).

use super::definition::KindDef;
use crate::schema::*;

pub const NAME: StrRule = StrRule {
    expected: "a name of 4 to 36 letters, digits, '-' or '_', starting with a letter or digit (a replacement adds -r<N>)",
    check: |s| {
        (4..=36).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(name_char("-_"))
    },
};

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "apprunner:ListVpcConnectors",
    "apprunner:ListTagsForResource",
    "apprunner:CreateVpcConnector",
    "apprunner:DeleteVpcConnector",
    "apprunner:TagResource",
    "apprunner:UntagResource",
];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("subnets", selectors("subnet-")),
            req("securityGroups", selectors("sg-")),
            opt("tags", tags()),
        ],
        outputs: vec!["arn"],
        retain_by_default: false,
        name_rule: NAME,
        check: super::definition::no_extra_checks,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

// ---- adapter ----
//
// A VPC connector cannot be modified, a name has one revision in practice, and AWS refuses to
// delete a connector a service uses (QUIRKS.md). So a change creates a new connector under a new
// name (`<name>-r2`, `-r3`, …, tagged as this resource), the service follows through its
// reference, and the superseded connector is deleted once no service uses it any more.

use super::tagging::{apprunner_tag_list, apprunner_tags};
use super::values::{sorted_strings, status_text};
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_apprunner::types::VpcConnector;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

pub struct VpcConnectorAdapter;

/// The replacement number in a connector name of this resource: 1 for `<name>`, N for
/// `<name>-rN`; None for another name.
fn generation(resource: &str, connector: &str) -> Option<u32> {
    if connector == resource {
        return Some(1);
    }
    connector.strip_prefix(resource)?.strip_prefix("-r")?.parse().ok().filter(|n| *n >= 2)
}

fn view_of(c: &VpcConnector, tags: &BTreeMap<String, String>) -> Json {
    json!({
        "subnets": sorted_strings(c.subnets()),
        "securityGroups": sorted_strings(c.security_groups()),
        "tags": tag_view(tags),
    })
}

/// The spec an AppRunnerVpcConnector's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpcConnectorSpec {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

#[async_trait::async_trait]
impl Adapter for VpcConnectorAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut connectors = Vec::new();
        let mut pages = cx.clients.apprunner.list_vpc_connectors().into_paginator().send();
        while let Some(page) = pages.next().await {
            connectors.extend(page.map_err(aws("ListVpcConnectors"))?.vpc_connectors().to_vec());
        }
        let mut out = BTreeMap::new();
        for d in wanted {
            // This resource's connectors, newest replacement first.
            let mut mine: Vec<(u32, &VpcConnector)> = connectors
                .iter()
                .filter(|c| c.status().is_some_and(|s| status_text(s.as_str()) == "active"))
                .filter_map(|c| generation(&d.key.name, c.vpc_connector_name()?).map(|n| (n, c)))
                .collect();
            mine.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
            let Some((newest, current)) = mine.first().copied() else { continue };
            let arn = current.vpc_connector_arn().unwrap_or_default();
            let tags = apprunner_tags(cx, arn).await?;
            let mut superseded = Vec::new();
            for (_, older) in mine.iter().skip(1) {
                let older_arn = older.vpc_connector_arn().unwrap_or_default();
                if owns(&apprunner_tags(cx, older_arn).await?, &d.key) {
                    superseded.push(older_arn.to_string());
                }
            }
            let outputs = BTreeMap::from([("arn".to_string(), arn.to_string())]);
            out.insert(
                d.key.clone(),
                Observed {
                    id: arn.to_string(),
                    owned: owns(&tags, &d.key),
                    state: ObjectState::Ready,
                    config: view_of(current, &tags),
                    outputs,
                    extra: json!({ "generation": newest, "superseded": superseded }),
                },
            );
        }
        Ok(out)
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["securityGroups", "subnets"]
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: VpcConnectorSpec = d.spec_as()?;
        Ok(json!({
            "subnets": sorted_strings(&spec.subnets),
            "securityGroups": sorted_strings(&spec.security_groups),
            "tags": tag_view(&d.tags),
        }))
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        self.create_named(cx, d, &d.key.name).await
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        if drift.iter().all(|x| crate::model::tags::is_tag_field(&x.field)) {
            return Ok(Json::Null);
        }
        // A new connector under the next name; the old one is retired once the service moved.
        let next = o.extra["generation"].as_u64().unwrap_or(1) + 1;
        self.create_named(cx, d, &format!("{}-r{next}", d.key.name)).await
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        for arn in std::iter::once(o.id.as_str())
            .chain(super::values::strings(o.extra.get("superseded")).iter().map(String::as_str))
        {
            cx.may_mutate().await?;
            cx.clients
                .apprunner
                .delete_vpc_connector()
                .vpc_connector_arn(arn)
                .send()
                .await
                .map_err(aws("DeleteVpcConnector"))?;
        }
        Ok(())
    }

    async fn retire_superseded(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        for arn in super::values::strings(o.extra.get("superseded")) {
            cx.may_mutate().await?;
            match cx.clients.apprunner.delete_vpc_connector().vpc_connector_arn(&arn).send().await {
                Ok(_) => {}
                // Still used by a service that has not moved yet: a later pass deletes it.
                Err(e) if e.as_service_error().is_some_and(|e| e.is_invalid_request_exception()) => {}
                Err(e) => return Err(aws("DeleteVpcConnector")(e).into()),
            }
        }
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::AppRunner(&o.id))
    }
}

impl VpcConnectorAdapter {
    async fn create_named(&self, cx: &Cx<'_>, d: &Desired, name: &str) -> Result<Json, ReconcileError> {
        let spec: VpcConnectorSpec = d.spec_as()?;
        cx.may_mutate().await?;
        cx.clients
            .apprunner
            .create_vpc_connector()
            .vpc_connector_name(name)
            .set_subnets(Some(spec.subnets))
            .set_security_groups(Some(spec.security_groups))
            .set_tags(Some(apprunner_tag_list(&d.tags)))
            .send()
            .await
            .map_err(aws("CreateVpcConnector"))?;
        Ok(Json::Null)
    }
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
