//! The objects ECS Express Mode makes around a service, made for real in moto so that any AWS
//! client (steward's custom-domain steps, a test) can look at them:
//!
//! - per VPC, one shared internet-facing load balancer (`ecs-express-gateway-alb-…`) with its own
//!   security group, an ACM certificate for the `*.ecs.REGION.on.aws` endpoints and an HTTPS
//!   listener whose default action answers 404;
//! - per service, a security group, an `ip` target group on the container port with the health
//!   check path, and a listener rule that sends the service's endpoint host to it.
//!
//! Every object is tagged `AmazonECSManaged: true` (terraform-provider-aws#47576). The cluster
//! named `default` is made if it is missing, as Express does; another missing cluster is an error.

use crate::api::{ApiError, hex};
use crate::express::{CreatePlan, Infra, MANAGED_TAG, cluster_name};
use crate::upstream::{Signer, elements, first, json, query};
use serde_json::json;

const EC2: &str = "2016-11-15";
const ELB: &str = "2015-12-01";

/// moto, as one caller in one region.
pub struct Moto<'a> {
    pub endpoint: String,
    pub caller: Option<&'a str>,
    pub region: &'a str,
}

fn server_error(e: String) -> ApiError {
    ApiError::new("ServerException", format!("Express Mode could not provision its resources: {e}"))
}

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

fn short(id: &str) -> String {
    id.rsplit('-').next().unwrap_or(id).chars().take(8).collect()
}

