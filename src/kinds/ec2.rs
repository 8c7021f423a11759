//! What the EC2 kinds share: the CIDR rule, and why an object cannot be deleted yet.

use super::typed::{TypedKind, Want};
use crate::aws::{AwsError, aws};
use crate::model::ReconcileError;
use crate::model::adapter::Cx;
use crate::model::tags::{TAG_STACK, owns};
use crate::schema::StrRule;
use aws_sdk_ec2::types::Filter;
use std::collections::BTreeMap;

/// An IPv4 block as EC2 takes it for a VPC or a subnet.
pub const CIDR: StrRule = StrRule {
    expected: "an IPv4 CIDR block such as 10.0.1.0/26 (a /16 to a /28)",
    check: |s| {
        let Some((address, bits)) = s.split_once('/') else { return false };
        let octets: Vec<Option<u8>> = address.split('.').map(|o| o.parse().ok()).collect();
        octets.len() == 4
            && octets.iter().all(Option::is_some)
            && bits.parse::<u8>().is_ok_and(|b| (16..=28).contains(&b))
    },
};

/// Why `id` cannot go yet (`operation` met `DependencyViolation`): the network interfaces that
/// `filter` (`group-id`, `subnet-id`) finds, by what they are for. The error is transient, so
/// the delete waits and is tried again, and the status says what it waits for.
pub async fn in_use(cx: &Cx<'_>, operation: &'static str, filter: &str, id: &str) -> Result<AwsError, ReconcileError> {
    let request =
        cx.clients.ec2.describe_network_interfaces().filters(Filter::builder().name(filter).values(id).build());
    let found = request.send().await.map_err(aws("DescribeNetworkInterfaces"))?;
    let users: Vec<String> = found
        .network_interfaces()
        .iter()
        .map(|n| {
            format!(
                "{} ({})",
                n.network_interface_id().unwrap_or_default(),
                n.description().unwrap_or("no description")
            )
        })
        .collect();
    Ok(AwsError::unexpected(operation, format!("waiting: {id} is still used by {}", users.join(", "))))
}

/// Which resource an object without a natural identity (a VPC, a route table) is: the one its
/// ownership tags name; else, for an object no resource of steward owns, the one whose `Name`
/// tag it carries, so that `adopt: true` can take over what Terraform or a console made.
pub fn claimant<'w, K: TypedKind>(
    tags: &BTreeMap<String, String>,
    wanted: &'w [Want<'w, K>],
) -> Option<&'w Want<'w, K>> {
    if let Some(owner) = wanted.iter().find(|w| owns(tags, w.key())) {
        return Some(owner);
    }
    let name = tags.get("Name")?;
    (!tags.contains_key(TAG_STACK)).then(|| wanted.iter().find(|w| w.desired.tags.get("Name") == Some(name)))?
}
