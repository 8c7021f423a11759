//! Fields of the worker that used to drift silently: its platform version, tag propagation and
//! the cluster's Container Insights. Each is reported by `diff --live` and healed by one pass.
//! Real processes, real SDK.

mod common;

use common::live::Live;

fn drifted_fields(live: &Live) -> (i32, Vec<String>) {
    let (code, plan) = live.plan();
    let fields = plan
        .iter()
        .flat_map(|e| {
            let target = format!("{}/{}", e["kind"].as_str().unwrap(), e["name"].as_str().unwrap());
            e["drift"].as_array().unwrap().iter().map(move |d| format!("{target} {}", d["field"].as_str().unwrap()))
        })
        .collect();
    (code, fields)
}

#[test]
fn platform_version_tag_propagation_and_container_insights_are_watched_and_healed() {
    let live = Live::start();
    let ecs = live.ecs();
    live.block(
        ecs.update_service()
            .cluster("celery-workers")
            .service("mentor-match-worker")
            .platform_version("1.3.0")
            .propagate_tags(aws_sdk_ecs::types::PropagateTags::None)
            .send(),
    )
    .unwrap();
    let off = aws_sdk_ecs::types::ClusterSetting::builder()
        .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
        .value("disabled")
        .build();
    live.block(ecs.update_cluster().cluster("celery-workers").settings(off).send()).unwrap();

    let (code, mut fields) = drifted_fields(&live);
    fields.sort();
    assert_eq!(code, 2);
    assert_eq!(
        fields,
        [
            "EcsCluster/celery-workers containerInsights",
            "EcsService/mentor-match-worker platformVersion",
            "EcsService/mentor-match-worker propagateTags",
        ],
        "exactly these, nothing else"
    );
    live.world.ok(&["reconcile"]);
    let (code, fields) = drifted_fields(&live);
    assert_eq!((code, fields), (0, Vec::<String>::new()), "one pass heals all three");
    let service = live.worker().0;
    assert_eq!(service.platform_version(), Some("LATEST"));
    assert_eq!(service.propagate_tags().map(|p| p.as_str()), Some("TASK_DEFINITION"));
}
