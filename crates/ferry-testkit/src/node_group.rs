//! Real Cassandra node groups started by `scripts/cassandra-nodes.sh`.
//!
//! The script writes `.nodes/<group>/nodes.env` once every node of a group
//! answers CQL; this module reads it back. Tests never start nodes themselves:
//! starting a JVM ring takes seconds to minutes and belongs outside the test
//! process (scripts/test.sh and .ci/run do it).

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::state_file;
use crate::workspace::workspace_root;

/// How long [`NodeGroup::require`] waits for every node to accept TCP.
const REQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// One Cassandra node: where its native protocol port listens.
///
/// ```
/// use ferry_testkit::Node;
/// let node = Node { address: "127.0.0.2".parse().unwrap(), native_port: 9042 };
/// assert_eq!(node.socket_addr().to_string(), "127.0.0.2:9042");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node's address (its listen and rpc address).
    pub address: IpAddr,
    /// Its CQL native protocol port.
    pub native_port: u16,
}

impl Node {
    /// The address clients connect to.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.native_port)
    }
}

/// Username and password for a group started with `--auth`.
///
/// ```
/// let c = ferry_testkit::Credentials { username: "cassandra".into(), password: "cassandra".into() };
/// assert_eq!(c.username, "cassandra");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The login name (the default superuser is `cassandra`).
    pub username: String,
    /// Its password.
    pub password: String,
}

/// A running group of Cassandra nodes forming one cluster, as described by
/// its state file `.nodes/<group>/nodes.env`.
///
/// ```no_run
/// let nodes = ferry_testkit::NodeGroup::require("default");
/// assert_eq!(nodes.protocol_version, 3);
/// println!("{} at {}", nodes.cluster_name, nodes.first().socket_addr());
/// ```
#[derive(Debug, Clone)]
pub struct NodeGroup {
    /// The group's name (`--name` of cassandra-nodes.sh).
    pub name: String,
    /// The Cassandra cluster name; distinct groups are distinct clusters.
    pub cluster_name: String,
    /// The nodes, in start order; the first is the seed.
    pub nodes: Vec<Node>,
    /// Login, if the group runs PasswordAuthenticator.
    pub credentials: Option<Credentials>,
    /// PEM CA certificate to verify the nodes with, if clients must use TLS.
    pub tls_ca: Option<PathBuf>,
    /// Highest native protocol version the nodes speak (3 for Cassandra 2.1).
    pub protocol_version: u8,
    /// The Cassandra release, e.g. `2.1.0`.
    pub cassandra_version: String,
    /// A python3 that has the DataStax driver (used by [`NodeGroup::cql_exec`]).
    pub python: PathBuf,
    /// The nodes' JVM process ids.
    pub pids: Vec<u32>,
}

/// The same type under the name used in Ferry's design notes.
pub type CassandraNodes = NodeGroup;

/// Why a node group cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NodesError {
    /// No state file: the group was never started, or was stopped.
    #[error("no state file {path}: the group is not running")]
    NotStarted {
        /// The state file looked for.
        path: PathBuf,
    },
    /// The state file exists but cannot be used.
    #[error("state file {path}: {reason}")]
    BadStateFile {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A node's JVM is gone although the state file lists it.
    #[error("node JVM pid {pid} of group {group} is not running (stale state file)")]
    ProcessGone {
        /// The group.
        group: String,
        /// The missing process.
        pid: u32,
    },
    /// A node does not accept TCP connections on its native port.
    #[error("node {addr} does not accept connections after {waited:?}: {source}")]
    NotReachable {
        /// The node's native protocol address.
        addr: SocketAddr,
        /// How long we tried.
        waited: Duration,
        /// The last connection error.
        source: std::io::Error,
    },
}

impl NodeGroup {
    /// The state file of `group`: `<workspace>/.nodes/<group>/nodes.env`.
    pub fn state_file(group: &str) -> PathBuf {
        workspace_root()
            .join(".nodes")
            .join(group)
            .join("nodes.env")
    }

