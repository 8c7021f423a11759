"""Creates the events queue of bootstrap/controller.yaml in a local moto: an SQS queue with a
dead-letter queue, and the EventBridge rules that deliver to it the CloudTrail management events
("AWS API Call via CloudTrail") of the services steward manages and those services' own events.
The rules' patterns are the template's (EventsApiCallsRule, EventsServiceRule). Idempotent.
Uses only the standard AWS environment. Prints {"queueUrl": ...} as JSON.

Locally the fault proxy (`steward-fault-proxy --trail`) plays CloudTrail: moto has none."""
import json
import os

import boto3

region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
sqs = boto3.client("sqs", region_name=region)
events = boto3.client("events", region_name=region)

SOURCES = ["aws.ec2", "aws.ecs", "aws.elasticache", "aws.apprunner", "aws.ssm", "aws.route53", "aws.acm",
           "aws.elasticloadbalancing", "aws.logs", "aws.sqs"]
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
print(json.dumps({"queueUrl": queue, "queueArn": queue_arn, "deadLetterQueueUrl": dlq}))
