//! Every managed field of every kind of the Mentor Match stack, changed out of band through the
//! public AWS API the way a console user or a script would: `diff --live` reports exactly that
//! field (and nothing else anywhere), and one `reconcile` pass heals it. Fields that cannot be
//! changed out of band, or not healed on the emulators, are listed in `NOT_IN_THE_TABLE` with the
//! reason. Real processes, real SDK; the cases of one test run one after another on one stack.

mod common;

use common::drift::{Case, run_cases, wait_for_report};
use common::live::Live;
use serde_json::{Value, json};

/// Managed fields without a case, and why (the per-kind table in docs/manifests.md says the same).
const NOT_IN_THE_TABLE: &[(&str, &str)] = &[
    ("VpcEndpoint service, type", "immutable on AWS: no API changes them; a spec change replaces the endpoint"),
    ("VpcEndpoint privateDns", "moto's ModifyVpcEndpoint ignores PrivateDnsEnabled, so it cannot drift on moto"),
    ("CacheCluster engine, port, subnetGroup", "immutable on AWS (ModifyCacheCluster has no such member)"),
    ("CacheCluster numCacheNodes", "a Redis cluster (not a replication group) has exactly one node"),
    ("CacheCluster engineVersion", "an out-of-band upgrade cannot be undone in place: a downgrade needs a replacement"),
    ("CacheUser userName, engine", "immutable on AWS (ModifyUser has no such member)"),
    ("AppRunnerVpcConnector subnets, securityGroups", "a connector is immutable on AWS; only its tags can change"),
    (
        "AppRunnerCustomDomain enableWww",
        "changing it means disassociating the domain: covered by the deleted-domain case",
    ),
    ("EcsService enableExecuteCommand", "moto's ECS neither stores nor returns it, so it cannot drift on moto"),
    ("Route53Record records.*.type", "a record of another type is another record set: the wanted one is then missing"),
    ("LogGroup logGroupName", "immutable on AWS: a log group is not renamed"),
    ("SecurityGroup groupName, description", "immutable on AWS: a group is not renamed nor described again"),
    ("Subnet cidrBlock, availabilityZone", "immutable on AWS: a subnet's addresses and zone are fixed"),
    ("Vpc cidrBlock", "immutable on AWS: a VPC's primary block is fixed"),
    ("IamRole roleName, path", "immutable on AWS: a role is not renamed nor moved"),
    ("IamPolicy policyName, description, path", "immutable on AWS: IAM has no call that changes them"),
    ("EcrRepository repositoryName, encryption", "immutable on AWS: ECR has no call that changes them"),
    (
        "EcrRepository scanOnPush",
        "the SDK leaves a default false out of PutImageScanningConfiguration, and moto reads the empty configuration as no change: turning it off cannot be done or healed on moto",
    ),
    ("LogGroup kmsKeyId", "moto's CloudWatch Logs has no AssociateKmsKey, so it cannot drift on moto"),
    (
        "SqsQueue queueName, fifoQueue",
        "immutable on AWS: SetQueueAttributes refuses FifoQueue, and a queue is not renamed",
    ),
];

/// Heals after which a dependent has new work of its own: a re-associated custom domain gets new
/// validation records, which appear a little later and are then written by the Route53Record.
/// For these the one pass heals the field, and further passes (up to convergence) do the rest.
const FOLLOW_ON: &[(&str, &str)] =
    &[("AppRunnerCustomDomain/mmweb-domain", "Route53Record/mmweb-certificate-validation")];

fn emulator(live: &Live, service: &str, operation: &str, input: Value) -> Value {
    let call = json!({ "service": service, "region": common::REGION, "operation": operation, "input": input });
    let answer = live.admin("POST", "/_emulator/out-of-band", &call.to_string());
    assert!(answer.get("error").is_none() && answer.get("__type").is_none(), "{operation}: {answer}");
    answer
}

fn web_service(live: &Live) -> Value {
    let arn = live.output("AppRunnerService/mmweb", "arn");
    emulator(live, "apprunner", "DescribeService", json!({ "ServiceArn": arn }))["Service"].clone()
}

/// An App Runner UpdateService with the current source configuration, edited by `edit`.
fn update_web(live: &Live, edit: impl FnOnce(&mut Value, &mut Value)) {
    let service = web_service(live);
    let mut source = service["SourceConfiguration"].clone();
    let mut input = json!({ "ServiceArn": service["ServiceArn"] });
    edit(&mut source, &mut input);
    input["SourceConfiguration"] = source;
    emulator(live, "apprunner", "UpdateService", input);
}

fn cluster_arn(live: &Live) -> String {
    live.output("CacheCluster/mentor-match-redis", "arn")
}

fn endpoint(live: &Live, name: &str) -> String {
    live.output(&format!("VpcEndpoint/{name}"), "id")
}

fn modify_endpoint(
    live: &Live,
    name: &str,
) -> aws_sdk_ec2::operation::modify_vpc_endpoint::builders::ModifyVpcEndpointFluentBuilder {
    live.ec2().modify_vpc_endpoint().vpc_endpoint_id(endpoint(live, name))
}