impl Moto<'_> {
    fn sign(&self, service: &'static str) -> Signer<'_> {
        Signer { caller: self.caller, service, region: self.region }
    }

    async fn ec2(&self, action: &str, params: &[(String, String)]) -> Result<String, String> {
        query(&self.endpoint, self.sign("ec2"), action, EC2, params).await
    }

    async fn elb(&self, action: &str, params: &[(String, String)]) -> Result<String, String> {
        query(&self.endpoint, self.sign("elasticloadbalancing"), action, ELB, params).await
    }

    /// Every page of an Elastic Load Balancing list, one answer after the other (moto pages
    /// DescribeRules by 50; AWS pages it and DescribeListenerCertificates by `Marker`).
    async fn elb_pages(&self, action: &str, params: &[(String, String)]) -> Result<String, String> {
        let mut pages = String::new();
        let mut marker: Option<String> = None;
        loop {
            let mut paged = params.to_vec();
            paged.extend(marker.take().map(|m| p("Marker", m)));
            let page = self.elb(action, &paged).await?;
            marker = elements(&page, "NextMarker").first().filter(|m| !m.is_empty()).map(|m| m.to_string());
            pages.push_str(&page);
            if marker.is_none() {
                return Ok(pages);
            }
        }
    }

    /// The cluster's ARN; `default` is made when missing.
    pub async fn cluster_arn(&self, cluster: &str) -> Result<String, ApiError> {
        let target = "AmazonEC2ContainerServiceV20141113.DescribeClusters";
        let name = cluster_name(cluster);
        let found = json(&self.endpoint, self.sign("ecs"), target, &json!({ "clusters": [name] }))
            .await
            .map_err(server_error)?;
        let active = found["clusters"].as_array().into_iter().flatten().find(|c| c["status"] == "ACTIVE");
        if let Some(arn) = active.and_then(|c| c["clusterArn"].as_str()) {
            return Ok(arn.to_string());
        }
        if name != "default" {
            return Err(ApiError::new("ClusterNotFoundException", "Cluster not found."));
        }
        let target = "AmazonEC2ContainerServiceV20141113.CreateCluster";
        let made = json(&self.endpoint, self.sign("ecs"), target, &json!({ "clusterName": "default" }))
            .await
            .map_err(server_error)?;
        made["cluster"]["clusterArn"].as_str().map(str::to_string).ok_or_else(|| server_error("no cluster ARN".into()))
    }

    async fn security_group(&self, name: &str, vpc: &str) -> Result<String, String> {
        let xml = self
            .ec2(
                "CreateSecurityGroup",
                &[
                    p("GroupName", name),
                    p("GroupDescription", "Managed by ECS Express Mode"),
                    p("VpcId", vpc),
                    p("TagSpecification.1.ResourceType", "security-group"),
                    p("TagSpecification.1.Tag.1.Key", MANAGED_TAG),
                    p("TagSpecification.1.Tag.1.Value", "true"),
                ],
            )
            .await?;
        first(&xml, "groupId")
    }

    /// The VPC's shared load balancer and HTTPS listener, made on first use.
    async fn gateway(&self, vpc: &str, subnets: &[String], infra: &mut Infra) -> Result<(), String> {
        let name = format!("ecs-express-gateway-alb-{}", short(vpc));
        let xml = match self.elb("DescribeLoadBalancers", &[p("Names.member.1", &name)]).await {
            Ok(xml) => xml,
            Err(_) => {
                let group = self.security_group(&format!("{name}-sg"), vpc).await?;
                let mut params = vec![
                    p("Name", &name),
                    p("Scheme", "internet-facing"),
                    p("Type", "application"),
                    p("SecurityGroups.member.1", group),
                    p("Tags.member.1.Key", MANAGED_TAG),
                    p("Tags.member.1.Value", "true"),
                ];
                for (i, subnet) in subnets.iter().enumerate() {
                    params.push(p(&format!("Subnets.member.{}", i + 1), subnet));
                }
                let xml = self.elb("CreateLoadBalancer", &params).await?;
                let lb = first(&xml, "LoadBalancerArn")?;
                let target = "CertificateManager.RequestCertificate";
                let domain = format!("*.ecs.{}.on.aws", self.region);
                let cert = json(
                    &self.endpoint,
                    self.sign("acm"),
                    target,
                    &json!({ "DomainName": domain, "ValidationMethod": "DNS",
                             "Tags": [{ "Key": MANAGED_TAG, "Value": "true" }] }),
                )
                .await?;
                let cert = cert["CertificateArn"].as_str().ok_or("no certificate ARN")?.to_string();
                self.elb(
                    "CreateListener",
                    &[
                        p("LoadBalancerArn", &lb),
                        p("Protocol", "HTTPS"),
                        p("Port", "443"),
                        p("Certificates.member.1.CertificateArn", cert),
                        p("DefaultActions.member.1.Type", "fixed-response"),
                        p("DefaultActions.member.1.FixedResponseConfig.StatusCode", "404"),
                        p("Tags.member.1.Key", MANAGED_TAG),
                        p("Tags.member.1.Value", "true"),
                    ],
                )
                .await?;
                xml
            }
        };
        infra.load_balancer = first(&xml, "LoadBalancerArn")?;
        infra.load_balancer_dns = first(&xml, "DNSName")?;
        let groups = elements(&xml, "SecurityGroups");
        infra.load_balancer_security_group =
            groups.first().map(|g| first(g, "member")).transpose()?.unwrap_or_default();
        let listeners = self.elb("DescribeListeners", &[p("LoadBalancerArn", &infra.load_balancer)]).await?;
        infra.listener = first(&listeners, "ListenerArn")?;
        // The listener's default certificate: with custom domains it holds others beside it.
        let certificates = self.elb_pages("DescribeListenerCertificates", &[p("ListenerArn", &infra.listener)]).await?;
        let default = elements(&certificates, "member").into_iter().find(|m| elements(m, "IsDefault") == ["true"]);
        infra.certificate = first(default.unwrap_or(&certificates), "CertificateArn")?;
        Ok(())
    }

    /// Everything a new service needs, in its subnets' VPC.
    pub async fn provision(&self, plan: &CreatePlan, vpc: &str) -> Result<Infra, ApiError> {
        self.provision_inner(plan, vpc).await.map_err(server_error)
    }

    async fn provision_inner(&self, plan: &CreatePlan, vpc: &str) -> Result<Infra, String> {
        let config = &plan.config;
        let subnets: Vec<String> = config
            .pointer("/networkConfiguration/subnets")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        let mut infra = Infra {
            subnets: subnets.clone(),
            port: config.pointer("/primaryContainer/containerPort").and_then(|v| v.as_i64()).unwrap_or(80),
            health_check_path: config.get("healthCheckPath").and_then(|v| v.as_str()).unwrap_or("/ping").to_string(),
            endpoint: format!("{}-{}.ecs.{}.on.aws", plan.name.to_ascii_lowercase(), hex(8), self.region),
            ..Infra::default()
        };
        self.gateway(vpc, &subnets, &mut infra).await?;
        infra.service_security_group = self.security_group(&format!("ecs-express-gateway-sg-{}", hex(8)), vpc).await?;
        let xml = self
            .elb(
                "CreateTargetGroup",
                &[
                    p("Name", format!("ecs-gateway-tg-{}", hex(12))),
                    p("Protocol", "HTTP"),
                    p("Port", infra.port.to_string()),
                    p("VpcId", vpc),
                    p("TargetType", "ip"),
                    p("HealthCheckPath", &infra.health_check_path),
                    p("Tags.member.1.Key", MANAGED_TAG),
                    p("Tags.member.1.Value", "true"),
                ],
            )
            .await?;
        infra.target_group = first(&xml, "TargetGroupArn")?;
        // Past the highest priority on the listener, which takes reading every page of its rules.
        let rules = self.elb_pages("DescribeRules", &[p("ListenerArn", &infra.listener)]).await?;
        let priority = elements(&rules, "Priority").iter().filter_map(|p| p.parse::<u32>().ok()).max().unwrap_or(0) + 1;
        let xml = self
            .elb(
                "CreateRule",
                &[
                    p("ListenerArn", &infra.listener),
                    p("Priority", priority.to_string()),
                    p("Conditions.member.1.Field", "host-header"),
                    p("Conditions.member.1.HostHeaderConfig.Values.member.1", &infra.endpoint),
                    p("Actions.member.1.Type", "forward"),
                    p("Actions.member.1.TargetGroupArn", &infra.target_group),
                    p("Tags.member.1.Key", MANAGED_TAG),
                    p("Tags.member.1.Value", "true"),
                ],
            )
            .await?;
        infra.rule = first(&xml, "RuleArn")?;
        Ok(infra)
    }

    /// The service's task, as one healthy target of its target group (moto reports a registered
    /// target healthy). Best effort, like the rest of what the load balancer learns.
    pub async fn register_targets(&self, infra: &Infra) {
        let ip = format!("10.0.{}.{}", rand::random_range(2..250u8), rand::random_range(2..250u8));
        let params = [
            p("TargetGroupArn", &infra.target_group),
            p("Targets.member.1.Id", ip),
            p("Targets.member.1.Port", infra.port.to_string()),
        ];
        let _ = self.elb("RegisterTargets", &params).await;
    }

    /// Takes a deleted service's own objects out (the shared load balancer stays). Best effort:
    /// what is already gone is not an error.
    pub async fn deprovision(&self, infra: &Infra) {
        let _ = self.elb("DeleteRule", &[p("RuleArn", &infra.rule)]).await;
        let _ = self.elb("DeleteTargetGroup", &[p("TargetGroupArn", &infra.target_group)]).await;
        let _ = self.ec2("DeleteSecurityGroup", &[p("GroupId", &infra.service_security_group)]).await;
    }
}
