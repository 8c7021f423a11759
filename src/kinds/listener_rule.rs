//! ListenerRule: a rule on a load balancer's HTTPS listener that sends a custom domain's Host
//! header to a target group, with the domain's certificate added to the listener. The second
//! step of a custom domain on an ECS Express service (AWS: "add the certificate to the HTTPS
//! listener, and a listener rule to the service's target group"); the listener is the one ECS
//! made and shares between services, so steward touches only the rule and certificate it owns.
//!
//! It is ready for what depends on it (the DNS record that moves traffic to it) only when its
//! target group has a healthy target: a record switched to it then reaches a service that serves.

use super::apprunner_custom_domain::DOMAIN;
use super::definition::KindDef;
use crate::schema::*;

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:RemoveTags",
];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("listener", arn()),
            req("hosts", list(string(DOMAIN), 1, 5)),
            req("targetGroup", arn()),
            opt("certificate", arn()),
            opt("priority", int(1, 50000)),
            opt("tags", tags()),
        ],
        outputs: vec!["arn", "dnsTarget", "loadBalancer"],
        retain_by_default: false,
        name_rule: super::definition::GENERIC_NAME,
        check: super::definition::no_extra_checks,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

// ---- adapter ----
//
// A pass reads, per listener: its rules (DescribeRules), the tags of rules not kept (one
// DescribeTags), its certificates (DescribeListenerCertificates); per rule: its target group's
// health (DescribeTargetHealth). The load balancer's DNS name is read once.

use super::tagging::{load_balancing_tag_list, load_balancing_tags};
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, HostHeaderConditionConfig, Rule, RuleCondition, RulePriorityPair,
    TargetHealthStateEnum,
};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// The spec a ListenerRule's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerRuleSpec {
    pub listener: String,
    pub hosts: Vec<String>,
    pub target_group: String,
    pub certificate: Option<String>,
    pub priority: Option<i32>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

pub struct ListenerRuleAdapter;

/// Where steward starts looking for a free priority: below it, ECS Express numbers its own rules.
const FIRST_PRIORITY: i32 = 1000;

/// The load balancer of a listener ARN (`…:listener/app/NAME/LB/LISTENER` →
/// `…:loadbalancer/app/NAME/LB`).
fn load_balancer_of(listener: &str) -> String {
    let lb = listener.replacen(":listener/", ":loadbalancer/", 1);
    lb.rsplit_once('/').map_or(lb.clone(), |(head, _)| head.to_string())
}

fn hosts_of(rule: &Rule) -> BTreeSet<String> {
    rule.conditions()
        .iter()
        .filter(|c| c.field() == Some("host-header"))
        .flat_map(|c| c.host_header_config().map(|h| h.values().to_vec()).unwrap_or_else(|| c.values().to_vec()))
        .map(|h| h.to_ascii_lowercase())
        .collect()
}

fn target_group_of(rule: &Rule) -> Option<&str> {
    let forward = rule.actions().iter().find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))?;
    forward
        .target_group_arn()
        .or_else(|| forward.forward_config().and_then(|f| f.target_groups().first()).and_then(|t| t.target_group_arn()))
}

/// What a pass learned of one listener.
struct ListenerFacts {
    rules: Vec<Rule>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
    certificates: BTreeSet<String>,
}

async fn listener_facts(cx: &Cx<'_>, listener: &str) -> Result<ListenerFacts, ReconcileError> {
    let mut rules = Vec::new();
    let mut pages = cx.clients.elbv2.describe_rules().listener_arn(listener).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("DescribeRules"))?;
        rules.extend(page.rules().iter().filter(|r| r.is_default() != Some(true)).cloned());
    }
    let arns: Vec<String> = rules.iter().filter_map(|r| r.rule_arn()).map(str::to_string).collect();
    let tags = load_balancing_tags(cx, &arns).await?;
    let mut certificates = BTreeSet::new();
    let mut pages = cx.clients.elbv2.describe_listener_certificates().listener_arn(listener).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("DescribeListenerCertificates"))?;
        certificates.extend(page.certificates().iter().filter_map(|c| c.certificate_arn()).map(str::to_string));
    }
    Ok(ListenerFacts { rules, tags, certificates })
}

