//! The VPC of a subnet, from EC2 where the standard `AWS_ENDPOINT_URL_EC2` or `AWS_ENDPOINT_URL`
//! variable of the emulator's environment points (moto serves EC2). ElastiCache subnet groups
//! keep the VPC of their first subnets and refuse subnets of another one (QUIRKS.md).

use crate::upstream::{elements, endpoint_from_env, get};
use std::collections::BTreeMap;

/// Subnet id → VPC id for the subnets EC2 knows; None when no EC2 endpoint is configured or it
/// cannot be reached (the emulator then does without).
pub async fn subnet_vpcs(region: &str, caller: Option<&str>, subnets: &[&str]) -> Option<BTreeMap<String, String>> {
    let endpoint = endpoint_from_env("EC2")?;
    if subnets.is_empty() {
        return Some(BTreeMap::new());
    }
    let mut found = BTreeMap::new();
    for subnet in subnets {
        // One subnet per question: the answer's only vpcId is its VPC. A filter answers with
        // nothing for an unknown subnet instead of failing.
        let path =
            format!("/?Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=subnet-id&Filter.1.Value.1={subnet}");
        let xml = get(&endpoint, caller, "ec2", region, &path).await.ok()?;
        if let Some(vpc) = elements(&xml, "vpcId").first() {
            found.insert(subnet.to_string(), vpc.to_string());
        }
    }
    Some(found)
}
