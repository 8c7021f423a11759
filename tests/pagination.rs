//! Every list steward and the emulator read is read to its last page (issue #30): with more than
//! 100 hosted zones in the account and more than 300 record sets in the zone, a custom domain
//! whose zone lists last and whose validation records sort last still validates, and the stack
//! converges. Before the fix the emulator read one page of each, and the domain never validated.

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
