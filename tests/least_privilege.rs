//! The controller's IAM policy (bootstrap/controller.yaml) grants exactly the actions the code
//! that `steward run` executes calls: no more, no less.

use std::collections::BTreeSet;
use steward::schema::yaml::{Node, Value, parse_documents};

/// The SDK calls in the controller's code, as IAM actions (`ec2:DescribeVpcEndpoints`).
fn actions_called() -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = String::new();
    // Every file below these folders, a kind's own folder (kinds/ecs_service/) included.
    let mut dirs: Vec<std::path::PathBuf> =
        ["kinds", "engine", "daemon", "store"].iter().map(|d| root.join(d)).collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    // Method chains span lines: drop all whitespace, then read `<client>.<operation>(`.
    let flat: String = sources.chars().filter(|c| !c.is_whitespace()).collect();
    let clients = [
        ("clients.ec2.", "ec2"),
        ("clients.ecs.", "ecs"),
        ("clients.elasticache.", "elasticache"),
        ("clients.apprunner.", "apprunner"),
        ("clients.ssm.", "ssm"),
        ("clients.route53.", "route53"),
        ("clients.acm.", "acm"),
        ("clients.elbv2.", "elasticloadbalancing"),
        ("db.", "dynamodb"),
        ("self.sqs.", "sqs"),
        ("client.", "logs"),
    ];
    let mut actions = BTreeSet::new();
    for (prefix, service) in clients {
        for (i, _) in flat.match_indices(prefix) {
            let rest = &flat[i + prefix.len()..];
            let op: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if op.is_empty() || !rest[op.len()..].starts_with('(') {
                continue;
            }
            if service == "logs" && !["create_log_group", "create_log_stream", "put_log_events"].contains(&op.as_str())
            {
                continue;
            }
            let pascal: String = op.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
            actions.insert(format!("{service}:{pascal}"));
        }
    }
    // Calls whose authorization is other actions (AWS's service authorization reference).
    if actions.remove("dynamodb:TransactWriteItems") {
        actions.extend(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"].map(String::from));
    }
    if actions.remove("sqs:DeleteMessageBatch") {
        actions.insert("sqs:DeleteMessage".into());
    }
    // Bootstrap (a person's command, not the controller's) creates the table.
    actions.remove("dynamodb:CreateTable");
    actions.remove("dynamodb:DescribeTable");
    actions.remove("dynamodb:DescribeTimeToLive");
    actions.remove("dynamodb:UpdateTimeToLive");
    // Tags given at creation are authorized as CreateTags / AddTagsToResource; roles given to
    // App Runner and ECS are passed.
    actions.extend(["ec2:CreateTags", "ssm:AddTagsToResource", "iam:PassRole"].map(String::from));
    // SecureString parameters under a customer-managed key: SSM calls KMS as the caller.
    actions.extend(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"].map(String::from));
    actions
}

fn actions_granted() -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bootstrap/controller.yaml");
    let template = parse_documents(&std::fs::read_to_string(path).unwrap()).unwrap().remove(0);
    let policy =
        template.get("Resources").unwrap().get("TaskRole").unwrap().get("Properties").unwrap().get("Policies").unwrap();
    let Value::Seq(policies) = &policy.value else { panic!("Policies is a list") };
    let mut actions = BTreeSet::new();
    for p in policies {
        let Value::Seq(statements) = &p.get("PolicyDocument").unwrap().get("Statement").unwrap().value else {
            panic!()
        };
        for s in statements {
            // `!If [Condition, statement, !Ref AWS::NoValue]` (the parser drops the tag): the statement.
            let s = match &s.value {
                Value::Seq(branches) => branches.iter().find(|b| matches!(b.value, Value::Map(_))).unwrap(),
                _ => s,
            };
            let action = s.get("Action").unwrap();
            let list: Vec<&Node> = match &action.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![action],
            };
            for a in list {
                let a = a.as_str().unwrap();
                assert!(!a.contains('*'), "wildcard action {a}");
                actions.insert(a.to_string());
            }
        }
    }
    actions
}

#[test]
fn the_task_role_grants_exactly_the_actions_the_controller_calls() {
    let called = actions_called();
    let granted = actions_granted();
    let missing: Vec<&String> = called.difference(&granted).collect();
    let extra: Vec<&String> = granted.difference(&called).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "called but not granted: {missing:?}\ngranted but never called: {extra:?}"
    );
    assert!(called.len() > 50, "{called:?}");
}
