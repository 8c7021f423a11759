//! EcsCluster: an ECS cluster and its Container Insights setting.

use super::definition::KindDef;
use crate::schema::*;

pub const NAME: StrRule = StrRule {
    expected: "a cluster name of 1 to 255 letters, digits, '-' or '_'",
    check: |s| (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)),
};

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "ecs:DescribeClusters",
    "ecs:CreateCluster",
    "ecs:UpdateCluster",
    "ecs:DeleteCluster",
    "ecs:TagResource",
    "ecs:UntagResource",
];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![opt("containerInsights", Shape::Enum(&["enabled", "disabled", "enhanced"])), opt("tags", tags())],
        outputs: vec!["arn"],
        retain_by_default: false,
        name_rule: NAME,
        check: super::definition::no_extra_checks,
        actions: ACTIONS,
        terraform: None,
    }
}

// ---- adapter ----

use super::tagging::{ecs_tag_list, tag_map};
use super::values::status_text;
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

pub struct EcsClusterAdapter;

/// The spec an EcsCluster's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsClusterSpec {
    #[serde(default = "insights_disabled")]
    pub container_insights: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn insights_disabled() -> String {
    "disabled".into()
}

fn insights(d: &Desired) -> Result<String, ReconcileError> {
    Ok(d.spec_as::<EcsClusterSpec>()?.container_insights)
}

#[async_trait::async_trait]
impl Adapter for EcsClusterAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut out = BTreeMap::new();
        for chunk in wanted.chunks(100) {
            let described = cx
                .clients
                .ecs
                .describe_clusters()
                .set_clusters(Some(chunk.iter().map(|d| d.key.name.clone()).collect()))
                .include(ClusterField::Tags)
                .include(ClusterField::Settings)
                .send()
                .await
                .map_err(aws("DescribeClusters"))?;
            for c in described.clusters() {
                let Some(d) = chunk.iter().find(|d| c.cluster_name() == Some(d.key.name.as_str())) else { continue };
                let status = status_text(c.status().unwrap_or_default());
                let phase = match status.as_str() {
                    "active" => ObjectState::Ready,
                    "inactive" => continue,
                    "failed" => ObjectState::Failed(status.to_ascii_uppercase()),
                    other => ObjectState::Busy(other.to_ascii_uppercase()),
                };
                let tags = tag_map(c.tags().iter().map(|t| (t.key(), t.value())));
                let setting = c
                    .settings()
                    .iter()
                    .find(|s| s.name().is_some_and(|n| n.as_str() == "containerInsights"))
                    .and_then(|s| s.value());
                let arn = c.cluster_arn().unwrap_or_default().to_string();
                let config = json!({ "containerInsights": setting.unwrap_or("disabled"), "tags": tag_view(&tags) });
                let outputs = BTreeMap::from([("arn".to_string(), arn.clone())]);
                out.insert(
                    d.key.clone(),
                    Observed { id: arn, owned: owns(&tags, &d.key), state: phase, config, outputs, extra: Json::Null },
                );
            }
        }
        Ok(out)
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        Ok(json!({ "containerInsights": insights(d)?, "tags": tag_view(&d.tags) }))
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .ecs
            .create_cluster()
            .cluster_name(&d.key.name)
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(insights(d)?).build())
            .set_tags(Some(ecs_tag_list(&d.tags)))
            .send()
            .await
            .map_err(aws("CreateCluster"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        if drift.iter().any(|x| x.field == "containerInsights") {
            cx.may_mutate().await?;
            // UpdateCluster with settings: AWS and moto both serve it (moto has no
            // UpdateClusterSettings, so a heal through it failed for ever on moto).
            cx.clients
                .ecs
                .update_cluster()
                .cluster(&o.id)
                .settings(
                    ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(insights(d)?).build(),
                )
                .send()
                .await
                .map_err(aws("UpdateCluster"))?;
        }
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.ecs.delete_cluster().cluster(&o.id).send().await.map_err(aws("DeleteCluster"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::Ecs(&o.id))
    }
}
