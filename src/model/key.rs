//! What names a resource: its kind and its key (stack, kind, name).

use std::fmt;

/// Every kind steward manages, in the order a pass walks them within a level (and removes them in
/// reverse). A new kind is one line here and one in `kinds::registry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Stack,
    VpcEndpoint,
    CacheSubnetGroup,
    CacheCluster,
    CacheUser,
    AppRunnerVpcConnector,
    AppRunnerService,
    AppRunnerCustomDomain,
    EcsCluster,
    EcsExpressService,
    EcsService,
    AcmCertificate,
    ListenerRule,
    Route53Record,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Stack,
        Kind::VpcEndpoint,
        Kind::CacheSubnetGroup,
        Kind::CacheCluster,
        Kind::CacheUser,
        Kind::AppRunnerVpcConnector,
        Kind::AppRunnerService,
        Kind::AppRunnerCustomDomain,
        Kind::EcsCluster,
        Kind::EcsExpressService,
        Kind::EcsService,
        Kind::AcmCertificate,
        Kind::ListenerRule,
        Kind::Route53Record,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stack => "Stack",
            Kind::VpcEndpoint => "VpcEndpoint",
            Kind::CacheSubnetGroup => "CacheSubnetGroup",
            Kind::CacheCluster => "CacheCluster",
            Kind::CacheUser => "CacheUser",
            Kind::AppRunnerVpcConnector => "AppRunnerVpcConnector",
            Kind::AppRunnerService => "AppRunnerService",
            Kind::AppRunnerCustomDomain => "AppRunnerCustomDomain",
            Kind::EcsCluster => "EcsCluster",
            Kind::EcsExpressService => "EcsExpressService",
            Kind::EcsService => "EcsService",
            Kind::AcmCertificate => "AcmCertificate",
            Kind::ListenerRule => "ListenerRule",
            Kind::Route53Record => "Route53Record",
        }
    }

    /// The AWS service its calls go to: throttling there holds all of its kinds.
    pub fn service(self) -> &'static str {
        match self {
            Kind::Stack | Kind::VpcEndpoint => "ec2",
            Kind::CacheSubnetGroup | Kind::CacheCluster | Kind::CacheUser => "elasticache",
            Kind::AppRunnerVpcConnector | Kind::AppRunnerService | Kind::AppRunnerCustomDomain => "apprunner",
            Kind::EcsCluster | Kind::EcsExpressService | Kind::EcsService => "ecs",
            Kind::AcmCertificate => "acm",
            Kind::ListenerRule => "elasticloadbalancing",
            Kind::Route53Record => "route53",
        }
    }

    /// Exact kind names as written in manifests; the CLI also accepts them in any letter case.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A kind as people type it on the command line: any letter case, plural (`ecsservices`),
    /// or its short name (`svc`), as kubectl takes `pods` and `po`.
    pub fn parse_loose(s: &str) -> Option<Kind> {
        let singular = s.strip_suffix(['s', 'S']).unwrap_or(s);
        Kind::ALL.into_iter().find(|k| {
            k.as_str().eq_ignore_ascii_case(s) || k.as_str().eq_ignore_ascii_case(singular) || k.short_name() == s
        })
    }

    /// The short name the command line accepts for the kind.
    pub fn short_name(self) -> &'static str {
        match self {
            Kind::Stack => "st",
            Kind::VpcEndpoint => "vpce",
            Kind::CacheSubnetGroup => "csg",
            Kind::CacheCluster => "cc",
            Kind::CacheUser => "cu",
            Kind::AppRunnerVpcConnector => "arc",
            Kind::AppRunnerService => "ars",
            Kind::AppRunnerCustomDomain => "domain",
            Kind::EcsCluster => "ecsc",
            Kind::EcsExpressService => "express",
            Kind::EcsService => "svc",
            Kind::AcmCertificate => "cert",
            Kind::ListenerRule => "rule",
            Kind::Route53Record => "dns",
        }
    }

    /// The kind whose name is closest to a mistyped one (at most 3 edits apart), for "did you mean".
    pub fn closest(s: &str) -> Option<Kind> {
        let typed = s.to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .map(|k| (edit_distance(&typed, &k.as_str().to_ascii_lowercase()), k))
            .filter(|(d, _)| *d <= 3)
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k)
    }
}

/// Levenshtein distance between two short ASCII words.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one resource: its stack, kind and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    pub stack: String,
    pub kind: Kind,
    pub name: String,
}

impl ResourceKey {
    pub fn new(stack: &str, kind: Kind, name: &str) -> Self {
        ResourceKey { stack: stack.to_string(), kind, name: name.to_string() }
    }

    /// `Kind/name`, the form users type and errors print.
    pub fn short(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}
