"""A second check of the emulator with boto3, which serializes and parses strictly by the botocore
models: every operation the emulator serves is called once, and the emulator's own model check
must have found no undeclared response member. Usage: conformance.py http://127.0.0.1:PORT"""
import json
import sys
import time
import urllib.request

import boto3
import botocore.session

url = sys.argv[1]
kw = dict(region_name="eu-west-1", endpoint_url=url, aws_access_key_id="x", aws_secret_access_key="y")
ec = boto3.client("elasticache", **kw)
ar = boto3.client("apprunner", **kw)


def wait(fn, ok, what):
    for _ in range(300):
        if ok(fn()):
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


called = set()
for client, name in ((ec, "elasticache"), (ar, "apprunner")):
    client.meta.events.register("before-call", lambda model, service=name, **_: called.add((service, model.name)))

ec.create_cache_subnet_group(CacheSubnetGroupName="g", CacheSubnetGroupDescription="d", SubnetIds=["subnet-0123abcd"])
ec.describe_cache_subnet_groups()
ec.modify_cache_subnet_group(CacheSubnetGroupName="g", CacheSubnetGroupDescription="e")
c = ec.create_cache_cluster(CacheClusterId="r", Engine="redis", EngineVersion="7.1", CacheNodeType="cache.t4g.micro",
                            NumCacheNodes=1, CacheSubnetGroupName="g", SecurityGroupIds=["sg-1"],
                            Tags=[{"Key": "steward:stack", "Value": "s"}])["CacheCluster"]
wait(lambda: ec.describe_cache_clusters(CacheClusterId="r", ShowCacheNodeInfo=True)["CacheClusters"][0],
     lambda x: x["CacheClusterStatus"] == "available" and x["CacheNodes"][0]["Endpoint"]["Port"] == 6379, "available")
ec.modify_cache_cluster(CacheClusterId="r", CacheNodeType="cache.t4g.small", ApplyImmediately=True)
ec.add_tags_to_resource(ResourceName=c["ARN"], Tags=[{"Key": "a", "Value": "b"}])
assert len(ec.list_tags_for_resource(ResourceName=c["ARN"])["TagList"]) == 2
ec.remove_tags_from_resource(ResourceName=c["ARN"], TagKeys=["a"])
ec.create_user(UserId="admin", UserName="admin", Engine="redis", Passwords=["x" * 16], AccessString="on ~* +@all")
wait(lambda: ec.describe_users(UserId="admin")["Users"][0], lambda u: u["Status"] == "active", "user")
ec.modify_user(UserId="admin", AccessString="on ~* -@all")
ec.create_user_group(UserGroupId="ug", Engine="redis", UserIds=["default"])
wait(lambda: ec.describe_user_groups(UserGroupId="ug")["UserGroups"][0], lambda g: g["Status"] == "active", "group")
ec.modify_user_group(UserGroupId="ug", UserIdsToAdd=["admin"])
wait(lambda: ec.describe_user_groups(UserGroupId="ug")["UserGroups"][0], lambda g: g["Status"] == "active", "group")
ec.delete_user_group(UserGroupId="ug")
wait(lambda: ec.describe_users(UserId="admin")["Users"][0], lambda u: u["Status"] == "active", "user")
ec.delete_user(UserId="admin")
wait(lambda: ec.describe_cache_clusters(CacheClusterId="r")["CacheClusters"][0],
     lambda x: x["CacheClusterStatus"] == "available", "modified")
ec.delete_cache_cluster(CacheClusterId="r")
wait(lambda: ec.describe_cache_clusters()["CacheClusters"], lambda x: not x, "deleted")
ec.delete_cache_subnet_group(CacheSubnetGroupName="g")

conn = ar.create_vpc_connector(VpcConnectorName="conn", Subnets=["subnet-1"], SecurityGroups=["sg-1"])["VpcConnector"]
ar.describe_vpc_connector(VpcConnectorArn=conn["VpcConnectorArn"])
ar.list_vpc_connectors()
svc = ar.create_service(
    ServiceName="web1",
    SourceConfiguration={"ImageRepository": {"ImageIdentifier": "public.ecr.aws/x/y:latest", "ImageRepositoryType": "ECR_PUBLIC",
                                             "ImageConfiguration": {"Port": "5000", "RuntimeEnvironmentVariables": {"A": "b"}}},
                         "AutoDeploymentsEnabled": False},
    NetworkConfiguration={"EgressConfiguration": {"EgressType": "VPC", "VpcConnectorArn": conn["VpcConnectorArn"]}},
    Tags=[{"Key": "steward:stack", "Value": "s"}])["Service"]
arn = svc["ServiceArn"]
running = lambda: ar.describe_service(ServiceArn=arn)["Service"]["Status"]
wait(running, lambda s: s == "RUNNING", "running")
ar.update_service(ServiceArn=arn, InstanceConfiguration={"Cpu": "2048", "Memory": "4096"})
wait(running, lambda s: s == "RUNNING", "updated")
ar.associate_custom_domain(ServiceArn=arn, DomainName="web.example.com", EnableWWWSubdomain=True)
# As on AWS: lower-case statuses, and no validation without the DNS records (none here).
wait(lambda: ar.describe_custom_domains(ServiceArn=arn)["CustomDomains"][0],
     lambda d: d["Status"] == "pending_certificate_dns_validation" and len(d["CertificateValidationRecords"]) == 2, "domain")
ar.disassociate_custom_domain(ServiceArn=arn, DomainName="web.example.com")
ar.start_deployment(ServiceArn=arn)
wait(running, lambda s: s == "RUNNING", "deployed")
ar.pause_service(ServiceArn=arn)
wait(running, lambda s: s == "PAUSED", "paused")
ar.resume_service(ServiceArn=arn)
wait(running, lambda s: s == "RUNNING", "resumed")
ar.list_operations(ServiceArn=arn)
ar.list_services()
ar.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}])
ar.untag_resource(ResourceArn=arn, TagKeys=["a"])
assert ar.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "steward:stack", "Value": "s"}]
ar.delete_service(ServiceArn=arn)
# As on AWS, a connector in use cannot be deleted: first the service goes.
# It answers DELETED for a while (as on AWS), and the old service is shown with that status.
wait(lambda: ar.describe_service(ServiceArn=arn)["Service"]["Status"], lambda s: s == "DELETED", "service deleted")
ar.delete_vpc_connector(VpcConnectorArn=conn["VpcConnectorArn"])

served = json.load(urllib.request.urlopen(url + "/_emulator/requests"))
session = botocore.session.get_session()
for key in served:
    service, op = key.split(":")
    assert op in session.get_service_model(service).operation_names, f"{key} is not in the model"
violations = json.load(urllib.request.urlopen(url + "/_emulator/conformance"))["violations"]
assert violations == 0, f"{violations} response(s) did not match the model"
print(json.dumps({"operations": len(called), "violations": violations}))
