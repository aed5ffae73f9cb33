//! Stopping, freezing and restarting the nodes of a group, for outage
//! tests (the `outage` group: a target cluster nobody else uses).
//!
//! Three rules keep one failing test from breaking the rest of the suite:
//!
//! - **Exclusive use.** [`ExclusiveGroup::acquire`] takes a lock directory
//!   in the group's state directory (`.nodes/<group>/.exclusive`; not next
//!   to it, where cassandra-nodes.sh would take it for a group) holding the
//!   owner's pid, so every test that stops or freezes a node runs alone,
//!   whether the other tests run as threads of the same test binary or in
//!   other processes (cargo runs test binaries one after the other, but
//!   tests within one binary in parallel). A lock left by a dead process is
//!   taken over.
//! - **Guards.** [`ExclusiveGroup::stop_node`] and
//!   [`ExclusiveGroup::freeze_node`] return guards that restart or thaw the
//!   node when dropped, also when the test panics.
//! - **Repair on entry.** Acquiring the group thaws its nodes and restarts
//!   any that are down, in case a test process was killed mid-outage.
//!
//! Nodes are stopped and started with `scripts/cassandra-nodes.sh
//! stop-node/start-node` (data kept; the script updates `FERRY_PIDS`);
//! freezing is `SIGSTOP`/`SIGCONT` on the node's JVM (the `kill` command:
//! no libc binding needed for two signals).
//!
//! ```no_run
//! use ferry_testkit::{ExclusiveGroup, StopSignal};
//! let outage = ExclusiveGroup::acquire("outage");
//! {
//!     let down = outage.stop_node(0, StopSignal::Term).unwrap();
//!     // ... the node is down ...
//!     down.restart().unwrap();
//! }
//! let frozen = outage.freeze_node(0).unwrap();
//! // ... connections to it hang ...
//! drop(frozen); // SIGCONT
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::node_group::{process_exists, NodeGroup};
use crate::workspace::workspace_root;

/// How long acquiring waits for another test to release the group.
const LOCK_TIMEOUT: Duration = Duration::from_secs(900);

/// How a node is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM: Cassandra shuts down (flushes nothing, but closes sockets).
    Term,
    /// SIGKILL: the process vanishes at once (a crash).
    Kill,
}

impl StopSignal {
    fn name(self) -> &'static str {
        match self {
            Self::Term => "TERM",
            Self::Kill => "KILL",
        }
    }
}

