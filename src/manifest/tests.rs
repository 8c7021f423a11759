//! Validation rules, each with the exact message a user sees.

use super::*;
use crate::model::{Kind, ResourceKey};
use crate::schema::yaml;

const STACK: &str = "apiVersion: steward/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  region: eu-west-1\n  vpc: {byTag: {Name: v}}\n  params: {zone: example.com}\n";

fn errors_of(text: &str) -> Vec<String> {
    match parse_manifests(text, "f.yaml", None) {
        Ok(ms) => match validate_set(&ms, &[]) {
            Ok(()) => vec![],
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        },
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn with_stack(doc: &str) -> String {
    format!("{STACK}---\n{doc}")
}

/// The stack document is 7 lines plus `---`: resource documents start on line 9.
fn cluster(spec_lines: &str) -> String {
    with_stack(&format!(
        "apiVersion: steward/v1\nkind: CacheCluster\nmetadata: {{name: redis, stack: s}}\nspec:\n{spec_lines}"
    ))
}

const GOOD_CLUSTER: &str = "  engine: redis\n  engineVersion: \"6.2\"\n  nodeType: cache.t4g.micro\n  subnetGroup: g\n";

#[test]
fn the_mentor_match_desired_state_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("desired-state/mentor-match");
    let manifests = load_paths(&[dir], None).unwrap();
    validate_set(&manifests, &[]).unwrap();
    assert_eq!(manifests.len(), 19);
    let order = references::topological_order(&manifests);
    let pos = |kind: Kind, name: &str| order.iter().position(|k| k.kind == kind && k.name == name).unwrap();
    assert_eq!(pos(Kind::Stack, "mentor-match"), 0);
    assert!(pos(Kind::CacheCluster, "mentor-match-redis") < pos(Kind::AppRunnerService, "mmweb"));
    assert!(pos(Kind::AppRunnerVpcConnector, "mm-vpc-connector") < pos(Kind::AppRunnerService, "mmweb"));
    assert!(pos(Kind::AppRunnerService, "mmweb") < pos(Kind::EcsService, "mentor-match-worker"));
    assert!(pos(Kind::AppRunnerService, "mmweb") < pos(Kind::AppRunnerCustomDomain, "mmweb-domain"));
    // Every reference points backwards, and borrowed manifests give the same order.
    for m in &manifests {
        let at = order.iter().position(|k| *k == m.key).unwrap();
        for dep in references::dependencies(m) {
            assert!(order.iter().position(|k| *k == dep).unwrap() < at, "{} before {}", dep, m.key);
        }
    }
    let borrowed: Vec<&Manifest> = manifests.iter().rev().collect();
    assert_eq!(references::topological_order(&borrowed), order);
    let redis = manifests.iter().find(|m| m.key.kind == Kind::CacheCluster).unwrap();
    assert_eq!(redis.deletion_policy(), "Retain");
    assert_eq!(redis.management_policy(), "enforce");
}

#[test]
fn a_good_resource_has_no_errors() {
    assert_eq!(errors_of(&cluster(GOOD_CLUSTER)), Vec::<String>::new());
}

#[test]
fn wrong_api_version_kind_and_unknown_top_level_fields() {
    let text = "apiVersion: v1\nkind: Bucket\nmetadata: {name: x, stack: s}\nspec: {}\nstatus: {}\n";
    // Every kind, in the order of the kind list.
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(kinds[..3], ["Stack", "VpcEndpoint", "CacheSubnetGroup"]);
    assert_eq!(
        errors_of(text),
        vec![
            "f.yaml:5: status: unknown field; expected apiVersion, kind, metadata, spec".to_string(),
            "f.yaml:1: apiVersion: expected steward/v1, got \"v1\"".to_string(),
            format!("f.yaml:2: kind: expected one of {}, got \"Bucket\"", kinds.join(", ")),
        ]
    );
}

#[test]
fn metadata_rules() {
    let text = "apiVersion: steward/v1\nkind: CacheCluster\nmetadata: {name: Bad_Name, owner: me}\nspec:\n".to_string()
        + GOOD_CLUSTER;
    assert_eq!(
        errors_of(&text),
        vec![
            "f.yaml:3: metadata.owner: unknown field; expected name, stack",
            "f.yaml:3: CacheCluster/Bad_Name: metadata.name: expected a cluster id of 1 to 40 lowercase letters, digits or hyphens, starting with a letter, no '--' and no trailing '-', got \"Bad_Name\"",
            "f.yaml:1: CacheCluster/Bad_Name: metadata.stack: required (or pass --stack)",
        ]
    );
}

#[test]
fn injection_attempts_in_names_are_refused() {
    let text =
        with_stack("apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {name: \"x; rm -rf /\", stack: s}\nspec: {}\n");
    assert_eq!(
        errors_of(&text),
        vec![
            "f.yaml:11: EcsCluster/x; rm -rf /: metadata.name: expected a cluster name of 1 to 255 letters, digits, '-' or '_', got \"x; rm -rf /\""
        ]
    );
}

#[test]
fn unknown_spec_fields_wrong_types_and_ranges_are_all_reported() {
    let spec =
        "  engine: redis\n  engineVersion: 6.2\n  nodeType: t4g.micro\n  port: 80\n  subnetGroup: g\n  colour: blue\n";
    assert_eq!(
        errors_of(&cluster(spec)),
        vec![
            "f.yaml:14: CacheCluster/redis: spec.engineVersion: expected one of 6.0, 6.2, 7.0, 7.1, 7.2, 8.0, 8.1, got a number",
            "f.yaml:15: CacheCluster/redis: spec.nodeType: expected a node type such as cache.t4g.micro, got \"t4g.micro\"",
            "f.yaml:16: CacheCluster/redis: spec.port: expected an integer from 1024 to 65535, got 80",
            "f.yaml:18: CacheCluster/redis: spec.colour: unknown field; expected one of engine, engineVersion, nodeType, numCacheNodes, port, parameterGroup, subnetGroup, securityGroups, tags, managementPolicy, deletionPolicy, adopt, allowReplacement, ignoreChanges, resync, healWindow",
        ]
    );
}

#[test]
fn engine_and_parameter_group_must_agree() {
    let spec = GOOD_CLUSTER.replace("6.2", "7.1") + "  parameterGroup: default.redis6.x\n";
    assert_eq!(
        errors_of(&cluster(&spec)),
        vec![
            "f.yaml:17: CacheCluster/redis: spec.parameterGroup: expected a parameter group for engine version 7.1, got \"default.redis6.x\""
        ]
    );
}

#[test]
fn policies_are_checked() {
    let spec = GOOD_CLUSTER.to_string() + "  managementPolicy: heal\n  deletionPolicy: delete\n";
    assert_eq!(
        errors_of(&cluster(&spec)),
        vec![
            "f.yaml:17: CacheCluster/redis: spec.managementPolicy: expected one of enforce, observe, got \"heal\"",
            "f.yaml:18: CacheCluster/redis: spec.deletionPolicy: expected one of Delete, Retain, got \"delete\"",
        ]
    );
}

fn worker(cpu: i64, memory: i64, extra_env: &str) -> String {
    with_stack(&format!(
        "apiVersion: steward/v1\nkind: EcsService\nmetadata: {{name: w, stack: s}}\nspec:\n  cluster: c\n  network:\n    subnets: [subnet-0123abcd]\n    securityGroups: [sg-0123abcd]\n  taskDefinition:\n    family: w\n    cpu: {cpu}\n    memory: {memory}\n    containers:\n      - name: worker\n        image: img\n        env: {{A: b{extra_env}}}\n"
    ))
}

#[test]
fn fargate_cpu_memory_pairs() {
    assert_eq!(errors_of(&worker(256, 512, "")), Vec::<String>::new());
    assert_eq!(
        errors_of(&worker(256, 4096, "")),
        vec![
            "f.yaml:20: EcsService/w: spec.taskDefinition.memory: expected 512, 1024, 2048 for Fargate cpu 256, got 4096"
        ]
    );
    assert_eq!(
        errors_of(&worker(300, 1024, "")),
        vec![
            "f.yaml:19: EcsService/w: spec.taskDefinition.cpu: expected a Fargate cpu value (256, 512, 1024, 2048, 4096, 8192, 16384), got 300"
        ]
    );
    assert_eq!(
        errors_of(&worker(1024, 1000, "")),
        vec![
            "f.yaml:20: EcsService/w: spec.taskDefinition.memory: expected 2048, 3072, 4096, 5120, 6144, 7168, 8192 for Fargate cpu 1024, got 1000"
        ]
    );
}

#[test]
fn env_names_are_checked() {
    assert_eq!(
        errors_of(&worker(256, 512, ", 9LIVES: x")),
        vec![
            "f.yaml:24: EcsService/w: spec.taskDefinition.containers[0].env.9LIVES: expected the key to be an environment variable name (letters, digits and _, not starting with a digit)"
        ]
    );
}

fn apprunner(instance: &str, network: &str) -> String {
    with_stack(&format!(
        "apiVersion: steward/v1\nkind: AppRunnerService\nmetadata: {{name: web1, stack: s}}\nspec:\n  image: {{identifier: img, repositoryType: ECR_PUBLIC}}\n  instance: {instance}\n{network}"
    ))
}

#[test]
fn apprunner_sizes_arns_and_egress() {
    assert_eq!(errors_of(&apprunner("{cpu: 1024, memory: 2048}", "")), Vec::<String>::new());
    assert_eq!(
        errors_of(&apprunner("{cpu: 1024, memory: 512}", "")),
        vec![
            "f.yaml:14: AppRunnerService/web1: spec.instance.memory: expected one of 2048, 3072, 4096 for cpu 1024, got 512"
        ]
    );
    assert_eq!(
        errors_of(&apprunner("{cpu: 1024, memory: 2048, instanceRole: mmweb-exec}", "")),
        vec![
            "f.yaml:14: AppRunnerService/web1: spec.instance.instanceRole: expected an ARN (arn:aws:service:region:account:resource), got \"mmweb-exec\""
        ]
    );
    assert_eq!(
        errors_of(&apprunner("{cpu: 1024, memory: 2048}", "  network: {egress: VPC}\n")),
        vec!["f.yaml:15: AppRunnerService/web1: spec.network.vpcConnector: required when network.egress is VPC"]
    );
}

#[test]
fn endpoint_type_decides_which_fields_apply() {
    let text = with_stack(
        "apiVersion: steward/v1\nkind: VpcEndpoint\nmetadata: {name: s3, stack: s}\nspec:\n  service: s3\n  type: Gateway\n  subnets: [subnet-0123abcd]\n",
    );
    assert_eq!(
        errors_of(&text),
        vec![
            "f.yaml:13: VpcEndpoint/s3: spec.routeTables: required for a Gateway endpoint",
            "f.yaml:15: VpcEndpoint/s3: spec.subnets: only an Interface endpoint takes this field",
        ]
    );
}

#[test]
fn cache_user_password_length_and_no_literal_password() {
    let text = with_stack(
        "apiVersion: steward/v1\nkind: CacheUser\nmetadata: {name: admin, stack: s}\nspec:\n  userName: admin\n  accessString: on ~* +@all\n  passwordParameter: /app/pw\n  passwordLength: 8\n  password: hunter2hunter2hunter2\n",
    );
    let errors = errors_of(&text);
    assert_eq!(errors[0], "f.yaml:16: CacheUser/admin: spec.passwordLength: expected an integer from 16 to 128, got 8");
    assert!(errors[1].starts_with("f.yaml:17: CacheUser/admin: spec.password: unknown field"), "{}", errors[1]);
}

#[test]
fn references_must_resolve_to_known_resources_and_outputs() {
    let text = with_stack(
        "apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {name: c, stack: s}\nspec:\n  tags: {A: x}\n---\napiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {name: d, stack: s}\nspec:\n  service: ${AppRunnerService/missing.arn}\n  domain: x.${Stack/s.params.nope}\n---\napiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {name: e, stack: s}\nspec:\n  service: ${EcsCluster/c.address}\n  domain: x.${Stack/s.params.zone}\n",
    );
    let errors = errors_of(&text);
    assert_eq!(
        errors,
        vec![
            "f.yaml:15: AppRunnerCustomDomain/d: spec.service: references AppRunnerService/missing, which is not defined in stack \"s\"",
            "f.yaml:15: AppRunnerCustomDomain/d: spec.domain: Stack/s has no output \"params.nope\"; expected one of vpcId, params.<name>",
            "f.yaml:22: AppRunnerCustomDomain/e: spec.service: EcsCluster/c has no output \"address\"; expected one of arn",
        ]
    );
}

#[test]
fn reference_cycles_are_reported() {
    let text = with_stack(
        "apiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {name: a, stack: s}\nspec: {service: \"${AppRunnerCustomDomain/b.dnsTarget}\", domain: a.example.com}\n---\napiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {name: b, stack: s}\nspec: {service: \"${AppRunnerCustomDomain/a.dnsTarget}\", domain: b.example.com}\n",
    );
    assert_eq!(
        errors_of(&text),
        vec![
            "f.yaml:9: AppRunnerCustomDomain/a: reference cycle: AppRunnerCustomDomain/a -> AppRunnerCustomDomain/b -> AppRunnerCustomDomain/a"
        ]
    );
}

#[test]
fn references_to_unknown_kinds() {
    let text = cluster(&GOOD_CLUSTER.replace("subnetGroup: g", "subnetGroup: ${Bucket/b.x}"));
    assert_eq!(
        errors_of(&text),
        vec!["f.yaml:16: CacheCluster/redis: spec.subnetGroup: unknown kind \"Bucket\" in reference ${Bucket/b.x}"]
    );
}

#[test]
fn malformed_references() {
    let text = cluster(&GOOD_CLUSTER.replace("subnetGroup: g", "subnetGroup: ${CacheSubnetGroup/g"));
    assert_eq!(
        errors_of(&text),
        vec!["f.yaml:16: CacheCluster/redis: spec.subnetGroup: expected `}` to close the reference `${…`"]
    );
}

#[test]
fn duplicates_and_missing_stack() {
    let one = "apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {name: c, stack: other}\nspec: {}\n";
    let text = format!("{one}---\n{one}");
    assert_eq!(
        errors_of(&text),
        vec![
            "f.yaml:6: EcsCluster/c: defined twice in stack \"other\"; first at f.yaml:1",
            "f.yaml:1: EcsCluster/c: metadata.stack: expected a Stack manifest named \"other\" (in these files or already applied)",
            "f.yaml:6: EcsCluster/c: metadata.stack: expected a Stack manifest named \"other\" (in these files or already applied)",
        ]
    );
}

#[test]
fn yaml_problems_and_non_manifests() {
    assert_eq!(
        errors_of("a: [1\n"),
        vec!["f.yaml:2: invalid YAML: while parsing a flow sequence, expected ',' or ']'"]
    );
    assert_eq!(errors_of("- 1\n- 2\n"), vec!["f.yaml:1: expected a manifest (a mapping), got a list"]);
    assert_eq!(errors_of("kind: Stack\nkind: Stack\n"), vec!["f.yaml:2: duplicate key `kind`"]);
}

#[test]
fn huge_values_are_refused() {
    let long = "x".repeat(5000);
    let text = with_stack(&format!(
        "apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {{name: c, stack: s}}\nspec: {{tags: {{A: {long}}}}}\n"
    ));
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("f.yaml:12: EcsCluster/c: spec.tags.A: expected at most 2048 characters, got 5000"),
        "{}",
        errors[0]
    );
}

