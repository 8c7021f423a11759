//! The controller's IAM policy (bootstrap/controller.yaml) grants exactly the actions the code
//! that `steward run` executes calls: no more, no less.

use std::collections::BTreeSet;
use steward::schema::yaml::{Node, Value, parse_documents};

/// The text of every Rust file below these folders of `src/` (a kind's own folder included).
fn sources_below(folders: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = String::new();
    let mut dirs: Vec<std::path::PathBuf> = folders.iter().map(|d| root.join(d)).collect();
    while let Some(dir) = dirs.pop() {
        if dir.extension().is_some_and(|e| e == "rs") {
            sources.push_str(&std::fs::read_to_string(dir).unwrap());
            continue;
        }
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    sources
}

/// The SDK calls in the controller's code, as IAM actions (`ec2:DescribeVpcEndpoints`).
fn actions_called() -> BTreeSet<String> {
    let mut actions = calls_in(&sources_below(&["kinds", "engine", "daemon", "store"]));
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

/// The SDK calls in some code, as IAM actions.
fn calls_in(sources: &str) -> BTreeSet<String> {
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
        ("clients.logs.", "logs"),
        ("clients.sqs.", "sqs"),
        ("clients.iam.", "iam"),
        ("clients.ecr.", "ecr"),
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
            // `client.` is the telemetry's own log client only where it writes its log stream.
            if prefix == "client."
                && !["create_log_group", "create_log_stream", "put_log_events"].contains(&op.as_str())
            {
                continue;
            }
            let pascal: String = op.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
            actions.insert(format!("{service}:{pascal}"));
        }
    }
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

/// A kind's file (or folder) in src/kinds: its name in snake case (`AppRunnerService` →
/// `apprunner_service`).
fn kind_file(kind: steward::model::Kind) -> String {
    let mut snake = String::new();
    for (i, c) in kind.as_str().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    let snake = snake.replace("app_runner", "apprunner");
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kinds").join(&snake);
    if folder.is_dir() { format!("kinds/{snake}") } else { format!("kinds/{snake}.rs") }
}

/// Each kind declares the actions its calls need (`KindDef::actions`): its own file calls
/// nothing it does not declare, the shared tag helpers nothing no kind declares, and the
/// controller's policy grants every declared action.
#[test]
fn each_kind_declares_the_actions_it_calls_and_the_policy_grants_them() {
    use steward::model::Kind;
    let granted = actions_granted();
    let mut declared_by_any = BTreeSet::new();
    for kind in Kind::ALL {
        let declared: BTreeSet<String> =
            steward::kinds::definition(kind).actions.iter().map(|a| a.to_string()).collect();
        let called = calls_in(&sources_below(&[&kind_file(kind)]));
        let undeclared: Vec<&String> = called.difference(&declared).collect();
        assert!(undeclared.is_empty(), "{kind} calls but does not declare {undeclared:?}");
        let not_granted: Vec<&String> = declared.difference(&granted).collect();
        assert!(not_granted.is_empty(), "{kind} declares but the policy does not grant {not_granted:?}");
        declared_by_any.extend(declared);
    }
    let shared = calls_in(&sources_below(&["kinds/tagging.rs"]));
    let undeclared: Vec<&String> = shared.difference(&declared_by_any).collect();
    assert!(undeclared.is_empty(), "the tag helpers call actions no kind declares: {undeclared:?}");
}