    /// Reads the group's state file and checks its JVMs still exist. Does not
    /// wait for or connect to the nodes (see [`NodeGroup::wait_ready`]).
    pub fn load(group: &str) -> Result<NodeGroup, NodesError> {
        let path = Self::state_file(group);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(NodesError::NotStarted { path })
            }
            Err(e) => return Err(bad(&path, e.to_string())),
        };
        let group = Self::parse(&path, &text)?;
        for &pid in &group.pids {
            if !process_exists(pid) {
                return Err(NodesError::ProcessGone {
                    group: group.name.clone(),
                    pid,
                });
            }
        }
        Ok(group)
    }

    /// The running group `group`, ready to accept connections.
    ///
    /// # Panics
    /// If the group is not running or not reachable within 30 s. This is
    /// test-only code: the panic message says why and gives the exact command
    /// that starts the group (from `scripts/node-groups.conf`).
    pub fn require(group: &str) -> NodeGroup {
        let result = Self::load(group).and_then(|nodes| {
            nodes.wait_ready(REQUIRE_TIMEOUT)?;
            Ok(nodes)
        });
        match result {
            Ok(nodes) => nodes,
            Err(e) => panic!(
                "\n\nThis test needs the real Cassandra node group `{group}`, which is not available:\n  {e}\n\
                 Start it with:\n  {}\n(or run everything with scripts/test.sh)\n\n",
                start_command(group)
            ),
        }
    }

    /// Waits until every node accepts TCP connections on its native port.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), NodesError> {
        let start = Instant::now();
        for node in &self.nodes {
            let addr = node.socket_addr();
            loop {
                match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                    Ok(_) => break,
                    Err(source) if start.elapsed() >= timeout => {
                        return Err(NodesError::NotReachable {
                            addr,
                            waited: start.elapsed(),
                            source,
                        })
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            }
        }
        Ok(())
    }

    /// The first node (the seed).
    pub fn first(&self) -> &Node {
        // A parsed group always has at least one node (parse rejects an empty list).
        &self.nodes[0]
    }

    fn parse(path: &Path, text: &str) -> Result<NodeGroup, NodesError> {
        let map = state_file::parse(text).map_err(|(line, content)| {
            bad(path, format!("line {line} is not KEY=VALUE: {content}"))
        })?;
        let get = |key: &str| {
            map.get(key)
                .map(String::as_str)
                .ok_or_else(|| bad(path, format!("missing {key}")))
        };
        let number = |key: &str| -> Result<u32, NodesError> {
            get(key)?
                .parse()
                .map_err(|_| bad(path, format!("{key} is not a number")))
        };
        let native_port = u16::try_from(number("FERRY_NATIVE_PORT")?)
            .map_err(|_| bad(path, "FERRY_NATIVE_PORT out of range".into()))?;
        let nodes = get("FERRY_NODES")?
            .split(',')
            .map(|a| {
                a.parse::<IpAddr>()
                    .map(|address| Node {
                        address,
                        native_port,
                    })
                    .map_err(|_| bad(path, format!("bad node address {a:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let pids = get("FERRY_PIDS")?
            .split(',')
            .map(|p| {
                p.parse::<u32>()
                    .map_err(|_| bad(path, format!("bad pid {p:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let credentials = match get("FERRY_AUTH")? {
            "1" => Some(Credentials {
                username: get("FERRY_USERNAME")?.to_string(),
                password: get("FERRY_PASSWORD")?.to_string(),
            }),
            _ => None,
        };
        let tls_ca = match get("FERRY_TLS")? {
            "1" => Some(PathBuf::from(get("FERRY_TLS_CA")?)),
            _ => None,
        };
        let protocol_version = u8::try_from(number("FERRY_PROTOCOL_VERSION")?)
            .map_err(|_| bad(path, "FERRY_PROTOCOL_VERSION out of range".into()))?;
        Ok(NodeGroup {
            name: get("FERRY_GROUP")?.to_string(),
            cluster_name: get("FERRY_CLUSTER_NAME")?.to_string(),
            nodes,
            credentials,
            tls_ca,
            protocol_version,
            cassandra_version: get("FERRY_CASSANDRA_VERSION")?.to_string(),
            python: PathBuf::from(get("FERRY_PYTHON")?),
            pids,
        })
    }
}

fn bad(path: &Path, reason: String) -> NodesError {
    NodesError::BadStateFile {
        path: path.to_path_buf(),
        reason,
    }
}

/// True if `pid` is a live process. A zombie (exited, not yet reaped: nodes
/// outlive the script that started them, so their new parent may be slow to
/// reap) counts as gone.
#[cfg(target_os = "linux")]
pub(crate) fn process_exists(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "<pid> (<comm>) <state> ...": comm may contain spaces and parentheses,
    // so the state is the first field after the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X"))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn process_exists(_pid: u32) -> bool {
    // No cheap portable check; the TCP readiness check still catches dead nodes.
    true
}

/// The shell command that starts `group`: its line in
/// `scripts/node-groups.conf`, or a plain `--name` start if it is not listed.
///
/// ```
/// let cmd = ferry_testkit::start_command("default");
/// assert!(cmd.starts_with("scripts/cassandra-nodes.sh start --name default"));
/// ```
pub fn start_command(group: &str) -> String {
    let conf = workspace_root().join("scripts/node-groups.conf");
    let options = std::fs::read_to_string(conf).ok().and_then(|text| {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| match l.split_once(char::is_whitespace) {
                Some((name, rest)) if name == group => Some(rest.trim().to_string()),
                None if l == group => Some(String::new()),
                _ => None,
            })
    });
    match options {
        Some(o) if !o.is_empty() => format!("scripts/cassandra-nodes.sh start --name {group} {o}"),
        _ => format!("scripts/cassandra-nodes.sh start --name {group}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "# comment\nFERRY_GROUP=src\nFERRY_CLUSTER_NAME=source\n\
        FERRY_NODES=127.0.0.4,127.0.0.5\nFERRY_NATIVE_PORT=9042\nFERRY_PROTOCOL_VERSION=3\n\
        FERRY_CASSANDRA_VERSION=2.1.0\nFERRY_AUTH=1\nFERRY_USERNAME=cassandra\n\
        FERRY_PASSWORD=secret\nFERRY_TLS=1\nFERRY_TLS_CA=/x/ca.pem\nFERRY_PIDS=10,11\n\
        FERRY_PYTHON=/usr/bin/python3\n";

    #[test]
    fn parses_a_full_state_file() {
        let g = NodeGroup::parse(Path::new("s"), STATE).unwrap();
        assert_eq!(g.name, "src");
        assert_eq!(g.cluster_name, "source");
        let addrs: Vec<String> = g
            .nodes
            .iter()
            .map(|n| n.socket_addr().to_string())
            .collect();
        assert_eq!(addrs, ["127.0.0.4:9042", "127.0.0.5:9042"]);
        assert_eq!(
            g.credentials.as_ref().map(|c| c.password.as_str()),
            Some("secret")
        );
        assert_eq!(g.tls_ca, Some(PathBuf::from("/x/ca.pem")));
        assert_eq!(g.pids, [10, 11]);
        assert_eq!(g.protocol_version, 3);
        assert_eq!(g.first().address.to_string(), "127.0.0.4");
    }

    #[test]
    fn no_auth_and_no_tls_mean_none() {
        let text = STATE
            .replace("FERRY_AUTH=1", "FERRY_AUTH=0")
            .replace("FERRY_TLS=1", "FERRY_TLS=0");
        let g = NodeGroup::parse(Path::new("s"), &text).unwrap();
        assert_eq!(g.credentials, None);
        assert_eq!(g.tls_ca, None);
    }

    #[test]
    fn rejects_bad_files() {
        for (from, to) in [
            ("FERRY_NODES=127.0.0.4,127.0.0.5", "FERRY_NODES="),
            ("FERRY_NODES=127.0.0.4,127.0.0.5", "FERRY_NODES=not-an-ip"),
            ("FERRY_NATIVE_PORT=9042", "FERRY_NATIVE_PORT=70000"),
            ("FERRY_PIDS=10,11", "FERRY_PIDS=x"),
            ("FERRY_GROUP=src\n", ""),
        ] {
            let text = STATE.replace(from, to);
            let err = NodeGroup::parse(Path::new("s"), &text).unwrap_err();
            assert!(
                matches!(err, NodesError::BadStateFile { .. }),
                "{to}: {err}"
            );
        }
    }

    #[test]
    fn missing_group_panics_with_the_start_command() {
        let err = std::panic::catch_unwind(|| NodeGroup::require("no_such_group_for_test"))
            .expect_err("require must fail for a group that was never started");
        let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("scripts/cassandra-nodes.sh start --name no_such_group_for_test"),
            "{message}"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_exists_and_a_free_pid_does_not() {
        assert!(process_exists(std::process::id()));
        // Linux pids are below 2^22 by default and never reach u32::MAX.
        assert!(!process_exists(u32::MAX));
    }

    #[test]
    fn start_command_uses_the_options_from_node_groups_conf() {
        // `default` is listed with its address in scripts/node-groups.conf.
        assert!(
            start_command("default").contains("--first-ip 127.0.0.2"),
            "{}",
            start_command("default")
        );
        assert_eq!(
            start_command("unlisted"),
            "scripts/cassandra-nodes.sh start --name unlisted"
        );
    }
}