#[test]
fn files_that_are_not_utf8_or_too_big_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, b"kind: \xff\xfe\n").unwrap();
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, vec![b'#'; (MAX_FILE_BYTES + 1) as usize]).unwrap();
    let err = load_paths(&[dir.path().to_path_buf()], None).unwrap_err();
    let got: Vec<String> = err.0.iter().map(|e| e.message.clone()).collect();
    assert_eq!(
        got,
        vec![
            "expected UTF-8 text, found invalid bytes at byte 6".to_string(),
            format!("file is {} bytes; expected at most {MAX_FILE_BYTES}", MAX_FILE_BYTES + 1),
        ]
    );
    let missing = load_paths(&[dir.path().join("nope.yaml")], None).unwrap_err();
    assert!(missing.0[0].message.starts_with("cannot read:"));
}

#[test]
fn documents_round_trip_through_yaml() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("desired-state/mentor-match");
    for m in load_paths(&[dir], None).unwrap() {
        let text = yaml::to_yaml(&m.to_document());
        let back = parse_manifests(&text, "out.yaml", None).unwrap();
        assert_eq!(back[0].spec, m.spec, "{text}");
        assert_eq!(back[0].key, m.key);
    }
}

#[test]
fn substitution_fills_outputs_or_names_what_is_missing() {
    let spec = serde_json::json!({"url": "redis://${CacheCluster/r.address}:${CacheCluster/r.port}/0"});
    let lookup = |_: Kind, _: &str, output: &str| match output {
        "address" => Some("r.abc.0001.euw1.cache.amazonaws.com".to_string()),
        _ => None,
    };
    let missing = references::substitute(&spec, &lookup).unwrap_err();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].output, "port");
    let full = |_: Kind, _: &str, output: &str| Some(if output == "port" { "6379".into() } else { "host".into() });
    assert_eq!(references::substitute(&spec, &full).unwrap()["url"], "redis://host:6379/0");
}

