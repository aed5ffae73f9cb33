//! # ferry-testkit
//!
//! Test support for Ferry. Tests run against **real** Apache Cassandra nodes
//! (2.1.0, native protocol v3) started outside the test process by
//! `scripts/cassandra-nodes.sh`; this crate finds them, waits for them, and
//! gives tests the tools to use them:
//!
//! - [`NodeGroup::require`] reads a group's state file (`.nodes/<group>/nodes.env`)
//!   and fails with the exact start command if the nodes are not running.
//! - [`unique_keyspace_name`] and [`NodeGroup::create_test_keyspace`] give each
//!   test its own keyspace, so tests can share a cluster.
//! - [`NodeGroup::cql_exec`] runs CQL through the Python driver. This is a
//!   **stopgap** until Ferry has its own Rust CQL client (ferry-conn).
//! - [`fake_server`]: a scriptable fake CQL server for faults and the v4/v5
//!   paths a 2.1 node cannot exercise (not a stand-in for a real node).
//! - [`ExclusiveGroup`]: exclusive use of a group whose nodes a test stops
//!   ([`ExclusiveGroup::stop_node`]) or freezes
//!   ([`ExclusiveGroup::freeze_node`]), with guards that always restart or
//!   thaw them (the `outage` group).
//! - [`CassandraTools`]: the bundled `cassandra-stress` and a Java 17 to run it.
//! - [`session`]: ferry-conn session settings for the groups, DDL at ALL
//!   and waiting for schema agreement.
//! - [`http`]: a minimal HTTP client for the proxy's operations endpoint.
//! - [`RecordingRelay`] is a TCP relay that records every chunk in each
//!   direction, to capture golden frames between a real driver and a real node.
//!
//! ```no_run
//! use ferry_testkit::{NodeGroup, unique_keyspace_name};
//! let nodes = NodeGroup::require("default");
//! let ks = unique_keyspace_name("my_test");
//! nodes
//!     .cql_exec(nodes.first(), &[&format!(
//!         "CREATE KEYSPACE {ks} WITH replication = \
//!          {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
//!     )])
//!     .unwrap();
//! ```

mod cassandra_tools;
mod cql_stopgap;
pub mod fake_server;
pub mod http;
mod keyspace;
mod node_group;
mod outage;
mod recording;
mod relay;
pub mod session;
mod state_file;
mod workspace;

pub use cassandra_tools::{CassandraTools, ToolsError};
pub use cql_stopgap::{CqlExecError, CqlRows};
pub use keyspace::unique_keyspace_name;
pub use node_group::{start_command, CassandraNodes, Credentials, Node, NodeGroup, NodesError};
pub use outage::{ExclusiveGroup, NodeControlError, NodeDown, NodeFrozen, StopSignal};
pub use recording::{read_recording, stream_bytes, Chunk, Direction};
pub use relay::RecordingRelay;
pub use workspace::workspace_root;

/// Re-exported so tests can match [`CqlRows`] values without their own dependency.
pub use serde_json;
