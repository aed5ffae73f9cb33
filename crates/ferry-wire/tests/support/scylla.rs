//! The scylla-cql side of the differential tests: ferry-wire's types as
//! scylla-cql's.

use std::borrow::Cow;
use std::sync::Arc;

use ferry_wire::types::ColumnType;
use scylla_cql::frame::response::result::{
    CollectionType, ColumnType as SType, NativeType as N, UserDefinedType,
};

/// ferry type -> scylla type. `text` and `varchar` are one scylla type.
pub fn to_scylla_type(ty: &ColumnType) -> SType<'static> {
    let coll = |typ| SType::Collection { frozen: true, typ };
    match ty {
        ColumnType::Ascii => SType::Native(N::Ascii),
        ColumnType::Bigint => SType::Native(N::BigInt),
        ColumnType::Blob => SType::Native(N::Blob),
        ColumnType::Boolean => SType::Native(N::Boolean),
        ColumnType::Counter => SType::Native(N::Counter),
        ColumnType::Decimal => SType::Native(N::Decimal),
        ColumnType::Double => SType::Native(N::Double),
        ColumnType::Float => SType::Native(N::Float),
        ColumnType::Int => SType::Native(N::Int),
        ColumnType::Text | ColumnType::Varchar => SType::Native(N::Text),
        ColumnType::Timestamp => SType::Native(N::Timestamp),
        ColumnType::Uuid => SType::Native(N::Uuid),
        ColumnType::Varint => SType::Native(N::Varint),
        ColumnType::Timeuuid => SType::Native(N::Timeuuid),
        ColumnType::Inet => SType::Native(N::Inet),
        ColumnType::Date => SType::Native(N::Date),
        ColumnType::Time => SType::Native(N::Time),
        ColumnType::Smallint => SType::Native(N::SmallInt),
        ColumnType::Tinyint => SType::Native(N::TinyInt),
        ColumnType::Duration => SType::Native(N::Duration),
        ColumnType::List(t) => coll(CollectionType::List(Box::new(to_scylla_type(t)))),
        ColumnType::Set(t) => coll(CollectionType::Set(Box::new(to_scylla_type(t)))),
        ColumnType::Map(k, v) => coll(CollectionType::Map(
            Box::new(to_scylla_type(k)),
            Box::new(to_scylla_type(v)),
        )),
        ColumnType::Tuple(ts) => SType::Tuple(ts.iter().map(to_scylla_type).collect()),
        ColumnType::Udt {
            keyspace,
            name,
            fields,
        } => SType::UserDefinedType {
            frozen: true,
            definition: Arc::new(UserDefinedType {
                name: Cow::Owned(name.clone()),
                keyspace: Cow::Owned(keyspace.clone()),
                field_types: fields
                    .iter()
                    .map(|(n, t)| (Cow::Owned(n.clone()), to_scylla_type(t)))
                    .collect(),
            }),
        },
        ColumnType::Custom(c) => panic!("scylla-cql has no custom type {c}: filter it out"),
    }
}
