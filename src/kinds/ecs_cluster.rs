//! EcsCluster: an ECS cluster and its Container Insights setting.

use super::KindDef;
use crate::manifest::schema::*;

pub const NAME: StrRule = StrRule {
    expected: "a cluster name of 1 to 255 letters, digits, '-' or '_'",
    check: |s| (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)),
};

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![opt("containerInsights", Shape::Enum(&["enabled", "disabled", "enhanced"])), opt("tags", tags())],
        outputs: &["arn"],
        retain_by_default: false,
        name_rule: NAME,
        check: super::no_extra_checks,
    }
}
