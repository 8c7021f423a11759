"""Creates the Mentor Match network foundation in a local moto (what bootstrap/network.yaml
creates on AWS): VPC mentor-match-vpc, three intra subnets with a route table each, and the
security groups allow_redis and allow_vpce. Idempotent. Uses only the standard AWS environment
(AWS_ENDPOINT_URL, AWS_REGION, credentials). Prints the ids as JSON."""
import json
import os

import boto3

region = os.environ.get("AWS_REGION", "eu-west-1")
ec2 = boto3.client("ec2", region_name=region)


def tags(name):
    return [{"Key": "Name", "Value": name}, {"Key": "Project", "Value": "mentor-match"}]


def find(kind, name):
    described = getattr(ec2, f"describe_{kind}")(Filters=[{"Name": "tag:Name", "Values": [name]}])
    key = {"vpcs": "Vpcs", "subnets": "Subnets", "route_tables": "RouteTables", "security_groups": "SecurityGroups"}[kind]
    return described[key][0] if described[key] else None


vpc = find("vpcs", "mentor-match-vpc") or ec2.create_vpc(
    CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags("mentor-match-vpc")}])["Vpc"]
vpc_id = vpc["VpcId"]
ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
out = {"vpc": vpc_id, "subnets": {}, "routeTables": {}, "securityGroups": {}}
for zone, cidr in (("a", "10.0.1.0/26"), ("b", "10.0.1.64/26"), ("c", "10.0.1.128/26")):
    name = f"mentor-match-vpc-intra-{region}{zone}"
    subnet = find("subnets", name) or ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{region}{zone}",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": tags(name)}])["Subnet"]
    table = find("route_tables", name) or ec2.create_route_table(
        VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": tags(name)}])["RouteTable"]
    if not any(a.get("SubnetId") == subnet["SubnetId"] for a in table.get("Associations", [])):
        ec2.associate_route_table(RouteTableId=table["RouteTableId"], SubnetId=subnet["SubnetId"])
    out["subnets"][name] = subnet["SubnetId"]
    out["routeTables"][name] = table["RouteTableId"]
for name, port in (("allow_redis", 6379), ("allow_vpce", 443)):
    group = find("security_groups", name)
    if not group:
        group_id = ec2.create_security_group(
            GroupName=name, Description=f"tcp {port} from the VPC", VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(name)}])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    else:
        group_id = group["GroupId"]
    out["securityGroups"][name] = group_id
print(json.dumps(out))
