//! The kind registry: for each kind, its definition (schema, outputs, naming) and its adapter,
//! made from the one list of kinds (`model::key::kind_list!`).

use super::definition::KindDef;
use super::{acm_certificate, apprunner_custom_domain, apprunner_service, apprunner_vpc_connector, cache_cluster};
use super::{cache_subnet_group, cache_user, ecs_cluster, ecs_express_service, ecs_service, iam_policy, iam_role};
use super::{ecr_repository, listener_rule};
use super::{
    log_group, route_table, route53_record, security_group, sqs_queue, stack, subnet, typed, vpc, vpc_endpoint,
};
use crate::model::{Adapter, Kind};

macro_rules! registry {
    ($($kind:ident, $short:literal, $service:literal, $definition:expr, $adapter:expr;)*) => {
        /// What the manifest layer needs to know about a kind.
        pub fn definition(kind: Kind) -> KindDef {
            match kind {
                $(Kind::$kind => $definition,)*
            }
        }

        /// The kind's AWS adapter.
        pub fn adapter(kind: Kind) -> &'static dyn Adapter {
            match kind {
                $(Kind::$kind => $adapter,)*
            }
        }
    };
}

crate::kind_list!(registry);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::adapter::kind_spec;
    use crate::schema::Shape;
    use serde_json::{Value as Json, json};

    /// A value of the shape (selectors as the ids resolution makes of them).
    fn sample(shape: &Shape) -> Json {
        match shape {
            Shape::Str { .. } => json!("x"),
            Shape::Int { min, .. } => json!(min),
            Shape::IntIn(values) => json!(values[0]),
            Shape::Bool => json!(true),
            Shape::Enum(values) => json!(values[0]),
            Shape::List { item, .. } => json!([sample(item)]),
            Shape::Struct(fields) => {
                Json::Object(fields.iter().map(|f| (f.name.to_string(), sample(&f.shape))).collect())
            }
            Shape::Dict { value, .. } => json!({ "K": sample(value) }),
            Shape::Selector { .. } => json!("id-1"),
        }
    }

    /// The field names a struct asks its deserializer for.
    fn struct_fields<T: serde::de::DeserializeOwned>() -> Vec<&'static str> {
        #[derive(Debug)]
        struct Fields(Vec<&'static str>);
        impl std::fmt::Display for Fields {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
        impl std::error::Error for Fields {}
        impl serde::de::Error for Fields {
            fn custom<M: std::fmt::Display>(_: M) -> Self {
                Fields(vec![])
            }
        }
        struct Asker;
        impl<'de> serde::Deserializer<'de> for Asker {
            type Error = Fields;
            fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
                Err(Fields(vec![]))
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Fields> {
                Err(Fields(fields.to_vec()))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
                unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        match T::deserialize(Asker) {
            Err(asked) => asked.0,
            Ok(_) => panic!("a struct was read from nothing"),
        }
    }

    /// The schema (what people may write, and the errors they see) and the typed spec the
    /// adapter reads name the same fields, and every valid spec reads as the typed spec. A
    /// declared kind's schema adds the tags, which the engine reads.
    fn agree<T: serde::de::DeserializeOwned>(kind: Kind) {
        let declared = definition(kind).field_table.is_some();
        let fields: Vec<_> = definition(kind).fields.into_iter().filter(|f| !(declared && f.name == "tags")).collect();
        let mut schema: Vec<&str> = fields.iter().map(|f| f.name).collect();
        let mut typed = struct_fields::<T>();
        schema.sort();
        typed.sort();
        assert_eq!(schema, typed, "{kind}: schema fields against typed spec fields");
        let full = Json::Object(fields.iter().map(|f| (f.name.to_string(), sample(&f.shape))).collect());
        kind_spec::<T>(&full).unwrap_or_else(|e| panic!("{kind}: a full spec does not read: {e}"));
        let required = Json::Object(
            fields.iter().filter(|f| f.required).map(|f| (f.name.to_string(), sample(&f.shape))).collect(),
        );
        kind_spec::<T>(&required).unwrap_or_else(|e| panic!("{kind}: the required fields alone do not read: {e}"));
    }

    #[test]
    fn the_common_fields_the_engine_reads_are_the_ones_every_schema_takes() {
        let schema: Vec<&str> = crate::schema::common_fields().iter().map(|f| f.name).collect();
        assert_eq!(schema, crate::model::COMMON_FIELDS);
    }

    #[test]
    fn schema_and_typed_spec_agree() {
        agree::<super::super::cache_cluster::CacheClusterSpec>(Kind::CacheCluster);
        agree::<super::super::cache_subnet_group::CacheSubnetGroupSpec>(Kind::CacheSubnetGroup);
        agree::<super::super::apprunner_vpc_connector::VpcConnectorSpec>(Kind::AppRunnerVpcConnector);
        agree::<super::super::apprunner_custom_domain::CustomDomainSpec>(Kind::AppRunnerCustomDomain);
        agree::<super::super::ecs_cluster::EcsClusterSpec>(Kind::EcsCluster);
        agree::<super::super::vpc_endpoint::VpcEndpointSpec>(Kind::VpcEndpoint);
        agree::<super::super::route53_record::Route53RecordSpec>(Kind::Route53Record);
        agree::<super::super::cache_user::CacheUserSpec>(Kind::CacheUser);
        agree::<super::super::apprunner_service::AppRunnerServiceSpec>(Kind::AppRunnerService);
        agree::<super::super::ecs_service::EcsServiceSpec>(Kind::EcsService);
        agree::<super::super::ecs_express_service::EcsExpressServiceSpec>(Kind::EcsExpressService);
        agree::<super::super::acm_certificate::AcmCertificateSpec>(Kind::AcmCertificate);
        agree::<super::super::listener_rule::ListenerRuleSpec>(Kind::ListenerRule);
        agree::<super::super::stack::StackSpec>(Kind::Stack);
        agree::<super::super::log_group::LogGroupSpec>(Kind::LogGroup);
        agree::<super::super::sqs_queue::SqsQueueSpec>(Kind::SqsQueue);
        agree::<super::super::security_group::SecurityGroupSpec>(Kind::SecurityGroup);
        agree::<super::super::subnet::SubnetSpec>(Kind::Subnet);
        agree::<super::super::vpc::VpcSpec>(Kind::Vpc);
        agree::<super::super::route_table::RouteTableSpec>(Kind::RouteTable);
        agree::<super::super::iam_policy::IamPolicySpec>(Kind::IamPolicy);
        agree::<super::super::iam_role::IamRoleSpec>(Kind::IamRole);
        agree::<super::super::ecr_repository::EcrRepositorySpec>(Kind::EcrRepository);
    }

    /// docs/kinds.md holds each declared kind's field table as its declaration makes it
    /// (`STEWARD_WRITE_DOCS=1 cargo test field_tables` writes them).
    #[test]
    fn the_docs_field_tables_of_declared_kinds_are_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/kinds.md");
        let write = std::env::var_os("STEWARD_WRITE_DOCS").is_some();
        let mut text = std::fs::read_to_string(path).unwrap();
        let tables = Kind::ALL.into_iter().filter_map(|kind| Some((kind, definition(kind).field_table?())));
        for (kind, table) in tables {
            let start = format!("<!-- {kind}: generated from its declaration; a test checks it -->\n");
            let end = format!("<!-- end of {kind} -->");
            let from =
                text.find(&start).unwrap_or_else(|| panic!("docs/kinds.md has no table for {kind}")) + start.len();
            let to = from + text[from..].find(&end).unwrap_or_else(|| panic!("docs/kinds.md: no {end}"));
            if text[from..to] != table {
                assert!(
                    write,
                    "docs/kinds.md: {kind}'s table is stale; run STEWARD_WRITE_DOCS=1 cargo test field_tables"
                );
                text.replace_range(from..to, &table);
            }
        }
        if write {
            std::fs::write(path, text).unwrap();
        }
    }
}
