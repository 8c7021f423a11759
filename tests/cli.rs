//! The edit-desired-state workflow end to end: the `steward` binary against moto's DynamoDB.

mod common;

use common::{World, replace_in, repo_path};
use serde_json::Value;

fn seed() -> String {
    repo_path("desired-state/mentor-match").display().to_string()
}

fn resource<'a>(items: &'a Value, kind: &str, name: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} missing"))
}

#[test]
fn the_seed_validates_offline_without_any_aws_configuration() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["validate", "-f", &seed()])
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "19 resource(s) valid\n");
}

#[test]
fn bootstrap_is_idempotent_then_apply_and_get_list_every_resource() {
    let w = World::new();
    assert_eq!(w.ok(&["bootstrap"]), "table steward created\n");
    assert_eq!(w.ok(&["bootstrap"]), "table steward already exists\n");
    let out = w.ok(&["apply", "-f", &seed()]);
    assert_eq!(out.lines().filter(|l| l.contains(" created ")).count(), 19, "{out}");
    let items = w.get_json(&[]);
    assert_eq!(items.as_array().unwrap().len(), 19);
    let redis = resource(&items, "CacheCluster", "mentor-match-redis");
    assert_eq!(redis["spec"]["nodeType"], "cache.t4g.micro");
    assert_eq!(redis["metadata"]["version"], 1);
    assert_eq!(redis["metadata"]["stack"], "mentor-match");
    assert!(
        redis["metadata"]["updatedBy"]
            .as_str()
            .unwrap()
            .starts_with(&format!("arn:aws:sts::{}:assumed-role/", w.account.id))
    );
    let table = w.ok(&["get"]);
    for line in [
        "Stack                  mentor-match",
        "EcsService             mentor-match-worker",
        "AppRunnerCustomDomain  mmweb-domain",
    ] {
        assert!(table.contains(line), "{table}");
    }
    let one = w.ok(&["get", "ecsservice/mentor-match-worker", "-o", "yaml"]);
    assert!(one.starts_with("apiVersion: steward/v1\nkind: EcsService\n"), "{one}");
    let only_kind = w.get_json(&["VpcEndpoint"]);
    assert_eq!(only_kind.as_array().unwrap().len(), 7);
    let missing = w.run(&["get", "EcsService/nope"]);
    assert_eq!(missing.code(), 1);
}

#[test]
fn the_same_apply_twice_writes_nothing() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let out = w.ok(&["apply", "-f", &seed()]);
    assert_eq!(out.lines().filter(|l| l.contains(" unchanged ")).count(), 19, "{out}");
    let items = w.get_json(&[]);
    assert!(items.as_array().unwrap().iter().all(|i| i["metadata"]["version"] == 1));
    assert_eq!(w.ok(&["history", "CacheCluster/mentor-match-redis"]).lines().count(), 2);
}

#[test]
fn a_directory_with_one_bad_manifest_writes_nothing() {
    let w = World::new();
    w.ok(&["bootstrap"]);
    let dir = w.seed_copy();
    std::fs::write(
        dir.join("zz-bad.yaml"),
        "apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {name: extra, stack: mentor-match}\nspec:\n  containerInsights: sometimes\n",
    )
    .unwrap();
    let run = w.run(&["apply", "-f", dir.to_str().unwrap()]);
    assert_eq!(run.code(), 1);
    let expected = format!(
        "{}:5: EcsCluster/extra: spec.containerInsights: expected one of enabled, disabled, enhanced, got \"sometimes\"",
        dir.join("zz-bad.yaml").display()
    );
    assert!(run.stderr().contains(&expected), "{}", run.stderr());
    assert!(run.stderr().contains("nothing was written"));
    assert_eq!(w.get_json(&[]), serde_json::json!([]));
}

