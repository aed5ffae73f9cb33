//! A minimal HTTP/1.1 client for tests of the proxy's operations endpoint
//! (`/health/*`, `/metrics`, `POST /primary`). One request per connection;
//! the server closes it after the answer, so the whole response is read to
//! the end. Shared because the router's tests (async) and the ferry-proxy
//! binary's tests (blocking) both talk to that endpoint.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) {
//! let (status, body) = ferry_testkit::http::request(addr, "GET", "/health/live").await;
//! assert_eq!(status, 200, "{body}");
//! # }
//! ```

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The request line and headers of one `method path` request.
fn request_head(method: &str, path: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: ferry\r\n\r\n")
}

/// Splits a whole HTTP response into its status code (0 when the status
/// line is missing or not a number, so a test's assertion names what came
/// back) and its body.
pub fn parse_response(response: &str) -> (u16, String) {
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// One HTTP request from an async test; returns the status code and the
/// body. Panics (failing the test) when the endpoint cannot be reached.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(request_head(method, path).as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    parse_response(&response)
}

/// [`request`] for blocking tests (a test that runs a binary).
pub fn request_blocking(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .write_all(request_head(method, path).as_bytes())
        .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    parse_response(&response)
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn status_and_body_are_split() {
        let (status, body) =
            parse_response("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno");
        assert_eq!((status, body.as_str()), (503, "no"));
    }

    #[test]
    fn a_response_without_status_line_gives_zero() {
        assert_eq!(parse_response(""), (0, String::new()));
    }
}
