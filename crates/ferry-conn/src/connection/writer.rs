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
    loop {
        let received = tokio::select! {
            biased;
            _ = shutdown.wait_for(|closed| *closed) => break,
            n = queue.recv_many(&mut batch, BATCH) => n,
        };
        if received == 0 {
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
            _ = shutdown.wait_for(|closed| *closed) => break,
            r = write_all(&mut stream, &buf) => r,
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
