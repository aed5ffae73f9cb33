//! The heartbeat task: an OPTIONS request whenever nothing was read for a
//! whole interval. A heartbeat that fails or times out closes the
//! connection, so a dead peer is noticed even when no request is pending.

use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use ferry_wire::frame::FrameFlags;
use ferry_wire::Opcode;
use tokio::sync::watch;

use super::shared::{CloseReason, Shared};

/// Runs until the connection closes or every handle is gone. Holds only a
/// weak reference between beats so it never keeps a connection alive.
pub(crate) async fn run(
    shared: Weak<Shared>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let wait = match shared.upgrade() {
            Some(s) => interval.saturating_sub(s.idle_for()),
            None => return,
        };
        if !wait.is_zero() {
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|closed| *closed) => return,
                _ = tokio::time::sleep(wait) => continue,
            }
        }
        let Some(s) = shared.upgrade() else {
            return;
        };
        tracing::trace!(address = %s.address, "sending heartbeat");
        match s
            .round_trip(Opcode::Options, FrameFlags::NONE, Bytes::new())
            .await
        {
            Ok(frame) if frame.header.opcode == Opcode::Supported => {}
            Ok(frame) => {
                s.close(CloseReason::HeartbeatFailed(format!(
                    "OPTIONS answered with {}",
                    frame.header.opcode.name()
                )));
                return;
            }
            Err(_) if s.close_reason().is_some() => return,
            Err(e) => {
                s.close(CloseReason::HeartbeatFailed(e.to_string()));
                return;
            }
        }
    }
}
