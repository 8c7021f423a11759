//! CacheUser: an ElastiCache user whose password lives in an SSM SecureString. The password itself
//! never appears in a manifest, the store, a diff or a log: only the parameter's name does.

use super::KindDef;
use crate::manifest::schema::*;

pub const USER_ID: StrRule = StrRule {
    expected: "a user id of 1 to 40 lowercase letters, digits or hyphens, starting with a letter",
    check: |s| {
        (1..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    },
};

pub const SSM_NAME: StrRule = StrRule {
    expected: "an SSM parameter path such as /app/redis/password (letters, digits and _.-/)",
    check: |s| {
        (2..=1011).contains(&s.len())
            && s.starts_with('/')
            && !s.to_ascii_lowercase().starts_with("/aws")
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
    },
};

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req(
                "userName",
                string(StrRule {
                    expected: "a user name of 1 to 120 characters without spaces",
                    check: |s| (1..=120).contains(&s.len()) && !s.contains(' '),
                }),
            ),
            opt("engine", Shape::Enum(&["redis", "valkey"])),
            req("accessString", any_string()),
            req("passwordParameter", string(SSM_NAME)),
            opt("passwordLength", int(16, 128)),
            opt("tags", tags()),
        ],
        outputs: &["userId", "passwordParameter"],
        retain_by_default: true,
        name_rule: USER_ID,
        check: super::no_extra_checks,
    }
}
