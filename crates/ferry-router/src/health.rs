//! Whether both clusters are reachable, for `/health/ready`.
//!
//! A background task probes each cluster every `health_probe_interval`:
//! it opens a connection (TCP, and TLS when that leg uses it) and sends an
//! OPTIONS request. Any answer counts: a node that accepts the TCP
//! connection but does not answer (a frozen JVM) is not ready. The probe
//! needs no credentials (OPTIONS comes before authentication).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::{Frame, FrameHeader};
use ferry_wire::{Opcode, ProtocolVersion};
use tokio::io::AsyncWriteExt;

use crate::framing::FrameReader;
use crate::metrics::Cluster;
use crate::upstream::Dialer;

/// Reachability of the two clusters, as last probed.
#[derive(Debug, Default)]
pub(crate) struct Health {
    up: [AtomicBool; 2],
    /// Why each cluster is not reachable (the last probe's error).
    why: [Mutex<Option<String>>; 2],
}

fn index(c: Cluster) -> usize {
    match c {
        Cluster::Source => 0,
        Cluster::Target => 1,
    }
}

impl Health {
    /// Whether the last probe of `cluster` succeeded.
    pub(crate) fn is_up(&self, cluster: Cluster) -> bool {
        self.up[index(cluster)].load(Ordering::Relaxed)
    }

    /// Both, in (source, target) order.
    pub(crate) fn both(&self) -> [bool; 2] {
        [self.is_up(Cluster::Source), self.is_up(Cluster::Target)]
    }

    /// Why `cluster` is down, if it is.
    pub(crate) fn reason(&self, cluster: Cluster) -> Option<String> {
        if self.is_up(cluster) {
            return None;
        }
        let why = self.why[index(cluster)]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Some(why.unwrap_or_else(|| "not probed yet".to_owned()))
    }

    fn record(&self, cluster: Cluster, result: Result<(), String>) {
        let i = index(cluster);
        let was_up = self.up[i].load(Ordering::Relaxed);
        let mut why = self.why[i].lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => {
                *why = None;
                self.up[i].store(true, Ordering::Relaxed);
                if !was_up {
                    tracing::info!(cluster = cluster.label(), "cluster reachable");
                }
            }
            Err(e) => {
                if was_up || why.is_none() {
                    tracing::warn!(cluster = cluster.label(), error = %e, "cluster not reachable");
                }
                *why = Some(e);
                self.up[i].store(false, Ordering::Relaxed);
            }
        }
    }
}

/// Probes both clusters forever (spawn it; abort it on shutdown).
pub(crate) async fn probe_forever(
    health: std::sync::Arc<Health>,
    dialers: [(Cluster, Dialer); 2],
    interval: Duration,
    timeout: Duration,
) {
    loop {
        let [(c1, d1), (c2, d2)] = &dialers;
        let (r1, r2) = tokio::join!(probe(d1, timeout), probe(d2, timeout));
        health.record(*c1, r1);
        health.record(*c2, r2);
        tokio::time::sleep(interval).await;
    }
}

/// One probe: connect, OPTIONS, any answer.
async fn probe(dialer: &Dialer, timeout: Duration) -> Result<(), String> {
    let exchange = async {
        let stream = dialer.dial().await.map_err(|e| e.to_string())?;
        let (mut read, mut write) = tokio::io::split(stream);
        // v3: every Cassandra from 2.1 to 5 speaks it (and answers an
        // OPTIONS in a version it does not speak with an error, which
        // still proves the node is there).
        let options = Frame::new(
            FrameHeader::request(ProtocolVersion::V3, 0, Opcode::Options, 0),
            Bytes::new(),
        );
        let mut buf = BytesMut::new();
        options.encode(&mut buf).map_err(|e| e.to_string())?;
        write.write_all(&buf).await.map_err(|e| e.to_string())?;
        let mut reader = FrameReader::new(64 * 1024);
        reader
            .next(&mut read, None)
            .await
            .map(|_| ())
            .map_err(|e| format!("no answer to OPTIONS: {e:?}"))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer to OPTIONS within {timeout:?}"))?
}
