//! The reader task: cuts frames off the stream and hands each to its
//! waiting request (or to the event subscribers).

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::ReadHalf;
use tokio::sync::watch;

use super::framing::{read_frame_noting, FrameReader, ReadError};
use super::shared::{CloseReason, Shared};
use crate::transport::BoxedStream;

/// Reads until the stream ends, fails or the connection closes.
///
/// `buf` holds whatever the handshake read past its last frame.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut stream: ReadHalf<BoxedStream>,
    mut buf: BytesMut,
    mut reader: FrameReader,
    mut shutdown: watch::Receiver<bool>,
) {
    // Made once, not per frame, and polled only when no frame is ready
    // (each poll of a watch wait takes its lock); a closed connection is
    // seen through the close reason, one atomic load per frame.
    let closed = shutdown.wait_for(|closed| *closed);
    tokio::pin!(closed);
    loop {
        if shared.close_reason().is_some() {
            return;
        }
        let result = tokio::select! {
            biased;
            // The heartbeat's clock is read once per read, not per frame.
            r = read_frame_noting(&mut stream, &mut buf, &mut reader, || shared.touch()) => r,
            _ = &mut closed => return,
        };
        match result {
            Ok(frame) => shared.dispatch(frame),
            Err(ReadError::Eof { mid_frame }) => {
                shared.close(CloseReason::ServerClosed { mid_frame });
                return;
            }
            Err(ReadError::Io(e)) => {
                shared.close(CloseReason::Io(e.to_string()));
                return;
            }
            Err(ReadError::Decode(e)) => {
                shared.close(CloseReason::Malformed(e));
                return;
            }
        }
    }
}
