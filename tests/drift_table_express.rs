//! The drift table of the Express web tier (desired-state/mentor-match-express): every managed
//! field of `EcsExpressService`, `ListenerRule` and `AcmCertificate`, changed out of band through
//! the public AWS API, is reported alone by `diff --live` and healed by one `reconcile` pass.
//!
//! Not in the table, and why: `command`, `secrets`, `taskRole`, `logs` (the stack's spec leaves
//! them to AWS, so they are not watched there; `tests/express.rs` and the kind's unit tests cover
//! the comparison); a deleted service, certificate or rule (`tests/express.rs`: made again);
//! `AcmCertificate domain` (a certificate's domain cannot change: a new request is a new one).

mod common;

use aws_sdk_ecs::types::{
    EcsExpressGatewayService, ExpressGatewayContainer, ExpressGatewayScalingTarget,
    ExpressGatewayServiceNetworkConfiguration, KeyValuePair,
};
use common::drift::{Case, run_cases};
use common::live::Live;

const WEB: &str = "EcsExpressService/mmweb";
const RULE: &str = "ListenerRule/mmweb-domain-route";
const CERT: &str = "AcmCertificate/mmweb-certificate";

fn described(live: &Live) -> EcsExpressGatewayService {
    let request = live.express().describe_express_gateway_service().service_arn(live.output(WEB, "arn"));
    live.block(request.send()).unwrap().service.unwrap()
}

/// An UpdateExpressGatewayService as a person would make it: the current container, edited.
fn update_container(live: &Live, edit: fn(&mut ExpressGatewayContainer)) {
    let service = described(live);
    let mut container = service.active_configurations().last().unwrap().primary_container().unwrap().clone();
    edit(&mut container);
    let request = live.express().update_express_gateway_service().service_arn(live.output(WEB, "arn"));
    live.block(request.primary_container(container).send()).unwrap();
}

fn update(
    live: &Live,
) -> aws_sdk_ecs::operation::update_express_gateway_service::builders::UpdateExpressGatewayServiceFluentBuilder {
    live.express().update_express_gateway_service().service_arn(live.output(WEB, "arn"))
}

fn network(subnets: Vec<String>, groups: Vec<String>) -> ExpressGatewayServiceNetworkConfiguration {
    ExpressGatewayServiceNetworkConfiguration::builder()
        .set_subnets(Some(subnets))
        .set_security_groups(Some(groups))
        .build()
}

fn public_subnets(live: &Live) -> Vec<String> {
    ["a", "b"]
        .iter()
        .map(|z| {
            live.network["subnets"][format!("mentor-match-vpc-public-{}{z}", common::REGION)]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn untag_web(live: &Live, key: &str) {
    let request = live.express().untag_resource().resource_arn(live.output(WEB, "arn")).tag_keys(key);
    live.block(request.send()).unwrap();
}

const EXPRESS_CASES: &[Case] = &[
    Case {
        target: WEB,
        fields: &["env.FLASK_ENV"],
        change: |l| {
            update_container(l, |c| {
                let env = c.environment.get_or_insert_with(Vec::new);
                env.retain(|e| e.name() != Some("FLASK_ENV"));
                env.push(KeyValuePair::builder().name("FLASK_ENV").value("production").build());
            })
        },
    },
    Case {
        target: WEB,
        fields: &["image"],
        change: |l| update_container(l, |c| c.image = "public.ecr.aws/nginx/nginx:1".into()),
    },
    Case { target: WEB, fields: &["port"], change: |l| update_container(l, |c| c.container_port = Some(8080)) },
    Case {
        target: WEB,
        fields: &["cpu", "memory"],
        change: |l| l.block(update(l).cpu("2048").memory("4096").send()).map(drop).unwrap(),
    },
    Case {
        target: WEB,
        fields: &["healthCheckPath"],
        change: |l| l.block(update(l).health_check_path("/health").send()).map(drop).unwrap(),
    },
    Case {
        target: WEB,
        fields: &["scaling.max"],
        change: |l| {
            let scaling = ExpressGatewayScalingTarget::builder().min_task_count(1).max_task_count(10).build();
            l.block(update(l).scaling_target(scaling).send()).map(drop).unwrap()
        },
    },
    Case {
        target: WEB,
        fields: &["network.securityGroups"],
        change: |l| {
            let groups = vec![l.security_group("allow_redis"), l.security_group("allow_vpce")];
            l.block(update(l).network_configuration(network(public_subnets(l), groups)).send()).map(drop).unwrap()
        },
    },
    Case {
        target: WEB,
        fields: &["network.subnets"],
        change: |l| {
            let subnets = vec![l.subnet('a'), l.subnet('b')];
            let groups = vec![l.security_group("allow_redis")];
            l.block(update(l).network_configuration(network(subnets, groups)).send()).map(drop).unwrap()
        },
    },
    Case {
        target: WEB,
        fields: &["executionRole"],
        change: |l| {
            let role = format!("arn:aws:iam::{}:role/someone-elses", l.world.account.id);
            l.block(update(l).execution_role_arn(role).send()).map(drop).unwrap()
        },
    },
    Case { target: WEB, fields: &["expressManaged"], change: |l| untag_web(l, "AmazonECSManaged") },
    Case { target: WEB, fields: &["tags.Name"], change: |l| untag_web(l, "Name") },
    Case {
        target: RULE,
        fields: &["hosts"],
        change: |l| {
            use aws_sdk_elasticloadbalancingv2::types::RuleCondition;
            let other = RuleCondition::builder().field("host-header").values("other.example.com").build();
            l.block(l.elbv2().modify_rule().rule_arn(l.output(RULE, "arn")).conditions(other).send()).map(drop).unwrap()
        },
    },
    Case {
        target: RULE,
        fields: &["certificate"],
        change: |l| {
            let cert = aws_sdk_elasticloadbalancingv2::types::Certificate::builder()
                .certificate_arn(l.output(CERT, "arn"))
                .build();
            let request =
                l.elbv2().remove_listener_certificates().listener_arn(l.output(WEB, "listener")).certificates(cert);
            l.block(request.send()).map(drop).unwrap()
        },
    },
    Case {
        target: RULE,
        fields: &["tags.Project"],
        change: |l| {
            let request = l.elbv2().remove_tags().resource_arns(l.output(RULE, "arn")).tag_keys("Project");
            l.block(request.send()).map(drop).unwrap()
        },
    },
    Case {
        target: CERT,
        fields: &["tags.Project"],
        change: |l| {
            let tag = aws_sdk_acm::types::Tag::builder().key("Project").build().unwrap();
            let request = l.acm().remove_tags_from_certificate().certificate_arn(l.output(CERT, "arn")).tags(tag);
            l.block(request.send()).map(drop).unwrap()
        },
    },
];

#[test]
fn express_service_and_domain_fields_are_reported_and_healed() {
    let live = Live::prepared_with("desired-state/mentor-match-express");
    live.converge();
    run_cases(&live, EXPRESS_CASES, &[]);
}
