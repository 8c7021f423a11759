//! Round trips through the real Rust SDK clients against a real emulator process.

use aws_sdk_apprunner as apprunner;
use aws_sdk_elasticache as elasticache;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Emulator {
    child: Child,
    url: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(transition_ms: u64) -> Emulator {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_steward-emulator"))
        .args(["--port", &port.to_string(), "--transition-ms", &transition_ms.to_string()])
        // No Route 53 here: custom domains wait for DNS validation, as on AWS without records.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ROUTE_53")
        .env_remove("AWS_ENDPOINT_URL_EC2")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the emulator did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Emulator { child, url: format!("http://127.0.0.1:{port}") }
}

async fn config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(url)
        .credentials_provider(elasticache::config::Credentials::new("test", "test", None, None, "test"))
        // One attempt, so that injected faults reach the test instead of the SDK's retry loop.
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

fn admin(url: &str, method: &str, path: &str, body: &str) -> serde_json::Value {
    let out = Command::new("curl").args(["-s", "-X", method, &format!("{url}{path}"), "-d", body]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Polls until `check` holds, the way SDK waiters do.
async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn subnet_group(ec: &elasticache::Client, name: &str) {
    ec.create_cache_subnet_group()
        .cache_subnet_group_name(name)
        .cache_subnet_group_description("intra")
        .subnet_ids("subnet-0123abcd")
        .subnet_ids("subnet-0123abce")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn cache_cluster_lifecycle_errors_and_tags() {
    let emu = start(100);
    let ec = elasticache::Client::new(&config(&emu.url).await);
    subnet_group(&ec, "mm-subnets").await;
    let groups = ec.describe_cache_subnet_groups().send().await.unwrap();
    assert_eq!(groups.cache_subnet_groups()[0].subnets().len(), 2);

    let created = ec
        .create_cache_cluster()
        .cache_cluster_id("mentor-match-redis")
        .engine("redis")
        .engine_version("6.2")
        .cache_node_type("cache.t4g.micro")
        .num_cache_nodes(1)
        .cache_subnet_group_name("mm-subnets")
        .security_group_ids("sg-0123abcd")
        .tags(elasticache::types::Tag::builder().key("steward:stack").value("mentor-match").build())
        .send()
        .await
        .unwrap();
    let cluster = created.cache_cluster().unwrap();
    assert_eq!(cluster.cache_cluster_status(), Some("creating"));
    let arn = cluster.arn().unwrap().to_string();
    assert_eq!(arn, "arn:aws:elasticache:eu-west-1:123456789012:cluster:mentor-match-redis");

    let duplicate = ec
        .create_cache_cluster()
        .cache_cluster_id("mentor-match-redis")
        .engine("redis")
        .cache_node_type("cache.t4g.micro")
        .num_cache_nodes(1)
        .cache_subnet_group_name("mm-subnets")
        .send()
        .await
        .unwrap_err();
    assert!(duplicate.as_service_error().unwrap().is_cache_cluster_already_exists_fault());
    let no_group = ec
        .create_cache_cluster()
        .cache_cluster_id("other")
        .engine("redis")
        .cache_node_type("cache.t4g.micro")
        .num_cache_nodes(1)
        .cache_subnet_group_name("missing")
        .send()
        .await
        .unwrap_err();
    assert!(no_group.as_service_error().unwrap().is_cache_subnet_group_not_found_fault());
    let bad_type = ec
        .create_cache_cluster()
        .cache_cluster_id("other")
        .engine("redis")
        .cache_node_type("cache.huge")
        .num_cache_nodes(1)
        .cache_subnet_group_name("mm-subnets")
        .send()
        .await
        .unwrap_err();
    assert!(bad_type.as_service_error().unwrap().is_invalid_parameter_value_exception());

    // Waiter-style polling: creating → available, with a node endpoint in the request's region.
    wait_until("available", || async {
        let out = ec
            .describe_cache_clusters()
            .cache_cluster_id("mentor-match-redis")
            .show_cache_node_info(true)
            .send()
            .await
            .unwrap();
        out.cache_clusters()[0].cache_cluster_status() == Some("available")
    })
    .await;
    let out = ec.describe_cache_clusters().show_cache_node_info(true).send().await.unwrap();
    let c = &out.cache_clusters()[0];
    let endpoint = c.cache_nodes()[0].endpoint().unwrap();
    assert!(endpoint.address().unwrap().starts_with("mentor-match-redis."), "{endpoint:?}");
    assert!(endpoint.address().unwrap().ends_with(".0001.euw1.cache.amazonaws.com"));
    assert_eq!(endpoint.port(), Some(6379));
    assert_eq!(c.engine_version(), Some("6.2.6"));
    assert_eq!(c.security_groups()[0].security_group_id(), Some("sg-0123abcd"));
    assert_eq!(c.cache_parameter_group().unwrap().cache_parameter_group_name(), Some("default.redis6.x"));

    // A modify goes through modifying with PendingModifiedValues.
    let modified = ec
        .modify_cache_cluster()
        .cache_cluster_id("mentor-match-redis")
        .cache_node_type("cache.t4g.small")
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let m = modified.cache_cluster().unwrap();
    assert_eq!(m.cache_cluster_status(), Some("modifying"));
    assert_eq!(m.pending_modified_values().unwrap().cache_node_type(), Some("cache.t4g.small"));
    let busy = ec
        .modify_cache_cluster()
        .cache_cluster_id("mentor-match-redis")
        .cache_node_type("cache.t4g.medium")
        .apply_immediately(true)
        .send()
        .await
        .unwrap_err();
    assert!(busy.as_service_error().unwrap().is_invalid_cache_cluster_state_fault());
    wait_until("modified", || async {
        let out = ec.describe_cache_clusters().cache_cluster_id("mentor-match-redis").send().await.unwrap();
        out.cache_clusters()[0].cache_node_type() == Some("cache.t4g.small")
    })
    .await;

    // Tags by ARN.
    ec.add_tags_to_resource()
        .resource_name(&arn)
        .tags(elasticache::types::Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    let tags = ec.list_tags_for_resource().resource_name(&arn).send().await.unwrap();
    assert_eq!(tags.tag_list().len(), 2);
    ec.remove_tags_from_resource().resource_name(&arn).tag_keys("team").send().await.unwrap();
    assert_eq!(ec.list_tags_for_resource().resource_name(&arn).send().await.unwrap().tag_list().len(), 1);
    let bad_arn = ec.list_tags_for_resource().resource_name("not-an-arn").send().await.unwrap_err();
    assert!(bad_arn.as_service_error().unwrap().is_invalid_arn_fault());

    // The subnet group is in use while the cluster exists.
    let in_use = ec.delete_cache_subnet_group().cache_subnet_group_name("mm-subnets").send().await.unwrap_err();
    assert_eq!(in_use.as_service_error().unwrap().meta().code(), Some("CacheSubnetGroupInUse"));

    // A delete goes deleting, then the cluster is gone.
    let deleted = ec.delete_cache_cluster().cache_cluster_id("mentor-match-redis").send().await.unwrap();
    assert_eq!(deleted.cache_cluster().unwrap().cache_cluster_status(), Some("deleting"));
    wait_until("gone", || async {
        match ec.describe_cache_clusters().cache_cluster_id("mentor-match-redis").send().await {
            Err(e) => e.as_service_error().is_some_and(|e| e.is_cache_cluster_not_found_fault()),
            Ok(_) => false,
        }
    })
    .await;
    ec.modify_cache_subnet_group()
        .cache_subnet_group_name("mm-subnets")
        .subnet_ids("subnet-0123abcf")
        .send()
        .await
        .unwrap();
    ec.delete_cache_subnet_group().cache_subnet_group_name("mm-subnets").send().await.unwrap();
    assert_eq!(admin(&emu.url, "GET", "/_emulator/conformance", "")["violations"], 0);
}

#[tokio::test]
async fn users_user_groups_passwords_and_pagination() {
    let emu = start(0);
    let ec = elasticache::Client::new(&config(&emu.url).await);
    let short = ec
        .create_user()
        .user_id("admin")
        .user_name("admin")
        .engine("redis")
        .access_string("on ~* +@all")
        .passwords("too-short")
        .send()
        .await
        .unwrap_err();
    assert!(short.as_service_error().unwrap().is_invalid_parameter_value_exception());
    let user = ec
        .create_user()
        .user_id("redisadmin")
        .user_name("redisAdmin")
        .engine("redis")
        .access_string("on ~* &* +@all")
        .passwords("p".repeat(16))
        .send()
        .await
        .unwrap();
    assert_eq!(user.authentication().unwrap().password_count(), Some(1));
    let dup = ec
        .create_user()
        .user_id("other")
        .user_name("redisAdmin")
        .engine("redis")
        .access_string("on")
        .passwords("q".repeat(16))
        .send()
        .await
        .unwrap_err();
    assert!(dup.as_service_error().unwrap().is_duplicate_user_name_fault());
    ec.modify_user().user_id("redisadmin").passwords("n".repeat(20)).send().await.unwrap();
    let check = admin(
        &emu.url,
        "POST",
        "/_emulator/elasticache/password-check",
        &format!(r#"{{"region":"eu-west-1","userId":"redisadmin","password":"{}"}}"#, "n".repeat(20)),
    );
    assert_eq!(check["matches"], true);

    let no_default =
        ec.create_user_group().user_group_id("g").engine("redis").user_ids("redisadmin").send().await.unwrap_err();
    assert_eq!(no_default.as_service_error().unwrap().meta().code(), Some("DefaultUserRequired"));
    ec.create_user_group().user_group_id("g").engine("redis").user_ids("default").send().await.unwrap();
    ec.modify_user_group().user_group_id("g").user_ids_to_add("redisadmin").send().await.unwrap();
    let groups = ec.describe_user_groups().user_group_id("g").send().await.unwrap();
    assert_eq!(groups.user_groups()[0].user_ids().len(), 2);
    ec.delete_user_group().user_group_id("g").send().await.unwrap();
    ec.delete_user().user_id("redisadmin").send().await.unwrap();
    let gone = ec.describe_users().user_id("redisadmin").send().await.unwrap_err();
    assert!(gone.as_service_error().unwrap().is_user_not_found_fault());

    // 25 users and the built-in default user page by MaxRecords and Marker.
    for i in 0..25 {
        ec.create_user()
            .user_id(format!("u{i:02}"))
            .user_name(format!("u{i:02}"))
            .engine("redis")
            .access_string("on")
            .no_password_required(true)
            .send()
            .await
            .unwrap();
    }
    let first = ec.describe_users().max_records(20).send().await.unwrap();
    assert_eq!(first.users().len(), 20);
    let second = ec.describe_users().max_records(20).marker(first.marker().unwrap()).send().await.unwrap();
    assert_eq!(second.users().len(), 6);
    assert!(second.marker().is_none());
    let paginated: usize =
        ec.describe_users().max_records(20).into_paginator().items().send().collect::<Vec<_>>().await.len();
    assert_eq!(paginated, 26);
    assert_eq!(admin(&emu.url, "GET", "/_emulator/conformance", "")["violations"], 0);
}

#[tokio::test]
async fn app_runner_service_lifecycle_domains_and_connectors() {
    let emu = start(100);
    let ar = apprunner::Client::new(&config(&emu.url).await);
    let connector = ar
        .create_vpc_connector()
        .vpc_connector_name("mm-vpc-connector")
        .subnets("subnet-0123abcd")
        .security_groups("sg-0123abcd")
        .send()
        .await
        .unwrap();
    let connector_arn = connector.vpc_connector().unwrap().vpc_connector_arn().unwrap().to_string();
    assert!(connector_arn.starts_with("arn:aws:apprunner:eu-west-1:123456789012:vpcconnector/mm-vpc-connector/1/"));

    let source_with = |flask_env: &str| {
        apprunner::types::SourceConfiguration::builder()
            .image_repository(
                apprunner::types::ImageRepository::builder()
                    .image_identifier("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mentor-match-web:latest")
                    .image_repository_type(apprunner::types::ImageRepositoryType::Ecr)
                    .image_configuration(
                        apprunner::types::ImageConfiguration::builder()
                            .port("5000")
                            .runtime_environment_variables("FLASK_ENV", flask_env)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .authentication_configuration(
                apprunner::types::AuthenticationConfiguration::builder()
                    .access_role_arn("arn:aws:iam::123456789012:role/mmweb-build")
                    .build(),
            )
            .auto_deployments_enabled(false)
            .build()
    };
    let source = source_with("development");
    let network = |arn: &str| {
        apprunner::types::NetworkConfiguration::builder()
            .egress_configuration(
                apprunner::types::EgressConfiguration::builder()
                    .egress_type(apprunner::types::EgressType::Vpc)
                    .vpc_connector_arn(arn)
                    .build(),
            )
            .build()
    };
    let missing = ar
        .create_service()
        .service_name("mmweb")
        .source_configuration(source.clone())
        .network_configuration(network("arn:aws:apprunner:eu-west-1:123456789012:vpcconnector/x/1/0"))
        .send()
        .await
        .unwrap_err();
    assert!(missing.as_service_error().unwrap().is_invalid_request_exception());

    let created = ar
        .create_service()
        .service_name("mmweb")
        .source_configuration(source.clone())
        .instance_configuration(apprunner::types::InstanceConfiguration::builder().cpu("1024").memory("2048").build())
        .network_configuration(network(&connector_arn))
        .tags(apprunner::types::Tag::builder().key("steward:stack").value("mentor-match").build())
        .send()
        .await
        .unwrap();
    let service = created.service().unwrap();
    assert_eq!(service.status(), &apprunner::types::ServiceStatus::OperationInProgress);
    assert!(service.service_url().unwrap().ends_with(".eu-west-1.awsapprunner.com"));
    let arn = service.service_arn().to_string();
    let dup = ar.create_service().service_name("mmweb").source_configuration(source.clone()).send().await.unwrap_err();
    assert!(dup.as_service_error().unwrap().is_invalid_request_exception());
    let busy = ar.pause_service().service_arn(&arn).send().await.unwrap_err();
    assert!(busy.as_service_error().unwrap().is_invalid_state_exception());

    let status = |ar: apprunner::Client, arn: String| async move {
        ar.describe_service().service_arn(arn).send().await.unwrap().service().unwrap().status().clone()
    };
    wait_until("running", || {
        let (ar, arn) = (ar.clone(), arn.clone());
        async move { status(ar, arn).await == apprunner::types::ServiceStatus::Running }
    })
    .await;

    let updated =
        ar.update_service().service_arn(&arn).source_configuration(source_with("production")).send().await.unwrap();
    assert!(updated.operation_id().len() == 36);
    wait_until("updated", || {
        let (ar, arn) = (ar.clone(), arn.clone());
        async move { status(ar, arn).await == apprunner::types::ServiceStatus::Running }
    })
    .await;
    let env = ar.describe_service().service_arn(&arn).send().await.unwrap();
    let vars = env
        .service()
        .unwrap()
        .source_configuration()
        .unwrap()
        .image_repository()
        .unwrap()
        .image_configuration()
        .unwrap()
        .runtime_environment_variables()
        .unwrap()
        .clone();
    assert_eq!(vars["FLASK_ENV"], "production");

    // Custom domain: creating (no records yet), then pending_certificate_dns_validation for as
    // long as the records are not in DNS (no Route 53 here), in lower case as AWS answers.
    let assoc = ar
        .associate_custom_domain()
        .service_arn(&arn)
        .domain_name("mmweb.example.com")
        .enable_www_subdomain(false)
        .send()
        .await
        .unwrap();
    assert_eq!(assoc.custom_domain().unwrap().status().as_str(), "creating");
    assert!(assoc.custom_domain().unwrap().certificate_validation_records().is_empty());
    assert_eq!(assoc.dns_target(), service.service_url().unwrap());
    wait_until("domain waiting for DNS validation", || async {
        let d = ar.describe_custom_domains().service_arn(&arn).send().await.unwrap();
        let domain = &d.custom_domains()[0];
        domain.certificate_validation_records().len() == 1
            && domain.status().as_str() == "pending_certificate_dns_validation"
    })
    .await;
    ar.disassociate_custom_domain().service_arn(&arn).domain_name("mmweb.example.com").send().await.unwrap();

    // Pause, resume, deployments, operations, tags.
    ar.pause_service().service_arn(&arn).send().await.unwrap();
    wait_until("paused", || {
        let (ar, arn) = (ar.clone(), arn.clone());
        async move { status(ar, arn).await == apprunner::types::ServiceStatus::Paused }
    })
    .await;
    let paused_update = ar.start_deployment().service_arn(&arn).send().await.unwrap_err();
    assert!(paused_update.as_service_error().unwrap().is_invalid_request_exception());
    ar.resume_service().service_arn(&arn).send().await.unwrap();
    wait_until("resumed", || {
        let (ar, arn) = (ar.clone(), arn.clone());
        async move { status(ar, arn).await == apprunner::types::ServiceStatus::Running }
    })
    .await;
    ar.start_deployment().service_arn(&arn).send().await.unwrap();
    let ops = ar.list_operations().service_arn(&arn).send().await.unwrap();
    let kinds: Vec<&str> = ops.operation_summary_list().iter().map(|o| o.r#type().unwrap().as_str()).collect();
    assert_eq!(kinds, ["START_DEPLOYMENT", "RESUME_SERVICE", "PAUSE_SERVICE", "UPDATE_SERVICE", "CREATE_SERVICE"]);
    // Tag calls during an operation are refused, as AWS can (QUIRKS.md).
    let busy = ar.list_tags_for_resource().resource_arn(&arn).send().await.unwrap_err();
    assert!(busy.as_service_error().is_some_and(|e| e.is_invalid_state_exception()), "{busy:?}");
    wait_until("deployed", || {
        let (ar, arn) = (ar.clone(), arn.clone());
        async move { status(ar, arn).await == apprunner::types::ServiceStatus::Running }
    })
    .await;
    ar.tag_resource()
        .resource_arn(&arn)
        .tags(apprunner::types::Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    assert_eq!(ar.list_tags_for_resource().resource_arn(&arn).send().await.unwrap().tags().len(), 2);
    ar.untag_resource().resource_arn(&arn).tag_keys("team").send().await.unwrap();
    assert_eq!(ar.list_tags_for_resource().resource_arn(&arn).send().await.unwrap().tags().len(), 1);
    assert_eq!(ar.list_services().send().await.unwrap().service_summary_list().len(), 1);
    assert_eq!(ar.list_vpc_connectors().send().await.unwrap().vpc_connectors().len(), 1);
    assert!(ar.describe_vpc_connector().vpc_connector_arn(&connector_arn).send().await.is_ok());

    wait_until("deployed", || {
        let (ar, arn) = (ar.clone(), arn.clone());
        async move { status(ar, arn).await == apprunner::types::ServiceStatus::Running }
    })
    .await;
    ar.delete_service().service_arn(&arn).send().await.unwrap();
    // As on AWS, a deleted service answers DELETED for a while (QUIRKS.md).
    wait_until("deleted", || {
        let (ar, arn) = (ar.clone(), arn.clone());
        async move { status(ar, arn).await == apprunner::types::ServiceStatus::Deleted }
    })
    .await;
    ar.delete_vpc_connector().vpc_connector_arn(&connector_arn).send().await.unwrap();
    let inactive = ar.describe_vpc_connector().vpc_connector_arn(&connector_arn).send().await.unwrap();
    assert_eq!(inactive.vpc_connector().unwrap().status(), Some(&apprunner::types::VpcConnectorStatus::Inactive));
    assert_eq!(admin(&emu.url, "GET", "/_emulator/conformance", "")["violations"], 0);
}

#[tokio::test]
async fn faults_unknown_operations_and_out_of_band_changes() {
    let emu = start(0);
    let cfg = config(&emu.url).await;
    let ec = elasticache::Client::new(&cfg);
    admin(
        &emu.url,
        "POST",
        "/_emulator/faults",
        r#"{"service":"elasticache","operation":"DescribeCacheClusters","fault":"throttle","count":2}"#,
    );
    for _ in 0..2 {
        let e = ec.describe_cache_clusters().send().await.unwrap_err();
        assert_eq!(e.as_service_error().unwrap().meta().code(), Some("Throttling"));
    }
    assert!(ec.describe_cache_clusters().send().await.is_ok());
    admin(&emu.url, "POST", "/_emulator/faults", r#"{"service":"elasticache","fault":"internal","count":1}"#);
    let e = ec.describe_users().send().await.unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 500);
    admin(&emu.url, "POST", "/_emulator/faults", r#"{"service":"apprunner","fault":"drop","count":1}"#);
    let ar = apprunner::Client::new(&cfg);
    assert!(
        ar.list_services().send().await.unwrap_err().as_service_error().is_none(),
        "a dropped connection is not a service error"
    );
    admin(&emu.url, "POST", "/_emulator/faults", r#"{"service":"apprunner","fault":"throttle","count":1}"#);
    let t = ar.list_services().send().await.unwrap_err();
    assert_eq!(t.as_service_error().unwrap().meta().code(), Some("ThrottlingException"));
    assert_eq!(admin(&emu.url, "GET", "/_emulator/faults", "")["injected"], 5);

    // Unknown operations get a parseable AWS error, not HTML.
    let out = Command::new("curl")
        .args(["-s", "-d", "Action=RebootEverything&Version=2015-02-02", &emu.url])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    let out = Command::new("curl")
        .args([
            "-s",
            "-H",
            "X-Amz-Target: AppRunner.Explode",
            "-H",
            "Content-Type: application/x-amz-json-1.0",
            "-d",
            "{}",
            &emu.url,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("UnknownOperationException"));

    // Out-of-band changes as a console user would make them.
    subnet_group(&ec, "g").await;
    ec.create_cache_cluster()
        .cache_cluster_id("r")
        .engine("redis")
        .cache_node_type("cache.t4g.micro")
        .num_cache_nodes(1)
        .cache_subnet_group_name("g")
        .send()
        .await
        .unwrap();
    let changed = admin(
        &emu.url,
        "POST",
        "/_emulator/out-of-band",
        r#"{"service":"elasticache","region":"eu-west-1","operation":"ModifyCacheCluster","input":{"CacheClusterId":"r","CacheNodeType":"cache.t4g.small","ApplyImmediately":true}}"#,
    );
    assert_eq!(changed["CacheCluster"]["CacheClusterStatus"], "modifying");
    let c = ec.describe_cache_clusters().cache_cluster_id("r").send().await.unwrap();
    assert_eq!(c.cache_clusters()[0].cache_node_type(), Some("cache.t4g.small"));
    let requests = admin(&emu.url, "GET", "/_emulator/requests", "");
    assert_eq!(requests["elasticache:DescribeCacheClusters"], 4);
    assert!(
        requests.get("elasticache:ModifyCacheCluster").is_none(),
        "out-of-band calls are not logged as client requests"
    );
    admin(&emu.url, "POST", "/_emulator/reset", "");
    assert!(ec.describe_cache_clusters().send().await.unwrap().cache_clusters().is_empty());
}

#[tokio::test]
async fn state_is_safe_under_concurrent_clients() {
    let emu = start(0);
    let ec = elasticache::Client::new(&config(&emu.url).await);
    subnet_group(&ec, "g").await;
    ec.create_cache_cluster()
        .cache_cluster_id("shared")
        .engine("redis")
        .cache_node_type("cache.t4g.micro")
        .num_cache_nodes(1)
        .cache_subnet_group_name("g")
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:elasticache:eu-west-1:123456789012:cluster:shared";
    let mut tasks = Vec::new();
    for i in 0..32 {
        let ec = ec.clone();
        tasks.push(tokio::spawn(async move {
            ec.add_tags_to_resource()
                .resource_name(arn)
                .tags(elasticache::types::Tag::builder().key(format!("k{i}")).value("v").build())
                .send()
                .await
                .unwrap();
            let out = ec
                .describe_cache_clusters()
                .cache_cluster_id("shared")
                .show_cache_node_info(true)
                .send()
                .await
                .unwrap();
            assert_eq!(out.cache_clusters().len(), 1);
            // Only one of the concurrent modifies can start; the others see the cluster modifying.
            match ec
                .modify_cache_cluster()
                .cache_cluster_id("shared")
                .security_group_ids(format!("sg-0000000{i:x}"))
                .apply_immediately(true)
                .send()
                .await
            {
                Ok(_) => true,
                Err(e) => {
                    assert!(e.as_service_error().unwrap().is_invalid_cache_cluster_state_fault());
                    false
                }
            }
        }));
    }
    let mut started = 0;
    for t in tasks {
        started += usize::from(t.await.unwrap());
    }
    assert!(started >= 1);
    assert_eq!(ec.list_tags_for_resource().resource_name(arn).send().await.unwrap().tag_list().len(), 32);
}
