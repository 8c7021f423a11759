//! VpcEndpoint: an EC2 VPC endpoint, Interface (subnets, security groups, private DNS) or Gateway
//! (route tables).

use super::{GENERIC_NAME, KindDef};
use crate::manifest::schema::*;
use serde_json::Value as Json;

/// Short service names (`ecr.api`, `s3`); the region-qualified name is built from the Stack's region.
pub const SERVICE: StrRule = StrRule {
    expected: "a service name such as ecr.api, logs or s3",
    check: |s| {
        (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
    },
};

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("service", string(SERVICE)),
            req("type", Shape::Enum(&["Interface", "Gateway"])),
            opt("subnets", selectors("subnet-")),
            opt("securityGroups", selectors("sg-")),
            opt("privateDns", Shape::Bool),
            opt("routeTables", selectors("rtb-")),
            opt("tags", tags()),
        ],
        outputs: &["id"],
        retain_by_default: false,
        name_rule: GENERIC_NAME,
        check,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    let has = |f: &str| spec.get(f).is_some();
    match spec.get("type").and_then(Json::as_str) {
        Some("Interface") => {
            if !has("subnets") {
                c.error_at("subnets", "required for an Interface endpoint");
            }
            if has("routeTables") {
                c.error_at("routeTables", "only a Gateway endpoint takes route tables");
            }
        }
        Some("Gateway") => {
            if !has("routeTables") {
                c.error_at("routeTables", "required for a Gateway endpoint");
            }
            for f in ["subnets", "securityGroups", "privateDns"] {
                if has(f) {
                    c.error_at(f, "only an Interface endpoint takes this field");
                }
            }
        }
        _ => {}
    }
}
