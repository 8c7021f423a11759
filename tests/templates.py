"""Deploys bootstrap/network.yaml and the parts of bootstrap/controller.yaml that moto's
CloudFormation supports (table, roles, log group) to moto, and checks what the desired state
relies on. Usage: templates.py (with the standard AWS_* environment pointing at moto)."""
import json
import pathlib
import subprocess
import sys
import time

import boto3
import yaml  # PyYAML comes with moto[server]

root = pathlib.Path(__file__).resolve().parent.parent
region = "eu-west-1"
cfn = boto3.client("cloudformation", region_name=region)
ec2 = boto3.client("ec2", region_name=region)

network = json.loads(subprocess.run([sys.executable, str(root / "bootstrap/local-network.py")], check=True, capture_output=True, text=True).stdout)
outputs = network["outputs"]
vpc = ec2.describe_vpcs(VpcIds=[outputs["VpcId"]])["Vpcs"][0]
assert {"Key": "Name", "Value": "mentor-match-vpc"} in vpc["Tags"], vpc
assert vpc["CidrBlock"] == "10.0.0.0/16"
subnets = ec2.describe_subnets(SubnetIds=outputs["IntraSubnetIds"].split(","))["Subnets"]
names = sorted(t["Value"] for s in subnets for t in s["Tags"] if t["Key"] == "Name")
assert names == [f"mentor-match-vpc-intra-{region}{z}" for z in "abc"], names
assert sorted(s["CidrBlock"] for s in subnets) == ["10.0.1.0/26", "10.0.1.128/26", "10.0.1.64/26"]
groups = ec2.describe_security_groups(GroupIds=[outputs["AllowRedisGroupId"], outputs["AllowVpceGroupId"]])["SecurityGroups"]
ports = {g["GroupName"]: g["IpPermissions"][0]["FromPort"] for g in groups}
assert ports == {"allow_redis": 6379, "allow_vpce": 443}, ports
assert outputs["WorkerRoleArn"].endswith(":role/ecs_celery_exec_role")
# The worker's log group is steward's (desired-state/mentor-match/worker.yaml), not the template's.
logs = boto3.client("logs", region_name=region)
assert logs.describe_log_groups(logGroupNamePrefix="/ecs/mmweb-celery/worker")["logGroups"] == []

# The controller template: only the resources moto's CloudFormation implements faithfully.
loader = yaml.SafeLoader
def intrinsic(tag):
    def construct(l, n):
        value = l.construct_scalar(n) if isinstance(n, yaml.ScalarNode) else l.construct_sequence(n)
        if tag == "!Ref":
            return {"Ref": value}
        if tag == "!GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {"Fn::" + tag[1:]: value}
    return construct
for tag in ("!Ref", "!Sub", "!GetAtt", "!If", "!Not", "!Equals", "!Join", "!Select", "!GetAZs"):
    loader.add_constructor(tag, intrinsic(tag))
template = yaml.load((root / "bootstrap/controller.yaml").read_text(), Loader=loader)
keep = {"Table", "LogGroup", "TaskRole"}
template["Resources"] = {k: v for k, v in template["Resources"].items() if k in keep}
role = template["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]
# Statements under a condition (the customer-managed password key) need the dropped Conditions.
role["Statement"] = [s for s in role["Statement"] if "Fn::If" not in s]
for statement in role["Statement"]:
    statement["Resource"] = "*" if not isinstance(statement["Resource"], str) else statement["Resource"]
template["Outputs"] = {k: v for k, v in template["Outputs"].items() if k in ("TableArn", "LogGroupName", "TaskRoleArn")}
template.pop("Conditions", None)
params = {"ImageUri": "x", "HostedZoneId": "Z0123456789ABCDEFGHIJ", "VpcId": outputs["VpcId"], "SubnetIds": outputs["IntraSubnetIds"], "RouteTableIds": outputs["IntraRouteTableIds"],
          "EndpointSecurityGroupId": outputs["AllowVpceGroupId"], "ManagedRoleArns": outputs["WorkerRoleArn"]}
template["Parameters"] = {k: {"Type": "String"} for k in params} | {"TableName": {"Type": "String", "Default": "steward-cfn"}}
cfn.create_stack(StackName="steward-controller", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"],
                 Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
for _ in range(300):
    stack = cfn.describe_stacks(StackName="steward-controller")["Stacks"][0]
    if not stack["StackStatus"].endswith("IN_PROGRESS"):
        break
    time.sleep(0.1)
assert stack["StackStatus"] == "CREATE_COMPLETE", stack
table = boto3.client("dynamodb", region_name=region).describe_table(TableName="steward-cfn")["Table"]
assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
assert logs.describe_log_groups(logGroupNamePrefix="/steward/controller")["logGroups"]
print("ok")