#[test]
fn diff_exit_codes_follow_terraform_plan() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let dir = w.seed_copy();
    let same = w.run(&["diff", "-f", dir.to_str().unwrap()]);
    assert_eq!((same.code(), same.stdout().as_str()), (0, "no changes: the stored desired state matches the files\n"));
    replace_in(&dir.join("redis.yaml"), "nodeType: cache.t4g.micro", "nodeType: cache.t4g.small");
    let changed = w.run(&["diff", "-f", dir.to_str().unwrap()]);
    assert_eq!(changed.code(), 2, "{}", changed.stderr());
    assert!(changed.stdout().contains("~ CacheCluster/mentor-match-redis [stack mentor-match]: 1 field(s) change\n    spec.nodeType: \"cache.t4g.micro\" → \"cache.t4g.small\""), "{}", changed.stdout());
    replace_in(&dir.join("redis.yaml"), "port: 6379", "port: high");
    let bad = w.run(&["diff", "-f", dir.to_str().unwrap()]);
    assert_eq!(bad.code(), 1);
    assert!(
        bad.stderr().contains("spec.port: expected an integer from 1024 to 65535, got a string"),
        "{}",
        bad.stderr()
    );
}

#[test]
fn history_then_rollback_restores_the_earlier_spec() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let dir = w.seed_copy();
    replace_in(&dir.join("redis.yaml"), "nodeType: cache.t4g.micro", "nodeType: cache.t4g.small");
    let out = w.ok(&["apply", "-f", dir.to_str().unwrap(), "-m", "bigger node"]);
    assert!(out.contains("CacheCluster/mentor-match-redis configured"), "{out}");
    let history = w.ok(&["history", "CacheCluster/mentor-match-redis"]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 3, "{history}");
    assert!(lines[1].starts_with("1 ") && lines[1].contains(" create ") && lines[1].ends_with(" created"), "{history}");
    assert!(
        lines[2].contains("update  bigger node  spec.nodeType: \"cache.t4g.micro\" → \"cache.t4g.small\""),
        "{history}"
    );

    assert_eq!(
        w.ok(&["rollback", "CacheCluster/mentor-match-redis", "--to", "1"]),
        "CacheCluster/mentor-match-redis rolled back to the spec of version 1 (now version 3)\n"
    );
    let redis = w.get_json(&["CacheCluster/mentor-match-redis"]);
    assert_eq!(redis[0]["spec"]["nodeType"], "cache.t4g.micro");
    assert_eq!(redis[0]["metadata"]["version"], 3);
    let entries: Value =
        serde_json::from_str(&w.ok(&["history", "CacheCluster/mentor-match-redis", "-o", "json"])).unwrap();
    assert_eq!(entries[2]["op"], "rollback");
    assert_eq!(entries[2]["message"], "rollback to version 1");
    assert_eq!(entries[2]["spec"], entries[0]["spec"]);
    let none = w.run(&["rollback", "CacheCluster/mentor-match-redis", "--to", "9"]);
    assert_eq!(none.code(), 1);
    assert!(none.stderr().contains("has no version 9; versions are 1 to 3"), "{}", none.stderr());
}

#[test]
fn pause_and_resume_a_resource_and_a_stack() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    assert_eq!(w.ok(&["pause", "EcsService/mentor-match-worker"]), "EcsService/mentor-match-worker paused\n");
    assert_eq!(
        w.ok(&["pause", "EcsService/mentor-match-worker"]),
        "EcsService/mentor-match-worker was already paused\n"
    );
    assert_eq!(w.get_json(&["EcsService/mentor-match-worker"])[0]["metadata"]["paused"], true);
    assert_eq!(w.ok(&["resume", "EcsService/mentor-match-worker"]), "EcsService/mentor-match-worker resumed\n");
    assert_eq!(w.get_json(&["EcsService/mentor-match-worker"])[0]["metadata"]["paused"], false);
    assert_eq!(w.ok(&["pause", "--stack", "mentor-match"]), "stack mentor-match paused\n");
    assert_eq!(w.ok(&["resume", "--stack", "mentor-match"]), "stack mentor-match resumed\n");
    let unknown = w.run(&["pause", "--stack", "nope"]);
    assert_eq!(unknown.code(), 1);
    assert!(
        unknown.stderr().contains("no stack named \"nope\" in table steward (stacks: mentor-match)"),
        "{}",
        unknown.stderr()
    );
}