const DENY_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;

fn ecs_update(live: &Live) -> aws_sdk_ecs::operation::update_service::builders::UpdateServiceFluentBuilder {
    live.ecs().update_service().cluster("celery-workers").service("mentor-match-worker")
}

fn ecs_network(subnets: Vec<String>, groups: Vec<String>, public: bool) -> aws_sdk_ecs::types::NetworkConfiguration {
    let vpc = aws_sdk_ecs::types::AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets))
        .set_security_groups(Some(groups))
        .assign_public_ip(if public {
            aws_sdk_ecs::types::AssignPublicIp::Enabled
        } else {
            aws_sdk_ecs::types::AssignPublicIp::Disabled
        })
        .build()
        .unwrap();
    aws_sdk_ecs::types::NetworkConfiguration::builder().awsvpc_configuration(vpc).build()
}

fn all_subnets(live: &Live) -> Vec<String> {
    ['a', 'b', 'c'].iter().map(|z| live.subnet(*z)).collect()
}

fn upsert_record(live: &Live, name: &str, ttl: i64, value: &str) {
    live.change_record(aws_sdk_route53::types::ChangeAction::Upsert, name, ttl, value);
}

/// The password parameter's current value (to re-put it as another type, or add a second one).
/// SetQueueAttributes on the jobs queue (tests/fixtures/queues.yaml), as a person would.
fn set_queue(live: &Live, attribute: aws_sdk_sqs::types::QueueAttributeName, value: &str) {
    let url = live.output("SqsQueue/jobs", "url");
    live.block(live.sqs().set_queue_attributes().queue_url(url).attributes(attribute, value).send()).unwrap();
}

fn password(live: &Live) -> String {
    let read = live.ssm().get_parameter().name("/mentor-match/redis/password/admin").with_decryption(true).send();
    live.block(read).unwrap().parameter.unwrap().value.unwrap()
}

fn put_password(live: &Live, value: &str, kind: aws_sdk_ssm::types::ParameterType) {
    let put =
        live.ssm().put_parameter().name("/mentor-match/redis/password/admin").value(value).r#type(kind).overwrite(true);
    live.block(put.send()).unwrap();
}

/// The queues of tests/fixtures/queues.yaml, applied beside the seed for this table.
const QUEUES: &[Case] = &[
    Case {
        target: "SqsQueue/jobs",
        fields: &["visibilityTimeout"],
        change: |l| set_queue(l, aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "0"),
    },
    Case {
        target: "SqsQueue/jobs",
        fields: &["messageRetentionPeriod"],
        change: |l| set_queue(l, aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod, "60"),
    },
    Case {
        target: "SqsQueue/jobs",
        fields: &["delaySeconds"],
        change: |l| set_queue(l, aws_sdk_sqs::types::QueueAttributeName::DelaySeconds, "900"),
    },
    Case {
        target: "SqsQueue/jobs",
        fields: &["maximumMessageSize"],
        change: |l| set_queue(l, aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize, "1024"),
    },
    Case {
        target: "SqsQueue/jobs",
        fields: &["receiveMessageWaitTimeSeconds"],
        change: |l| set_queue(l, aws_sdk_sqs::types::QueueAttributeName::ReceiveMessageWaitTimeSeconds, "0"),
    },
    Case {
        target: "SqsQueue/jobs",
        fields: &["redrivePolicy.maxReceiveCount"],
        change: |l| {
            let dlq = l.output("SqsQueue/jobs-dead-letters", "arn");
            let policy = json!({ "deadLetterTargetArn": dlq, "maxReceiveCount": 100 }).to_string();
            set_queue(l, aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, &policy);
        },
    },
    Case {
        target: "SqsQueue/jobs",
        fields: &["kmsMasterKeyId"],
        change: |l| set_queue(l, aws_sdk_sqs::types::QueueAttributeName::KmsMasterKeyId, "alias/someone-elses"),
    },
    Case {
        target: "SqsQueue/jobs",
        fields: &["tags.Environment"],
        change: |l| {
            let url = l.output("SqsQueue/jobs", "url");
            l.block(l.sqs().tag_queue().queue_url(url).tags("Environment", "prod").send()).unwrap();
        },
    },
    Case {
        target: "SqsQueue/jobs-dead-letters",
        fields: &["(missing)"],
        change: |l| {
            let url = l.output("SqsQueue/jobs-dead-letters", "url");
            l.block(l.sqs().delete_queue().queue_url(url).send()).unwrap();
        },
    },
];

/// A rule on a group of tests/fixtures/security_groups.yaml, added as a person would.
fn permission(protocol: &str, port: i32, cidr: &str) -> aws_sdk_ec2::types::IpPermission {
    let range = aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build();
    aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(port)
        .to_port(port)
        .ip_ranges(range)
        .build()
}

