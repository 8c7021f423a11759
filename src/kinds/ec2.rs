//! What the EC2 kinds share: why an object cannot be deleted yet.

use crate::aws::{AwsError, aws};
use crate::model::ReconcileError;
use crate::model::adapter::Cx;
use aws_sdk_ec2::types::Filter;

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
