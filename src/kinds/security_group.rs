//! SecurityGroup: an EC2 security group in the stack's VPC, its rules as sets. Ingress is exact
//! (a spec without `ingress` wants none); egress is AWS's (allow all) unless the spec lists it,
//! and exact once it does. One DescribeSecurityGroups a pass finds every group of the pass's VPCs
//! by name, so that a group of the same name steward does not own is reported, not duplicated.

use super::ec2::in_use;
use super::tagging::{ec2_tag_list, tag_map};
use super::typed::prelude::*;
use crate::schema::Checker;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range, ResourceType, TagSpecification, UserIdGroupPair};
use serde_json::Value as Json;

/// EC2's rule for a group name (and a description): up to 255 characters, not `sg-…`.
const GROUP_TEXT: StrRule = StrRule {
    expected: "1 to 255 letters, digits, spaces or ._-:/()#,@[]+=&;{}!$* (not starting with sg-)",
    check: |s| {
        (1..=255).contains(&s.len()) && !s.starts_with("sg-") && s.chars().all(name_char(" ._-:/()#,@[]+=&;{}!$*"))
    },
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityGroupSpec {
    /// Its name in the VPC (`default` is the VPC's own group, which stays AWS's).
    #[field(shape = string(GROUP_TEXT), create_only, tf = "name")]
    pub group_name: String,
    /// What it is for ("Managed by steward" unless the spec says).
    #[serde(default = "managed_by_steward")]
    #[field(shape = string(GROUP_TEXT), create_only, tf = "description")]
    pub description: String,
    /// Who may connect: every rule, and no other (none unless the spec lists them).
    #[serde(default)]
    #[field(shape = list(Rule::shape(), 0, 60), set)]
    pub ingress: Vec<Rule>,
    /// Where it may connect: every rule and no other once listed; left out, AWS's allow-all.
    #[field(shape = list(Rule::shape(), 0, 60), set)]
    pub egress: Option<Vec<Rule>>,
}

/// One rule: a protocol and port range, and one source or destination (shown without the
/// members it does not have).
#[derive(Declared, Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// tcp, udp, icmp, icmpv6, or -1 (all).
    #[field(shape = Shape::Enum(&["tcp", "udp", "icmp", "icmpv6", "-1"]))]
    pub ip_protocol: String,
    #[field(shape = int(-1, 65535))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    #[field(shape = int(-1, 65535))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_ipv4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_ipv6: Option<String>,
    /// Another group, by id or `${SecurityGroup/name.id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referenced_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct SecurityGroupOutputs {
    #[field(doc = "the group's id")]
    pub id: String,
}

pub struct SecurityGroup;
pub static ADAPTER: Typed<SecurityGroup> = Typed::new(SecurityGroup);