async fn healthy_targets(cx: &Cx<'_>, target_group: &str) -> Result<usize, ReconcileError> {
    let request = cx.clients.elbv2.describe_target_health().target_group_arn(target_group);
    let out = request.send().await.map_err(aws("DescribeTargetHealth"))?;
    let healthy = out
        .target_health_descriptions()
        .iter()
        .filter(|t| t.target_health().and_then(|h| h.state()) == Some(&TargetHealthStateEnum::Healthy));
    Ok(healthy.count())
}

/// The load balancer's DNS name, read once (it never changes).
async fn dns_name(cx: &Cx<'_>, load_balancer: &str) -> Result<String, ReconcileError> {
    let key = format!("elb-dns#{load_balancer}");
    if let Some((name, _)) = cx.cache.details.lock().unwrap().get(&key) {
        return Ok(name.clone());
    }
    let request = cx.clients.elbv2.describe_load_balancers().load_balancer_arns(load_balancer);
    let out = request.send().await.map_err(aws("DescribeLoadBalancers"))?;
    let name = out.load_balancers().first().and_then(|l| l.dns_name()).unwrap_or_default().to_string();
    cx.cache.details.lock().unwrap().insert(key, (name.clone(), Json::Null));
    Ok(name)
}

fn sorted_hosts(hosts: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    set.into_iter().collect()
}

fn conditions(spec: &ListenerRuleSpec) -> RuleCondition {
    let hosts = HostHeaderConditionConfig::builder().set_values(Some(sorted_hosts(&spec.hosts))).build();
    RuleCondition::builder().field("host-header").host_header_config(hosts).build()
}

fn forward(spec: &ListenerRuleSpec) -> Action {
    Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&spec.target_group).build()
}

async fn add_certificate(cx: &Cx<'_>, spec: &ListenerRuleSpec) -> Result<(), ReconcileError> {
    let Some(cert) = &spec.certificate else { return Ok(()) };
    cx.may_mutate().await?;
    let request = cx
        .clients
        .elbv2
        .add_listener_certificates()
        .listener_arn(&spec.listener)
        .certificates(Certificate::builder().certificate_arn(cert).build());
    request.send().await.map_err(aws("AddListenerCertificates"))?;
    Ok(())
}

