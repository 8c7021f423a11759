//! AppRunnerVpcConnector: lets an App Runner service reach private subnets (Redis).

use super::KindDef;
use crate::manifest::schema::*;

pub const NAME: StrRule = StrRule {
    expected: "a name of 4 to 40 letters, digits, '-' or '_', starting with a letter or digit",
    check: |s| {
        (4..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    },
};

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("subnets", selectors("subnet-")),
            req("securityGroups", selectors("sg-")),
            opt("tags", tags()),
        ],
        outputs: &["arn"],
        retain_by_default: false,
        name_rule: NAME,
        check: super::no_extra_checks,
    }
}

// ---- adapter ----
//
// A VPC connector cannot be modified: a change creates a new revision of the same name, and the
// old revision is deleted once the new one exists (services follow through their reference).

use super::{
    Tagged, apprunner_adopt, apprunner_tag_list, apprunner_tags, owns, sorted, sorted_strings, strings, tag_view,
};
use crate::aws::aws;
use crate::engine::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use crate::manifest::ResourceKey;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

pub struct VpcConnectorAdapter;

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
            let newest = connectors
                .iter()
                .filter(|c| {
                    c.vpc_connector_name() == Some(d.key.name.as_str())
                        && c.status().is_some_and(|s| s.as_str() == "ACTIVE")
                })
                .max_by_key(|c| c.vpc_connector_revision());
            let Some(c) = newest else { continue };
            let arn = c.vpc_connector_arn().unwrap_or_default();
            let tags = apprunner_tags(cx, arn).await?;
            let config = json!({
                "subnets": sorted_strings(c.subnets()),
                "securityGroups": sorted_strings(c.security_groups()),
                "tags": tag_view(&tags),
            });
            let outputs = BTreeMap::from([("arn".to_string(), arn.to_string())]);
            out.insert(
                d.key.clone(),
                Observed {
                    id: arn.to_string(),
                    owned: owns(&tags, &d.key),
                    state: ObjectState::Ready,
                    config,
                    outputs,
                    extra: Json::Null,
                },
            );
        }
        Ok(out)
    }

    fn desired_view(&self, d: &Desired) -> Json {
        json!({
            "subnets": sorted(d.spec.get("subnets")),
            "securityGroups": sorted(d.spec.get("securityGroups")),
            "tags": tag_view(&d.tags),
        })
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .apprunner
            .create_vpc_connector()
            .vpc_connector_name(&d.key.name)
            .set_subnets(Some(strings(d.spec.get("subnets"))))
            .set_security_groups(Some(strings(d.spec.get("securityGroups"))))
            .set_tags(Some(apprunner_tag_list(&d.tags)))
            .send()
            .await
            .map_err(aws("CreateVpcConnector"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, _drift: &[Drift]) -> Result<Json, ReconcileError> {
        self.create(cx, d).await?;
        self.delete(cx, o).await?;
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .apprunner
            .delete_vpc_connector()
            .vpc_connector_arn(&o.id)
            .send()
            .await
            .map_err(aws("DeleteVpcConnector"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::AppRunner(&o.id))
    }

    async fn adopt(&self, cx: &Cx<'_>, d: &Desired, o: &Observed) -> Result<(), ReconcileError> {
        apprunner_adopt(cx, d, &o.id).await
    }
}