#[async_trait::async_trait]
impl TypedKind for SecurityGroup {
    type Spec = SecurityGroupSpec;
    type View = Self::Spec;
    type Outputs = SecurityGroupOutputs;
    type Memo = ();
    type Facts = ();
    const TAGGED: TagsAt = Some(|id| Tagged::Ec2(id));
    const REPLACED_BY_DELETING: bool = true;
    const ACTIONS: &'static [&'static str] = crate::actions!("ec2": DescribeSecurityGroups, CreateSecurityGroup,
        AuthorizeSecurityGroupIngress, AuthorizeSecurityGroupEgress, RevokeSecurityGroupIngress,
        RevokeSecurityGroupEgress, DeleteSecurityGroup, DescribeNetworkInterfaces, CreateTags, DeleteTags);

    fn check(spec: &SecurityGroupSpec, c: &mut Checker) {
        if spec.group_name == "default" {
            c.error_at("groupName", "the VPC's default group is AWS's: name another group");
        }
        let rules =
            spec.ingress.iter().map(|r| ("ingress", r)).chain(spec.egress.iter().flatten().map(|r| ("egress", r)));
        for (i, (side, rule)) in rules.enumerate() {
            let sources = [&rule.cidr_ipv4, &rule.cidr_ipv6, &rule.referenced_group_id];
            if sources.iter().filter(|s| s.is_some()).count() != 1 {
                c.error_at(&format!("{side}[{i}]"), "expected exactly one of cidrIpv4, cidrIpv6, referencedGroupId");
            }
            if ["tcp", "udp"].contains(&rule.ip_protocol.as_str())
                && (rule.from_port.is_none() || rule.to_port.is_none())
            {
                c.error_at(&format!("{side}[{i}]"), "expected fromPort and toPort for tcp and udp");
            }
        }
    }

    /// A rule the spec does not have, added to either side, is critical: it opens the group
    /// (port 22 from 0.0.0.0/0) or lets it reach what it should not.
    fn critical(field: &str, desired: &Json, actual: &Json) -> bool {
        let rules = |v: &Json| serde_json::from_value::<Vec<Rule>>(v.clone()).unwrap_or_default();
        let (wanted, found) = (rules(desired), rules(actual));
        ["ingress", "egress"].contains(&field) && found.iter().any(|r| !wanted.contains(r))
    }

    /// A rule for all protocols has no ports, as EC2 keeps it.
    fn compared(mut spec: SecurityGroupSpec, _desired: &Desired) -> SecurityGroupSpec {
        spec.ingress = spec.ingress.into_iter().map(as_kept).collect();
        spec.egress = spec.egress.map(|rules| rules.into_iter().map(as_kept).collect());
        spec
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let filter = |name: &str, values: BTreeSet<&str>| {
            Filter::builder().name(name).set_values(Some(values.into_iter().map(str::to_string).collect())).build()
        };
        let request = cx.clients.ec2.describe_security_groups();
        let request = request.filters(filter("vpc-id", wanted.iter().map(|w| w.desired.vpc_id.as_str()).collect()));
        let request =
            request.filters(filter("group-name", wanted.iter().map(|w| w.spec.group_name.as_str()).collect()));
        let groups: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
        let mut out = Vec::new();
        for g in groups.map_err(aws("DescribeSecurityGroups"))? {
            let name = g.group_name().unwrap_or_default();
            let Some(want) = wanted.iter().find(|w| w.spec.group_name == name && g.vpc_id() == Some(&w.desired.vpc_id))
            else {
                continue;
            };
            let config = SecurityGroupSpec {
                group_name: name.to_string(),
                description: g.description().unwrap_or_default().to_string(),
                ingress: rules_of(g.ip_permissions()),
                egress: want.spec.egress.as_ref().map(|_| rules_of(g.ip_permissions_egress())),
            };
            let id = g.group_id().unwrap_or_default().to_string();
            let tags = tag_map(g.tags().iter().map(|t| (t.key(), t.value())));
            let outputs = SecurityGroupOutputs { id: id.clone() };
            out.push((want.key().clone(), Seen::new(id, ObjectState::Ready, config, tags, outputs)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let tags = TagSpecification::builder().resource_type(ResourceType::SecurityGroup);
        let request = cx.clients.ec2.create_security_group().group_name(&want.spec.group_name);
        let request = request.description(&want.spec.description).vpc_id(&want.desired.vpc_id);
        let request = request.tag_specifications(tags.set_tags(Some(ec2_tag_list(&want.desired.tags))).build());
        cx.may_mutate().await?;
        // Made before a crash, it is found by its tags next pass, and its rules follow as drift.
        let Some(made) = unless(request.send().await.map_err(aws("CreateSecurityGroup")), &["InvalidGroup.Duplicate"])?
        else {
            return Ok(());
        };
        let id = made.group_id().unwrap_or_default();
        let spec = Self::compared(want.spec.clone(), want.desired);
        let new = |egress| if egress { vec![allow_all()] } else { Vec::new() };
        set_rules(cx, id, false, &new(false), &spec.ingress).await?;
        match &spec.egress {
            Some(egress) => set_rules(cx, id, true, &new(true), egress).await,
            None => Ok(()),
        }
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        let spec = Self::compared(want.spec.clone(), want.desired);
        set_rules(cx, &seen.id, false, &seen.config.ingress, &spec.ingress).await?;
        if let (Some(have), Some(need)) = (&seen.config.egress, &spec.egress) {
            set_rules(cx, &seen.id, true, have, need).await?;
        }
        Ok(())
    }

    /// A group something still uses waits, and says what uses it.
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let deleted = cx.clients.ec2.delete_security_group().group_id(&seen.id).send().await;
        match unless(deleted.map_err(aws("DeleteSecurityGroup")), &["InvalidGroup.NotFound"]) {
            Err(e) if e.code() == Some("DependencyViolation") => {
                Err(in_use(cx, "DeleteSecurityGroup", "group-id", &seen.id).await?.into())
            }
            other => other.map(drop),
        }
    }
}

/// Revokes what `have` holds beyond `need` and authorizes what it lacks (each call idempotent:
/// a rule already there or already gone is what was wanted).
async fn set_rules(cx: &Cx<'_>, id: &str, egress: bool, have: &[Rule], need: &[Rule]) -> Result<(), ReconcileError> {
    for rule in have.iter().filter(|r| !need.contains(r)) {
        cx.may_mutate().await?;
        let revoked = if egress {
            let request = cx.clients.ec2.revoke_security_group_egress().group_id(id).ip_permissions(permission(rule));
            request.send().await.map(drop).map_err(aws("RevokeSecurityGroupEgress"))
        } else {
            let request = cx.clients.ec2.revoke_security_group_ingress().group_id(id).ip_permissions(permission(rule));
            request.send().await.map(drop).map_err(aws("RevokeSecurityGroupIngress"))
        };
        unless(revoked, &["InvalidPermission.NotFound"])?;
    }
    for rule in need.iter().filter(|r| !have.contains(r)) {
        cx.may_mutate().await?;
        let authorized = if egress {
            let request =
                cx.clients.ec2.authorize_security_group_egress().group_id(id).ip_permissions(permission(rule));
            request.send().await.map(drop).map_err(aws("AuthorizeSecurityGroupEgress"))
        } else {
            let request =
                cx.clients.ec2.authorize_security_group_ingress().group_id(id).ip_permissions(permission(rule));
            request.send().await.map(drop).map_err(aws("AuthorizeSecurityGroupIngress"))
        };
        unless(authorized, &["InvalidPermission.Duplicate"])?;
    }
    Ok(())
}

/// The rules of EC2's permissions: one per source, each with its own description.
fn rules_of(permissions: &[IpPermission]) -> Vec<Rule> {
    let mut rules = Vec::new();
    for p in permissions {
        let rule =
            |cidr_ipv4: Option<&str>, cidr_ipv6: Option<&str>, group: Option<&str>, description: Option<&str>| {
                as_kept(Rule {
                    ip_protocol: p.ip_protocol().unwrap_or("-1").to_string(),
                    from_port: p.from_port(),
                    to_port: p.to_port(),
                    cidr_ipv4: cidr_ipv4.map(str::to_string),
                    cidr_ipv6: cidr_ipv6.map(str::to_string),
                    referenced_group_id: group.map(str::to_string),
                    description: description.filter(|d| !d.is_empty()).map(str::to_string),
                })
            };
        rules.extend(p.ip_ranges().iter().map(|r| rule(r.cidr_ip(), None, None, r.description())));
        rules.extend(p.ipv6_ranges().iter().map(|r| rule(None, r.cidr_ipv6(), None, r.description())));
        rules.extend(p.user_id_group_pairs().iter().map(|g| rule(None, None, g.group_id(), g.description())));
    }
    rules.sort();
    rules
}

/// A rule as EC2 keeps it: all protocols have no ports.
fn as_kept(mut rule: Rule) -> Rule {
    if rule.ip_protocol == "-1" {
        (rule.from_port, rule.to_port) = (None, None);
    }
    rule
}

/// The egress rule EC2 gives every new group.
fn allow_all() -> Rule {
    Rule { ip_protocol: "-1".into(), cidr_ipv4: Some("0.0.0.0/0".into()), ..Rule::default() }
}

fn permission(rule: &Rule) -> IpPermission {
    let description = rule.description.clone();
    let ipv4 =
        rule.cidr_ipv4.as_ref().map(|c| IpRange::builder().cidr_ip(c).set_description(description.clone()).build());
    let ipv6 =
        rule.cidr_ipv6.as_ref().map(|c| Ipv6Range::builder().cidr_ipv6(c).set_description(description.clone()).build());
    let group = rule
        .referenced_group_id
        .as_ref()
        .map(|g| UserIdGroupPair::builder().group_id(g).set_description(description).build());
    let permission =
        IpPermission::builder().ip_protocol(&rule.ip_protocol).set_from_port(rule.from_port).set_to_port(rule.to_port);
    permission
        .set_ip_ranges(ipv4.map(|r| vec![r]))
        .set_ipv6_ranges(ipv6.map(|r| vec![r]))
        .set_user_id_group_pairs(group.map(|g| vec![g]))
        .build()
}

fn managed_by_steward() -> String {
    "Managed by steward".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_is_one_rule_per_source_and_a_rule_makes_its_permission_back() {
        let rule = |cidr: &str, description: Option<&str>| Rule {
            ip_protocol: "tcp".into(),
            from_port: Some(6379),
            to_port: Some(6379),
            cidr_ipv4: Some(cidr.into()),
            description: description.map(str::to_string),
            ..Rule::default()
        };
        let two = IpPermission::builder().ip_protocol("tcp").from_port(6379).to_port(6379);
        let two = two.ip_ranges(IpRange::builder().cidr_ip("10.0.2.0/24").description("").build());
        let two = two.ip_ranges(IpRange::builder().cidr_ip("10.0.1.0/24").description("intra").build()).build();
        assert_eq!(rules_of(&[two]), [rule("10.0.1.0/24", Some("intra")), rule("10.0.2.0/24", None)]);
        let by_group = Rule { ip_protocol: "-1".into(), referenced_group_id: Some("sg-1".into()), ..Rule::default() };
        for r in [rule("10.0.1.0/24", Some("intra")), by_group, allow_all()] {
            assert_eq!(rules_of(&[permission(&r)]), vec![r.clone()], "{r:?}");
        }
        let all_with_ports = Rule { from_port: Some(0), to_port: Some(65535), ..allow_all() };
        assert_eq!(as_kept(all_with_ports), allow_all(), "all protocols have no ports");
    }
}
