#!/usr/bin/env python3
"""steward's benchmarks: the release binary against moto and steward-emulator on loopback.

    python3 bench/run.py                 # full run: 1 stack, 100 and 500 stacks, latency, idle
    python3 bench/run.py --smoke         # the smallest scenario on the debug build (CI runs it, no timing assertions)
    python3 bench/run.py --stacks 100    # choose the scale points

Writes BENCHMARKS.md (machine, command, date, figures). AWS calls are counted by steward's own
per-operation counters (the `pass_completed` events) and cross-checked against the emulator's
request log. The naive baseline (one Describe per resource, no batching, no cache, no fast path)
runs in the same run against the same objects, so the gain is measured, not claimed.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/steward-target"))
# Where the binaries are taken from: the release build, or in a smoke run the debug build the
# tests made (the smoke run times nothing, and CI builds release only for the image).
BIN = TARGET / "release"
REGION = "eu-west-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start on {port}")


class World:
    """moto, the emulator, the network template and the table; torn down on exit."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []
        self.moto_port, self.emu_port = free_port(), free_port()
        log = open(workdir / "moto.log", "w")
        self.procs.append(subprocess.Popen([sys.executable, str(ROOT / "bootstrap/moto-server.py"), "127.0.0.1", str(self.moto_port)],
                                           env={**os.environ, "MOTO_ECS_SERVICE_RUNNING": "1"}, stdout=log, stderr=log))
        self.procs.append(subprocess.Popen([str(BIN / "steward-emulator"), "--port", str(self.emu_port), "--transition-ms", "0"],
                                           env={**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto_port}"},
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(self.moto_port, "moto")
        wait_port(self.emu_port, "steward-emulator")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STEWARD_"))},
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto_port}",
            "AWS_ENDPOINT_URL_APPRUNNER": f"http://127.0.0.1:{self.emu_port}",
            "AWS_ENDPOINT_URL_ELASTICACHE": f"http://127.0.0.1:{self.emu_port}",
            # Express Mode there; the emulator passes the rest of ECS on to moto.
            "AWS_ENDPOINT_URL_ECS": f"http://127.0.0.1:{self.emu_port}",
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true",
        }
        subprocess.run([sys.executable, str(ROOT / "bootstrap/local-network.py")], env=self.env, check=True, capture_output=True)
        self.steward("bootstrap")

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()

    def client(self, service):
        url = self.env["AWS_ENDPOINT_URL_APPRUNNER"] if service in ("apprunner", "elasticache") else self.env["AWS_ENDPOINT_URL"]
        return boto3.client(service, region_name=REGION, endpoint_url=url, aws_access_key_id="bench", aws_secret_access_key="bench")

    def steward(self, *args):
        p = subprocess.run([str(BIN / "steward"), *args], env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"steward {' '.join(args)} failed:\n{p.stderr}")
        return p.stdout

    def emulator(self, method, path):
        req = urllib.request.Request(f"{self.env['AWS_ENDPOINT_URL_APPRUNNER']}{path}", method=method)
        return json.load(urllib.request.urlopen(req))


def run_measured(world, *args):
    """steward with exact per-process CPU time and peak RSS (wait4 on this one child)."""
    started = time.perf_counter()
    p = subprocess.Popen([str(BIN / "steward"), *args], env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read().decode()
    err = p.stderr.read().decode()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"steward {' '.join(args)} failed:\n{err}")
    return out, usage, wall


def passes(stdout):
    return [json.loads(l) for l in stdout.splitlines() if '"pass_completed"' in l]


def calls_by_operation(pass_events, per=1):
    """The AWS calls of `pass_events` as {"Service:Operation": count / per}, sorted."""
    calls = {}
    for e in pass_events:
        for service, ops in e["awsCalls"].items():
            for op, n in ops.items():
                calls[f"{service}:{op}"] = calls.get(f"{service}:{op}", 0) + n / per
    return dict(sorted(calls.items()))


