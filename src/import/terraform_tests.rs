use super::*;
use crate::import::shape::plan;

const CANARY: &str = "CANARY-SECRET-TEST";

fn instance(attributes: Json) -> Json {
    json!({ "schema_version": 0, "attributes": attributes, "sensitive_attributes": [] })
}

/// A state with every case the importer must handle: a module, count and for_each instances, a
/// data source, a tainted and a deposed instance, an unsupported type, and sensitive values.
fn state() -> Json {
    json!({ "version": 4, "terraform_version": "1.9.8", "resources": [
        { "module": "module.cache", "mode": "managed", "type": "aws_elasticache_cluster", "name": "redis",
          "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": [instance(json!({
            "cluster_id": "app-redis", "engine": "redis", "engine_version": "7.1", "node_type": "cache.t4g.micro",
            "num_cache_nodes": 1, "port": 6379, "parameter_group_name": "default.redis7", "subnet_group_name": "app-subnets",
            "security_group_ids": ["sg-0aaa1111"], "arn": "arn:aws:elasticache:eu-west-1:123456789012:cluster:app-redis",
            "cache_nodes": [{ "address": "app-redis.abc123.0001.euw1.cache.amazonaws.com", "port": 6379 }],
            "tags": { "Project": "app", "Environment": "dev" } }))] },
        { "mode": "managed", "type": "aws_elasticache_subnet_group", "name": "redis", "instances": [instance(json!({
            "name": "app-subnets", "description": "Managed by Terraform", "subnet_ids": ["subnet-0b1b2c3d", "subnet-0a1b2c3d"],
            "tags": { "Project": "app", "Environment": "dev" } }))] },
        { "mode": "managed", "type": "aws_subnet", "name": "intra", "instances": [
            { "index_key": 0, "attributes": { "id": "subnet-0a1b2c3d", "tags": { "Name": "intra-a" } } },
            { "index_key": 1, "attributes": { "id": "subnet-0b1b2c3d", "tags": { "Name": "intra-b" } } } ] },
        { "mode": "managed", "type": "aws_security_group", "name": "redis", "instances": [
            { "attributes": { "id": "sg-0aaa1111", "tags": { "Name": "allow_redis" } } } ] },
        { "mode": "managed", "type": "aws_vpc", "name": "main", "instances": [
            { "attributes": { "id": "vpc-0a1b2c3d", "tags": { "Name": "app-vpc" } } } ] },
        { "mode": "managed", "type": "aws_elasticache_user", "name": "admin", "instances": [{
            "attributes": { "user_id": "admin", "user_name": "admin", "engine": "REDIS", "access_string": "on ~* +@all",
                            "passwords": [CANARY], "tags": { "Project": "app", "Environment": "dev" } },
            "sensitive_attributes": [[{ "type": "get_attr", "value": "passwords" }]] }] },
        { "mode": "managed", "type": "aws_ssm_parameter", "name": "passwords", "instances": [
            { "index_key": "admin", "attributes": { "name": "/app/redis/admin", "type": "SecureString", "value": CANARY },
              "sensitive_attributes": [[{ "type": "get_attr", "value": "value" }]] },
            { "index_key": "other", "attributes": { "name": "/app/other", "type": "SecureString", "value": "CANARY-SECRET-OTHER" } } ] },
        { "mode": "data", "type": "aws_ssm_parameter", "name": "ami", "instances": [
            { "attributes": { "name": "/aws/ami", "value": "CANARY-SECRET-DATA", "insecure_value": "CANARY-SECRET-DATA" } } ] },
        { "mode": "managed", "type": "aws_db_instance", "name": "db", "instances": [
            { "attributes": { "identifier": "db", "password": "CANARY-SECRET-DB" },
              "sensitive_attributes": [[{ "type": "get_attr", "value": "password" }]] } ] },
        { "mode": "managed", "type": "aws_ecs_cluster", "name": "workers", "instances": [
            { "status": "tainted", "attributes": { "name": "tainted-cluster" } },
            { "index_key": "b", "deposed": "00000001", "attributes": { "name": "old-cluster" } } ] },
        { "mode": "managed", "type": "aws_vpc_endpoint", "name": "ep", "instances": [
            { "index_key": "logs", "attributes": { "id": "vpce-1", "service_name": "com.amazonaws.eu-west-1.logs",
              "vpc_endpoint_type": "Interface", "private_dns_enabled": true, "subnet_ids": ["subnet-0a1b2c3d"],
              "security_group_ids": ["sg-0aaa1111"], "tags": { "Project": "app", "Environment": "dev", "Name": "logs" },
              "policy": "{\"Statement\":[{\"Action\":\"*\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"*\"}]}" } } ] },
    ] })
}

