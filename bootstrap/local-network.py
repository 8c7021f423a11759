"""Deploys bootstrap/network.yaml (the Mentor Match network foundation) to a local moto through
its CloudFormation API, as `aws cloudformation deploy` would on AWS. Idempotent. Uses only the
standard AWS environment (AWS_ENDPOINT_URL, AWS_REGION, credentials). Prints the ids as JSON.

moto gap worked around here, not in steward: moto's CloudFormation drops the Tags of
AWS::EC2::RouteTable, so the Name tags the desired state selects route tables by are added
afterwards with CreateTags (AWS keeps them).

The hosted zone mentor-match.example.com is made here too: on AWS it exists before the stack (the
seed's Terraform reads it by id), and steward writes the custom domain's records into it."""
import json
import os
import pathlib
import time

import boto3

region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
cfn = boto3.client("cloudformation", region_name=region)
ec2 = boto3.client("ec2", region_name=region)
name = "mentor-match-network"
template = (pathlib.Path(__file__).parent / "network.yaml").read_text()

existing = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"]
if not existing:
    # The public subnets an Express web tier's load balancer needs (PublicSubnets in network.yaml).
    parameters = [{"ParameterKey": "PublicSubnets", "ParameterValue": "true"}]
    cfn.create_stack(StackName=name, TemplateBody=template, Parameters=parameters, Capabilities=["CAPABILITY_NAMED_IAM"])
for _ in range(300):
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    if not stack["StackStatus"].endswith("IN_PROGRESS"):
        break
    time.sleep(0.1)
if stack["StackStatus"] != "CREATE_COMPLETE":
    raise SystemExit(f"{name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")

resources = cfn.describe_stack_resources(StackName=name)["StackResources"]
physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
out = {"vpc": physical["Vpc"], "subnets": {}, "routeTables": {}, "securityGroups": {}}
for zone in "abc":
    tag = f"mentor-match-vpc-intra-{region}{zone}"
    table = physical[f"IntraRouteTable{zone.upper()}"]
    ec2.create_tags(Resources=[table], Tags=[{"Key": "Name", "Value": tag}])
    out["subnets"][tag] = physical[f"IntraSubnet{zone.upper()}"]
    out["routeTables"][tag] = table
for zone in "ab":
    out["subnets"][f"mentor-match-vpc-public-{region}{zone}"] = physical[f"PublicSubnet{zone.upper()}"]
out["securityGroups"] = {"allow_redis": physical["AllowRedis"], "allow_vpce": physical["AllowVpce"]}
out["outputs"] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
route53 = boto3.client("route53", region_name=region)
zone = "mentor-match.example.com."
zones = [z for z in route53.list_hosted_zones_by_name(DNSName=zone)["HostedZones"] if z["Name"] == zone]
if not zones:
    zones = [route53.create_hosted_zone(Name=zone, CallerReference="mentor-match-local")["HostedZone"]]
out["hostedZoneId"] = zones[0]["Id"].split("/")[-1]
print(json.dumps(out))
