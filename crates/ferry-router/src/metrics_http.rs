//! A minimal HTTP endpoint for the metrics: `GET /metrics` (Prometheus
//! text format) and `GET /health/live`. One request per connection.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::server::MetricsHandle;

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;

/// Serves the metrics on `address` until the task is dropped. Returns the
/// bound address and the serving future (spawn it).
///
/// ```no_run
/// # async fn demo(proxy: ferry_router::Proxy) -> std::io::Result<()> {
/// let (addr, serve) = ferry_router::serve_metrics("127.0.0.1:9100".parse().unwrap(), proxy.metrics()).await?;
/// tokio::spawn(serve);
/// println!("curl http://{addr}/metrics");
/// # Ok(()) }
/// ```
pub async fn serve_metrics(
    address: SocketAddr,
    metrics: MetricsHandle,
) -> io::Result<(SocketAddr, impl std::future::Future<Output = ()> + Send)> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    let serve = async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), answer(socket, metrics)).await;
            });
        }
    };
    Ok((local, serve))
}

async fn answer(mut socket: TcpStream, metrics: MetricsHandle) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
        ("GET", "/health/live") => ("200 OK", "text/plain", "ok\n".to_owned()),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}