def stack_manifests(name, suffix):
    """The Mentor Match desired state renamed for stack `name` (AWS names get `suffix`)."""
    text = ""
    for f in sorted((ROOT / "desired-state/mentor-match").glob("*.yaml")):
        text += f.read_text() + "\n---\n"
    renames = ["mentor-match-redis-subnets", "mentor-match-redis", "redisadmin", "mm-vpc-connector", "mmweb-domain", "celery-workers", "mentor-match-worker"]
    for old in renames:
        text = text.replace(f"name: {old}\n", f"name: {old}{suffix}\n").replace(f"/{old}.", f"/{old}{suffix}.")
    text = text.replace("name: mmweb\n", f"name: mmweb{suffix}\n").replace("AppRunnerService/mmweb.", f"AppRunnerService/mmweb{suffix}.")
    text = text.replace("userName: redisAdmin", f"userName: redisAdmin{suffix}")
    text = text.replace("/mentor-match/redis/password/admin", f"/mentor-match/redis/password/admin{suffix}")
    text = text.replace("family: mentor-match-worker", f"family: mentor-match-worker{suffix}")
    text = text.replace("logGroupName: /ecs/mmweb-celery/worker", f"logGroupName: /ecs/mmweb-celery/worker{suffix}")
    text = text.replace("domain: mmweb.", f"domain: mmweb{suffix}.")
    text = text.replace("  name: mmweb.${", f"  name: mmweb{suffix}.${{")
    text = text.replace("stack: mentor-match\n", f"stack: {name}\n").replace("name: mentor-match\n", f"name: {name}\n").replace("Stack/mentor-match.", f"Stack/{name}.")
    return text


def stack_network(world, i):
    """Stack i's own VPC, as bootstrap/network.yaml makes the seed's: three intra subnets and route
    tables with the seed's Name tags, and the two security groups. Each stack needs its own: AWS
    keeps one interface endpoint with private DNS per service and one S3 route per route table in
    a VPC, so stacks that share a VPC cannot each keep the seed's endpoints (they would be blocked
    as NotOwned by the first)."""
    # A session of its own: applies run in threads, and boto3's default session is not thread-safe.
    ec2 = boto3.session.Session().client("ec2", region_name=REGION, endpoint_url=world.env["AWS_ENDPOINT_URL"],
                                         aws_access_key_id="bench", aws_secret_access_key="bench")
    tags = lambda kind, name: [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]
    cidr = f"10.{i % 256}"
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16", TagSpecifications=tags("vpc", f"mentor-match-vpc-{i:03d}"))["Vpc"]["VpcId"]
    for n, zone in enumerate("abc"):
        name = f"mentor-match-vpc-intra-{REGION}{zone}"
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.1.{64 * n}/26", AvailabilityZone=f"{REGION}{zone}",
                                   TagSpecifications=tags("subnet", name))["Subnet"]["SubnetId"]
        table = ec2.create_route_table(VpcId=vpc, TagSpecifications=tags("route-table", name))["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    for group in ("allow_redis", "allow_vpce"):
        ec2.create_security_group(GroupName=group, Description=group, VpcId=vpc, TagSpecifications=tags("security-group", group))


def apply_stacks(world, count, workdir):
    """One apply per stack (each is one transaction), four at a time; beyond one stack, each in
    its own VPC."""
    import concurrent.futures

    def apply(i):
        name = "mentor-match" if count == 1 else f"mm{i:03d}"
        suffix = "" if count == 1 else f"-{i:03d}"
        path = workdir / f"{name}.yaml"
        text = stack_manifests(name, suffix)
        if count > 1:
            stack_network(world, i)
            text = text.replace("vpc: { byTag: { Name: mentor-match-vpc } }", f"vpc: {{ byTag: {{ Name: mentor-match-vpc{suffix} }} }}")
        path.write_text(text)
        world.steward("apply", "-f", str(path))

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(apply, range(count)))


def converge(world):
    started = time.perf_counter()
    world.steward("reconcile", "--wait", "--timeout", "60m")
    return time.perf_counter() - started


