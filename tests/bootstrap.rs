//! The CloudFormation templates on moto: the network the desired state's selectors find, and the
//! controller's table, role and log group.

mod common;

use common::{REGION, World, repo_path};

#[test]
fn the_templates_deploy_to_moto_with_the_outputs_the_desired_state_relies_on() {
    let world = World::new();
    let out = std::process::Command::new("python3")
        .arg(repo_path("tests/templates.py"))
        .envs(world.command(&[]).get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
        .env("AWS_DEFAULT_REGION", REGION)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The seed's selectors resolve against what the template made: validate, apply, and plan.
    world.ok(&["bootstrap"]);
    world.ok(&["apply", "-f", repo_path("desired-state/mentor-match").to_str().unwrap()]);
    let plan = world.run(&["diff", "--live", "VpcEndpoint/s3"]);
    assert!(
        plan.stdout().contains("+ VpcEndpoint/s3 [stack mentor-match] create"),
        "{}\n{}",
        plan.stdout(),
        plan.stderr()
    );
}
