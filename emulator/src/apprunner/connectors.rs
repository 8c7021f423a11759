//! App Runner VPC connectors: immutable, and refused deletion while a service uses one.

use super::{AppRunner, Connector, invalid, not_found, tags_of};
use crate::api::{Call, OpResult, epoch, hex, text};
use serde_json::{Value as Json, json};

impl AppRunner {
    pub(super) fn create_connector(&mut self, input: &Json, call: &Call) -> OpResult {
        let name = text(input, "VpcConnectorName").unwrap_or_default();
        let active = self
            .connectors
            .values()
            .filter(|c| c.json["VpcConnectorName"] == name && c.json["Status"] == "ACTIVE")
            .count();
        if active > 0 {
            return Err(invalid(format!("A VPC connector named {name} already exists.")));
        }
        let revision = self.connectors.values().filter(|c| c.json["VpcConnectorName"] == name).count() + 1;
        let arn =
            format!("arn:aws:apprunner:{}:{}:vpcconnector/{name}/{revision}/{}", call.region, call.account, hex(32));
        let json = json!({
            "VpcConnectorName": name, "VpcConnectorArn": arn, "VpcConnectorRevision": revision,
            "Subnets": input.get("Subnets").cloned().unwrap_or(json!([])),
            "SecurityGroups": input.get("SecurityGroups").cloned().unwrap_or(json!([])),
            "Status": "ACTIVE", "CreatedAt": epoch(),
        });
        self.tags.insert(arn.clone(), tags_of(input));
        self.connectors.insert(arn, Connector { json: json.clone() });
        Ok(json!({ "VpcConnector": json }))
    }

    pub(super) fn delete_connector(&mut self, input: &Json) -> OpResult {
        let arn = text(input, "VpcConnectorArn").unwrap_or_default().to_string();
        // AWS: "You can't delete a connector that's used by one or more App Runner services."
        let users: Vec<String> = self
            .services
            .values()
            .filter(|s| {
                s.json.pointer("/NetworkConfiguration/EgressConfiguration/VpcConnectorArn") == Some(&json!(arn))
            })
            .filter_map(|s| s.json["ServiceName"].as_str().map(str::to_string))
            .collect();
        if !users.is_empty() {
            return Err(invalid(format!("VPC connector {arn} is used by service(s) {}.", users.join(", "))));
        }
        let connector = self
            .connectors
            .get_mut(&arn)
            .filter(|c| c.json["Status"] == "ACTIVE")
            .ok_or_else(|| not_found(&format!("VPC connector {arn}")))?;
        connector.json["Status"] = json!("INACTIVE");
        connector.json["DeletedAt"] = json!(epoch());
        let shown = connector.json.clone();
        self.tags.remove(&arn);
        Ok(json!({ "VpcConnector": shown }))
    }
}
