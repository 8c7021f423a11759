//! The Mentor Match stack with its web tier on ECS Express Mode (desired-state/mentor-match-express),
//! against moto and the emulator (which answers Express at the ECS endpoint and passes the rest
//! of ECS on to moto): made from nothing, still when nothing changes, and healed when someone
//! changes the service, its tags or deletes it, or when AWS rolls a canary back.

mod common;

use common::live::{Live, named};
use serde_json::{Value, json};
use std::time::Duration;

const EXPRESS: &str = "desired-state/mentor-match-express";
const WEB: &str = "EcsExpressService/mmweb";
const DOMAIN: &str = "mmweb.mentor-match.example.com";
const ROUTE: &str = "ListenerRule/mmweb-domain-route";

fn converged() -> Live {
    let live = Live::prepared_with(EXPRESS);
    live.converge();
    assert!(live.is_converged(), "{}", live.world.ok(&["status"]));
    live
}

/// The Express service as ECS describes it (tags included).
fn described(live: &Live) -> aws_sdk_ecs::types::EcsExpressGatewayService {
    let arn = live.output(WEB, "arn");
    let request = live
        .express()
        .describe_express_gateway_service()
        .service_arn(arn)
        .include(aws_sdk_ecs::types::ExpressGatewayServiceInclude::Tags);
    live.block(request.send()).unwrap().service.unwrap()
}

fn env_of(service: &aws_sdk_ecs::types::EcsExpressGatewayService) -> Vec<(String, String)> {
    let config = service.active_configurations().last().unwrap();
    let mut env: Vec<(String, String)> = config
        .primary_container()
        .unwrap()
        .environment()
        .iter()
        .map(|e| (e.name().unwrap().to_string(), e.value().unwrap().to_string()))
        .collect();
    env.sort();
    env
}

fn tag_of(service: &aws_sdk_ecs::types::EcsExpressGatewayService, key: &str) -> Option<String> {
    service.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value()).map(str::to_string)
}

/// The listener rule steward made for the custom domain, as ELBv2 describes it.
fn domain_rule(live: &Live) -> aws_sdk_elasticloadbalancingv2::types::Rule {
    let rules = live.block(live.elbv2().describe_rules().listener_arn(live.output(WEB, "listener")).send()).unwrap();
    let arn = live.output(ROUTE, "arn");
    rules.rules().iter().find(|r| r.rule_arn() == Some(arn.as_str())).cloned().expect("the domain's rule")
}

fn failures<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    named(events, "reconcile_failed").into_iter().filter(|e| e["kind"] == kind).collect()
}

#[test]
fn the_express_stack_is_made_from_nothing_and_then_stays_still() {
    let live = converged();
    let endpoint = live.output(WEB, "endpoint");
    assert!(endpoint.starts_with("https://mmweb-") && endpoint.ends_with(".ecs.eu-west-1.on.aws"), "{endpoint}");
    let (_, env) = live.worker();
    assert_eq!(env.get("SERVICE_URL"), Some(&endpoint), "the worker reaches the Express endpoint");
    // ECS added its own security group to the service's: listed by AWS, not drift.
    let service = described(&live);
    let groups = service.active_configurations()[0].network_configuration().unwrap().security_groups().to_vec();
    assert_eq!(groups.len(), 2, "allow_redis and the group ECS made: {groups:?}");
    assert!(groups.contains(&live.security_group("allow_redis")));
    assert!(groups.contains(&live.output(WEB, "securityGroup")));
    assert_eq!(tag_of(&service, "AmazonECSManaged").as_deref(), Some("true"));
    // The objects ECS made are real objects in moto.
    let listener = live.output(WEB, "listener");
    assert!(listener.contains(":listener/app/ecs-express-gateway-alb-"), "{listener}");
    assert!(live.output(WEB, "targetGroup").contains(":targetgroup/"));
    // The custom domain: issued through DNS, on the listener, routed by Host, named in DNS.
    let certificate = live.output("AcmCertificate/mmweb-certificate", "arn");
    let issued = live.block(live.acm().describe_certificate().certificate_arn(&certificate).send()).unwrap();
    assert_eq!(issued.certificate().unwrap().status().map(|s| s.as_str()), Some("ISSUED"));
    let on_listener = live.block(live.elbv2().describe_listener_certificates().listener_arn(&listener).send()).unwrap();
    assert!(on_listener.certificates().iter().any(|c| c.certificate_arn() == Some(certificate.as_str())));
    let rule = domain_rule(&live);
    assert_eq!(rule.actions()[0].target_group_arn(), Some(live.output(WEB, "targetGroup").as_str()));
    assert_eq!(live.cname(DOMAIN), [live.output(ROUTE, "dnsTarget")]);
    assert!(live.output(ROUTE, "dnsTarget").starts_with("ecs-express-gateway-alb-"));
    for _ in 0..3 {
        let events = live.pass();
        let pass = named(&events, "pass_completed")[0].clone();
        assert_eq!(pass["mutatingCalls"], 0, "{pass}");
        assert!(named(&events, "drift_detected").is_empty(), "{events:?}");
    }
    let (code, plan) = live.plan();
    assert_eq!(code, 0, "{plan:?}");
}

