//! The SDK clients of one region, as adapters receive them (`aws::Aws` makes them, with
//! every call counted).

/// The clients of one region, each with the call counter installed.
#[derive(Clone, Debug)]
pub struct Clients {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub apprunner: aws_sdk_apprunner::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub route53: aws_sdk_route53::Client,
    pub acm: aws_sdk_acm::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// IAM is global: one endpoint whatever the region.
    pub iam: aws_sdk_iam::Client,
    pub ecr: aws_sdk_ecr::Client,
}
