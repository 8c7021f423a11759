//! AppRunnerVpcConnector: lets an App Runner service reach private subnets (Redis).

use super::KindDef;
use crate::manifest::schema::*;

pub const NAME: StrRule = StrRule {
    expected: "a name of 4 to 40 letters, digits, '-' or '_', starting with a letter or digit",
    check: |s| {
        (4..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    },
};

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("subnets", selectors("subnet-")),
            req("securityGroups", selectors("sg-")),
            opt("tags", tags()),
        ],
        outputs: &["arn"],
        retain_by_default: false,
        name_rule: NAME,
        check: super::no_extra_checks,
    }
}
