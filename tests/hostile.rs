//! Hostile and malformed input: every case is refused with the expected message, and nothing is
//! ever written to the store.

mod common;

use common::World;

const STACK: &str = "apiVersion: steward/v1\nkind: Stack\nmetadata: {name: s}\nspec: {region: eu-west-1, vpc: {byTag: {Name: v}}}\n---\n";

fn cluster(spec: &str) -> String {
    format!("{STACK}apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {{name: c, stack: s}}\nspec: {spec}\n")
}

fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let long = "x".repeat(3000);
    let bomb = "a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\n";
    let mut deep = String::new();
    for _ in 0..200 {
        deep.push('[');
    }
    let big_item = format!(
        "{STACK}apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {{name: c, stack: s}}\nspec:\n  tags:\n{}",
        (0..41).map(|i| format!("    k{i}: {}\n", "v".repeat(250))).collect::<String>()
    );
    let huge_env = format!(
        "{STACK}apiVersion: steward/v1\nkind: AppRunnerService\nmetadata: {{name: web1, stack: s}}\nspec:\n  image:\n    identifier: img\n    repositoryType: ECR_PUBLIC\n    env:\n{}  instance: {{cpu: 1024, memory: 2048}}\n",
        (0..100).map(|i| format!("      V{i}: \"{}\"\n", "y".repeat(4000))).collect::<String>()
    );
    let s = |t: String| t.into_bytes();
    vec![
        ("empty file", s(String::new()), "expected at least one manifest, found none"),
        ("not YAML", s("{{{{".into()), "invalid YAML"),
        ("unclosed flow", s("a: [1, 2\n".into()), "invalid YAML"),
        ("tab indentation", s("a:\n\t- b\n".into()), "invalid YAML"),
        ("a list at the top", s("- 1\n".into()), "expected a manifest (a mapping), got a list"),
        ("a scalar at the top", s("hello\n".into()), "expected a manifest (a mapping), got a string"),
        ("duplicate keys", s("kind: Stack\nkind: Stack\n".into()), "duplicate key `kind`"),
        ("yaml bomb (aliases)", s(bomb.into()), "anchors (&name) are not allowed"),
        ("alias only", s("a: *x\n".into()), "invalid YAML"),
        ("deep nesting", s(deep), "nesting deeper than 32 levels"),
        ("non-UTF-8", vec![b'k', b'i', b'n', b'd', b':', b' ', 0xff, 0xfe, b'\n'], "expected UTF-8 text"),
        ("NUL byte", s("kind: \"St\\0ack\"\n".into()), "expected one of Stack"),
        ("wrong apiVersion", s(STACK.replace("steward/v1", "v1")), "apiVersion: expected steward/v1"),
        (
            "missing apiVersion",
            s("kind: Stack\nmetadata: {name: s}\nspec: {region: eu-west-1, vpc: vpc-0123abcd}\n".into()),
            "apiVersion: required field missing",
        ),
        ("unknown kind", s(cluster("{}").replace("kind: EcsCluster", "kind: Bucket")), "kind: expected one of Stack"),
        (
            "kind of wrong type",
            s(cluster("{}").replace("kind: EcsCluster", "kind: [EcsCluster]")),
            "kind: expected one of",
        ),
        ("unknown top-level field", s(cluster("{}") + "status: {}\n"), "status: unknown field"),
        ("unknown spec field", s(cluster("{colour: blue}")), "spec.colour: unknown field"),
        (
            "unknown metadata field",
            s(cluster("{}").replace("stack: s}", "stack: s, labels: x}")),
            "metadata.labels: unknown field",
        ),
        (
            "missing metadata",
            s(format!("{STACK}apiVersion: steward/v1\nkind: EcsCluster\nspec: {{}}\n")),
            "metadata: required field missing",
        ),
        (
            "missing spec",
            s(format!("{STACK}apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {{name: c, stack: s}}\n")),
            "spec: required field missing",
        ),
        ("spec of wrong type", s(cluster("[1, 2]")), "spec: expected a mapping, got a list"),
        (
            "bool for enum",
            s(cluster("{containerInsights: true}")),
            "spec.containerInsights: expected one of enabled, disabled, enhanced",
        ),
        ("number for string", s(cluster("{tags: {A: 1.5}}")), "spec.tags.A: expected a tag value"),
        (
            "shell injection in a name",
            s(cluster("{}").replace("name: c,", "name: \"c; rm -rf /\",")),
            "metadata.name: expected a cluster name",
        ),
        (
            "command substitution in a name",
            s(cluster("{}").replace("name: c,", "name: \"$(reboot)\",")),
            "metadata.name: expected a cluster name",
        ),
        (
            "path traversal in a stack",
            s(cluster("{}").replace("stack: s}", "stack: ../../etc}")),
            "metadata.stack: expected a name",
        ),
        ("SQL in a tag key", s(cluster("{tags: {\"a'; DROP TABLE x;--\": v}}")), "expected the key to be a tag key"),
        (
            "markup in a tag value",
            s(cluster("{tags: {A: \"<script>alert(1)</script>\"}}")),
            "spec.tags.A: expected a tag value",
        ),
        (
            "reserved tag prefix",
            s(cluster("{tags: {\"aws:cloudformation:stack-name\": x}}")),
            "expected the key to be a tag key",
        ),
        ("ownership tag forged", s(cluster("{tags: {\"steward:stack\": other}}")), "expected the key to be a tag key"),
        (
            "huge tag value",
            s(cluster(&format!("{{tags: {{A: {long}}}}}"))),
            "expected at most 2048 characters, got 3000",
        ),
        ("huge spec (over 64 KiB)", s(huge_env), "expected at most 65536"),
        ("too many tags", s(big_item), "expected at most 40 entries"),
        (
            "port out of range",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: CacheCluster\nmetadata: {{name: r, stack: s}}\nspec: {{engine: redis, engineVersion: \"6.2\", nodeType: cache.t4g.micro, subnetGroup: g, port: 70000}}\n"
            )),
            "spec.port: expected an integer from 1024 to 65535",
        ),
        (
            "negative count",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: EcsService\nmetadata: {{name: w, stack: s}}\nspec: {{cluster: c, desiredCount: -1, network: {{subnets: [subnet-0123abcd], securityGroups: [sg-0123abcd]}}, taskDefinition: {{family: w, cpu: 256, memory: 512, containers: [{{name: w, image: i}}]}}}}\n"
            )),
            "spec.desiredCount: expected an integer from 0 to 1000",
        ),
        (
            "integer overflow",
            s(cluster("{}").replace("spec: {}", "spec: {containerInsights: 99999999999999999999999}")),
            "spec.containerInsights: expected one of",
        ),
        (
            "reference to an unknown resource",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {{name: d, stack: s}}\nspec: {{service: \"${{AppRunnerService/nope.arn}}\", domain: a.example.com}}\n"
            )),
            "references AppRunnerService/nope, which is not defined",
        ),
        (
            "reference to an unknown output",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {{name: d, stack: s}}\nspec: {{service: \"${{Stack/s.password}}\", domain: a.example.com}}\n"
            )),
            "Stack/s has no output \"password\"",
        ),
        (
            "malformed reference",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {{name: d, stack: s}}\nspec: {{service: \"${{oops\", domain: a.example.com}}\n"
            )),
            "expected `}` to close the reference",
        ),
        (
            "reference cycle",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {{name: a, stack: s}}\nspec: {{service: \"${{AppRunnerCustomDomain/b.dnsTarget}}\", domain: a.example.com}}\n---\napiVersion: steward/v1\nkind: AppRunnerCustomDomain\nmetadata: {{name: b, stack: s}}\nspec: {{service: \"${{AppRunnerCustomDomain/a.dnsTarget}}\", domain: b.example.com}}\n"
            )),
            "reference cycle",
        ),
        (
            "resource without its Stack",
            s("apiVersion: steward/v1\nkind: EcsCluster\nmetadata: {name: c, stack: nowhere}\nspec: {}\n".into()),
            "expected a Stack manifest named \"nowhere\"",
        ),
        (
            "duplicate resource",
            s(cluster("{}")
                + "---\napiVersion: steward/v1\nkind: EcsCluster\nmetadata: {name: c, stack: s}\nspec: {}\n"),
            "defined twice in stack",
        ),
        (
            "literal password",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: CacheUser\nmetadata: {{name: u, stack: s}}\nspec: {{userName: u, accessString: on, passwordParameter: /p/w, password: hunter2hunter2hunter2}}\n"
            )),
            "spec.password: unknown field",
        ),
        (
            "Fargate size that does not exist",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: EcsService\nmetadata: {{name: w, stack: s}}\nspec: {{cluster: c, network: {{subnets: [subnet-0123abcd], securityGroups: [sg-0123abcd]}}, taskDefinition: {{family: w, cpu: 256, memory: 8192, containers: [{{name: w, image: i}}]}}}}\n"
            )),
            "expected 512, 1024, 2048 for Fargate cpu 256, got 8192",
        ),
        (
            "ignoreChanges on a field the kind does not have",
            s(cluster("{ignoreChanges: [colour]}")),
            "spec.ignoreChanges[0]: no field \"colour\" in a EcsCluster",
        ),
        (
            "ignoreChanges of everything",
            s(cluster("{ignoreChanges: [\"*\"]}")),
            "spec.ignoreChanges[0]: no field \"*\"",
        ),
        (
            "ignoreChanges with an empty segment",
            s(cluster("{ignoreChanges: [\"tags..x\"]}")),
            "spec.ignoreChanges[0]: expected a field path",
        ),
        ("ignoreChanges not a list", s(cluster("{ignoreChanges: tags}")), "spec.ignoreChanges: expected a list"),
        (
            "ignoreChanges on a secret",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: CacheUser\nmetadata: {{name: u1, stack: s}}\nspec: {{userName: u1, accessString: \"on ~* +@all\", passwordParameter: /s/p, ignoreChanges: [password]}}\n"
            )),
            "password is a secret: its drift is always healed, never ignored",
        ),
        (
            "heal window in a time zone that does not exist",
            s(cluster("{healWindow: {start: \"08:00\", end: \"18:00\", timeZone: Mars/Olympus}}")),
            "spec.healWindow.timeZone: expected an IANA time zone like Europe/Berlin",
        ),
        (
            "heal window with a time of day that does not exist",
            s(cluster("{healWindow: {start: \"25:00\", end: \"18:00\"}}")),
            "spec.healWindow.start: expected a time like 08:00",
        ),
        (
            "heal window with a day that does not exist",
            s(cluster("{healWindow: {days: [Mon-Fry], start: \"08:00\", end: \"18:00\"}}")),
            "spec.healWindow.days[0]: expected a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun) or a range like Mon-Fri",
        ),
        (
            "heal window that never opens",
            s(cluster("{healWindow: {start: \"08:00\", end: \"08:00\"}}")),
            "spec.healWindow.end: equals start",
        ),
        (
            "heal window with a start and no end",
            s(cluster("{healWindow: {start: \"08:00\"}}")),
            "spec.healWindow.end: required with days or start/end",
        ),
        (
            "heal window cron of five fields",
            s(cluster("{healWindow: {cron: \"0 22 * * Sat\", duration: 4h}}")),
            "spec.healWindow.cron: expected a 6-field cron expression",
        ),
        (
            "heal window cron that never matches",
            s(cluster("{healWindow: {cron: \"0 0 0 30 2 *\", duration: 4h}}")),
            "spec.healWindow.cron: expected a 6-field cron expression that matches",
        ),
        (
            "heal window cron without a duration",
            s(cluster("{healWindow: {cron: \"0 0 22 * * Sat\"}}")),
            "spec.healWindow.duration: required with cron",
        ),
        (
            "heal window of a month",
            s(cluster("{healWindow: {cron: \"0 0 22 * * Sat\", duration: 720h}}")),
            "spec.healWindow.duration: expected a duration from 1m to 168h",
        ),
        (
            "heal window both ways at once",
            s(cluster("{healWindow: {cron: \"0 0 22 * * Sat\", duration: 4h, start: \"08:00\", end: \"09:00\"}}")),
            "spec.healWindow: expected either start and end (with days) or cron and duration, not both",
        ),
        (
            "heal window with an unknown hold",
            s(cluster("{healWindow: {start: \"08:00\", end: \"09:00\", missing: later}}")),
            "spec.healWindow.missing: expected one of immediate, window",
        ),
        (
            "resync of a resource too short",
            s(cluster("{resync: 1s}")),
            "spec.resync: expected a duration from 10s to 24h",
        ),
        (
            "bad ARN",
            s(format!(
                "{STACK}apiVersion: steward/v1\nkind: AppRunnerService\nmetadata: {{name: web1, stack: s}}\nspec: {{image: {{identifier: i, repositoryType: ECR_PUBLIC}}, instance: {{cpu: 1024, memory: 2048, instanceRole: \"role/admin\"}}}}\n"
            )),
            "spec.instance.instanceRole: expected an ARN",
        ),
    ]
}

#[test]
fn malformed_and_hostile_manifests_are_refused_and_nothing_is_written() {
    let world = World::new();
    world.ok(&["bootstrap"]);
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (i, (name, bytes, expected)) in cases.iter().enumerate() {
        let file = world.dir.path().join(format!("case{i}.yaml"));
        std::fs::write(&file, bytes).unwrap();
        let run = world.run(&["apply", "-f", file.to_str().unwrap()]);
        assert_eq!(run.code(), 1, "{name}: accepted\n{}", run.stdout());
        assert!(run.stderr().contains(expected), "{name}: expected {expected:?} in:\n{}", run.stderr());
        assert!(run.stderr().contains(&format!("case{i}.yaml")), "{name}: the error names the file:\n{}", run.stderr());
        assert!(!run.stderr().contains("panicked"), "{name}: {}", run.stderr());
    }
    assert_eq!(world.get_json(&[]), serde_json::json!([]), "nothing was written");
    assert_eq!(world.run(&["history", "EcsCluster/c"]).code(), 1);
}
