//! What names a resource: its kind and its key (stack, kind, name).

use std::fmt;

/// Every kind steward manages, in the order a pass walks them within a level (and removes them in
/// reverse): its short name (`steward get vpce`), the AWS service its calls go to (throttling
/// there holds all of its kinds), its definition and its adapter. This is the one list: the
/// `Kind` enum below and the registry's matches (`kinds::registry`) are made from it, so a new
/// kind is its file plus one line here.
#[macro_export]
macro_rules! kind_list {
    ($then:ident) => {
        $then! {
            Stack, "st", "ec2", typed::definition::<stack::Stack>(), &stack::ADAPTER;
            VpcEndpoint, "vpce", "ec2", typed::definition::<vpc_endpoint::VpcEndpoint>(), &vpc_endpoint::ADAPTER;
            CacheSubnetGroup, "csg", "elasticache", typed::definition::<cache_subnet_group::CacheSubnetGroup>(), &cache_subnet_group::ADAPTER;
            CacheCluster, "cc", "elasticache", typed::definition::<cache_cluster::CacheCluster>(), &cache_cluster::ADAPTER;
            CacheUser, "cu", "elasticache", typed::definition::<cache_user::CacheUser>(), &cache_user::ADAPTER;
            AppRunnerVpcConnector, "arc", "apprunner", typed::definition::<apprunner_vpc_connector::VpcConnector>(), &apprunner_vpc_connector::ADAPTER;
            AppRunnerService, "ars", "apprunner", typed::definition::<apprunner_service::AppRunnerService>(), &apprunner_service::ADAPTER;
            AppRunnerCustomDomain, "domain", "apprunner", typed::definition::<apprunner_custom_domain::CustomDomain>(), &apprunner_custom_domain::ADAPTER;
            EcsCluster, "ecsc", "ecs", typed::definition::<ecs_cluster::EcsCluster>(), &ecs_cluster::ADAPTER;
            EcsExpressService, "express", "ecs", typed::definition::<ecs_express_service::EcsExpressService>(), &ecs_express_service::ADAPTER;
            EcsService, "svc", "ecs", typed::definition::<ecs_service::EcsService>(), &ecs_service::ADAPTER;
            AcmCertificate, "cert", "acm", typed::definition::<acm_certificate::AcmCertificate>(), &acm_certificate::ADAPTER;
            ListenerRule, "rule", "elasticloadbalancing", typed::definition::<listener_rule::ListenerRule>(), &listener_rule::ADAPTER;
            Route53Record, "dns", "route53", typed::definition::<route53_record::Route53Record>(), &route53_record::ADAPTER;
            LogGroup, "lg", "logs", typed::definition::<log_group::LogGroup>(), &log_group::ADAPTER;
            SqsQueue, "sqs", "sqs", typed::definition::<sqs_queue::SqsQueue>(), &sqs_queue::ADAPTER;
            SecurityGroup, "sg", "ec2", typed::definition::<security_group::SecurityGroup>(), &security_group::ADAPTER;
            Subnet, "subnet", "ec2", typed::definition::<subnet::Subnet>(), &subnet::ADAPTER;
            Vpc, "vpc", "ec2", typed::definition::<vpc::Vpc>(), &vpc::ADAPTER;
            RouteTable, "rtb", "ec2", typed::definition::<route_table::RouteTable>(), &route_table::ADAPTER;
            IamPolicy, "policy", "iam", typed::definition::<iam_policy::IamPolicy>(), &iam_policy::ADAPTER;
            IamRole, "role", "iam", typed::definition::<iam_role::IamRole>(), &iam_role::ADAPTER;
            EcrRepository, "ecr", "ecr", typed::definition::<ecr_repository::EcrRepository>(), &ecr_repository::ADAPTER;
        }
    };
}

/// The `Kind` enum, its `ALL`, names, short names and services, from `kind_list!`.
macro_rules! kind_enum {
    ($($kind:ident, $short:literal, $service:literal, $definition:expr, $adapter:expr;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum Kind {
            $($kind,)*
        }

        impl Kind {
            pub const ALL: [Kind; [$(Kind::$kind),*].len()] = [$(Kind::$kind),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$kind => stringify!($kind),)*
                }
            }

            /// The AWS service its calls go to: throttling there holds all of its kinds.
            pub fn service(self) -> &'static str {
                match self {
                    $(Kind::$kind => $service,)*
                }
            }

            /// The short name the command line accepts for the kind.
            pub fn short_name(self) -> &'static str {
                match self {
                    $(Kind::$kind => $short,)*
                }
            }
        }
    };
}

kind_list!(kind_enum);

impl Kind {
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