#[test]
fn modules_instances_data_tainted_deposed_and_unsupported_are_each_handled() {
    let inventory = read(&state().to_string(), "state.tfstate").unwrap();
    let found: Vec<(Kind, &str, &str)> =
        inventory.found.iter().map(|f| (f.kind, f.name.as_str(), f.origin.as_str())).collect();
    assert_eq!(
        found,
        vec![
            (Kind::CacheCluster, "app-redis", "module.cache.aws_elasticache_cluster.redis"),
            (Kind::CacheSubnetGroup, "app-subnets", "aws_elasticache_subnet_group.redis"),
            (Kind::CacheUser, "admin", "aws_elasticache_user.admin"),
            (Kind::VpcEndpoint, "logs", "aws_vpc_endpoint.ep[\"logs\"]"),
        ]
    );
    let skipped: BTreeMap<&str, String> =
        inventory.skipped.iter().map(|s| (s.origin.as_str(), s.reason.to_string())).collect();
    assert!(skipped["data.aws_ssm_parameter.ami"].starts_with("a data source"));
    assert!(skipped["aws_ecs_cluster.workers"].starts_with("tainted"));
    assert!(skipped["aws_ecs_cluster.workers[\"b\"]"].starts_with("deposed (00000001)"));
    assert_eq!(skipped["aws_db_instance.db"], "aws_db_instance is not a kind steward keeps");
    assert!(skipped["aws_ssm_parameter.passwords[\"other\"]"].contains("only as a cache user's password parameter"));
    assert!(!skipped.contains_key("aws_ssm_parameter.passwords[\"admin\"]"), "used as the user's parameter");
    assert_eq!(inventory.region.as_deref(), Some("eu-west-1"));
    // The user's parameter was found by its value, which is not kept.
    let user = &inventory.found[2];
    assert_eq!(user.spec["passwordParameter"], "/app/redis/admin");
    assert_eq!(user.spec["engine"], "redis");
}

#[test]
fn a_sensitive_value_appears_nowhere_in_what_an_import_writes_or_says() {
    let inventory = read(&state().to_string(), "state.tfstate").unwrap();
    let planned = plan(inventory, "app", "60s");
    let everything = format!("{planned:?}");
    assert!(!everything.contains("CANARY-SECRET"), "{everything}");
    let text: String = planned.files.iter().map(|(_, t)| t.as_str()).collect();
    assert!(text.contains("subnetGroup: \"${CacheSubnetGroup/app-subnets.name}\""), "{text}");
    assert!(
        text.contains("Name: intra-a") && text.contains("Name: allow_redis") && text.contains("Name: app-vpc"),
        "{text}"
    );
    assert!(!text.contains("parameterGroup") && !text.contains("privateDns") && !text.contains("policy"), "{text}");
    assert_eq!(
        planned.summary.default_tags,
        BTreeMap::from([("Environment".into(), "dev".into()), ("Project".into(), "app".into())])
    );
}