def instructions_per_pass(world, n_passes=6):
    """Instructions per steady pass under callgrind (repeatable, unlike CPU time): the difference
    between an n-pass and a 1-pass process, per pass. None when valgrind is missing."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        return None
    totals = []
    for n in (1, n_passes):
        out = world.workdir / f"callgrind-{n}.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(BIN / "steward"), "reconcile", "--passes", str(n)],
                       env=world.env, capture_output=True, check=True)
        text = subprocess.run(["callgrind_annotate", str(out)], capture_output=True, text=True).stdout
        totals.append(int(next(l for l in text.splitlines() if "PROGRAM TOTALS" in l).split()[0].replace(",", "")))
    return (totals[1] - totals[0]) / (n_passes - 1)


def steady_state(world, n_passes=31, trials=3):
    """Runs n passes in one process (warm caches as in the daemon); figures of passes 2..n. CPU per
    pass is the median over `trials` of (CPU of an n-pass process - CPU of a 1-pass process) / (n - 1)."""
    before = world.emulator("GET", "/_emulator/requests")
    out, usage, wall = run_measured(world, "reconcile", "--passes", str(n_passes))
    after = world.emulator("GET", "/_emulator/requests")
    cpu_per_pass = []
    for trial in range(trials):
        if trial:
            _, usage_n, _ = run_measured(world, "reconcile", "--passes", str(n_passes))
        else:
            usage_n = usage
        _, one_usage, _ = run_measured(world, "reconcile", "--passes", "1")
        cpu = (usage_n.ru_utime + usage_n.ru_stime) - (one_usage.ru_utime + one_usage.ru_stime)
        cpu_per_pass.append(1000 * cpu / (n_passes - 1))
    ps = passes(out)
    warm = ps[1:]
    calls = calls_by_operation(warm, per=len(warm))
    # The emulator also logs the ECS calls it passes on to moto: only its own two services count.
    emulator_calls = sum(after.get(k, 0) - before.get(k, 0) for k in after if k.startswith(("apprunner:", "elasticache:")))
    steward_emulator_calls = sum(sum(p["awsCalls"].get(s, {}).values()) for p in ps for s in ("AppRunner", "ElastiCache"))
    return {
        "passes": n_passes,
        "calls": calls,
        "callsPerPass": sum(calls.values()),
        "mutatingPerPass": statistics.mean(p["mutatingCalls"] for p in warm),
        "passMs": statistics.mean(p["durationMs"] for p in warm),
        "cpuMsPerPass": statistics.median(cpu_per_pass),
        "cpuMsTrials": cpu_per_pass,
        "peakRssMb": usage.ru_maxrss / 1024,
        "wallS": wall,
        "crossCheck": (steward_emulator_calls, emulator_calls),
    }


def naive_pass(world):
    """One Describe per resource: what a controller without batching or caches calls per pass."""
    ec2, ecs, ec, ar, ssm, ddb = (world.client(s) for s in ("ec2", "ecs", "elasticache", "apprunner", "ssm", "dynamodb"))
    calls = 0
    started = time.perf_counter()
    status = json.loads(world.steward("status", "-o", "json"))
    for item in status:
        kind, out = item["kind"], item["status"].get("outputs", {})
        ddb.get_item(TableName="steward", Key={"pk": {"S": f"STACK#{item['stack']}"}, "sk": {"S": f"RES#{kind}#{item['name']}"}})
        calls += 1
        if kind == "VpcEndpoint":
            ec2.describe_vpc_endpoints(VpcEndpointIds=[out["id"]]); calls += 1
        elif kind == "CacheSubnetGroup":
            g = ec.describe_cache_subnet_groups(CacheSubnetGroupName=item["name"])["CacheSubnetGroups"][0]
            ec.list_tags_for_resource(ResourceName=g["ARN"]); calls += 2
        elif kind == "CacheCluster":
            ec.describe_cache_clusters(CacheClusterId=item["name"], ShowCacheNodeInfo=True)
            ec.list_tags_for_resource(ResourceName=out["arn"]); calls += 2
        elif kind == "CacheUser":
            u = ec.describe_users(UserId=item["name"])["Users"][0]
            ec.list_tags_for_resource(ResourceName=u["ARN"])
            ssm.get_parameter(Name=out["passwordParameter"]); calls += 3
        elif kind == "AppRunnerVpcConnector":
            ar.describe_vpc_connector(VpcConnectorArn=out["arn"]); ar.list_tags_for_resource(ResourceArn=out["arn"]); calls += 2
        elif kind == "AppRunnerService":
            ar.describe_service(ServiceArn=out["arn"]); ar.list_tags_for_resource(ResourceArn=out["arn"]); calls += 2
        elif kind == "AppRunnerCustomDomain":
            svc = next(i for i in status if i["stack"] == item["stack"] and i["kind"] == "AppRunnerService")
            ar.describe_custom_domains(ServiceArn=svc["status"]["outputs"]["arn"]); calls += 1
        elif kind == "EcsCluster":
            ecs.describe_clusters(clusters=[item["name"]], include=["TAGS", "SETTINGS"]); calls += 1
        elif kind == "EcsService":
            cluster = next(i for i in status if i["stack"] == item["stack"] and i["kind"] == "EcsCluster")["name"]
            s = ecs.describe_services(cluster=cluster, services=[item["name"]], include=["TAGS"])["services"][0]
            ecs.describe_task_definition(taskDefinition=s["taskDefinition"]); calls += 2
        elif kind == "LogGroup":
            logs = world.client("logs")
            logs.describe_log_groups(logGroupNamePrefix=out["logGroupName"]); logs.list_tags_for_resource(resourceArn=out["arn"]); calls += 2
        elif kind == "SqsQueue":
            sqs = world.client("sqs")
            sqs.get_queue_attributes(QueueUrl=out["url"], AttributeNames=["All"]); sqs.list_queue_tags(QueueUrl=out["url"]); calls += 2
        elif kind == "Stack":
            ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["mentor-match-vpc"]}]); calls += 1
    return calls, time.perf_counter() - started


def latency(world, workdir, edits):
    """Edit → applied through the fast path, and out-of-band drift → detected → healed."""
    stack = workdir / "mentor-match.yaml"
    original = stack.read_text()
    stack.write_text(original.replace("resync: 60s", "resync: 10m"))
    world.steward("apply", "-f", str(stack))
    http = free_port()
    log = open(workdir / "daemon.log", "w")
    started = time.perf_counter()
    daemon = subprocess.Popen([str(BIN / "steward"), "run", "--http-addr", f"127.0.0.1:{http}", "--stack", "mentor-match"], env=world.env, stdout=log, stderr=log)
    first_pass = None
    while first_pass is None and time.perf_counter() - started < 120:
        if '"pass_completed"' in (workdir / "daemon.log").read_text():
            first_pass = time.perf_counter() - started
        time.sleep(0.02)
    ecs = world.client("ecs")
    samples = []
    for i in range(edits):
        count = 2 + (i % 2)
        stack.write_text(original.replace("resync: 60s", "resync: 10m").replace("desiredCount: 1", f"desiredCount: {count}"))
        world.steward("apply", "-f", str(stack))
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 60:
            s = ecs.describe_services(cluster="celery-workers", services=["mentor-match-worker"])["services"][0]
            if s["desiredCount"] == count:
                samples.append(time.perf_counter() - t0)
                break
            time.sleep(0.05)
    # Out-of-band drift with a 10 s resync: time to the drift event and to the healed object.
    stack.write_text(original.replace("resync: 60s", "resync: 10s"))
    world.steward("apply", "-f", str(stack))
    time.sleep(2)
    drift = []
    for _ in range(3 if edits > 5 else 1):
        time.sleep(12)  # a clean resync pass first, so each sample is a new drift
        lines_before = len((workdir / "daemon.log").read_text().splitlines())
        ecs.update_service(cluster="celery-workers", service="mentor-match-worker", desiredCount=0)
        t0 = time.perf_counter()
        detected = healed = None
        while time.perf_counter() - t0 < 60 and healed is None:
            new = (workdir / "daemon.log").read_text().splitlines()[lines_before:]
            if detected is None and any('"drift_detected"' in l and '"desiredCount"' in l for l in new):
                detected = time.perf_counter() - t0
            if ecs.describe_services(cluster="celery-workers", services=["mentor-match-worker"])["services"][0]["desiredCount"] == 1:
                healed = time.perf_counter() - t0
            time.sleep(0.05)
        drift.append((detected, healed))
    # Idle: converged, 60 s (or 10 s in the smoke run) of CPU and RSS.
    idle_s = 60 if edits > 5 else 10
    stack.write_text(original)
    world.steward("apply", "-f", str(stack))
    time.sleep(3)
    ticks = os.sysconf("SC_CLK_TCK")
    def cpu():
        fields = pathlib.Path(f"/proc/{daemon.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks
    def rss():
        for line in pathlib.Path(f"/proc/{daemon.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    c0 = cpu()
    time.sleep(idle_s)
    idle_cpu = cpu() - c0
    idle_rss = rss()
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=30)
    return {"firstPassS": first_pass, "edit": samples, "drift": drift, "idleS": idle_s, "idleCpuS": idle_cpu, "idleRssMb": idle_rss}


def event_latency(world, workdir, samples_n):
    """Out-of-band change → drift_detected through the events queue (resync 10 min), and the
    queue's receive calls per idle minute."""
    stack = workdir / "mentor-match.yaml"
    original = stack.read_text()
    stack.write_text(original.replace("resync: 60s", "resync: 10m"))
    world.steward("apply", "-f", str(stack))
    proxy_port, http = free_port(), free_port()
    emulator = world.env["AWS_ENDPOINT_URL_APPRUNNER"]
    proxy = subprocess.Popen([str(BIN / "steward-fault-proxy"), "--port", str(proxy_port), "--upstream", world.env["AWS_ENDPOINT_URL"],
                              "--trail", "--route", f"apprunner={emulator}", "--route", f"elasticache={emulator}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(proxy_port, "steward-fault-proxy")
    made = subprocess.run([sys.executable, str(ROOT / "bootstrap/local-events.py")], env=world.env, check=True, capture_output=True, text=True)
    queue = json.loads(made.stdout)["queueUrl"]
    via = f"http://127.0.0.1:{proxy_port}"
    env = {**world.env, "AWS_ENDPOINT_URL": via, "AWS_ENDPOINT_URL_APPRUNNER": via, "AWS_ENDPOINT_URL_ELASTICACHE": via,
           "STEWARD_EVENTS_QUEUE": queue, "STEWARD_EVENTS_WAIT": "0"}
    log_path = workdir / "events-daemon.log"
    daemon = subprocess.Popen([str(BIN / "steward"), "run", "--http-addr", f"127.0.0.1:{http}", "--stack", "mentor-match"],
                              env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    try:
        t0 = time.perf_counter()
        while '"pass_completed"' not in log_path.read_text() and time.perf_counter() - t0 < 120:
            time.sleep(0.1)
        time.sleep(5)
        # The person: another principal than steward's, calling through the proxy (the trail).
        sts = boto3.client("sts", region_name=REGION, endpoint_url=via, aws_access_key_id="bench", aws_secret_access_key="bench")
        c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/oncall", RoleSessionName="bench")["Credentials"]
        ecs = boto3.client("ecs", region_name=REGION, endpoint_url=via, aws_access_key_id=c["AccessKeyId"],
                           aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
        detected = []
        for _ in range(samples_n):
            lines_before = len(log_path.read_text().splitlines())
            ecs.update_service(cluster="celery-workers", service="mentor-match-worker", desiredCount=0)
            t1 = time.perf_counter()
            while time.perf_counter() - t1 < 60:
                new = log_path.read_text().splitlines()[lines_before:]
                if any('"drift_detected"' in l and '"desiredCount"' in l for l in new):
                    detected.append(time.perf_counter() - t1)
                    break
                time.sleep(0.02)
            time.sleep(5)  # healed, and the follow-up passes over
        def receives():
            text = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics").read().decode()
            return metric_sum(text, 'steward_aws_calls_total{service="SQS",operation="ReceiveMessage"}')
        idle_s = 10 if samples_n <= 3 else 60
        r0 = receives()
        time.sleep(idle_s)
        per_minute = (receives() - r0) * 60 / idle_s
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        proxy.kill()
        proxy.wait()
    return {"detected": detected, "receivesPerMinute": per_minute}


def own_resync(world, workdir, idle_s):
    """AWS calls per idle minute of the converged stack under `steward run`: all of it on a 10 s
    resync, then the stack on 10 minutes with only the worker on its own 10 s (timer passes
    observe only what is due)."""
    import re
    stack = workdir / "mentor-match.yaml"
    original = stack.read_text()
    at_10s = re.sub(r"resync: \S+", "resync: 10s", original, count=1)
    worker_only = re.sub(r"resync: \S+", "resync: 10m", original, count=1).replace(
        "  desiredCount: 1\n", "  desiredCount: 1\n  resync: 10s\n", 1)
    results = {}
    for label, text in [("stack", at_10s), ("worker", worker_only)]:
        stack.write_text(text)
        world.steward("apply", "-f", str(stack))
        http = free_port()
        daemon = subprocess.Popen([str(BIN / "steward"), "run", "--http-addr", f"127.0.0.1:{http}", "--stack", "mentor-match"],
                                  env=world.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def calls():
            text = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics").read().decode()
            found = {}
            for line in text.splitlines():
                m = re.match(r'steward_aws_calls_total\{service="([^"]+)",operation="([^"]+)"\} (\S+)', line)
                if m and m.group(1) not in ("DynamoDB", "CloudWatch Logs"):
                    found[f"{m.group(1)}:{m.group(2)}"] = float(m.group(3))
            return found
        try:
            wait_port(http, "steward run")
            time.sleep(15)  # the first pass and its follow-ups
            before = calls()
            time.sleep(idle_s)
            after = calls()
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        per_minute = {k: (v - before.get(k, 0)) * 60 / idle_s for k, v in after.items() if v - before.get(k, 0) > 0}
        results[label] = {"total": sum(per_minute.values()), "byOperation": dict(sorted(per_minute.items()))}
    stack.write_text(original)
    world.steward("apply", "-f", str(stack))
    results["idleS"] = idle_s
    return results


def proc_status(pid, field):
    """A /proc/PID/status figure in MB (VmRSS, VmHWM)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024


def metric_sum(text, name):
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(name + "{") or l.startswith(name + " "))


def daemon_at_scale(world, workdir, n):
    """`steward run` owning all n stacks: the time until every stack has had a pass (caches cold) and
    the AWS calls of those passes; then one steady round (the next resync of every stack: its
    calls and wall time); the daemon's peak RSS over both."""
    http = free_port()
    log = open(workdir / f"daemon-{n}.log", "w")
    # As deployed (bootstrap/controller.yaml): AWS events on, so a timer's pass trusts the tags
    # it read (a tag change arrives as an event) and reads only the objects.
    made = subprocess.run([sys.executable, str(ROOT / "bootstrap/local-events.py")], env=world.env, check=True, capture_output=True, text=True)
    env = {**world.env, "STEWARD_EVENTS_QUEUE": json.loads(made.stdout)["queueUrl"], "STEWARD_EVENTS_WAIT": "0"}
    started = time.perf_counter()
    daemon = subprocess.Popen([str(BIN / "steward"), "run", "--http-addr", f"127.0.0.1:{http}", "--log-format", "json"],
                              env=env, stdout=log, stderr=log)

    def passes_and_calls(with_in_flight=False):
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics").read().decode()
        got = metric_sum(metrics, "steward_passes_total"), metric_sum(metrics, "steward_aws_calls_total")
        return (*got, metric_sum(metrics, "steward_passes_in_flight")) if with_in_flight else got

    def wait_for(total_passes, limit_s=1800):
        while time.perf_counter() - started < limit_s:
            got, calls = passes_and_calls()
            if got >= total_passes:
                return time.perf_counter(), got, calls
            time.sleep(0.25)
        raise SystemExit(f"steward run did not reach {total_passes} stack passes")

    def quiet(for_s=3.0):
        """Waits until no pass has finished for `for_s` (the first round's retries are over)."""
        last, changed = passes_and_calls()[0], time.perf_counter()
        while time.perf_counter() - changed < for_s:
            time.sleep(0.25)
            now = passes_and_calls()[0]
            if now != last:
                last, changed = now, time.perf_counter()
        return last

    def pass_events():
        return [json.loads(l) for l in (workdir / f"daemon-{n}.log").read_text().splitlines() if '"pass_completed"' in l]

    try:
        wait_port(http, "steward run")
        first_done, _, first_calls = wait_for(n)
        settled = quiet()
        quiet_at, quiet_calls, before = time.perf_counter(), passes_and_calls()[1], len(pass_events())
        # Between rounds only the lease heartbeat and the fast path call AWS: their rate, from the
        # last sample with no pass running, until the next resync starts the steady round.
        last_idle = (quiet_at, quiet_calls)
        while True:
            got, calls, in_flight = passes_and_calls(with_in_flight=True)
            if got > settled:
                break
            if in_flight == 0:
                last_idle = (time.perf_counter(), calls)
            time.sleep(0.25)
        background_per_min = 60 * (last_idle[1] - quiet_calls) / max(last_idle[0] - quiet_at, 1)
        wait_for(settled + n)
        time.sleep(1)
        # Its calls and wall time from the passes' own events (exact per pass, leases excluded).
        rnd = pass_events()[before:]
        stamp = lambda e: datetime.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp()
        by_operation = calls_by_operation(rnd)
        steady_calls = sum(by_operation.values())
        steady_s = max(stamp(e) for e in rnd) - min(stamp(e) - e["durationMs"] / 1000 for e in rnd)
        return {"allPassedS": first_done - started, "calls": first_calls, "steadyCalls": steady_calls, "steadyS": steady_s,
                "steadyPasses": len(rnd), "steadyByOperation": by_operation, "backgroundPerMin": background_per_min,
                "peakRssMb": proc_status(daemon.pid, "VmHWM"), "rssMb": proc_status(daemon.pid, "VmRSS")}
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one stack, 5 edits, 10 s idle; writes nothing unless --out is given")
    parser.add_argument("--stacks", default="100,500", help="scale points (comma-separated)")
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--out", default=None, help="where to write the table (default BENCHMARKS.md; none in --smoke)")
    args = parser.parse_args()
    global BIN
    if args.smoke:
        BIN = TARGET / "debug"
    else:
        # Built where the binaries are taken from, whatever CARGO_TARGET_DIR says.
        subprocess.run(["cargo", "build", "--release", "--locked", "--workspace"], cwd=ROOT, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)})
    for binary in ("steward", "steward-emulator"):
        if not (BIN / binary).exists():
            build = "cargo build --workspace" if args.smoke else "cargo build --release --workspace"
            raise SystemExit(f"{BIN}/{binary} is missing: {build}")
    edits = 5 if args.smoke else args.edits
    scale_points = [] if args.smoke else [int(s) for s in args.stacks.split(",") if s]
    results = {}
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="steward-bench-"))
    try:
        world = World(workdir)
        try:
            apply_stacks(world, 1, workdir)
            results["createS"] = converge(world)
            results["steady"] = steady_state(world)
            results["steady"]["instructions"] = None if args.smoke else instructions_per_pass(world)
            results["naive1"] = naive_pass(world)
            results["latency"] = latency(world, workdir, edits)
            results["events"] = event_latency(world, workdir, 3 if args.smoke else 20)
            results["resync"] = own_resync(world, workdir, 20 if args.smoke else 120)
        finally:
            world.close()
        results["scale"] = {}
        out = args.out or (None if args.smoke else str(ROOT / "BENCHMARKS.md"))
        command = " ".join(["python3", "bench/run.py", *sys.argv[1:]])
        if out:
            # Written after every scenario, so a long run that is stopped keeps what it measured.
            pathlib.Path(out).write_text(render(results, command))
        for n in scale_points:
            w = World(workdir)
            try:
                apply_stacks(w, n, workdir)
                created = converge(w)
                steady = steady_state(w, n_passes=3, trials=1)
                naive_calls, naive_s = naive_pass(w)
                daemon = daemon_at_scale(w, workdir, n)
                results["scale"][n] = {"createS": created, "steady": steady, "naive": (naive_calls, naive_s), "daemon": daemon}
            finally:
                w.close()
            if out:
                pathlib.Path(out).write_text(render(results, command))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = render(results, " ".join(["python3", "bench/run.py", *sys.argv[1:]]))
    print(report)
    out = args.out or (None if args.smoke else str(ROOT / "BENCHMARKS.md"))
    if out:
        pathlib.Path(out).write_text(report)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, {platform.system()} {platform.release()}"


def render(r, command):
    s, lat = r["steady"], r["latency"]
    lines = [
        "# Benchmarks",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine()}",
        f"- Command: `{command}` (release build; moto {__import__('moto').__version__} and steward-emulator with 0 ms transitions on loopback)",
        "- Calls are steward's own per-operation counters (`pass_completed` events); cross-check against the emulator's request log below.",
        "",
        "## 1. Steady state: one Mentor Match stack (19 resources), converged",
        "",
        f"- Created from nothing in {r['createS']:.1f} s (`steward reconcile --wait`).",
        f"- Per pass (mean of passes 2–{s['passes']} in one process, caches warm as in the daemon): **{s['callsPerPass']:.1f} AWS calls**, "
        f"**{s['mutatingPerPass']:.0f} mutating**, wall **{s['passMs']:.0f} ms**, steward CPU **{s['cpuMsPerPass']:.1f} ms** "
        f"(median of {', '.join(f'{t:.1f}' for t in s['cpuMsTrials'])}), peak RSS {s['peakRssMb']:.1f} MB.",
        *([f"- Instructions per steady pass under callgrind (repeatable on any machine): **{s['instructions'] / 1e6:.1f} million**."] if s.get("instructions") else []),
        f"- Cross-check: steward counted {s['crossCheck'][0]} App Runner + ElastiCache calls over the {s['passes']} passes; the emulator logged {s['crossCheck'][1]}.",
        "",
        "| service:operation | calls per pass |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.1f} |" for k, v in s["calls"].items()]
    n1_calls, n1_s = r["naive1"]
    lines += ["", f"Naive baseline on the same stack (one Describe per resource, tags per resource, no cache): {n1_calls} calls, {1000 * n1_s:.0f} ms.", ""]
    if r["scale"]:
        lines += ["## 2 and 5. Scale, against the naive baseline in the same run", "",
                  "`steward reconcile --passes 3` over every stack at once (passes 2–3 counted): one pass lists each kind once for all "
                  "stacks, the fewest calls possible, and this one process holds every stack's desired state and status. "
                  "The naive baseline makes one Describe per resource against the same objects.", "",
                  "| stacks | resources | create from nothing | calls per steady pass | naive calls | ratio | pass wall | naive wall | steward CPU per pass | CPU share of pass | peak RSS of this one-pass process |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for n, x in r["scale"].items():
            st = x["steady"]
            naive_calls, naive_s = x["naive"]
            lines.append(f"| {n} | {19 * n} | {x['createS']:.0f} s | {st['callsPerPass']:.0f} | {naive_calls} | {naive_calls / max(st['callsPerPass'], 1):.1f}× | "
                         f"{st['passMs'] / 1000:.2f} s | {naive_s:.2f} s | {st['cpuMsPerPass']:.0f} ms | {100 * st['cpuMsPerPass'] / max(st['passMs'], 1):.0f} % | {st['peakRssMb']:.1f} MB |")
        lines += [""]
        for n, x in r["scale"].items():
            ops = ", ".join(f"{k} {v:.0f}" for k, v in x["steady"]["calls"].items())
            lines.append(f"- {n} stacks, calls per steady pass by operation (pages grow with objects; one DynamoDB Query per stack): {ops}.")
        lines += ["", "The same stacks under `steward run`, as deployed: stacks that are due together share a pass (up to 50), "
                  "with at most 100 stacks in running passes (`--max-stacks-in-flight`). First round: from start until every stack "
                  "has had a pass (caches cold), with the calls of that round. Steady round: the next resync of every stack. "
                  "First-round calls include lease calls; steady-round calls are the passes' own (their DynamoDB reads included); the lease heartbeat and the fast path's polls are counted apart, per minute. Peak RSS is the daemon's over both rounds.", "",
                  "| stacks | resources | first round | first round calls | steady round (passes) | steady round calls | lease and fast-path calls per minute, between rounds | peak RSS | RSS after |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for n, x in r["scale"].items():
            d = x.get("daemon")
            if d:
                lines.append(f"| {n} | {19 * n} | {d['allPassedS']:.1f} s | {d['calls']:.0f} | {d['steadyS']:.1f} s ({d['steadyPasses']}) | {d['steadyCalls']:.0f} | "
                             f"{d['backgroundPerMin']:.0f} | **{d['peakRssMb']:.1f} MB** | {d['rssMb']:.1f} MB |")
        lines.append("")
        for n, x in r["scale"].items():
            d = x.get("daemon")
            if d and d.get("steadyByOperation"):
                ops = ", ".join(f"{k} {v / n:.2f}" for k, v in d["steadyByOperation"].items())
                lines.append(f"- {n} stacks under `steward run`, steady round calls per stack by operation "
                             f"({d['steadyCalls'] / n:.2f} in all): {ops}.")
        lines.append("")
    lines += ["## 3. Latency", ""]
    if lat["edit"]:
        lines.append(f"- Edit → applied through the fast path (`apply` → ECS desiredCount changed, default 2 s watch), {len(lat['edit'])} edits: "
                     f"p50 **{pct(lat['edit'], 50):.2f} s**, p95 **{pct(lat['edit'], 95):.2f} s**.")
    for d, h in lat["drift"]:
        lines.append(f"- Out-of-band drift (worker scaled to 0, 10 s resync): detected after {d if d is None else round(d, 2)} s, healed after {h if h is None else round(h, 2)} s.")
    ev = r.get("events")
    if ev and ev["detected"]:
        lines.append(f"- Out-of-band change → `drift_detected` through the events queue (resync 10 min; the fault proxy plays CloudTrail, "
                     f"steward polls the queue each second since moto serves one request at a time), {len(ev['detected'])} changes: "
                     f"p50 **{pct(ev['detected'], 50):.2f} s**, p95 **{pct(ev['detected'], 95):.2f} s** (goal: p95 under 2 s). "
                     f"Polling finds the same change at the next resync (above: 10 s resync).")
        lines.append(f"- Events queue receives per idle minute per replica: {ev['receivesPerMinute']:.0f} with `--events-wait 0` (here); "
                     "with the default 20 s long polling on AWS, 3.")
    rs = r.get("resync")
    if rs:
        ops = lambda x: ", ".join(f"{k} {v:.1f}" for k, v in x["byOperation"].items())
        lines += ["", "### A resource's own resync", "",
                  f"AWS calls per idle minute of the converged stack under `steward run`, over {rs['idleS']} s "
                  "(steward's own DynamoDB and log calls apart):", "",
                  f"- the whole stack on a 10 s resync: **{rs['stack']['total']:.1f}** ({ops(rs['stack'])});",
                  f"- the stack on 10 minutes, the worker alone on `resync: 10s`: **{rs['worker']['total']:.1f}** ({ops(rs['worker'])}): "
                  "the timer passes observe only the worker (and nothing else is read for it)."]
    lines += ["", "## 4. Idle daemon and cold start", "",
              f"- Cold start to the first completed pass: {lat['firstPassS']:.2f} s.",
              f"- Idle for {lat['idleS']} s (one stack, converged, 60 s resync): CPU {1000 * lat['idleCpuS']:.0f} ms in total, RSS {lat['idleRssMb']:.1f} MB.",
              ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