#[async_trait::async_trait]
impl Adapter for ListenerRuleAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut listeners: BTreeMap<String, ListenerFacts> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for d in wanted {
            let spec: ListenerRuleSpec = d.spec_as()?;
            if !listeners.contains_key(&spec.listener) {
                listeners.insert(spec.listener.clone(), listener_facts(cx, &spec.listener).await?);
            }
            let facts = &listeners[&spec.listener];
            let hosts: BTreeSet<String> = sorted_hosts(&spec.hosts).into_iter().collect();
            let tags_of = |r: &Rule| facts.tags.get(r.rule_arn().unwrap_or_default()).cloned().unwrap_or_default();
            // Steward's own rule (by tags, whatever its hosts now are), else a rule of someone
            // else's for the same hosts: reported, never touched.
            let rule = facts
                .rules
                .iter()
                .find(|r| owns(&tags_of(r), &d.key))
                .or_else(|| facts.rules.iter().find(|r| hosts_of(r) == hosts));
            let Some(rule) = rule else { continue };
            let tags = tags_of(rule);
            let target_group = target_group_of(rule).unwrap_or_default().to_string();
            let healthy = if target_group.is_empty() { 0 } else { healthy_targets(cx, &target_group).await? };
            let mut config = json!({
                "hosts": hosts_of(rule),
                "targetGroup": target_group,
                "tags": tag_view(&tags),
            });
            if let Some(cert) = &spec.certificate {
                let on = facts.certificates.contains(cert);
                config["certificate"] = if on { json!(cert) } else { json!("(not on the listener)") };
            }
            if spec.priority.is_some() {
                config["priority"] = json!(rule.priority().and_then(|p| p.parse::<i32>().ok()));
            }
            let load_balancer = load_balancer_of(&spec.listener);
            let arn = rule.rule_arn().unwrap_or_default().to_string();
            let outputs = BTreeMap::from([
                ("arn".to_string(), arn.clone()),
                ("dnsTarget".to_string(), dns_name(cx, &load_balancer).await?),
                ("loadBalancer".to_string(), load_balancer),
            ]);
            let extra =
                json!({ "healthyTargets": healthy, "certificate": spec.certificate, "listener": spec.listener });
            let owned = owns(&tags, &d.key);
            out.insert(d.key.clone(), Observed { id: arn, owned, state: ObjectState::Ready, config, outputs, extra });
        }
        Ok(out)
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: ListenerRuleSpec = d.spec_as()?;
        let mut view = json!({
            "hosts": sorted_hosts(&spec.hosts),
            "targetGroup": spec.target_group,
            "tags": tag_view(&d.tags),
        });
        if let Some(cert) = &spec.certificate {
            view["certificate"] = json!(cert);
        }
        if let Some(p) = spec.priority {
            view["priority"] = json!(p);
        }
        Ok(view)
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["hosts"]
    }

    /// Traffic may be sent here only when the target group has a healthy target.
    fn ready_for_dependents(&self, o: &Observed) -> bool {
        o.state == ObjectState::Ready && o.extra["healthyTargets"].as_u64().unwrap_or(0) > 0
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: ListenerRuleSpec = d.spec_as()?;
        add_certificate(cx, &spec).await?;
        let priority = match spec.priority {
            Some(p) => p,
            None => {
                let facts = listener_facts(cx, &spec.listener).await?;
                let taken: BTreeSet<i32> =
                    facts.rules.iter().filter_map(|r| r.priority().and_then(|p| p.parse().ok())).collect();
                (FIRST_PRIORITY..=50000).find(|p| !taken.contains(p)).unwrap_or(50000)
            }
        };
        let request = cx
            .clients
            .elbv2
            .create_rule()
            .listener_arn(&spec.listener)
            .priority(priority)
            .conditions(conditions(&spec))
            .actions(forward(&spec))
            .set_tags(Some(load_balancing_tag_list(&d.tags)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateRule"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        let spec: ListenerRuleSpec = d.spec_as()?;
        let drifted = |field: &str| drift.iter().any(|f| f.field == field || f.field.starts_with(&format!("{field}.")));
        if drifted("certificate") {
            add_certificate(cx, &spec).await?;
        }
        if drifted("hosts") || drifted("targetGroup") {
            let request =
                cx.clients.elbv2.modify_rule().rule_arn(&o.id).conditions(conditions(&spec)).actions(forward(&spec));
            cx.may_mutate().await?;
            request.send().await.map_err(aws("ModifyRule"))?;
        }
        if let (true, Some(priority)) = (drifted("priority"), spec.priority) {
            let pair = RulePriorityPair::builder().rule_arn(&o.id).priority(priority).build();
            cx.may_mutate().await?;
            let request = cx.clients.elbv2.set_rule_priorities().rule_priorities(pair);
            request.send().await.map_err(aws("SetRulePriorities"))?;
        }
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.elbv2.delete_rule().rule_arn(&o.id).send().await.map_err(aws("DeleteRule"))?;
        // The certificate goes off the listener with the rule, so that it can be deleted.
        if let (Some(cert), Some(listener)) = (o.extra["certificate"].as_str(), o.extra["listener"].as_str()) {
            cx.may_mutate().await?;
            let request = cx
                .clients
                .elbv2
                .remove_listener_certificates()
                .listener_arn(listener)
                .certificates(Certificate::builder().certificate_arn(cert).build());
            request.send().await.map_err(aws("RemoveListenerCertificates"))?;
        }
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::LoadBalancing(&o.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_names_its_load_balancer() {
        let listener = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/ecs-express-gateway-alb-1/abc/def";
        assert_eq!(
            load_balancer_of(listener),
            "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/ecs-express-gateway-alb-1/abc"
        );
    }
}