#[test]
fn edit_through_a_scripted_editor() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let editor = w.script("editor", "sed -i 's/desiredCount: 1/desiredCount: 2/' \"$1\"");
    let out = w
        .command(&["edit", "EcsService/mentor-match-worker", "-m", "two workers"])
        .env("EDITOR", &editor)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "EcsService/mentor-match-worker edited (now version 2)\n");
    assert_eq!(w.get_json(&["EcsService/mentor-match-worker"])[0]["spec"]["desiredCount"], 2);

    let unchanged = w.command(&["edit", "EcsService/mentor-match-worker"]).env("EDITOR", "true").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&unchanged.stdout), "edit cancelled: no changes made\n");
}

#[test]
fn an_invalid_edit_reopens_the_editor_with_the_errors_on_top() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let seen = w.dir.path().join("second-attempt.yaml");
    // First call: break the port. Second call: keep what it was shown, then fix the port.
    let editor = w.script(
        "editor",
        &format!(
            "if [ ! -f '{0}.first' ]; then touch '{0}.first'; sed -i 's/port: 6379/port: 99999/' \"$1\"; \
             else cp \"$1\" '{0}'; sed -i 's/port: 99999/port: 6380/' \"$1\"; fi",
            seen.display()
        ),
    );
    let out = w.command(&["edit", "CacheCluster/mentor-match-redis"]).env("EDITOR", &editor).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = std::fs::read_to_string(&seen).unwrap();
    assert!(
        shown.contains("# error: CacheCluster-mentor-match-redis.yaml:12: CacheCluster/mentor-match-redis: spec.port: expected an integer from 1024 to 65535, got 99999"),
        "{shown}"
    );
    assert_eq!(w.get_json(&["CacheCluster/mentor-match-redis"])[0]["spec"]["port"], 6380);

    // An editor that keeps producing the same invalid file ends the edit instead of looping.
    let stubborn = w.script("stubborn", "sed -i 's/port: 6380/port: 1/' \"$1\"");
    let out = w.command(&["edit", "CacheCluster/mentor-match-redis"]).env("EDITOR", &stubborn).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("edit aborted"));
    assert_eq!(w.get_json(&["CacheCluster/mentor-match-redis"])[0]["metadata"]["version"], 2);
}

#[test]
fn two_concurrent_edits_exactly_one_wins() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let go = w.dir.path().join("go");
    let editor = |name: &str, count: u32| {
        let ready = w.dir.path().join(format!("{name}.ready"));
        let script = w.script(
            name,
            &format!(
                "sed -i 's/desiredCount: 1/desiredCount: {count}/' \"$1\"; touch '{}'; while [ ! -f '{}' ]; do sleep 0.05; done",
                ready.display(),
                go.display()
            ),
        );
        (script, ready)
    };
    let (a, a_ready) = editor("a", 2);
    let (b, b_ready) = editor("b", 3);
    let spawn = |e: &std::path::Path| {
        w.command(&["edit", "EcsService/mentor-match-worker"])
            .env("EDITOR", e)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let pa = spawn(&a);
    let pb = spawn(&b);
    // Both editors hold version 1 before either saves.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(a_ready.exists() && b_ready.exists()) {
        assert!(std::time::Instant::now() < deadline, "editors did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::write(&go, "").unwrap();
    let outs = [pa.wait_with_output().unwrap(), pb.wait_with_output().unwrap()];
    let winners = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        outs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect::<Vec<_>>()
    );
    let loser = outs.iter().find(|o| !o.status.success()).unwrap();
    let message = String::from_utf8_lossy(&loser.stderr);
    assert!(message.contains("EcsService/mentor-match-worker was changed by arn:aws:sts::"), "{message}");
    assert!(message.contains("(now version 2)"), "{message}");
    assert!(message.contains("your edit was not applied"), "{message}");
    let worker = w.get_json(&["EcsService/mentor-match-worker"]);
    assert_eq!(worker[0]["metadata"]["version"], 2);
    assert_eq!(w.ok(&["history", "EcsService/mentor-match-worker"]).lines().count(), 3);
}

