//! Every list steward and the emulator read is read to its last page (issue #30): with more than
//! 100 hosted zones in the account and more than 300 record sets in the zone, a custom domain
//! whose zone lists last and whose validation records sort last still validates, and the stack
//! converges. Before the fix the emulator read one page of each, and the domain never validated.
//! The same holds for the rules of the listener that Express services share.

mod common;

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use common::live::Live;
use common::replace_in;

const LATE_ZONE: &str = "zz-late.example.com";

#[test]
fn a_domain_validates_when_its_zone_and_records_are_past_the_first_page() {
    let live = Live::prepared();
    let route53 = aws_sdk_route53::Client::new(&live.sdk);
    // 101 zones before the stack's own, which is made last.
    for i in 0..101 {
        let zone = route53
            .create_hosted_zone()
            .name(format!("filler-{i:03}.example.org"))
            .caller_reference(format!("filler-{i}"));
        live.block(zone.send()).unwrap();
    }
    let zone = live.block(route53.create_hosted_zone().name(LATE_ZONE).caller_reference("late").send()).unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
    // 310 record sets that Route 53 lists before the domain's (`a…` before `mmweb`).
    let changes: Vec<Change> = (0..310)
        .map(|i| {
            let set = ResourceRecordSet::builder()
                .name(format!("a{i:03}.{LATE_ZONE}"))
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(ResourceRecord::builder().value("elsewhere.example.org").build().unwrap())
                .build()
                .unwrap();
            Change::builder().action(ChangeAction::Create).resource_record_set(set).build().unwrap()
        })
        .collect();
    let batch = ChangeBatch::builder().set_changes(Some(changes)).build().unwrap();
    live.block(route53.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch).send()).unwrap();
    // The stack's domain and records in that zone.
    let seed = live.world.seed_copy();
    replace_in(&seed.join("stack.yaml"), "hostedZone: mentor-match.example.com", &format!("hostedZone: {LATE_ZONE}"));
    live.world.ok(&["apply", "-f", seed.to_str().unwrap()]);
    live.converge();
    assert_eq!(live.status("AppRunnerCustomDomain/mmweb-domain")["phase"], "Ready");
    let (code, plan) = live.plan();
    assert_eq!(code, 0, "{plan:#?}");
}

/// moto pages DescribeRules by 50, AWS by up to 400: an Express service made after more than one
/// page of rules on the shared listener still gets a priority of its own: the emulator reads
/// every page. Before, the 51st service failed with PriorityInUse.
#[test]
fn express_services_past_one_page_of_listener_rules_each_get_their_own_rule() {
    let live = Live::prepared();
    let subnets = live
        .block(
            live.ec2()
                .describe_subnets()
                .filters(
                    aws_sdk_ec2::types::Filter::builder().name("tag:Name").values("mentor-match-vpc-public-*").build(),
                )
                .send(),
        )
        .unwrap();
    let subnets: Vec<String> = subnets.subnets().iter().filter_map(|s| s.subnet_id()).map(str::to_string).collect();
    assert_eq!(subnets.len(), 2);
    let role = |name: &str| format!("arn:aws:iam::123456789012:role/{name}");
    for i in 0..53 {
        let container = aws_sdk_ecs::types::ExpressGatewayContainer::builder()
            .image("public.ecr.aws/nginx/nginx:latest")
            .container_port(80)
            .build()
            .unwrap();
        let network = aws_sdk_ecs::types::ExpressGatewayServiceNetworkConfiguration::builder()
            .set_subnets(Some(subnets.clone()))
            .build();
        let create = live
            .express()
            .create_express_gateway_service()
            .service_name(format!("filler-{i:02}"))
            .execution_role_arn(role("mmweb-express-exec"))
            .infrastructure_role_arn(role("mmweb-express-infrastructure"))
            .primary_container(container)
            .network_configuration(network);
        live.block(create.send()).unwrap_or_else(|e| panic!("service {i}: {:?}", e.into_service_error()));
    }
    let elb = live.elbv2();
    let balancers = live.block(elb.describe_load_balancers().send()).unwrap();
    let balancer = balancers.load_balancers()[0].load_balancer_arn().unwrap().to_string();
    let listeners = live.block(elb.describe_listeners().load_balancer_arn(&balancer).send()).unwrap();
    let listener = listeners.listeners()[0].listener_arn().unwrap().to_string();
    let mut priorities = std::collections::BTreeSet::new();
    let mut marker = None;
    loop {
        let page = live.block(elb.describe_rules().listener_arn(&listener).set_marker(marker).send()).unwrap();
        priorities.extend(
            page.rules()
                .iter()
                .filter(|r| r.is_default() != Some(true))
                .filter_map(|r| r.priority())
                .map(str::to_string),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(priorities.len(), 53, "one rule per service, each with its own priority: {priorities:?}");
}
