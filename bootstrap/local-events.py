"""Creates the events queue of bootstrap/controller.yaml in a local moto: an SQS queue with a
dead-letter queue, and the EventBridge rules that deliver to it the CloudTrail management events
("AWS API Call via CloudTrail") of the services steward manages and those services' own events.
The rules' patterns are the template's (EventsApiCallsRule, EventsServiceRule). Idempotent.
Uses only the standard AWS environment. Prints {"queueUrl": ...} as JSON.

Locally the fault proxy (`steward-fault-proxy --trail`) plays CloudTrail: moto has none. It puts
the events of global services (IAM, Route 53) in us-east-1, as AWS does, and the forwarding rule
made here brings them to this region, as bootstrap/global-events.yaml does in an account."""
import json
import os

import boto3

region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
sqs = boto3.client("sqs", region_name=region)
events = boto3.client("events", region_name=region)

SOURCES = ["aws.ec2", "aws.ecs", "aws.elasticache", "aws.apprunner", "aws.ssm", "aws.route53", "aws.acm",
           "aws.elasticloadbalancing", "aws.logs", "aws.sqs", "aws.iam", "aws.ecr"]
# Global services: their CloudTrail events reach EventBridge in us-east-1 only.
GLOBAL_SOURCES = ["aws.iam", "aws.route53"]
API_CALLS = {
    "source": SOURCES,
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {"eventSource": [s.removeprefix("aws.") + ".amazonaws.com" for s in SOURCES]},
}
SERVICE_EVENTS = {
    "source": ["aws.apprunner", "aws.ecs"],
    "detail-type": [
        "AppRunner Service Status Change",
        "AppRunner Service Operation Status Change",
        "AppRunner Custom Domain Validation Status Update",
        "ECS Service Action",
        "ECS Deployment State Change",
    ],
}

dlq = sqs.create_queue(QueueName="steward-events-dlq", Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue = sqs.create_queue(
    QueueName="steward-events",
    Attributes={
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
    },
)["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
for name, pattern in [("steward-api-calls", API_CALLS), ("steward-service-events", SERVICE_EVENTS)]:
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, Targets=[{"Id": "steward-events", "Arn": queue_arn}])
# The template's bootstrap/global-events.yaml: a rule in us-east-1 that forwards the global
# services' events to this region's default bus, where the rule above sends them to the queue.
if region != "us-east-1":
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    us_east_1 = boto3.client("events", region_name="us-east-1")
    forward = {"source": GLOBAL_SOURCES, "detail-type": ["AWS API Call via CloudTrail"]}
    us_east_1.put_rule(Name="steward-global-events", EventPattern=json.dumps(forward), State="ENABLED")
    bus = f"arn:aws:events:{region}:{account}:event-bus/default"
    us_east_1.put_targets(Rule="steward-global-events", Targets=[{"Id": "controller-region", "Arn": bus,
        "RoleArn": f"arn:aws:iam::{account}:role/steward-global-events"}])
print(json.dumps({"queueUrl": queue, "queueArn": queue_arn, "deadLetterQueueUrl": dlq}))
