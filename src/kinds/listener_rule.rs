//! ListenerRule: a rule on a load balancer's HTTPS listener that sends a custom domain's Host
//! header to a target group, with the domain's certificate added to the listener. The second
//! step of a custom domain on an ECS Express service (AWS: "add the certificate to the HTTPS
//! listener, and a listener rule to the service's target group"); the listener is the one ECS
//! made and shares between services, so steward touches only the rule and certificate it owns.
//!
//! A pass reads, per listener: its rules (DescribeRules), the tags of rules not kept (one
//! DescribeTags), its certificates (DescribeListenerCertificates); per rule: its target group's
//! health (DescribeTargetHealth). The load balancer's DNS name is read once.

use super::apprunner_custom_domain::DOMAIN;
use super::tagging::{load_balancing_tag_list, load_balancing_tags};
use super::typed::prelude::*;
use crate::model::tags::owns;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, HostHeaderConditionConfig, Rule, RuleCondition, RulePriorityPair,
    TargetHealthStateEnum,
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerRuleSpec {
    /// The HTTPS listener's ARN (the one ECS Express made for the service).
    #[field(shape = arn(), create_only)]
    pub listener: String,
    /// The domains whose Host header it matches (compared in lower case).
    #[field(shape = list(string(DOMAIN), 1, 5), set)]
    pub hosts: Vec<String>,
    /// The target group it forwards to.
    #[field(shape = arn())]
    pub target_group: String,
    /// The certificate added to the listener for these hosts.
    #[field(shape = arn())]
    pub certificate: Option<String>,
    /// Its priority on the listener; left out, the first free one from 1000 (below it, ECS
    /// Express numbers its own rules).
    #[field(shape = int(1, 50000))]
    pub priority: Option<i32>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerRuleOutputs {
    #[field(doc = "the rule's ARN")]
    pub arn: String,
    #[field(doc = "the load balancer's DNS name, for the domain's CNAME")]
    pub dns_target: String,
    #[field(doc = "the load balancer's ARN")]
    pub load_balancer: String,
}

/// What a pass learns beside the rule's configuration.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleFacts {
    /// Healthy targets in its target group: traffic may come only once there is one.
    healthy_targets: usize,
    /// The certificate it added to the listener, taken off with the rule.
    certificate: Option<String>,
}

pub struct ListenerRule;
pub static ADAPTER: Typed<ListenerRule> = Typed::new(ListenerRule);

/// Where steward starts looking for a free priority: below it, ECS Express numbers its own rules.
const FIRST_PRIORITY: i32 = 1000;

/// What the observed configuration says of a certificate the spec names but the listener lacks.
const NOT_ON_LISTENER: &str = "(not on the listener)";

