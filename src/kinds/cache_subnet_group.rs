//! CacheSubnetGroup: an ElastiCache subnet group.

use super::KindDef;
use crate::manifest::schema::*;

pub const NAME: StrRule = StrRule {
    expected: "a subnet group name of 1 to 255 lowercase letters, digits or hyphens",
    check: |s| {
        (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    },
};

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            opt("description", string(StrRule { expected: "at most 255 characters", check: |s| s.len() <= 255 })),
            req("subnets", selectors("subnet-")),
            opt("tags", tags()),
        ],
        outputs: &["name"],
        retain_by_default: false,
        name_rule: NAME,
        check: super::no_extra_checks,
    }
}
