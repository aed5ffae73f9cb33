//! What the fake server answers by default: just enough of a server to
//! get a client through its handshake and its first queries.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use bytes::{BufMut, Bytes, BytesMut};
use ferry_wire::request::Request;
use ferry_wire::response::{
    Prepared, PreparedMetadata, ResultResponse, Rows, RowsMetadata, SetKeyspace, Supported,
};
use ferry_wire::ProtocolVersion;

/// The authenticator class a password-protected fake server announces.
pub const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";

/// SUPPORTED for OPTIONS, listing the server's versions like Cassandra 4.
pub(crate) fn supported(
    compression: &[String],
    min: ProtocolVersion,
    max: ProtocolVersion,
) -> Supported {
    Supported {
        options: vec![
            ("CQL_VERSION".into(), vec!["3.4.5".into()]),
            ("COMPRESSION".into(), compression.to_vec()),
            ("PROTOCOL_VERSIONS".into(), version_list(min, max)),
        ],
    }
}

/// "3/v3", "4/v4", ... for `min..=max`.
pub(crate) fn version_list(min: ProtocolVersion, max: ProtocolVersion) -> Vec<String> {
    ProtocolVersion::ALL
        .iter()
        .filter(|v| **v >= min && **v <= max)
        .map(|v| format!("{}/v{}", v.number(), v.number()))
        .collect()
}

/// The default RESULT for QUERY, PREPARE, EXECUTE and BATCH.
pub(crate) fn result_for(request: &Request, version: ProtocolVersion) -> ResultResponse {
    match request {
        Request::Query(q) => {
            let text = q.query.text().trim();
            match use_target(text) {
                Some(keyspace) => ResultResponse::SetKeyspace(SetKeyspace { keyspace }),
                None if text.len() >= 6 && text[..6].eq_ignore_ascii_case("select") => {
                    // Zero rows of zero columns: always valid.
                    Rows::from_raw(RowsMetadata::without_columns(0), 0, Bytes::new())
                        .map_or(ResultResponse::Void, ResultResponse::Rows)
                }
                None => ResultResponse::Void,
            }
        }
        Request::Prepare(p) => {
            ResultResponse::Prepared(Box::new(prepared(p.query.text(), version)))
        }
        _ => ResultResponse::Void,
    }
}

/// The keyspace of a `USE` statement, unquoted.
fn use_target(text: &str) -> Option<String> {
    let rest = text
        .strip_prefix("USE ")
        .or_else(|| text.strip_prefix("use "))?;
    let name = rest.trim().trim_end_matches(';').trim();
    Some(
        match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\"\"", "\""),
            None => name.to_ascii_lowercase(),
        },
    )
}

/// A Prepared result whose id is a hash of the query, so preparing the
/// same text twice gives the same id (as Cassandra does).
fn prepared(query: &str, version: ProtocolVersion) -> Prepared {
    let id = id_of(query, 0);
    Prepared {
        id: id.clone(),
        result_metadata_id: (version >= ProtocolVersion::V5).then(|| id_of(query, 1)),
        metadata: PreparedMetadata::new(None, Vec::new(), Vec::new()),
        result_metadata: RowsMetadata::without_columns(0),
    }
}

fn id_of(query: &str, salt: u8) -> Bytes {
    let mut id = BytesMut::with_capacity(16);
    for half in 0..2u8 {
        let mut h = DefaultHasher::new();
        (query, salt, half).hash(&mut h);
        id.put_u64(h.finish());
    }
    id.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_statements_name_the_keyspace() {
        assert_eq!(use_target("USE ks"), Some("ks".into()));
        assert_eq!(use_target("USE \"My\"\"Ks\";"), Some("My\"Ks".into()));
        assert_eq!(use_target("USE MyKs"), Some("myks".into()));
        assert_eq!(use_target("SELECT 1"), None);
    }

    #[test]
    fn version_list_is_inclusive() {
        assert_eq!(
            version_list(ProtocolVersion::V3, ProtocolVersion::V4),
            vec!["3/v3".to_owned(), "4/v4".to_owned()]
        );
    }
}
