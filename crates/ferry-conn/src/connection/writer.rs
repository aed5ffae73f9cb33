//! The writer task: drains the outgoing queue, batching whatever is
//! queued into one write (one set of segments in v5).

use std::sync::Arc;

use bytes::BytesMut;
use ferry_wire::frame::Frame;
use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::sync::{mpsc, watch};

use super::framing::FrameWriter;
use super::shared::{CloseReason, Shared};
use crate::transport::BoxedStream;

/// Frames taken off the queue per write.
const BATCH: usize = 128;

/// Writes queued frames until the connection closes, then shuts the
/// stream down (a TLS close_notify, then FIN).
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut stream: WriteHalf<BoxedStream>,
    mut writer: FrameWriter,
    mut queue: mpsc::Receiver<Frame>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = BytesMut::new();
    // Made once, not per batch, and polled only when the queue or the
    // stream makes the writer wait (each poll of a watch wait takes its
    // lock); a closed connection is seen through the close reason, and
    // what it queued is not written.
    let closed = shutdown.wait_for(|closed| *closed);
    tokio::pin!(closed);
    loop {
        let received = tokio::select! {
            biased;
            n = queue.recv_many(&mut batch, BATCH) => n,
            _ = &mut closed => break,
        };
        if received == 0 || shared.close_reason().is_some() {
            break;
        }
        buf.clear();
        let encoded = writer.encode(&batch, &mut buf);
        batch.clear();
        if let Err(e) = encoded {
            shared.close(CloseReason::Io(format!(
                "cannot encode a request frame: {e}"
            )));
            break;
        }
        let written = tokio::select! {
            biased;
            r = write_all(&mut stream, &buf) => r,
            _ = &mut closed => break,
        };
        if let Err(e) = written {
            shared.close(CloseReason::Io(e.to_string()));
            break;
        }
    }
    let _ = stream.shutdown().await;
}

async fn write_all(stream: &mut WriteHalf<BoxedStream>, buf: &[u8]) -> std::io::Result<()> {
    stream.write_all(buf).await?;
    stream.flush().await
}
