//! A minimal HTTP endpoint for operations, one request per connection:
//!
//! - `GET /metrics`: Prometheus text format;
//! - `GET /health/live`: 200 while the process runs;
//! - `GET /health/ready`: 200 when both clusters answered the last health
//!   probe, else 503 with a JSON reason;
//! - `POST /primary?cluster=target` (or `source`): switch the primary,
//!   answered with a JSON report once the old connections are closed
//!   (409 with a JSON reason if it could not be done).
//!
//! It is bound to 127.0.0.1 by default: anyone who can reach it can
//! switch the primary.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::Cluster;
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
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let (status, content_type, body) = match (method, route) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
        ("GET", "/health/live") => ("200 OK", "text/plain", "ok\n".to_owned()),
        ("GET", "/health/ready") => match metrics.readiness() {
            Ok(()) => (
                "200 OK",
                "application/json",
                format!("{{\"ready\":true,\"primary\":\"{}\"}}\n", metrics.primary()),
            ),
            Err(why) => (
                "503 Service Unavailable",
                "application/json",
                format!(
                    "{{\"ready\":false,\"primary\":\"{}\",\"reason\":{}}}\n",
                    metrics.primary(),
                    json_string(&why)
                ),
            ),
        },
        ("POST", "/primary") => match query_param(query, "cluster").map(str::parse::<Cluster>) {
            Some(Ok(cluster)) => match metrics.set_primary(cluster).await {
                Ok(report) => ("200 OK", "application/json", report.to_json() + "\n"),
                Err(e) => (
                    "409 Conflict",
                    "application/json",
                    format!("{{\"error\":{}}}\n", json_string(&e.to_string())),
                ),
            },
            Some(Err(why)) => (
                "400 Bad Request",
                "application/json",
                format!("{{\"error\":{}}}\n", json_string(&why)),
            ),
            None => (
                "400 Bad Request",
                "application/json",
                "{\"error\":\"expected POST /primary?cluster=source or ?cluster=target\"}\n"
                    .to_owned(),
            ),
        },
        ("GET", "/primary") => (
            "200 OK",
            "application/json",
            format!("{{\"primary\":\"{}\"}}\n", metrics.primary()),
        ),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET, or POST /primary?cluster=...\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

/// The value of `name` in a query string (no percent-decoding: the values
/// used here are plain words).
fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_json_helpers() {
        assert_eq!(query_param("cluster=target", "cluster"), Some("target"));
        assert_eq!(query_param("a=1&cluster=source", "cluster"), Some("source"));
        assert_eq!(query_param("", "cluster"), None);
        assert_eq!(json_string("a \"b\"\n\\"), "\"a \\\"b\\\"\\n\\\\\"");
    }
}