#[test]
fn delete_refuses_referenced_resources_and_records_the_rest() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let refused = w.run(&["delete", "AppRunnerService/mmweb"]);
    assert_eq!(refused.code(), 1);
    assert!(
        refused.stderr().contains(
            "AppRunnerService/mmweb is referenced by AppRunnerCustomDomain/mmweb-domain, EcsService/mentor-match-worker"
        ),
        "{}",
        refused.stderr()
    );
    // The domain's DNS records refer to it: they go first.
    let refused = w.run(&["delete", "AppRunnerCustomDomain/mmweb-domain"]);
    assert!(
        refused
            .stderr()
            .contains("is referenced by Route53Record/mmweb-certificate-validation, Route53Record/mmweb-cname")
    );
    w.ok(&["delete", "Route53Record/mmweb-cname"]);
    w.ok(&["delete", "Route53Record/mmweb-certificate-validation"]);
    let out = w.ok(&["delete", "AppRunnerCustomDomain/mmweb-domain"]);
    assert_eq!(
        out,
        "AppRunnerCustomDomain/mmweb-domain deleted from the desired state; the controller will delete it in AWS\n"
    );
    assert_eq!(w.get_json(&[]).as_array().unwrap().len(), 16);
    let history = w.ok(&["history", "AppRunnerCustomDomain/mmweb-domain"]);
    let last = history.lines().nth(2).unwrap();
    assert!(last.starts_with("2 ") && last.contains(" delete ") && last.ends_with(" deleted"), "{history}");
    // Applying the files again brings it back as a new version.
    let out = w.ok(&["apply", "-f", &seed()]);
    assert!(out.contains("AppRunnerCustomDomain/mmweb-domain created"), "{out}");
    assert_eq!(w.get_json(&["AppRunnerCustomDomain/mmweb-domain"])[0]["metadata"]["version"], 3);
}

#[test]
fn prune_removes_what_the_files_no_longer_hold() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let dir = w.seed_copy();
    let web = std::fs::read_to_string(dir.join("web.yaml")).unwrap();
    // The domain and the DNS records that refer to it.
    let without_domain = web
        .split("\n---\n")
        .filter(|d| !d.contains("kind: AppRunnerCustomDomain") && !d.contains("kind: Route53Record"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    std::fs::write(dir.join("web.yaml"), without_domain).unwrap();
    let dry = w.ok(&["apply", "-f", dir.to_str().unwrap(), "--prune", "--dry-run"]);
    assert!(dry.contains("AppRunnerCustomDomain/mmweb-domain pruned (dry run)"), "{dry}");
    assert_eq!(w.get_json(&[]).as_array().unwrap().len(), 19);
    let out = w.ok(&["apply", "-f", dir.to_str().unwrap(), "--prune"]);
    assert!(out.contains("AppRunnerCustomDomain/mmweb-domain pruned"), "{out}");
    assert_eq!(w.get_json(&[]).as_array().unwrap().len(), 16);
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    for args in [&["get"][..], &["status"], &["get", "-o", "yaml"]] {
        let mut child =
            w.command(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take()); // the reader is gone before the first line
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked") && stderr.is_empty(), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}");
    }
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let w = World::new();
    let missing = w.run(&["diff"]);
    assert_eq!(missing.code(), 1, "2 means changes for diff, never a usage error");
    assert!(missing.stderr().contains("--filename"), "{}", missing.stderr());
    assert_eq!(w.run(&["frobnicate"]).code(), 1);
    assert_eq!(w.run(&["--help"]).code(), 0);
    assert_eq!(w.run(&["status", "--timeout", "5s"]).code(), 1, "--timeout needs --watch");
}