#[async_trait::async_trait]
impl TypedKind for ListenerRule {
    type Spec = ListenerRuleSpec;
    type View = Self::Spec;
    type Outputs = ListenerRuleOutputs;
    type Memo = ();
    type Facts = RuleFacts;
    const TAGGED: TagsAt = Some(|arn| Tagged::LoadBalancing(arn));
    const ACTIONS: &'static [&'static str] = crate::actions!("elasticloadbalancing": DescribeLoadBalancers,
        DescribeRules, DescribeListenerCertificates, DescribeTargetHealth, DescribeTags, CreateRule, ModifyRule,
        SetRulePriorities, DeleteRule, AddListenerCertificates, RemoveListenerCertificates, AddTags, RemoveTags);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let mut listeners: BTreeMap<&str, ListenerFacts> = BTreeMap::new();
        let mut out = Vec::new();
        for want in wanted {
            let spec = &want.spec;
            if !listeners.contains_key(spec.listener.as_str()) {
                listeners.insert(&spec.listener, listener_facts(cx, &spec.listener).await?);
            }
            let facts = &listeners[spec.listener.as_str()];
            let hosts = lower_case_set(&spec.hosts);
            let tags_of = |r: &Rule| facts.tags.get(r.rule_arn().unwrap_or_default()).cloned().unwrap_or_default();
            // Steward's own rule (by tags, whatever its hosts now are), else a rule of someone
            // else's for the same hosts: reported, never touched.
            let rule = facts
                .rules
                .iter()
                .find(|r| owns(&tags_of(r), want.key()))
                .or_else(|| facts.rules.iter().find(|r| hosts_of(r) == hosts));
            let Some(rule) = rule else { continue };
            let target_group = target_group_of(rule).unwrap_or_default().to_string();
            let healthy_targets = if target_group.is_empty() { 0 } else { healthy_targets(cx, &target_group).await? };
            let certificate = spec.certificate.as_ref().map(|cert| match facts.certificates.contains(cert) {
                true => cert.clone(),
                false => NOT_ON_LISTENER.to_string(),
            });
            let config = ListenerRuleSpec {
                listener: spec.listener.clone(),
                hosts: hosts_of(rule).into_iter().collect(),
                target_group,
                certificate,
                priority: rule.priority().and_then(|p| p.parse().ok()),
            };
            let load_balancer = load_balancer_of(&spec.listener);
            let arn = rule.rule_arn().unwrap_or_default().to_string();
            let outputs = ListenerRuleOutputs {
                arn: arn.clone(),
                dns_target: dns_name(cx, &load_balancer).await?,
                load_balancer,
            };
            let facts = RuleFacts { healthy_targets, certificate: spec.certificate.clone() };
            let seen = Seen { id: arn, state: ObjectState::Ready, config, tags: tags_of(rule), facts, outputs };
            out.push((want.key().clone(), seen));
        }
        Ok(out)
    }

    /// Hosts as AWS keeps them: in lower case, each once.
    fn compared(mut spec: ListenerRuleSpec, _desired: &Desired) -> ListenerRuleSpec {
        spec.hosts = lower_case_set(&spec.hosts).into_iter().collect();
        spec
    }

    /// Traffic may be sent here only when the target group has a healthy target.
    fn ready_for_dependents(seen: &Seen<Self>) -> bool {
        seen.state == ObjectState::Ready && seen.facts.healthy_targets > 0
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let spec = &want.spec;
        add_certificate(cx, spec).await?;
        let priority = match spec.priority {
            Some(p) => p,
            None => {
                let facts = listener_facts(cx, &spec.listener).await?;
                let taken: BTreeSet<i32> =
                    facts.rules.iter().filter_map(|r| r.priority().and_then(|p| p.parse().ok())).collect();
                (FIRST_PRIORITY..=50000).find(|p| !taken.contains(p)).unwrap_or(50000)
            }
        };
        let request = cx.clients.elbv2.create_rule().listener_arn(&spec.listener).priority(priority);
        let request = request.conditions(conditions(spec)).actions(forward(spec));
        let request = request.set_tags(Some(load_balancing_tag_list(&want.desired.tags)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateRule"))?;
        Ok(())
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        let spec = &want.spec;
        let drifted = |field: &str| drift.iter().any(|f| f.field == field || f.field.starts_with(&format!("{field}.")));
        if drifted("certificate") {
            add_certificate(cx, spec).await?;
        }
        if drifted("hosts") || drifted("targetGroup") {
            let request = cx.clients.elbv2.modify_rule().rule_arn(&seen.id);
            let request = request.conditions(conditions(spec)).actions(forward(spec));
            cx.may_mutate().await?;
            request.send().await.map_err(aws("ModifyRule"))?;
        }
        if let (true, Some(priority)) = (drifted("priority"), spec.priority) {
            let pair = RulePriorityPair::builder().rule_arn(&seen.id).priority(priority).build();
            cx.may_mutate().await?;
            let request = cx.clients.elbv2.set_rule_priorities().rule_priorities(pair);
            request.send().await.map_err(aws("SetRulePriorities"))?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.elbv2.delete_rule().rule_arn(&seen.id).send().await.map_err(aws("DeleteRule"))?;
        // The certificate goes off the listener with the rule, so that it can be deleted.
        if let Some(cert) = &seen.facts.certificate {
            let request = cx.clients.elbv2.remove_listener_certificates().listener_arn(&seen.config.listener);
            let request = request.certificates(Certificate::builder().certificate_arn(cert).build());
            cx.may_mutate().await?;
            request.send().await.map_err(aws("RemoveListenerCertificates"))?;
        }
        Ok(())
    }
}

/// The load balancer of a listener ARN (`…:listener/app/NAME/LB/LISTENER` →
/// `…:loadbalancer/app/NAME/LB`).
fn load_balancer_of(listener: &str) -> String {
    let lb = listener.replacen(":listener/", ":loadbalancer/", 1);
    lb.rsplit_once('/').map_or(lb.clone(), |(head, _)| head.to_string())
}

fn lower_case_set(hosts: &[String]) -> BTreeSet<String> {
    hosts.iter().map(|h| h.to_ascii_lowercase()).collect()
}

fn hosts_of(rule: &Rule) -> BTreeSet<String> {
    let host_conditions = rule.conditions().iter().filter(|c| c.field() == Some("host-header"));
    let values = host_conditions.flat_map(|c| c.host_header_config().map_or(c.values(), |h| h.values()));
    values.map(|h| h.to_ascii_lowercase()).collect()
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
    let pages = cx.clients.elbv2.describe_rules().listener_arn(listener).into_paginator().send();
    let pages: Result<Vec<_>, _> = pages.collect().await;
    let pages = pages.map_err(aws("DescribeRules"))?;
    let rules: Vec<Rule> =
        pages.iter().flat_map(|p| p.rules()).filter(|r| r.is_default() != Some(true)).cloned().collect();
    let arns: Vec<String> = rules.iter().filter_map(|r| r.rule_arn()).map(str::to_string).collect();
    let tags = load_balancing_tags(cx, &arns).await?;
    let pages = cx.clients.elbv2.describe_listener_certificates().listener_arn(listener).into_paginator().send();
    let pages: Result<Vec<_>, _> = pages.collect().await;
    let pages = pages.map_err(aws("DescribeListenerCertificates"))?;
    let certificates = pages.iter().flat_map(|p| p.certificates()).filter_map(|c| c.certificate_arn());
    Ok(ListenerFacts { rules, tags, certificates: certificates.map(str::to_string).collect() })
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
    cx.cache.details.lock().unwrap().insert(key, (name.clone(), serde_json::Value::Null));
    Ok(name)
}

fn conditions(spec: &ListenerRuleSpec) -> RuleCondition {
    let hosts =
        HostHeaderConditionConfig::builder().set_values(Some(lower_case_set(&spec.hosts).into_iter().collect()));
    RuleCondition::builder().field("host-header").host_header_config(hosts.build()).build()
}

fn forward(spec: &ListenerRuleSpec) -> Action {
    Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&spec.target_group).build()
}

async fn add_certificate(cx: &Cx<'_>, spec: &ListenerRuleSpec) -> Result<(), ReconcileError> {
    let Some(cert) = &spec.certificate else { return Ok(()) };
    let certificate = Certificate::builder().certificate_arn(cert).build();
    let request = cx.clients.elbv2.add_listener_certificates().listener_arn(&spec.listener).certificates(certificate);
    cx.may_mutate().await?;
    request.send().await.map_err(aws("AddListenerCertificates"))?;
    Ok(())
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