/// The groups of tests/fixtures/security_groups.yaml, applied beside the seed for this table.
const GROUPS: &[Case] = &[
    Case {
        target: "SecurityGroup/cache-clients",
        fields: &["ingress (critical)"],
        change: |l| {
            let id = l.output("SecurityGroup/cache-clients", "id");
            let opened = l.ec2().authorize_security_group_ingress().group_id(id).ip_permissions(permission(
                "tcp",
                22,
                "0.0.0.0/0",
            ));
            l.block(opened.send()).unwrap();
        },
    },
    Case {
        target: "SecurityGroup/cache-clients",
        fields: &["egress (critical)"],
        change: |l| {
            let id = l.output("SecurityGroup/cache-clients", "id");
            let opened = l.ec2().authorize_security_group_egress().group_id(id).ip_permissions(permission(
                "tcp",
                25,
                "0.0.0.0/0",
            ));
            l.block(opened.send()).unwrap();
        },
    },
    Case {
        target: "SecurityGroup/cache-clients",
        fields: &["tags.Name"],
        change: |l| {
            let id = l.output("SecurityGroup/cache-clients", "id");
            let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value("renamed").build();
            l.block(l.ec2().create_tags().resources(id).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "SecurityGroup/peers",
        fields: &["(missing)"],
        change: |l| {
            let id = l.output("SecurityGroup/peers", "id");
            l.block(l.ec2().delete_security_group().group_id(id).send()).unwrap();
        },
    },
];

/// The subnet of tests/fixtures/subnets.yaml, applied beside the seed for this table.
const SUBNETS: &[Case] = &[
    Case {
        target: "Subnet/spare-a",
        fields: &["mapPublicIpOnLaunch"],
        change: |l| {
            let public = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(true).build();
            let id = l.output("Subnet/spare-a", "id");
            l.block(l.ec2().modify_subnet_attribute().subnet_id(id).map_public_ip_on_launch(public).send()).unwrap();
        },
    },
    Case {
        target: "Subnet/spare-a",
        fields: &["tags.Name"],
        change: |l| {
            let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value("renamed").build();
            l.block(l.ec2().create_tags().resources(l.output("Subnet/spare-a", "id")).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "Subnet/spare-a",
        fields: &["(missing)"],
        change: |l| drop(l.block(l.ec2().delete_subnet().subnet_id(l.output("Subnet/spare-a", "id")).send()).unwrap()),
    },
];

/// The VPC and route table of tests/fixtures/network.yaml, applied beside the seed for this table.
const VPCS_AND_ROUTES: &[Case] = &[
    Case {
        target: "Vpc/spare",
        fields: &["enableDnsHostnames"],
        change: |l| {
            let off = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build();
            let id = l.output("Vpc/spare", "id");
            l.block(l.ec2().modify_vpc_attribute().vpc_id(id).enable_dns_hostnames(off).send()).unwrap();
        },
    },
    Case {
        target: "Vpc/spare",
        fields: &["enableDnsSupport"],
        change: |l| {
            let off = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build();
            let id = l.output("Vpc/spare", "id");
            l.block(l.ec2().modify_vpc_attribute().vpc_id(id).enable_dns_support(off).send()).unwrap();
        },
    },
    Case {
        target: "Vpc/spare",
        fields: &["tags.Name"],
        change: |l| {
            let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value("renamed").build();
            l.block(l.ec2().create_tags().resources(l.output("Vpc/spare", "id")).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "RouteTable/isolated",
        fields: &["routes (critical)"],
        change: |l| {
            let gateway = l.block(l.ec2().create_internet_gateway().send()).unwrap();
            let gateway = gateway.internet_gateway.unwrap().internet_gateway_id.unwrap();
            let vpc = l.output("Stack/mentor-match", "vpcId");
            l.block(l.ec2().attach_internet_gateway().internet_gateway_id(&gateway).vpc_id(vpc).send()).unwrap();
            let table = l.output("RouteTable/isolated", "id");
            let route = l.ec2().create_route().route_table_id(table).destination_cidr_block("0.0.0.0/0");
            l.block(route.gateway_id(gateway).send()).unwrap();
        },
    },
    Case {
        target: "RouteTable/isolated",
        fields: &["associations"],
        change: |l| {
            let subnet = l.output("Subnet/spare-b", "id");
            let tables = l.ec2().describe_route_tables().route_table_ids(l.output("RouteTable/isolated", "id"));
            let tables = l.block(tables.send()).unwrap();
            let associations = tables.route_tables().iter().flat_map(|t| t.associations());
            let association =
                associations.filter(|a| a.subnet_id() == Some(&subnet)).find_map(|a| a.route_table_association_id());
            l.block(l.ec2().disassociate_route_table().association_id(association.unwrap()).send()).unwrap();
        },
    },
    Case {
        target: "RouteTable/isolated",
        fields: &["tags.Name"],
        change: |l| {
            let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value("renamed").build();
            l.block(l.ec2().create_tags().resources(l.output("RouteTable/isolated", "id")).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "Vpc/spare",
        fields: &["(missing)"],
        change: |l| drop(l.block(l.ec2().delete_vpc().vpc_id(l.output("Vpc/spare", "id")).send()).unwrap()),
    },
];

fn iam(l: &Live) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&l.sdk)
}

const ROLE: &str = "mentor-match-celery-exec";
const WIDE_OPEN: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The role and policy of tests/fixtures/iam.yaml, applied beside the seed for this table.
const ROLES_AND_POLICIES: &[Case] = &[
    Case {
        target: "IamRole/celery-exec",
        fields: &["managedPolicyArns (critical)"],
        change: |l| {
            let attach = iam(l).attach_role_policy().role_name(ROLE);
            l.block(attach.policy_arn("arn:aws:iam::aws:policy/AdministratorAccess").send()).unwrap();
        },
    },
    Case {
        target: "IamRole/celery-exec",
        fields: &["assumeRolePolicy (critical)"],
        change: |l| {
            let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs.amazonaws.com","ecs-tasks.amazonaws.com"],"AWS":"arn:aws:iam::999999999999:root"}}]}"#;
            l.block(iam(l).update_assume_role_policy().role_name(ROLE).policy_document(trust).send()).unwrap();
        },
    },
    Case {
        target: "IamRole/celery-exec",
        fields: &["inlinePolicies.break-glass (critical)"],
        change: |l| {
            let put = iam(l).put_role_policy().role_name(ROLE).policy_name("break-glass");
            l.block(put.policy_document(WIDE_OPEN).send()).unwrap();
        },
    },
    Case {
        target: "IamRole/celery-exec",
        fields: &["description", "maxSessionDuration"],
        change: |l| {
            let update = iam(l).update_role().role_name(ROLE).description("changed").max_session_duration(7200);
            l.block(update.send()).unwrap();
        },
    },
    Case {
        target: "IamRole/celery-exec",
        fields: &["permissionsBoundary"],
        change: |l| {
            let boundary = "arn:aws:iam::aws:policy/ReadOnlyAccess";
            l.block(iam(l).put_role_permissions_boundary().role_name(ROLE).permissions_boundary(boundary).send())
                .unwrap();
        },
    },
    Case {
        target: "IamRole/celery-exec",
        fields: &["tags.Name"],
        change: |l| {
            let tag = aws_sdk_iam::types::Tag::builder().key("Name").value("renamed").build().unwrap();
            l.block(iam(l).tag_role().role_name(ROLE).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "IamPolicy/exec-policy",
        fields: &["policyDocument (critical)"],
        change: |l| {
            let version = iam(l).create_policy_version().policy_arn(l.output("IamPolicy/exec-policy", "arn"));
            l.block(version.policy_document(WIDE_OPEN).set_as_default(true).send()).unwrap();
        },
    },
    Case {
        target: "IamPolicy/exec-policy",
        fields: &["tags.Name"],
        change: |l| {
            let tag = aws_sdk_iam::types::Tag::builder().key("Name").value("renamed").build().unwrap();
            l.block(iam(l).tag_policy().policy_arn(l.output("IamPolicy/exec-policy", "arn")).tags(tag).send()).unwrap();
        },
    },
];

fn ecr(l: &Live) -> aws_sdk_ecr::Client {
    aws_sdk_ecr::Client::new(&l.sdk)
}

const REPOSITORY: &str = "mentor-match-web-spare";

/// The repository of tests/fixtures/iam.yaml.
const REPOSITORIES: &[Case] = &[
    Case {
        target: "EcrRepository/web-images",
        fields: &["imageTagMutability"],
        change: |l| {
            let put = ecr(l).put_image_tag_mutability().repository_name(REPOSITORY);
            l.block(put.image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Mutable).send()).unwrap();
        },
    },
    Case {
        target: "EcrRepository/web-images",
        fields: &["lifecyclePolicy"],
        change: |l| {
            let policy = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
            let put = ecr(l).put_lifecycle_policy().repository_name(REPOSITORY).lifecycle_policy_text(policy);
            l.block(put.send()).unwrap();
        },
    },
    Case {
        target: "EcrRepository/web-images",
        fields: &["repositoryPolicy (critical)"],
        change: |l| {
            let public = r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#;
            l.block(ecr(l).set_repository_policy().repository_name(REPOSITORY).policy_text(public).send()).unwrap();
        },
    },
    Case {
        target: "EcrRepository/web-images",
        fields: &["tags.Name"],
        change: |l| {
            let tag = aws_sdk_ecr::types::Tag::builder().key("Name").value("renamed").build().unwrap();
            let arn = l.output("EcrRepository/web-images", "arn");
            l.block(ecr(l).tag_resource().resource_arn(arn).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "EcrRepository/web-images",
        fields: &["(missing)"],
        change: |l| drop(l.block(ecr(l).delete_repository().repository_name(REPOSITORY).send()).unwrap()),
    },
];

const NETWORK_AND_CACHE: &[Case] = &[
    Case {
        target: "VpcEndpoint/logs",
        fields: &["subnets"],
        change: |l| drop(l.block(modify_endpoint(l, "logs").remove_subnet_ids(l.subnet('c')).send()).unwrap()),
    },
    Case {
        target: "VpcEndpoint/logs",
        fields: &["securityGroups"],
        change: |l| {
            let add = modify_endpoint(l, "logs").add_security_group_ids(l.security_group("allow_redis"));
            l.block(add.send()).unwrap();
        },
    },
    Case {
        target: "VpcEndpoint/logs",
        fields: &["policy"],
        change: |l| drop(l.block(modify_endpoint(l, "logs").policy_document(DENY_ALL).send()).unwrap()),
    },
    Case {
        target: "VpcEndpoint/logs",
        fields: &["tags.Name"],
        change: |l| {
            let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value("renamed").build();
            l.block(l.ec2().create_tags().resources(endpoint(l, "logs")).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "VpcEndpoint/s3",
        fields: &["routeTables"],
        change: |l| {
            let tables =
                l.network["routeTables"].as_object().unwrap().values().next().unwrap().as_str().unwrap().to_string();
            l.block(modify_endpoint(l, "s3").remove_route_table_ids(tables).send()).unwrap();
        },
    },
    Case {
        target: "VpcEndpoint/s3",
        fields: &["policy"],
        change: |l| drop(l.block(modify_endpoint(l, "s3").policy_document(DENY_ALL).send()).unwrap()),
    },
    Case {
        target: "CacheSubnetGroup/mentor-match-redis-subnets",
        fields: &["description"],
        change: |l| {
            let input = json!({ "CacheSubnetGroupName": "mentor-match-redis-subnets", "CacheSubnetGroupDescription": "edited" });
            emulator(l, "elasticache", "ModifyCacheSubnetGroup", input);
        },
    },
    Case {
        target: "CacheSubnetGroup/mentor-match-redis-subnets",
        fields: &["subnets"],
        change: |l| {
            let input = json!({ "CacheSubnetGroupName": "mentor-match-redis-subnets", "SubnetIds": [l.subnet('a'), l.subnet('b')] });
            emulator(l, "elasticache", "ModifyCacheSubnetGroup", input);
        },
    },
    Case {
        target: "CacheSubnetGroup/mentor-match-redis-subnets",
        fields: &["tags.Project"],
        change: |l| {
            let arn = emulator(
                l,
                "elasticache",
                "DescribeCacheSubnetGroups",
                json!({ "CacheSubnetGroupName": "mentor-match-redis-subnets" }),
            )["CacheSubnetGroups"][0]["ARN"]
                .clone();
            emulator(
                l,
                "elasticache",
                "AddTagsToResource",
                json!({ "ResourceName": arn, "Tags": [{ "Key": "Project", "Value": "x" }] }),
            );
        },
    },
    Case {
        target: "CacheCluster/mentor-match-redis",
        fields: &["nodeType"],
        change: |l| l.resize_redis("cache.t4g.small"),
    },
    Case {
        target: "CacheCluster/mentor-match-redis",
        fields: &["securityGroups"],
        change: |l| {
            let input = json!({ "CacheClusterId": "mentor-match-redis", "SecurityGroupIds": [l.security_group("allow_vpce")], "ApplyImmediately": true });
            emulator(l, "elasticache", "ModifyCacheCluster", input);
        },
    },
    Case {
        target: "CacheCluster/mentor-match-redis",
        fields: &["parameterGroup"],
        change: |l| {
            let input = json!({ "CacheClusterId": "mentor-match-redis", "CacheParameterGroupName": "default.redis6.x.cluster.on", "ApplyImmediately": true });
            emulator(l, "elasticache", "ModifyCacheCluster", input);
        },
    },
    Case {
        target: "CacheCluster/mentor-match-redis",
        fields: &["tags.Environment"],
        change: |l| {
            let input = json!({ "ResourceName": cluster_arn(l), "Tags": [{ "Key": "Environment", "Value": "prod" }] });
            emulator(l, "elasticache", "AddTagsToResource", input);
        },
    },
    Case {
        target: "CacheUser/redisadmin",
        fields: &["accessString"],
        change: |l| {
            drop(emulator(
                l,
                "elasticache",
                "ModifyUser",
                json!({ "UserId": "redisadmin", "AccessString": "on ~* +@read" }),
            ))
        },
    },
    Case {
        target: "CacheUser/redisadmin",
        fields: &["authentication", "passwordCount"],
        change: |l| {
            let input = json!({ "UserId": "redisadmin", "AuthenticationMode": { "Type": "no-password-required" } });
            emulator(l, "elasticache", "ModifyUser", input);
        },
    },
    Case {
        target: "CacheUser/redisadmin",
        fields: &["passwordCount"],
        change: |l| {
            let input = json!({ "UserId": "redisadmin", "Passwords": [password(l), "a-second-way-in-0123"] });
            emulator(l, "elasticache", "ModifyUser", input);
        },
    },
    Case {
        target: "CacheUser/redisadmin",
        fields: &["password"],
        change: |l| put_password(l, "rotated-by-a-person-0123", aws_sdk_ssm::types::ParameterType::SecureString),
    },
    Case {
        target: "CacheUser/redisadmin",
        fields: &["password", "passwordParameterType"],
        change: |l| put_password(l, &password(l), aws_sdk_ssm::types::ParameterType::String),
    },
    Case {
        target: "CacheUser/redisadmin",
        fields: &["tags.Project"],
        change: |l| {
            let arn = emulator(l, "elasticache", "DescribeUsers", json!({ "UserId": "redisadmin" }))["Users"][0]["ARN"]
                .clone();
            emulator(
                l,
                "elasticache",
                "AddTagsToResource",
                json!({ "ResourceName": arn, "Tags": [{ "Key": "Project", "Value": "x" }] }),
            );
        },
    },
];

const WEB_AND_WORKER: &[Case] = &[
    Case {
        target: "AppRunnerVpcConnector/mm-vpc-connector",
        fields: &["tags.Project"],
        change: |l| {
            let arn = l.output("AppRunnerVpcConnector/mm-vpc-connector", "arn");
            emulator(
                l,
                "apprunner",
                "TagResource",
                json!({ "ResourceArn": arn, "Tags": [{ "Key": "Project", "Value": "x" }] }),
            );
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["image.env.FLASK_ENV"],
        change: |l| {
            update_web(l, |s, _| {
                s["ImageRepository"]["ImageConfiguration"]["RuntimeEnvironmentVariables"]["FLASK_ENV"] =
                    json!("production")
            })
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["image.identifier"],
        change: |l| {
            update_web(l, |s, _| {
                s["ImageRepository"]["ImageIdentifier"] =
                    json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/other:latest")
            })
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["image.port"],
        change: |l| update_web(l, |s, _| s["ImageRepository"]["ImageConfiguration"]["Port"] = json!("8000")),
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["autoDeploy"],
        change: |l| update_web(l, |s, _| s["AutoDeploymentsEnabled"] = json!(true)),
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["accessRole"],
        change: |l| {
            update_web(l, |s, _| {
                s["AuthenticationConfiguration"]["AccessRoleArn"] = json!("arn:aws:iam::123456789012:role/someone-else")
            })
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["instance.memory"],
        change: |l| {
            let role = web_service(l)["InstanceConfiguration"]["InstanceRoleArn"].clone();
            let input = json!({ "ServiceArn": l.output("AppRunnerService/mmweb", "arn"),
                                "InstanceConfiguration": { "Cpu": "1024", "Memory": "4096", "InstanceRoleArn": role } });
            emulator(l, "apprunner", "UpdateService", input);
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["instance.cpu", "instance.memory"],
        change: |l| {
            let role = web_service(l)["InstanceConfiguration"]["InstanceRoleArn"].clone();
            let input = json!({ "ServiceArn": l.output("AppRunnerService/mmweb", "arn"),
                                "InstanceConfiguration": { "Cpu": "2048", "Memory": "4096", "InstanceRoleArn": role } });
            emulator(l, "apprunner", "UpdateService", input);
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["instance.instanceRole"],
        change: |l| {
            let input = json!({ "ServiceArn": l.output("AppRunnerService/mmweb", "arn"),
                                "InstanceConfiguration": { "Cpu": "1024", "Memory": "2048", "InstanceRoleArn": "arn:aws:iam::123456789012:role/admin" } });
            emulator(l, "apprunner", "UpdateService", input);
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["network.egress", "network.vpcConnector"],
        change: |l| {
            let input = json!({ "ServiceArn": l.output("AppRunnerService/mmweb", "arn"),
                                "NetworkConfiguration": { "EgressConfiguration": { "EgressType": "DEFAULT" } } });
            emulator(l, "apprunner", "UpdateService", input);
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["status"],
        change: |l| {
            drop(emulator(
                l,
                "apprunner",
                "PauseService",
                json!({ "ServiceArn": l.output("AppRunnerService/mmweb", "arn") }),
            ))
        },
    },
    Case {
        target: "AppRunnerService/mmweb",
        fields: &["tags.Name"],
        change: |l| {
            let arn = l.output("AppRunnerService/mmweb", "arn");
            emulator(
                l,
                "apprunner",
                "TagResource",
                json!({ "ResourceArn": arn, "Tags": [{ "Key": "Name", "Value": "renamed" }] }),
            );
        },
    },
    Case {
        target: "AppRunnerCustomDomain/mmweb-domain",
        fields: &["(missing)"],
        change: |l| {
            let input = json!({ "ServiceArn": l.output("AppRunnerService/mmweb", "arn"), "DomainName": "mmweb.mentor-match.example.com" });
            emulator(l, "apprunner", "DisassociateCustomDomain", input);
        },
    },
    Case {
        target: "Route53Record/mmweb-cname",
        fields: &["records.mmweb.mentor-match.example.com.values"],
        change: |l| upsert_record(l, "mmweb.mentor-match.example.com.", 300, "elsewhere.example.net."),
    },
    Case {
        target: "Route53Record/mmweb-cname",
        fields: &["records.mmweb.mentor-match.example.com.ttl"],
        change: |l| {
            let target = format!("{}.", l.output("AppRunnerCustomDomain/mmweb-domain", "dnsTarget"));
            upsert_record(l, "mmweb.mentor-match.example.com.", 60, &target);
        },
    },
    Case {
        target: "Route53Record/mmweb-certificate-validation",
        fields: &["(missing)"],
        change: |l| {
            let records: Value =
                serde_json::from_str(&l.output("AppRunnerCustomDomain/mmweb-domain", "validationRecords")).unwrap();
            let (name, value) = (records[0]["name"].as_str().unwrap(), records[0]["value"].as_str().unwrap());
            l.change_record(aws_sdk_route53::types::ChangeAction::Delete, name, 300, value);
        },
    },
    Case {
        target: "LogGroup/mmweb-celery-worker",
        fields: &["retentionInDays"],
        change: |l| {
            let put = l.logs().put_retention_policy().log_group_name("/ecs/mmweb-celery/worker").retention_in_days(7);
            l.block(put.send()).unwrap();
        },
    },
    Case {
        target: "LogGroup/mmweb-celery-worker",
        fields: &["tags.Environment"],
        change: |l| {
            let arn = l.output("LogGroup/mmweb-celery-worker", "arn");
            l.block(l.logs().tag_resource().resource_arn(arn).tags("Environment", "prod").send()).unwrap();
        },
    },
    Case {
        target: "LogGroup/mmweb-celery-worker",
        fields: &["(missing)"],
        change: |l| {
            drop(l.block(l.logs().delete_log_group().log_group_name("/ecs/mmweb-celery/worker").send()).unwrap())
        },
    },
    Case {
        target: "EcsCluster/celery-workers",
        fields: &["containerInsights"],
        change: |l| {
            let off = aws_sdk_ecs::types::ClusterSetting::builder()
                .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                .value("disabled")
                .build();
            l.block(l.ecs().update_cluster().cluster("celery-workers").settings(off).send()).unwrap();
        },
    },
    Case {
        target: "EcsCluster/celery-workers",
        fields: &["tags.Name"],
        change: |l| {
            let arn = l.output("EcsCluster/celery-workers", "arn");
            let tag = aws_sdk_ecs::types::Tag::builder().key("Name").value("renamed").build();
            l.block(l.ecs().tag_resource().resource_arn(arn).tags(tag).send()).unwrap();
        },
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["desiredCount"],
        change: |l| drop(l.block(ecs_update(l).desired_count(3).send()).unwrap()),
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["network.subnets"],
        change: |l| {
            let network = ecs_network(vec![l.subnet('a')], vec![l.security_group("allow_redis")], false);
            l.block(ecs_update(l).network_configuration(network).send()).unwrap();
        },
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["network.securityGroups"],
        change: |l| {
            let network = ecs_network(all_subnets(l), vec![l.security_group("allow_vpce")], false);
            l.block(ecs_update(l).network_configuration(network).send()).unwrap();
        },
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["network.assignPublicIp"],
        change: |l| {
            let network = ecs_network(all_subnets(l), vec![l.security_group("allow_redis")], true);
            l.block(ecs_update(l).network_configuration(network).send()).unwrap();
        },
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["platformVersion", "propagateTags"],
        change: |l| {
            let update =
                ecs_update(l).platform_version("1.3.0").propagate_tags(aws_sdk_ecs::types::PropagateTags::None);
            l.block(update.send()).unwrap();
        },
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["taskDefinition.containers[0].env.FLASK_ENV"],
        change: |l| {
            // A new revision registered by hand with one variable changed, and the service moved to it.
            let ecs = l.ecs();
            let current = l.worker().0.task_definition().unwrap().to_string();
            let td = l
                .block(ecs.describe_task_definition().task_definition(current).send())
                .unwrap()
                .task_definition
                .unwrap();
            let mut container = td.container_definitions()[0].clone();
            let env = container.environment().iter().map(|kv| {
                let value = if kv.name() == Some("FLASK_ENV") { "production" } else { kv.value().unwrap() };
                aws_sdk_ecs::types::KeyValuePair::builder().name(kv.name().unwrap()).value(value).build()
            });
            container.environment = Some(env.collect());
            let register = ecs
                .register_task_definition()
                .family("mentor-match-worker")
                .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
                .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
                .cpu("256")
                .memory("512")
                .set_runtime_platform(td.runtime_platform().cloned())
                .set_execution_role_arn(td.execution_role_arn().map(str::to_string))
                .set_task_role_arn(td.task_role_arn().map(str::to_string))
                .container_definitions(container);
            let arn = l.block(register.send()).unwrap().task_definition.unwrap().task_definition_arn.unwrap();
            l.block(ecs_update(l).task_definition(arn).send()).unwrap();
        },
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["taskDefinition.status"],
        change: |l| {
            // Deregistered under the running service: AWS refuses to deploy that revision again.
            let current = l.worker().0.task_definition().unwrap().to_string();
            l.block(l.ecs().deregister_task_definition().task_definition(current).send()).unwrap();
        },
    },
    Case {
        target: "EcsService/mentor-match-worker",
        fields: &["tags.Project"],
        change: |l| {
            let arn = l.output("EcsService/mentor-match-worker", "arn");
            let tag = aws_sdk_ecs::types::Tag::builder().key("Project").value("x").build();
            l.block(l.ecs().tag_resource().resource_arn(arn).tags(tag).send()).unwrap();
        },
    },
];

/// What `diff --live` reports: its exit code and `Kind/name field` for every drifted field
/// (`Kind/name (missing)` for an object that is gone).
fn run_table(cases: &[Case], beside_the_seed: &[&str]) {
    let live = Live::prepared();
    for file in beside_the_seed {
        live.world.ok(&["apply", "-f", common::repo_path(file).to_str().unwrap()]);
    }
    live.converge();
    run_cases(&live, cases, FOLLOW_ON);
    // Heals register revisions; steward retires its own older ones (the hand-registered one stays).
    let ecs = live.ecs();
    let listed = ecs
        .list_task_definitions()
        .family_prefix("mentor-match-worker")
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send();
    let mut owned = 0;
    for arn in live.block(listed).unwrap().task_definition_arns() {
        let described = ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send();
        if live.block(described).unwrap().tags().iter().any(|t| t.key() == Some("steward:stack")) {
            owned += 1;
        }
    }
    assert!(owned <= 1, "{owned} ACTIVE revisions registered by steward: they pile up");
}

#[test]
fn network_cache_queue_and_access_fields_are_reported_and_healed() {
    let network = NETWORK_AND_CACHE.iter().chain(GROUPS).chain(SUBNETS).chain(VPCS_AND_ROUTES);
    let cases: Vec<Case> = network.chain(QUEUES).chain(ROLES_AND_POLICIES).chain(REPOSITORIES).copied().collect();
    let fixtures = [
        "tests/fixtures/queues.yaml",
        "tests/fixtures/security_groups.yaml",
        "tests/fixtures/subnets.yaml",
        "tests/fixtures/network.yaml",
        "tests/fixtures/iam.yaml",
    ];
    run_table(&cases, &fixtures);
}

#[test]
fn web_and_worker_fields_are_reported_and_healed() {
    run_table(WEB_AND_WORKER, &[]);
}

#[test]
fn the_gap_list_names_only_fields_the_table_does_not_cover() {
    for (fields, reason) in NOT_IN_THE_TABLE {
        let (kind, names) = fields.split_once(' ').unwrap();
        for name in names.split(", ") {
            let covered = NETWORK_AND_CACHE
                .iter()
                .chain(WEB_AND_WORKER)
                .chain(QUEUES)
                .chain(GROUPS)
                .chain(SUBNETS)
                .chain(VPCS_AND_ROUTES)
                .chain(ROLES_AND_POLICIES)
                .chain(REPOSITORIES)
                .any(|c| {
                    let fields = c.fields.iter().map(|f| f.trim_end_matches(" (critical)"));
                    c.target.starts_with(&format!("{kind}/")) && fields.into_iter().any(|f| f == name)
                });
            assert!(!covered, "{kind} {name} is in the table and in the gap list ({reason})");
        }
    }
}

#[test]
fn a_password_kms_key_named_in_the_spec_is_watched_and_healed() {
    let live = Live::prepared();
    let dir = live.world.seed_copy();
    common::replace_in(
        &dir.join("redis.yaml"),
        "  passwordLength: 16\n",
        "  passwordLength: 16\n  passwordKmsKey: alias/mentor-match-secrets\n",
    );
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.converge();
    wait_for_report(&live, "the converged stack", 0, &[]);
    let name = "/mentor-match/redis/password/admin";
    let key_of = || {
        let filter =
            aws_sdk_ssm::types::ParameterStringFilter::builder().key("Name").option("Equals").values(name).build();
        let out = live.block(live.ssm().describe_parameters().parameter_filters(filter.unwrap()).send()).unwrap();
        out.parameters()[0].key_id().map(str::to_string)
    };
    assert_eq!(key_of().as_deref(), Some("alias/mentor-match-secrets"), "the parameter is made under the named key");
    // Re-put under the AWS-managed key by someone else.
    let put = live
        .ssm()
        .put_parameter()
        .name(name)
        .value(password(&live))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id("alias/aws/ssm")
        .overwrite(true);
    live.block(put.send()).unwrap();
    let expected = ["CacheUser/redisadmin password".to_string(), "CacheUser/redisadmin passwordKmsKey".to_string()];
    wait_for_report(&live, "the key change", 2, &expected);
    live.world.ok(&["reconcile"]);
    wait_for_report(&live, "the key change after one pass", 0, &[]);
    assert_eq!(key_of().as_deref(), Some("alias/mentor-match-secrets"));
}