/// Why a node could not be stopped, started, frozen or thawed.
#[derive(Debug, thiserror::Error)]
pub enum NodeControlError {
    /// The group has no node with this index.
    #[error("group {group} has no node index {index} (it has {count})")]
    NoSuchNode {
        /// The group.
        group: String,
        /// The 0-based index asked for.
        index: usize,
        /// How many nodes it has.
        count: usize,
    },
    /// A command (the script, `kill`) could not run or failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status and stderr.
        output: String,
    },
    /// The node's pid file is missing or unreadable.
    #[error("cannot read the pid file {path}: {reason}")]
    PidFile {
        /// The pid file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The node restarted but its state file could not be read back.
    #[error(transparent)]
    Nodes(#[from] crate::node_group::NodesError),
}

/// A node group this test uses alone (see the module docs). Derefs to the
/// [`NodeGroup`] as it was when acquired.
#[derive(Debug)]
pub struct ExclusiveGroup {
    group: NodeGroup,
    /// Held (not read) until the group is released.
    _lock: LockDir,
}

impl std::ops::Deref for ExclusiveGroup {
    type Target = NodeGroup;
    fn deref(&self) -> &NodeGroup {
        &self.group
    }
}

impl ExclusiveGroup {
    /// Waits for exclusive use of `group`, makes sure all its nodes run
    /// (thawing and restarting them if needed), and returns it.
    ///
    /// # Panics
    /// If the group was never started, or cannot be repaired (test-only
    /// code: the message says what to run).
    pub fn acquire(group: &str) -> ExclusiveGroup {
        let dir = group_dir(group);
        if !dir.is_dir() {
            // Never started: the same panic (with the start command) as require.
            NodeGroup::require(group);
        }
        let lock = LockDir::acquire(&dir);
        if !NodeGroup::state_file(group).exists() {
            NodeGroup::require(group);
        }
        let count = count_node_dirs(&dir);
        for index in 0..count {
            // A frozen node (a test killed mid-freeze) is thawed; a
            // stopped one is restarted. Both are no-ops on a healthy node.
            if let Ok(pid) = read_pid(&dir, index) {
                if process_exists(pid) {
                    let _ = signal(pid, "CONT");
                    continue;
                }
            }
            if let Err(e) = run_script(group, "start-node", index, None) {
                panic!("cannot restart {group} node {index} left down by an earlier test: {e}");
            }
        }
        ExclusiveGroup {
            group: NodeGroup::require(group),
            _lock: lock,
        }
    }

    /// The group as it is now (pids change when a node restarts).
    pub fn reload(&self) -> Result<NodeGroup, NodeControlError> {
        Ok(NodeGroup::load(&self.group.name)?)
    }

    /// The current JVM pid of node `index` (0-based), from its pid file.
    pub fn node_pid(&self, index: usize) -> Result<u32, NodeControlError> {
        self.check_index(index)?;
        read_pid(&group_dir(&self.group.name), index)
    }

    /// Stops node `index` (0-based; data kept). The node is started again
    /// by [`NodeDown::restart`] or when the guard is dropped.
    pub fn stop_node(
        &self,
        index: usize,
        how: StopSignal,
    ) -> Result<NodeDown<'_>, NodeControlError> {
        self.check_index(index)?;
        run_script(&self.group.name, "stop-node", index, Some(how))?;
        Ok(NodeDown {
            group: self,
            index,
            restarted: false,
        })
    }

    /// Freezes node `index` (0-based) with SIGSTOP: its sockets stay open
    /// but nothing answers. Thawed by [`NodeFrozen::thaw`] or on drop.
    pub fn freeze_node(&self, index: usize) -> Result<NodeFrozen<'_>, NodeControlError> {
        let pid = self.node_pid(index)?;
        signal(pid, "STOP")?;
        Ok(NodeFrozen {
            pid,
            thawed: false,
            _group: self,
        })
    }

    fn check_index(&self, index: usize) -> Result<(), NodeControlError> {
        let count = self.group.nodes.len();
        if index >= count {
            return Err(NodeControlError::NoSuchNode {
                group: self.group.name.clone(),
                index,
                count,
            });
        }
        Ok(())
    }
}

/// A stopped node; restarted when dropped (errors then only printed).
#[derive(Debug)]
pub struct NodeDown<'a> {
    group: &'a ExclusiveGroup,
    index: usize,
    restarted: bool,
}

impl NodeDown<'_> {
    /// Starts the node again and waits until it answers CQL (a few
    /// seconds); returns the group's new state (new pid).
    pub fn restart(mut self) -> Result<NodeGroup, NodeControlError> {
        self.restarted = true;
        run_script(&self.group.group.name, "start-node", self.index, None)?;
        let group = self.group.reload()?;
        group.wait_ready(Duration::from_secs(60))?;
        Ok(group)
    }
}

impl Drop for NodeDown<'_> {
    fn drop(&mut self) {
        if !self.restarted {
            if let Err(e) = run_script(&self.group.group.name, "start-node", self.index, None) {
                eprintln!("ferry-testkit: could not restart a stopped node: {e}");
            }
        }
    }
}

/// A frozen node; thawed (SIGCONT) when dropped.
#[derive(Debug)]
pub struct NodeFrozen<'a> {
    pid: u32,
    thawed: bool,
    _group: &'a ExclusiveGroup,
}

impl NodeFrozen<'_> {
    /// Sends SIGCONT now.
    pub fn thaw(mut self) -> Result<(), NodeControlError> {
        self.thawed = true;
        signal(self.pid, "CONT")
    }
}

impl Drop for NodeFrozen<'_> {
    fn drop(&mut self) {
        if !self.thawed {
            if let Err(e) = signal(self.pid, "CONT") {
                eprintln!("ferry-testkit: could not thaw pid {}: {e}", self.pid);
            }
        }
    }
}

