//! AppRunnerCustomDomain: a custom domain associated with an App Runner service.

use super::{GENERIC_NAME, KindDef};
use crate::manifest::schema::*;

pub const DOMAIN: StrRule = StrRule {
    expected: "a domain name such as app.example.com",
    check: |s| {
        (3..=255).contains(&s.len())
            && s.contains('.')
            && s.split('.').all(|l| {
                (1..=63).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    },
};

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![req("service", any_string()), req("domain", string(DOMAIN)), opt("enableWww", Shape::Bool)],
        outputs: &["dnsTarget", "validationRecords"],
        retain_by_default: false,
        name_rule: GENERIC_NAME,
        check: super::no_extra_checks,
    }
}
