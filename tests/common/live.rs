//! A converged Mentor Match stack on moto and the emulator, and the clients a test uses to break
//! it out of band the way a person would.
#![allow(dead_code)]

use super::{FaultProxy, REGION, World, http, repo_path, runtime, start_emulator, start_fault_proxy};

use serde_json::Value;
use std::process::Command;

/// The role of the on-call person who changes things out of band in the tests.
pub const PERSON_ROLE: &str = "oncall";

pub struct Live {
    pub world: World,
    pub network: Value,
    pub sdk: aws_config::SdkConfig,
}

impl Live {
    /// Network foundation, table, the Mentor Match desired state applied and reconciled.
    pub fn start() -> Live {
        let live = Live::prepared();
        live.converge();
        live
    }

    /// Network foundation, table and the Mentor Match desired state applied; nothing reconciled.
    pub fn prepared() -> Live {
        Live::prepared_with("desired-state/mentor-match")
    }

    /// Network foundation, table and the desired state in `folder` (of the repository) applied.
    pub fn prepared_with(folder: &str) -> Live {
        Live::prepared_in(World::new(), folder)
    }

    /// `prepared_with`, in the account of `world` (the demo's, for the demo's own scripts).
    pub fn prepared_in(mut world: World, folder: &str) -> Live {
        world.emulator = Some(start_emulator(50));
        let network = Command::new("python3")
            .arg(repo_path("bootstrap/local-network.py"))
            .envs(world.command(&[]).get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
            .env("AWS_DEFAULT_REGION", REGION)
            .output()
            .unwrap();
        assert!(network.status.success(), "{}", String::from_utf8_lossy(&network.stderr));
        let network: Value = serde_json::from_slice(&network.stdout).unwrap();
        world.ok(&["bootstrap"]);
        world.ok(&["apply", "-f", repo_path(folder).to_str().unwrap()]);
        let sdk = world.sdk();
        Live { world, network, sdk }
    }

    /// An SDK configuration for a second principal of the test's account (the on-call person,
    /// session `alice`), calling through `endpoint` (the proxy, so that its writes are in the trail).
    pub fn person(&self, endpoint: &str) -> aws_config::SdkConfig {
        let role = format!("arn:aws:iam::{}:role/{PERSON_ROLE}", self.world.account.id);
        let sts = aws_sdk_sts::Client::new(&self.sdk);
        let creds = self
            .block(sts.assume_role().role_arn(role).role_session_name("alice").send())
            .unwrap()
            .credentials
            .unwrap();
        runtime().block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(REGION))
                .endpoint_url(endpoint)
                .credentials_provider(aws_sdk_sts::config::Credentials::new(
                    creds.access_key_id,
                    creds.secret_access_key,
                    Some(creds.session_token),
                    None,
                    "person",
                ))
                .load(),
        )
    }

    /// A fault proxy playing CloudTrail, and the events queue with its rules.
    pub fn trail_and_queue(&self) -> (FaultProxy, String) {
        let proxy = start_fault_proxy(self.emulator_url());
        http("POST", &format!("{}/_fault-proxy/trail", proxy.url()), r#"{"enabled": true}"#);
        (proxy, self.events_queue())
    }

    /// `steward run` with AWS events on (its calls through a proxy that plays CloudTrail, the
    /// events queue polled), the stack's resync at 10 minutes so that only events find drift.
    pub fn daemon_with_events(&self) -> (super::Daemon, FaultProxy, String) {
        self.apply_with_resync("10m");
        let (proxy, queue) = self.trail_and_queue();
        let mut env = proxy.endpoint_env();
        env.push(("STEWARD_EVENTS_QUEUE", queue.as_str()));
        // moto serves one request at a time: a long poll would hold everyone else up.
        env.push(("STEWARD_EVENTS_WAIT", "0"));
        let daemon = self.world.daemon_with_env("a", &["--lease-duration", "6s", "--lease-renew", "2s"], &env);
        (daemon, proxy, queue)
    }

    /// The events queue and rules of bootstrap/local-events.py; the queue's URL.
    pub fn events_queue(&self) -> String {
        let out = Command::new("python3")
            .arg(repo_path("bootstrap/local-events.py"))
            .envs(self.world.command(&[]).get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
            .env("AWS_DEFAULT_REGION", REGION)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let made: Value = serde_json::from_slice(&out.stdout).unwrap();
        made["queueUrl"].as_str().unwrap().to_string()
    }

    /// Applies a copy of the seed with another resync interval; the copy's folder.
    pub fn apply_with_resync(&self, resync: &str) -> std::path::PathBuf {
        let dir = self.world.seed_copy();
        super::replace_in(&dir.join("stack.yaml"), "resync: 60s", &format!("resync: {resync}"));
        self.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
        dir
    }

    /// `diff --live -o json`: its exit code and one entry per resource.
    pub fn plan(&self) -> (i32, Vec<Value>) {
        let run = self.world.run(&["diff", "--live", "-o", "json"]);
        let entries: Value = serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()));
        (run.code(), entries.as_array().unwrap().clone())
    }

    /// Resizes the Redis cluster out of band (it goes `modifying`).
    pub fn resize_redis(&self, node_type: &str) {
        let request = self
            .elasticache()
            .modify_cache_cluster()
            .cache_cluster_id("mentor-match-redis")
            .cache_node_type(node_type)
            .apply_immediately(true);
        self.block(request.send()).unwrap();
    }

    /// Changes the web service's image and env out of band (FLASK_ENV=production); the answer.
    pub fn change_web_env(&self) -> Value {
        let arn = self.output("AppRunnerService/mmweb", "arn");
        let change = serde_json::json!({
            "service": "apprunner", "region": "eu-west-1", "operation": "UpdateService",
            "input": { "ServiceArn": arn, "SourceConfiguration": {
                "ImageRepository": { "ImageIdentifier": "public.ecr.aws/x/y:latest", "ImageRepositoryType": "ECR_PUBLIC",
                    "ImageConfiguration": { "Port": "5000", "RuntimeEnvironmentVariables": { "FLASK_ENV": "production" } } },
                "AutoDeploymentsEnabled": false } }
        });
        self.admin("POST", "/_emulator/out-of-band", &change.to_string())
    }

    /// Changes one CNAME record of the hosted zone out of band.
    pub fn change_record(&self, action: aws_sdk_route53::types::ChangeAction, name: &str, ttl: i64, value: &str) {
        use aws_sdk_route53::types::{Change, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
        let set = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(ttl)
            .resource_records(ResourceRecord::builder().value(value).build().unwrap())
            .build()
            .unwrap();
        let change = Change::builder().action(action).resource_record_set(set).build().unwrap();
        let batch = ChangeBatch::builder().changes(change).build().unwrap();
        let zone = self.network["hostedZoneId"].as_str().unwrap();
        let request = aws_sdk_route53::Client::new(&self.sdk).change_resource_record_sets().hosted_zone_id(zone);
        self.block(request.change_batch(batch).send()).unwrap();
    }

    pub fn emulator_url(&self) -> &str {
        &self.world.emulator.as_ref().unwrap().url
    }

    /// One reconcile pass; its JSON event lines.
    pub fn pass(&self) -> Vec<Value> {
        events(&self.world.ok(&["reconcile"]))
    }

    /// Passes until converged (generous bound); the event lines of all of them.
    pub fn converge(&self) -> Vec<Value> {
        events(&self.world.ok(&["reconcile", "--wait", "--timeout", "180s"]))
    }

    /// Every resource Ready, as the controller last recorded it.
    pub fn is_converged(&self) -> bool {
        let all: Value = serde_json::from_str(&self.world.ok(&["status", "-o", "json"])).unwrap();
        let items = all.as_array().unwrap();
        !items.is_empty() && items.iter().all(|i| i["status"]["phase"] == "Ready")
    }

    pub fn status(&self, target: &str) -> Value {
        let all: Value = serde_json::from_str(&self.world.ok(&["status", target, "-o", "json"])).unwrap();
        all[0]["status"].clone()
    }

    pub fn output(&self, target: &str, name: &str) -> String {
        self.status(target)["outputs"][name].as_str().unwrap_or_default().to_string()
    }

    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk)
    }

    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.sdk)
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.sdk)
    }

    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn elasticache(&self) -> aws_sdk_elasticache::Client {
        let conf = aws_sdk_elasticache::config::Builder::from(&self.sdk).endpoint_url(self.emulator_url()).build();
        aws_sdk_elasticache::Client::from_conf(conf)
    }

    pub fn apprunner(&self) -> aws_sdk_apprunner::Client {
        let conf = aws_sdk_apprunner::config::Builder::from(&self.sdk).endpoint_url(self.emulator_url()).build();
        aws_sdk_apprunner::Client::from_conf(conf)
    }

    pub fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk)
    }

    pub fn acm(&self) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::new(&self.sdk)
    }

    /// The values of a CNAME record of the hosted zone (none when it is missing).
    pub fn cname(&self, name: &str) -> Vec<String> {
        let zone = self.network["hostedZoneId"].as_str().unwrap();
        let route53 = aws_sdk_route53::Client::new(&self.sdk);
        let sets = self.block(route53.list_resource_record_sets().hosted_zone_id(zone).send()).unwrap();
        let wanted = format!("{}.", name.trim_end_matches('.'));
        let set = sets.resource_record_sets().iter().find(|s| s.name() == wanted && s.r#type().as_str() == "CNAME");
        set.map(|s| s.resource_records().iter().map(|r| r.value().trim_end_matches('.').to_string()).collect())
            .unwrap_or_default()
    }

    /// ECS through the emulator: Express Mode there, the rest of ECS passed on to moto.
    pub fn express(&self) -> aws_sdk_ecs::Client {
        let conf = aws_sdk_ecs::config::Builder::from(&self.sdk).endpoint_url(self.emulator_url()).build();
        aws_sdk_ecs::Client::from_conf(conf)
    }

    pub fn admin(&self, method: &str, path: &str, body: &str) -> Value {
        http(method, &format!("{}{path}", self.emulator_url()), body)
    }

    pub fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        runtime().block_on(f)
    }

    /// The App Runner service's environment variables as AWS has them.
    pub fn web_env(&self) -> std::collections::HashMap<String, String> {
        let ar = self.apprunner();
        let arn = self.output("AppRunnerService/mmweb", "arn");
        let out = self.block(ar.describe_service().service_arn(arn).send()).unwrap();
        let service = out.service().unwrap();
        let config = service.source_configuration().unwrap().image_repository().unwrap().image_configuration().unwrap();
        config.runtime_environment_variables().cloned().unwrap_or_default()
    }

    /// The worker service and the environment of its task definition's container.
    pub fn worker(&self) -> (aws_sdk_ecs::types::Service, std::collections::HashMap<String, String>) {
        let ecs = self.ecs();
        let out = self
            .block(ecs.describe_services().cluster("celery-workers").services("mentor-match-worker").send())
            .unwrap();
        let service = out.services()[0].clone();
        let td = self
            .block(ecs.describe_task_definition().task_definition(service.task_definition().unwrap()).send())
            .unwrap();
        let env = td.task_definition().unwrap().container_definitions()[0]
            .environment()
            .iter()
            .map(|kv| (kv.name().unwrap().to_string(), kv.value().unwrap().to_string()))
            .collect();
        (service, env)
    }

    /// One object of each kind steward made, counted by ownership tags (or the only names used).
    pub fn assert_no_duplicates(&self) {
        let endpoints = self.block(self.ec2().describe_vpc_endpoints().send()).unwrap();
        let owned = |tags: &[aws_sdk_ec2::types::Tag]| tags.iter().any(|t| t.key() == Some("steward:stack"));
        let live_endpoints = endpoints
            .vpc_endpoints()
            .iter()
            .filter(|e| owned(e.tags()) && !e.state().is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted")))
            .count();
        assert_eq!(live_endpoints, 7, "VPC endpoints");
        let services = self.block(self.ecs().list_services().cluster("celery-workers").send()).unwrap();
        assert_eq!(services.service_arns().len(), 1, "ECS services");
        assert_eq!(self.block(self.ecs().list_clusters().send()).unwrap().cluster_arns().len(), 1, "ECS clusters");
        // A deleted service is still listed as DELETED for a while, as on AWS.
        let runner = self.block(self.apprunner().list_services().send()).unwrap();
        let deleted = |s: &&aws_sdk_apprunner::types::ServiceSummary| {
            s.status().is_some_and(|s| *s == aws_sdk_apprunner::types::ServiceStatus::Deleted)
        };
        assert_eq!(runner.service_summary_list().iter().filter(|s| !deleted(s)).count(), 1, "App Runner services");
        let connectors = self.block(self.apprunner().list_vpc_connectors().send()).unwrap();
        let active = connectors.vpc_connectors().iter().filter(|c| c.status().is_some_and(|s| s.as_str() == "ACTIVE"));
        assert_eq!(active.count(), 1, "VPC connectors");
        let clusters = self.block(self.elasticache().describe_cache_clusters().send()).unwrap();
        assert_eq!(clusters.cache_clusters().len(), 1, "cache clusters");
    }

    pub fn subnet(&self, zone: char) -> String {
        self.network["subnets"][format!("mentor-match-vpc-intra-{REGION}{zone}")].as_str().unwrap().to_string()
    }

    pub fn security_group(&self, name: &str) -> String {
        self.network["securityGroups"][name].as_str().unwrap().to_string()
    }
}

/// The JSON event lines of steward's stdout.
pub fn events(stdout: &str) -> Vec<Value> {
    stdout.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| v.get("event").is_some()).collect()
}

pub fn named<'a>(events: &'a [Value], event: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == event).collect()
}

/// AWS calls of a pass by service and operation, from its pass_completed event.
pub fn calls(events: &[Value]) -> Value {
    named(events, "pass_completed").last().map(|e| e["awsCalls"].clone()).unwrap_or(Value::Null)
}