#[test]
fn show_json_output_is_read_like_a_state_file() {
    let show = json!({ "format_version": "1.0", "values": { "root_module": {
        "resources": [{ "address": "aws_ecs_cluster.main", "mode": "managed", "type": "aws_ecs_cluster", "name": "main",
            "values": { "name": "workers", "arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/workers",
                        "setting": [{ "name": "containerInsights", "value": "enabled" }], "tags": { "Name": "w" } },
            "sensitive_values": {} }],
        "child_modules": [{ "address": "module.x", "resources": [{ "address": "module.x.aws_ecs_cluster.old", "mode": "managed",
            "type": "aws_ecs_cluster", "name": "old", "tainted": true, "values": { "name": "old" } }] }] } } });
    let inventory = read(&show.to_string(), "show.json").unwrap();
    assert_eq!(inventory.found.len(), 1);
    assert_eq!(inventory.found[0].spec, json!({ "containerInsights": "enabled", "tags": { "Name": "w" } }));
    assert_eq!(inventory.skipped[0].origin, "module.x.aws_ecs_cluster.old");
}

#[test]
fn bad_input_names_the_file_and_what_was_expected_without_quoting_it() {
    let error = read("{\"version\": 3, \"secret\": \"CANARY-SECRET\"}", "old.tfstate").unwrap_err().to_string();
    assert!(error.starts_with("old.tfstate: .version: state format 3; expected 4"), "{error}");
    let error = read("not json CANARY-SECRET", "x.tfstate").unwrap_err().to_string();
    assert!(error.starts_with("x.tfstate: not JSON (line 1, column 2)") && !error.contains("CANARY"), "{error}");
}

/// Real states people committed (tests/fixtures/tfstate, their secrets replaced by
/// `CANARY-SECRET-<n>`): each is read, and no secret reaches the manifests or the summary.
#[test]
fn real_states_import_without_a_secret_in_the_output() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tfstate");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 6);
    let mut imported = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut inventory = read(&text, &file.display().to_string()).unwrap();
        imported += inventory.found.len();
        // What `--region` and `--vpc` give for a state that names neither.
        inventory.region.get_or_insert_with(|| "eu-west-1".into());
        inventory.vpc.get_or_insert_with(|| NetworkObject { id: "vpc-0a1b2c3d".into(), name: None });
        let planned = plan(inventory, "real", "60s");
        let everything = format!("{planned:?}");
        assert!(!everything.contains("CANARY-SECRET"), "{}: {everything}", file.display());
        for (name, text) in &planned.files {
            crate::manifest::parse_manifests(text, name, None)
                .unwrap_or_else(|e| panic!("{}: {name}: {e}", file.display()));
        }
    }
    assert!(imported >= 10, "the fixtures hold endpoints, clusters and services: {imported}");
}

