//! EcsCluster: an ECS cluster and its Container Insights setting.

use super::tagging::{ecs_tag_list, tag_map};
use super::typed::prelude::*;
use super::values::status_text;
use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName};

pub const NAME: StrRule = StrRule {
    expected: "a cluster name of 1 to 255 letters, digits, '-' or '_'",
    check: |s| (1..=255).contains(&s.len()) && s.chars().all(name_char("-_")),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsClusterSpec {
    /// Container Insights: off unless the spec turns it on (steward's default, enforced).
    #[serde(default = "insights_disabled")]
    #[field(shape = Shape::Enum(&["enabled", "disabled", "enhanced"]))]
    pub container_insights: String,
}

fn insights_disabled() -> String {
    "disabled".into()
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct EcsClusterOutputs {
    /// the cluster's ARN, which its services name
    pub arn: String,
}

pub struct EcsCluster;
pub static ADAPTER: Typed<EcsCluster> = Typed::new(EcsCluster);

#[async_trait::async_trait]
impl TypedKind for EcsCluster {
    type Spec = EcsClusterSpec;
    type View = Self::Spec;
    type Outputs = EcsClusterOutputs;
    type Memo = ();
    type Facts = ();
    const NAME_RULE: StrRule = NAME;
    const TAGGED: TagsAt = Some(|id| Tagged::Ecs(id));
    const ACTIONS: &'static [&'static str] = crate::actions!("ecs":
        DescribeClusters, CreateCluster, UpdateCluster, DeleteCluster, TagResource, UntagResource);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let mut out = Vec::new();
        for chunk in wanted.chunks(100) {
            let request =
                cx.clients.ecs.describe_clusters().include(ClusterField::Tags).include(ClusterField::Settings);
            let names = chunk.iter().map(|w| w.key().name.clone()).collect();
            let described = request.set_clusters(Some(names)).send().await.map_err(aws("DescribeClusters"))?;
            for c in described.clusters() {
                let Some(want) = chunk.iter().find(|w| c.cluster_name() == Some(w.key().name.as_str())) else {
                    continue;
                };
                let status = status_text(c.status().unwrap_or_default());
                let state = match status.as_str() {
                    "active" => ObjectState::Ready,
                    "inactive" => continue,
                    "failed" => ObjectState::Failed(status.to_ascii_uppercase()),
                    other => ObjectState::Busy(other.to_ascii_uppercase()),
                };
                let insights = c.settings().iter().find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights));
                let config = EcsClusterSpec {
                    container_insights: insights.and_then(|s| s.value()).unwrap_or("disabled").to_string(),
                };
                let tags = tag_map(c.tags().iter().map(|t| (t.key(), t.value())));
                let arn = c.cluster_arn().unwrap_or_default().to_string();
                out.push((want.key().clone(), Seen::new(arn.clone(), state, config, tags, EcsClusterOutputs { arn })));
            }
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        cx.may_mutate().await?;
        let request = cx.clients.ecs.create_cluster().cluster_name(&want.key().name);
        let request = request.settings(insights(&want.spec)).set_tags(Some(ecs_tag_list(&want.desired.tags)));
        request.send().await.map_err(aws("CreateCluster"))?;
        Ok(())
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        if drift.iter().any(|d| d.field == "containerInsights") {
            cx.may_mutate().await?;
            // UpdateCluster with settings: AWS and moto both serve it (moto has no
            // UpdateClusterSettings, so a heal through it failed for ever on moto).
            let request = cx.clients.ecs.update_cluster().cluster(&seen.id).settings(insights(&want.spec));
            request.send().await.map_err(aws("UpdateCluster"))?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.ecs.delete_cluster().cluster(&seen.id).send().await.map_err(aws("DeleteCluster"))?;
        Ok(())
    }
}

fn insights(spec: &EcsClusterSpec) -> ClusterSetting {
    ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(&spec.container_insights).build()
}