#[test]
fn configuration_errors_say_what_to_do_in_one_line() {
    let w = World::new();
    let bin = env!("CARGO_BIN_EXE_steward");
    let bare = |env: &[(&str, &str)], args: &[&str]| {
        let out = std::process::Command::new(bin)
            .env_clear()
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let keys = [("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y")];
    let (code, said) = bare(&[], &["get"]);
    assert_eq!(code, Some(1));
    assert!(said.starts_with("error: no AWS credentials were found.") && said.lines().count() == 1, "{said}");
    let (_, said) = bare(&[keys[0], keys[1], ("AWS_ENDPOINT_URL", "http://127.0.0.1:1")], &["get"]);
    assert_eq!(said.trim(), "error: no AWS region is set: set AWS_REGION or pass --region (details with -v)");
    let refused = [keys[0], keys[1], ("AWS_REGION", "eu-west-1"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:1")];
    let (_, said) = bare(&refused, &["get"]);
    assert!(said.starts_with("error: cannot reach DynamoDB (the store) at http://127.0.0.1:1:"), "{said}");
    let (_, verbose) = bare(&refused, &["get", "-v"]);
    assert!(verbose.contains("caused by: reading from the store"), "{verbose}");
    // The table and the stack, against moto.
    let missing = w.run(&["get", "--table", "nope"]);
    assert_eq!(missing.code(), 1);
    assert!(
        missing
            .stderr()
            .starts_with("error: the table nope does not exist in this account and region: run `steward bootstrap`")
    );
    w.bootstrap_and_apply_seed();
    let typo = w.run(&["get", "--stack", "mentor-mtach"]);
    assert_eq!(typo.stderr().trim(), "error: no stack named \"mentor-mtach\" in table steward (stacks: mentor-match)");
}

#[test]
fn validate_and_diff_never_say_nothing_was_written_and_rollback_goes_back_one_version() {
    let w = World::new();
    let dir = w.seed_copy();
    common::replace_in(&dir.join("redis.yaml"), "nodeType: cache.t4g.micro", "nodeType: t4g");
    let validate = w.run(&["validate", "-f", dir.to_str().unwrap()]);
    assert_eq!(validate.code(), 1);
    assert!(validate.stderr().trim_end().ends_with("1 error(s)"), "{}", validate.stderr());
    w.bootstrap_and_apply_seed();
    let diff = w.run(&["diff", "-f", dir.to_str().unwrap()]);
    assert!(!diff.stderr().contains("nothing was written"), "{}", diff.stderr());
    let apply = w.run(&["apply", "-f", dir.to_str().unwrap()]);
    assert!(apply.stderr().contains("nothing was written"), "apply does say it: {}", apply.stderr());

    w.ok(&["pause", "EcsService/mentor-match-worker"]);
    w.ok(&["resume", "EcsService/mentor-match-worker"]);
    let before = w.get_json(&["EcsService/mentor-match-worker"])[0]["metadata"]["version"].as_u64().unwrap();
    let fixed = w.seed_copy();
    common::replace_in(&fixed.join("worker.yaml"), "desiredCount: 1", "desiredCount: 2");
    w.ok(&["apply", "-f", fixed.to_str().unwrap()]);
    w.ok(&["rollback", "EcsService/mentor-match-worker"]);
    let now = &w.get_json(&["EcsService/mentor-match-worker"])[0];
    assert_eq!(now["spec"]["desiredCount"], 1, "back to the version before the apply");
    assert_eq!(now["metadata"]["version"].as_u64().unwrap(), before + 2);
}

#[test]
fn kinds_take_plurals_short_names_and_typos_get_a_suggestion() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    assert_eq!(w.get_json(&["ecsservices"]).as_array().unwrap().len(), 1);
    assert_eq!(w.get_json(&["svc/mentor-match-worker"]).as_array().unwrap().len(), 1);
    assert_eq!(w.get_json(&["vpce"]).as_array().unwrap().len(), 7);
    let typo = w.run(&["get", "EcsServise"]);
    assert_eq!(typo.code(), 1);
    assert_eq!(typo.stderr().trim(), "error: unknown kind \"EcsServise\"; did you mean EcsService?");
    assert!(w.ok(&["--help"]).contains("EcsService (svc)"));
    // A stack paused as a whole shows so on its Stack resource.
    w.ok(&["pause", "--stack", "mentor-match"]);
    assert_eq!(w.get_json(&["Stack/mentor-match"])[0]["metadata"]["paused"], true);
}

#[test]
fn dry_runs_show_the_field_diff_and_writes_answer_in_json_for_scripts() {
    let w = World::new();
    w.bootstrap_and_apply_seed();
    let dir = w.seed_copy();
    replace_in(&dir.join("redis.yaml"), "nodeType: cache.t4g.micro", "nodeType: cache.t4g.small");
    let dry = w.ok(&["apply", "-f", dir.to_str().unwrap(), "--dry-run"]);
    assert!(
        dry.contains("CacheCluster/mentor-match-redis configured (dry run)  [stack mentor-match]\n    spec.nodeType: \"cache.t4g.micro\" → \"cache.t4g.small\"\n"),
        "{dry}"
    );
    let planned: Value =
        serde_json::from_str(&w.ok(&["apply", "-f", dir.to_str().unwrap(), "--dry-run", "-o", "json"])).unwrap();
    let redis = planned.as_array().unwrap().iter().find(|e| e["kind"] == "CacheCluster").unwrap();
    assert_eq!(redis["action"], "configured");
    assert_eq!(redis["dryRun"], true);
    assert_eq!(
        redis["changes"][0],
        serde_json::json!({ "path": "spec.nodeType", "from": "cache.t4g.micro", "to": "cache.t4g.small" })
    );
    assert_eq!(
        w.get_json(&["CacheCluster/mentor-match-redis"])[0]["metadata"]["version"],
        1,
        "a dry run writes nothing"
    );

    let applied: Value = serde_json::from_str(&w.ok(&["apply", "-f", dir.to_str().unwrap(), "-o", "json"])).unwrap();
    let unchanged = applied.as_array().unwrap().iter().filter(|e| e["action"] == "unchanged").count();
    assert_eq!(unchanged, 18, "{applied}");
    let back: Value =
        serde_json::from_str(&w.ok(&["rollback", "CacheCluster/mentor-match-redis", "-o", "json"])).unwrap();
    assert_eq!(
        back[0],
        serde_json::json!({ "kind": "CacheCluster", "name": "mentor-match-redis", "stack": "mentor-match",
            "action": "rolled-back", "toVersion": 1, "version": 3 })
    );
    w.ok(&["delete", "Route53Record/mmweb-cname"]);
    let gone: Value =
        serde_json::from_str(&w.ok(&["delete", "Route53Record/mmweb-certificate-validation", "-o", "json"])).unwrap();
    assert_eq!(gone[0]["action"], "deleted");
    assert_eq!(gone[0]["deletionPolicy"], "Delete");
    let editor = w.script("editor", "sed -i 's/desiredCount: 1/desiredCount: 2/' \"$1\"");
    let edited =
        w.command(&["edit", "EcsService/mentor-match-worker", "-o", "json"]).env("EDITOR", &editor).output().unwrap();
    let edited: Value = serde_json::from_slice(&edited.stdout).unwrap();
    assert_eq!((edited[0]["action"].as_str(), edited[0]["version"].as_u64()), (Some("edited"), Some(2)));
}

#[test]
fn every_verb_has_examples_and_every_flag_a_help_text() {
    let w = World::new();
    for verb in [
        "bootstrap",
        "validate",
        "apply",
        "get",
        "edit",
        "diff",
        "reconcile",
        "status",
        "history",
        "rollback",
        "pause",
        "resume",
        "delete",
        "healthcheck",
        "accept",
        "approve",
    ] {
        let help = w.ok(&[verb, "--help"]);
        assert!(help.contains("Example"), "{verb}: {help}");
        // clap prints a flag without a help text as a bare line: "  -m, --message <MESSAGE>".
        for line in help.lines().filter(|l| l.trim_start().starts_with('-')) {
            let flag = line.trim();
            assert!(flag.contains("  "), "{verb}: {flag:?} has no help text");
        }
    }
}
