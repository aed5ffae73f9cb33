//! Before listening: can the proxy reach both clusters, which versions do
//! they run, and which protocol versions do both speak?
//!
//! The proxy relays each client's version negotiation to the source and
//! opens the target leg in the version the client settled on, so clients
//! must be kept to versions the target speaks too: the highest version
//! both support becomes the proxy's cap (`max_protocol_version`).

use std::fmt;

use ferry_conn::{ConnError, Connection, ConnectionConfig};
use ferry_wire::response::ResultResponse;
use ferry_wire::{Consistency, ProtocolVersion};

/// What the check learned about one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// `source` or `target`.
    pub role: &'static str,
    /// The address checked.
    pub address: String,
    /// `release_version` from `system.local`, if it could be read.
    pub release_version: Option<String>,
    /// `cluster_name` from `system.local`, if it could be read.
    pub cluster_name: Option<String>,
    /// The highest protocol version it accepted (up to the cap asked for);
    /// `None` if it could not be learned (authentication required and no
    /// credentials given for the check).
    pub max_protocol_version: Option<ProtocolVersion>,
    /// The lowest protocol version it supports, from its release (v3 for
    /// Cassandra 4.0 and later, else v2, ferry's floor).
    pub min_protocol_version: ProtocolVersion,
}

impl fmt::Display for ClusterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (cluster {}, Cassandra {}, protocol ",
            self.role,
            self.address,
            self.cluster_name.as_deref().unwrap_or("?"),
            self.release_version.as_deref().unwrap_or("?"),
        )?;
        match self.max_protocol_version {
            Some(max) => write!(f, "{}..={})", self.min_protocol_version, max),
            None => write!(f, "unknown)"),
        }
    }
}

/// Both clusters and what they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupReport {
    /// The source.
    pub source: ClusterInfo,
    /// The target.
    pub target: ClusterInfo,
    /// The highest version both speak: the proxy's cap.
    pub max_shared: ProtocolVersion,
    /// The lowest version both speak.
    pub min_shared: ProtocolVersion,
}

/// Why the proxy must not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A cluster cannot be reached (or refused the proxy's handshake).
    #[error("cannot reach the {role} cluster at {address}: {error}")]
    Unreachable {
        /// `source` or `target`.
        role: &'static str,
        /// Its address.
        address: String,
        /// What failed.
        error: String,
    },
    /// The clusters have no protocol version in common.
    #[error(
        "the clusters share no protocol version: {source_info}; {target_info}. A client could \
         not talk to both through the proxy."
    )]
    NoSharedVersion {
        /// The source.
        source_info: ClusterInfo,
        /// The target.
        target_info: ClusterInfo,
    },
}

/// Connects to both clusters (versions up to `cap`), reads their release
/// versions, and computes the protocol versions they share.
pub async fn check_clusters(
    source: &ConnectionConfig,
    target: &ConnectionConfig,
    cap: ProtocolVersion,
) -> Result<StartupReport, StartupError> {
    let (source, target) = tokio::join!(probe("source", source, cap), probe("target", target, cap));
    let (source, target) = (source?, target?);
    let highs: Vec<ProtocolVersion> = [&source, &target]
        .iter()
        .filter_map(|c| c.max_protocol_version)
        .collect();
    let max_shared = highs.iter().copied().min().unwrap_or(cap).min(cap);
    let min_shared = source.min_protocol_version.max(target.min_protocol_version);
    if max_shared < min_shared {
        return Err(StartupError::NoSharedVersion {
            source_info: source,
            target_info: target,
        });
    }
    Ok(StartupReport {
        source,
        target,
        max_shared,
        min_shared,
    })
}

async fn probe(
    role: &'static str,
    config: &ConnectionConfig,
    cap: ProtocolVersion,
) -> Result<ClusterInfo, StartupError> {
    let config = config
        .clone()
        .with_max_version(cap)
        .with_min_version(ProtocolVersion::V2)
        .with_heartbeat(None);
    let unreachable = |error: String| StartupError::Unreachable {
        role,
        address: config.address.clone(),
        error,
    };
    let conn = match Connection::connect(&config).await {
        Ok(conn) => conn,
        Err(ConnError::Auth { message, .. }) if config.auth.is_none() => {
            // It speaks CQL but wants credentials we do not have for it
            // (the source leg relays the clients' own credentials).
            tracing::warn!(role, address = %config.address, message, "cluster requires authentication; its versions are not checked (give credentials for the startup check)");
            return Ok(ClusterInfo {
                role,
                address: config.address.clone(),
                release_version: None,
                cluster_name: None,
                max_protocol_version: None,
                min_protocol_version: ProtocolVersion::V2,
            });
        }
        Err(e) => return Err(unreachable(e.to_string())),
    };
    let version = conn.protocol_version();
    let (release_version, cluster_name) = match conn
        .query(
            "SELECT release_version, cluster_name FROM system.local",
            Consistency::One,
        )
        .await
    {
        Ok(ResultResponse::Rows(rows)) => {
            let row = rows.rows().next().and_then(Result::ok);
            let mut cells = row
                .map(|r| r.raw_cells().collect::<Vec<_>>())
                .unwrap_or_default();
            let text = |c: Option<Option<&[u8]>>| {
                c.flatten().map(|b| String::from_utf8_lossy(b).into_owned())
            };
            let name = text(cells.pop());
            (text(cells.pop()), name)
        }
        Ok(_) => (None, None),
        Err(e) => return Err(unreachable(e.to_string())),
    };
    conn.close().await;
    let min_protocol_version = match release_major(release_version.as_deref()) {
        Some(major) if major >= 4 => ProtocolVersion::V3,
        _ => ProtocolVersion::V2,
    };
    Ok(ClusterInfo {
        role,
        address: config.address.clone(),
        release_version,
        cluster_name,
        max_protocol_version: Some(version),
        min_protocol_version,
    })
}

fn release_major(release: Option<&str>) -> Option<u32> {
    release?.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors() {
        assert_eq!(release_major(Some("2.1.0")), Some(2));
        assert_eq!(release_major(Some("4.1.3")), Some(4));
        assert_eq!(release_major(Some("x")), None);
        assert_eq!(release_major(None), None);
    }
}