#[test]
fn out_of_band_changes_to_the_express_service_and_its_tags_are_healed() {
    let live = converged();
    let arn = live.output(WEB, "arn");
    let before = env_of(&described(&live));
    let express = live.express();
    let container = aws_sdk_ecs::types::ExpressGatewayContainer::builder()
        .image("public.ecr.aws/nginx/nginx:latest")
        .container_port(5000)
        .environment(aws_sdk_ecs::types::KeyValuePair::builder().name("FLASK_ENV").value("production").build())
        .build()
        .unwrap();
    let update = express.update_express_gateway_service().service_arn(&arn).primary_container(container).cpu("2048");
    live.block(update.memory("4096").send()).unwrap();
    live.block(express.untag_resource().resource_arn(&arn).tag_keys("AmazonECSManaged").tag_keys("Name").send())
        .unwrap();
    let events = live.converge();
    let drifted: Vec<&str> = named(&events, "drift_detected").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(drifted.contains(&"EcsExpressService"), "{events:?}");
    let service = described(&live);
    assert_eq!(env_of(&service), before, "the environment is back");
    assert_eq!(service.active_configurations().last().unwrap().cpu(), Some("1024"));
    assert_eq!(tag_of(&service, "AmazonECSManaged").as_deref(), Some("true"), "known to ECS as Express again");
    assert_eq!(tag_of(&service, "Name").as_deref(), Some("mmweb-express-service"));
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn out_of_band_changes_to_the_custom_domain_are_healed_and_other_rules_are_left_alone() {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, RuleCondition,
    };
    let live = converged();
    let elbv2 = live.elbv2();
    let listener = live.output(WEB, "listener");
    let certificate = live.output("AcmCertificate/mmweb-certificate", "arn");
    let rules_before = live.block(elbv2.describe_rules().listener_arn(&listener).send()).unwrap().rules().len();
    // Someone else's rule on the shared listener: never touched.
    let theirs = RuleCondition::builder().field("host-header").values("other.example.com").build();
    let answer = FixedResponseActionConfig::builder().status_code("200").build();
    let fixed = Action::builder().r#type(ActionTypeEnum::FixedResponse).fixed_response_config(answer).build();
    let request = elbv2.create_rule().listener_arn(&listener).priority(5000).conditions(theirs).actions(fixed);
    let other = live.block(request.send()).unwrap().rules()[0].rule_arn().unwrap().to_string();
    // The certificate off the listener, the rule pointed elsewhere, the name pointed elsewhere.
    let cert = Certificate::builder().certificate_arn(&certificate).build();
    live.block(elbv2.remove_listener_certificates().listener_arn(&listener).certificates(cert).send()).unwrap();
    let wrong = RuleCondition::builder().field("host-header").values("wrong.example.com").build();
    live.block(elbv2.modify_rule().rule_arn(live.output(ROUTE, "arn")).conditions(wrong).send()).unwrap();
    live.change_record(aws_sdk_route53::types::ChangeAction::Upsert, DOMAIN, 300, "elsewhere.example.net");
    let (code, plan) = live.plan();
    assert_eq!(code, 2);
    for kind in ["ListenerRule", "Route53Record"] {
        assert!(plan.iter().any(|e| e["kind"] == kind && e["verdict"] == "update"), "{kind}: {plan:?}");
    }
    live.converge();
    let on_listener = live.block(elbv2.describe_listener_certificates().listener_arn(&listener).send()).unwrap();
    assert!(on_listener.certificates().iter().any(|c| c.certificate_arn() == Some(certificate.as_str())));
    let rule = domain_rule(&live);
    let hosts = rule.conditions()[0].host_header_config().map(|h| h.values().to_vec()).unwrap_or_default();
    assert_eq!(hosts, [DOMAIN]);
    assert_eq!(live.cname(DOMAIN), [live.output(ROUTE, "dnsTarget")]);
    let rules = live.block(elbv2.describe_rules().listener_arn(&listener).send()).unwrap();
    assert_eq!(rules.rules().len(), rules_before + 1, "the foreign rule is still there");
    assert!(rules.rules().iter().any(|r| r.rule_arn() == Some(other.as_str())));
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn a_deleted_express_service_is_made_again() {
    let live = converged();
    let arn = live.output(WEB, "arn");
    let first = described(&live).created_at().cloned();
    live.block(live.express().delete_express_gateway_service().service_arn(&arn).send()).unwrap();
    let events = live.converge();
    let created = named(&events, "resource_created");
    assert!(created.iter().any(|e| e["kind"] == "EcsExpressService"), "{events:?}");
    let service = described(&live);
    assert_eq!(service.status().and_then(|s| s.status_code()).map(|s| s.as_str()), Some("ACTIVE"));
    assert_ne!(service.created_at().cloned(), first, "a new service of the same name");
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn moving_the_service_to_another_cluster_replaces_it_when_allowed() {
    let live = converged();
    let old = live.output(WEB, "arn");
    let copy = live.world.copy_of(EXPRESS);
    common::replace_in(
        &copy.join("web.yaml"),
        "  image: ${Stack/mentor-match.params.webImage}\n  port: 5000",
        "  cluster: ${EcsCluster/celery-workers.arn}\n  allowReplacement: true\n  image: ${Stack/mentor-match.params.webImage}\n  port: 5000",
    );
    live.world.ok(&["apply", "-f", copy.to_str().unwrap()]);
    let (code, plan) = live.plan();
    assert_eq!(code, 2);
    let web = plan.iter().find(|e| e["kind"] == "EcsExpressService").unwrap();
    assert_eq!(web["verdict"], "replace", "{web}");
    live.converge();
    let new = live.output(WEB, "arn");
    assert!(new.ends_with(":service/celery-workers/mmweb"), "{new}");
    assert_eq!(described(&live).status().and_then(|s| s.status_code()).map(|s| s.as_str()), Some("ACTIVE"));
    let gone = live.block(live.express().describe_express_gateway_service().service_arn(&old).send()).unwrap();
    let status = gone.service().and_then(|s| s.status()).and_then(|s| s.status_code()).map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("INACTIVE"), "the service in the old cluster is deleted");
    let (_, env) = live.worker();
    assert_eq!(env.get("SERVICE_URL"), Some(&live.output(WEB, "endpoint")), "the worker follows");
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn a_failed_canary_is_reported_once_and_retried_after_a_backoff() {
    let live = converged();
    let order =
        json!({ "service": "ecs", "region": "eu-west-1", "operation": "UpdateExpressGatewayService", "name": "mmweb" });
    live.admin("POST", "/_emulator/fail-next", &order.to_string());
    let copy = live.world.copy_of(EXPRESS);
    common::replace_in(&copy.join("web.yaml"), "FLASK_ENV: development", "FLASK_ENV: staging");
    live.world.ok(&["apply", "-f", copy.to_str().unwrap()]);
    live.admin("DELETE", "/_emulator/requests", "");
    let mut events = Vec::new();
    common::eventually("the rollback is reported", Duration::from_secs(120), || {
        events.extend(live.pass());
        !failures(&events, "EcsExpressService").is_empty()
    });
    let failed = failures(&events, "EcsExpressService")[0].clone();
    assert_eq!(
        (failed["operation"].as_str(), failed["errorCode"].as_str()),
        (Some("DEPLOYMENT"), Some("ROLLBACK_SUCCESSFUL")),
        "{failed}"
    );
    assert!(failed["backoffMs"].as_u64().unwrap() > 0, "{failed}");
    events.extend(live.converge());
    assert_eq!(failures(&events, "EcsExpressService").len(), 1, "one rollback, one failure");
    let served = live.admin("GET", "/_emulator/requests", "");
    assert_eq!(served["ecs:UpdateExpressGatewayService"], 2, "the update and one retry: {served}");
    let env = env_of(&described(&live));
    assert!(env.contains(&("FLASK_ENV".to_string(), "staging".to_string())), "{env:?}");
    assert_eq!(live.status(WEB)["phase"], "Ready");
}

/// The README's `./bootstrap/break` works on the Express demo: every target breaks what it names
/// (`env`, the Express service's environment) and `diff --live` reports each.
#[test]
fn every_break_target_works_on_the_express_stack() {
    let live = converged();
    common::every_break_is_reported(&live, WEB);
}