/// A role's attachments and inline policies, and a repository's lifecycle policy, are folded into
/// them; a part whose object the state does not hold is said as such; an attached policy of the
/// same import becomes a reference.
#[test]
fn roles_policies_and_repositories_come_with_their_parts_folded_in() {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}"#;
    let document =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}"#;
    let policy_arn = "arn:aws:iam::123456789012:policy/exec-policy";
    let resource = |kind: &str, name: &str, attributes: Json| json!({ "mode": "managed", "type": kind, "name": name, "instances": [instance(attributes)] });
    let state = json!({ "version": 4, "resources": [
        resource("aws_iam_role", "exec", json!({ "name": "app-exec", "path": "/", "assume_role_policy": trust,
            "max_session_duration": 3600, "arn": "arn:aws:iam::123456789012:role/app-exec",
            "inline_policy": [{ "name": "from-block", "policy": document }], "managed_policy_arns": [] })),
        resource("aws_iam_policy", "exec", json!({ "name": "exec-policy", "path": "/", "policy": document, "arn": policy_arn })),
        resource("aws_iam_role_policy_attachment", "exec", json!({ "role": "app-exec", "policy_arn": policy_arn })),
        resource("aws_iam_role_policy_attachment", "ecr", json!({ "role": "app-exec",
            "policy_arn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly" })),
        resource("aws_iam_role_policy", "extra", json!({ "role": "app-exec", "name": "extra", "policy": document })),
        resource("aws_iam_role_policy_attachment", "elsewhere", json!({ "role": "not-here", "policy_arn": policy_arn })),
        resource("aws_ecr_repository", "web", json!({ "name": "app-web", "image_tag_mutability": "IMMUTABLE",
            "image_scanning_configuration": [{ "scan_on_push": true }],
            "encryption_configuration": [{ "encryption_type": "AES256", "kms_key": "" }],
            "arn": "arn:aws:ecr:eu-west-1:123456789012:repository/app-web",
            "repository_url": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app-web" })),
        resource("aws_ecr_lifecycle_policy", "web", json!({ "repository": "app-web", "policy": "{\"rules\":[]}" })),
    ] });
    let inventory = read(&state.to_string(), "iam.tfstate").unwrap();
    let spec = |kind: Kind| inventory.found.iter().find(|f| f.kind == kind).unwrap().spec.clone();
    let role = spec(Kind::IamRole);
    assert_eq!(
        role["managedPolicyArns"],
        json!([
            "arn:aws:iam::123456789012:policy/exec-policy",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
        ])
    );
    assert_eq!(role["inlinePolicies"], json!({ "from-block": document, "extra": document }));
    assert_eq!(role.get("maxSessionDuration"), None, "AWS's default is left out");
    let repository = spec(Kind::EcrRepository);
    assert_eq!(repository["imageTagMutability"], "IMMUTABLE");
    assert_eq!(repository["scanOnPush"], true);
    assert_eq!(repository["lifecyclePolicy"], "{\"rules\":[]}");
    assert_eq!(repository.get("encryption"), None, "AES256 is AWS's default");
    let orphan = inventory.skipped.iter().find(|s| s.origin == "aws_iam_role_policy_attachment.elsewhere").unwrap();
    assert_eq!(orphan.reason, Skip::Unkept(Unkept::PartWithoutItsObject));
    let mut inventory = inventory;
    inventory.region = Some("eu-west-1".into());
    inventory.vpc = Some(NetworkObject { id: "vpc-0a1b2c3d".into(), name: None });
    let planned = plan(inventory, "iam", "60s");
    let everything: String = planned.files.iter().map(|(_, text)| text.as_str()).collect();
    assert!(everything.contains("${IamPolicy/exec-policy.arn}"), "{everything}");
    for (name, text) in &planned.files {
        crate::manifest::parse_manifests(text, name, None).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    }
}

/// The network comes as kinds: a VPC, subnets, groups with their inline and separate rules (one
/// rule per source, AWS's allow-all egress left out), a route table with its associations and
/// routes (the local route left out); what names them refers to them.
#[test]
fn the_network_comes_as_kinds_with_rules_and_associations_folded_in() {
    let resource = |kind: &str, name: &str, attributes: Json| json!({ "mode": "managed", "type": kind, "name": name, "instances": [instance(attributes)] });
    let allow_all = json!([{ "protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"],
        "ipv6_cidr_blocks": [], "security_groups": [], "self": false, "description": "" }]);
    let state = json!({ "version": 4, "resources": [
        resource("aws_vpc", "main", json!({ "id": "vpc-1", "cidr_block": "10.0.0.0/16", "enable_dns_support": true,
            "enable_dns_hostnames": true, "tags": { "Name": "app-vpc" } })),
        resource("aws_subnet", "intra", json!({ "id": "subnet-1", "vpc_id": "vpc-1", "cidr_block": "10.0.1.0/26",
            "availability_zone": "eu-west-1a", "map_public_ip_on_launch": false, "tags": { "Name": "intra-a" } })),
        resource("aws_security_group", "redis", json!({ "id": "sg-1", "name": "allow_redis", "description": "redis",
            "vpc_id": "vpc-1", "egress": allow_all, "tags": { "Name": "allow_redis" },
            "ingress": [{ "protocol": "tcp", "from_port": 6379, "to_port": 6379, "cidr_blocks": ["10.0.1.0/26", "10.0.1.64/26"],
                "ipv6_cidr_blocks": [], "security_groups": ["sg-2"], "self": false, "description": "" }] })),
        resource("aws_security_group", "clients", json!({ "id": "sg-2", "name": "clients", "description": "clients",
            "vpc_id": "vpc-1", "ingress": [], "egress": [] })),
        resource("aws_vpc_security_group_ingress_rule", "https", json!({ "security_group_id": "sg-2",
            "ip_protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ipv4": "10.0.0.0/16" })),
        resource("aws_security_group_rule", "out", json!({ "type": "egress", "security_group_id": "sg-2",
            "protocol": "6", "from_port": 6379, "to_port": 6379, "source_security_group_id": "sg-1", "cidr_blocks": [] })),
        resource("aws_route_table", "intra", json!({ "id": "rtb-1", "vpc_id": "vpc-1", "tags": { "Name": "intra" },
            "route": [{ "cidr_block": "0.0.0.0/0", "gateway_id": "igw-1" }, { "cidr_block": "10.0.0.0/16", "gateway_id": "local" }] })),
        resource("aws_route_table_association", "intra", json!({ "route_table_id": "rtb-1", "subnet_id": "subnet-1" })),
        resource("aws_route_table_association", "other", json!({ "route_table_id": "rtb-9", "subnet_id": "subnet-1" })),
    ] });
    let inventory = read(&state.to_string(), "network.tfstate").unwrap();
    let spec = |kind: Kind, name: &str| {
        inventory
            .found
            .iter()
            .find(|f| f.kind == kind && f.name == name)
            .unwrap_or_else(|| panic!("{kind}/{name}"))
            .spec
            .clone()
    };
    assert_eq!(spec(Kind::Vpc, "app-vpc")["cidrBlock"], "10.0.0.0/16");
    assert_eq!(spec(Kind::Subnet, "intra-a")["availabilityZone"], "eu-west-1a");
    let redis = spec(Kind::SecurityGroup, "allow-redis");
    let rule = |source: (&str, &str)| {
        let mut rule = json!({ "ipProtocol": "tcp", "fromPort": 6379, "toPort": 6379 });
        rule[source.0] = json!(source.1);
        rule
    };
    let ingress = redis["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 3, "{redis}");
    for source in [("cidrIpv4", "10.0.1.0/26"), ("cidrIpv4", "10.0.1.64/26"), ("referencedGroupId", "sg-2")] {
        assert!(ingress.contains(&rule(source)), "{source:?} in {redis}");
    }
    assert_eq!(redis.get("egress"), None, "AWS's allow-all is left out");
    let clients = spec(Kind::SecurityGroup, "clients");
    assert_eq!(
        clients["ingress"],
        json!([{ "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/16" }])
    );
    assert_eq!(clients["egress"], json!([rule(("referencedGroupId", "sg-1"))]));
    let table = spec(Kind::RouteTable, "intra");
    assert_eq!(table["routes"], json!([{ "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1" }]));
    assert_eq!(table["associations"], json!([{ "subnetId": "subnet-1" }]));
    assert!(inventory.skipped.iter().any(|s| s.origin == "aws_route_table_association.other"));
    let mut inventory = inventory;
    inventory.region = Some("eu-west-1".into());
    let planned = plan(inventory, "app", "60s");
    let network = &planned.files.iter().find(|(name, _)| name == "network.yaml").unwrap().1;
    assert!(network.contains("${Subnet/intra-a.id}") && network.contains("${SecurityGroup/clients.id}"), "{network}");
    // The two groups allow each other: one of the two refers, the other keeps the id.
    assert!(
        !network.contains("${SecurityGroup/allow-redis.id}") && network.contains("referencedGroupId: sg-1"),
        "{network}"
    );
    for (name, text) in &planned.files {
        crate::manifest::parse_manifests(text, name, None).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    }
}