fn group_dir(group: &str) -> PathBuf {
    workspace_root().join(".nodes").join(group)
}

fn count_node_dirs(dir: &Path) -> usize {
    (1..)
        .take_while(|i| dir.join(format!("node{i}")).is_dir())
        .count()
}

fn read_pid(dir: &Path, index: usize) -> Result<u32, NodeControlError> {
    let path = dir.join(format!("node{}", index + 1)).join("pid");
    let text = std::fs::read_to_string(&path).map_err(|e| NodeControlError::PidFile {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    text.trim().parse().map_err(|_| NodeControlError::PidFile {
        path,
        reason: format!("not a pid: {:?}", text.trim()),
    })
}

fn signal(pid: u32, name: &str) -> Result<(), NodeControlError> {
    let mut cmd = Command::new("kill");
    cmd.arg(format!("-{name}")).arg(pid.to_string());
    run(cmd)
}

/// `scripts/cassandra-nodes.sh <command> --name G --node I+1 [--signal S]`.
fn run_script(
    group: &str,
    command: &str,
    index: usize,
    how: Option<StopSignal>,
) -> Result<(), NodeControlError> {
    let root = workspace_root();
    let mut cmd = Command::new(root.join("scripts/cassandra-nodes.sh"));
    cmd.current_dir(&root)
        .arg(command)
        .args(["--name", group, "--node"])
        .arg((index + 1).to_string());
    if let Some(how) = how {
        cmd.args(["--signal", how.name()]);
    }
    run(cmd)
}

fn run(mut cmd: Command) -> Result<(), NodeControlError> {
    let line = format!("{cmd:?}");
    let output = cmd.output().map_err(|e| NodeControlError::Command {
        command: line.clone(),
        output: e.to_string(),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(NodeControlError::Command {
            command: line,
            output: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

/// An exclusive lock: a directory (created atomically) holding the
/// owner's pid. Works across processes and across threads of one process
/// (a thread finding its own pid inside waits like anyone else).
#[derive(Debug)]
struct LockDir {
    path: PathBuf,
}

impl LockDir {
    /// Takes `<dir>/.exclusive`, waiting for its holder to release it.
    fn acquire(dir: &Path) -> LockDir {
        let path = dir.join(".exclusive");
        let start = std::time::Instant::now();
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    let _ = std::fs::write(path.join("pid"), std::process::id().to_string());
                    return LockDir { path };
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Self::stale(&path) {
                        let _ = std::fs::remove_dir_all(&path);
                        continue;
                    }
                }
                Err(e) => panic!("cannot create the lock {}: {e}", path.display()),
            }
            assert!(
                start.elapsed() < LOCK_TIMEOUT,
                "{} still held after {LOCK_TIMEOUT:?} (remove it if its owner is gone)",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Held by a process that no longer exists. A lock without a pid
    /// file yet is being created: not stale (unless it stays so).
    fn stale(path: &Path) -> bool {
        match std::fs::read_to_string(path.join("pid")) {
            Ok(pid) => match pid.trim().parse::<u32>() {
                Ok(pid) => !process_exists(pid),
                Err(_) => true,
            },
            Err(_) => std::fs::metadata(path)
                .and_then(|m| m.modified())
                .map(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(10))
                .unwrap_or(false),
        }
    }
}

impl Drop for LockDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("ferry-lockdir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = LockDir::acquire(&dir);
        let (tx, rx) = std::sync::mpsc::channel();
        let dir2 = dir.clone();
        let waiter = std::thread::spawn(move || {
            let _second = LockDir::acquire(&dir2);
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
        drop(first);
        rx.recv_timeout(Duration::from_secs(5))
            .expect("released lock taken");
        waiter.join().unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_lock_of_a_dead_process_is_taken_over() {
        let dir = std::env::temp_dir().join(format!("ferry-lockdir-dead-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".exclusive")).unwrap();
        std::fs::write(dir.join(".exclusive/pid"), u32::MAX.to_string()).unwrap();
        let _lock = LockDir::acquire(&dir);
        assert_eq!(
            std::fs::read_to_string(dir.join(".exclusive/pid")).unwrap(),
            std::process::id().to_string()
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