#[test]
fn references_are_found_with_their_paths() {
    let spec = serde_json::json!({
        "image": { "env": { "REDIS_URL": "redis://${CacheCluster/redis.address}:${CacheCluster/redis.port}" } },
        "subnets": ["plain", { "id": "${Stack/s.params.subnet}" }],
    });
    let found: Vec<(String, String)> = references::find(&spec)
        .into_iter()
        .map(|r| r.map(|r| (r.path, format!("{}/{}.{}", r.kind, r.name, r.output))).unwrap())
        .collect();
    assert_eq!(
        found,
        vec![
            ("image.env.REDIS_URL".to_string(), "CacheCluster/redis.address".to_string()),
            ("image.env.REDIS_URL".to_string(), "CacheCluster/redis.port".to_string()),
            ("subnets[1].id".to_string(), "Stack/s.params.subnet".to_string()),
        ]
    );
}

#[test]
fn levels_follow_references_whatever_the_kind_order() {
    // A VpcEndpoint (early in Kind::ALL) references an EcsCluster (late in Kind::ALL).
    let text = with_stack(
        "apiVersion: steward/v1\nkind: VpcEndpoint\nmetadata: {name: e, stack: s}\nspec:\n  service: sqs\n  \
         type: Interface\n  subnets: [subnet-0123abcd]\n  tags: {Cluster: \"${EcsCluster/c.arn}\"}\n---\n\
         apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {name: c, stack: s}\nspec: {}\n",
    );
    let manifests = parse_manifests(&text, "f.yaml", None).unwrap();
    validate_set(&manifests, &[]).unwrap();
    let levels = references::topological_levels(&manifests);
    let names: Vec<Vec<String>> = levels.iter().map(|l| l.iter().map(ResourceKey::short).collect()).collect();
    assert_eq!(names, [vec!["Stack/s"], vec!["EcsCluster/c"], vec!["VpcEndpoint/e"]]);
    assert_eq!(references::topological_order(&manifests).len(), 3);
}
