//! A keyspace's replication strategy, parsed from the schema tables.
//!
//! - Cassandra 3.0 and later: `system_schema.keyspaces.replication`, a
//!   `map<text, text>` holding `class` and the options
//!   ([`ReplicationStrategy::from_replication_map`]).
//! - Cassandra 2.x: `system.schema_keyspaces.strategy_class` and
//!   `strategy_options`, the options being a JSON object in a text column
//!   ([`ReplicationStrategy::from_class_and_json_options`]).

use std::collections::BTreeMap;

use super::TokenError;

/// Package prefix of Cassandra's replication strategy classes.
const LOCATOR_PACKAGE: &str = "org.apache.cassandra.locator.";

/// How a keyspace places replicas on the ring.
///
/// ```
/// use ferry_conn::token::ReplicationStrategy;
///
/// // Cassandra 3.0+: system_schema.keyspaces.replication
/// let nts = ReplicationStrategy::from_replication_map([
///     ("class", "org.apache.cassandra.locator.NetworkTopologyStrategy"),
///     ("dc1", "3"),
///     ("dc2", "2"),
/// ])?;
/// assert_eq!(nts.total_replication_factor(), Some(5));
///
/// // Cassandra 2.1: system.schema_keyspaces.strategy_class / strategy_options
/// let simple = ReplicationStrategy::from_class_and_json_options(
///     "org.apache.cassandra.locator.SimpleStrategy",
///     r#"{"replication_factor":"3"}"#,
/// )?;
/// assert_eq!(simple, ReplicationStrategy::Simple { replication_factor: 3 });
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationStrategy {
    /// `SimpleStrategy`: the owner then the next distinct nodes clockwise.
    Simple {
        /// Number of replicas.
        replication_factor: usize,
    },
    /// `NetworkTopologyStrategy`: a replica count per datacenter, spread over
    /// distinct racks where possible.
    NetworkTopology {
        /// Replicas per datacenter name.
        datacenters: BTreeMap<String, usize>,
    },
    /// `LocalStrategy` (the `system` keyspace): each node keeps its own data;
    /// nothing is placed by token.
    Local,
    /// `EverywhereStrategy` (DataStax Enterprise): every node is a replica.
    Everywhere,
    /// Any other class, kept with its raw options.
    Other {
        /// The class name as stored.
        class: String,
        /// The options other than `class`.
        options: BTreeMap<String, String>,
    },
}

impl ReplicationStrategy {
    /// Parses a Cassandra 3.0+ replication map (`class` plus options), e.g.
    /// `{'class': 'org.apache.cassandra.locator.SimpleStrategy',
    /// 'replication_factor': '3'}`.
    pub fn from_replication_map<K, V, I>(entries: I) -> Result<Self, TokenError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
        I: IntoIterator<Item = (K, V)>,
    {
        let mut class = None;
        let mut options = BTreeMap::new();
        for (key, value) in entries {
            let (key, value) = (key.as_ref(), value.as_ref());
            if key == "class" {
                class = Some(value.to_owned());
            } else {
                options.insert(key.to_owned(), value.to_owned());
            }
        }
        let class = class.ok_or_else(|| {
            TokenError::InvalidReplication("the replication map has no \"class\" entry".into())
        })?;
        Self::from_class_and_options(&class, options)
    }

    /// Parses Cassandra 2.x's `strategy_class` and `strategy_options` (a JSON
    /// object such as `{"dc1":"3","dc2":"2"}`; numbers are accepted as well as
    /// strings).
    pub fn from_class_and_json_options(
        class: &str,
        options_json: &str,
    ) -> Result<Self, TokenError> {
        let trimmed = options_json.trim();
        let parsed: BTreeMap<String, serde_json::Value> = if trimmed.is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_str(trimmed).map_err(|e| {
                TokenError::InvalidReplication(format!(
                    "strategy_options {options_json:?} is not a JSON object: {e}"
                ))
            })?
        };
        let mut options = BTreeMap::new();
        for (key, value) in parsed {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                other => {
                    return Err(TokenError::InvalidReplication(format!(
                        "option {key:?} has the non-scalar value {other}"
                    )))
                }
            };
            options.insert(key, text);
        }
        Self::from_class_and_options(class, options)
    }

    /// Builds a strategy from its class name (fully qualified or short) and
    /// options (without `class`).
    pub fn from_class_and_options(
        class: &str,
        options: BTreeMap<String, String>,
    ) -> Result<Self, TokenError> {
        let trimmed = class.trim();
        match trimmed.strip_prefix(LOCATOR_PACKAGE).unwrap_or(trimmed) {
            "SimpleStrategy" => {
                let rf = options.get("replication_factor").ok_or_else(|| {
                    TokenError::InvalidReplication(
                        "SimpleStrategy needs a replication_factor option".into(),
                    )
                })?;
                Ok(Self::Simple {
                    replication_factor: parse_replication_factor("replication_factor", rf)?,
                })
            }
            "NetworkTopologyStrategy" => {
                let mut datacenters = BTreeMap::new();
                for (dc, rf) in &options {
                    // Cassandra refuses it too: it is a SimpleStrategy option
                    // (4.0 expands it into the datacenters before storing).
                    if dc.eq_ignore_ascii_case("replication_factor") {
                        return Err(TokenError::InvalidReplication(
                            "replication_factor is not a datacenter name \
                             (NetworkTopologyStrategy takes one replica count per datacenter)"
                                .into(),
                        ));
                    }
                    datacenters.insert(dc.clone(), parse_replication_factor(dc, rf)?);
                }
                Ok(Self::NetworkTopology { datacenters })
            }
            "LocalStrategy" => Ok(Self::Local),
            "EverywhereStrategy" => Ok(Self::Everywhere),
            _ => Ok(Self::Other {
                class: class.to_owned(),
                options,
            }),
        }
    }

    /// Total number of replicas of each token, when the strategy fixes it:
    /// the replication factor, the sum over datacenters, or `None` for
    /// `Local`, `Everywhere` and unknown strategies.
    pub fn total_replication_factor(&self) -> Option<usize> {
        match self {
            Self::Simple { replication_factor } => Some(*replication_factor),
            Self::NetworkTopology { datacenters } => Some(
                datacenters
                    .values()
                    .fold(0usize, |acc, rf| acc.saturating_add(*rf)),
            ),
            Self::Local | Self::Everywhere | Self::Other { .. } => None,
        }
    }
}

/// Parses a replication factor: a non-negative integer, or Cassandra 4.0's
/// `total/transient` form (e.g. `3/1`), of which the total counts: transient
/// replicas are still replicas placed on the ring.
fn parse_replication_factor(option: &str, text: &str) -> Result<usize, TokenError> {
    let invalid = || {
        TokenError::InvalidReplication(format!(
            "option {option:?} = {text:?} is not a replication factor"
        ))
    };
    let (total, transient) = match text.split_once('/') {
        Some((total, transient)) => (total, Some(transient)),
        None => (text, None),
    };
    let total = total.trim().parse::<usize>().map_err(|_| invalid())?;
    if let Some(transient) = transient {
        let transient = transient.trim().parse::<usize>().map_err(|_| invalid())?;
        if transient > total {
            return Err(invalid());
        }
    }
    Ok(total)
}
