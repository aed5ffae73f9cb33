//! The byte stream under a connection: TCP, optionally wrapped in TLS.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::{ConnError, TlsError};
use crate::tls::{handshake_hint, TlsOptions};

/// Anything a connection can run over.
pub(crate) trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> ByteStream for T {}

/// A connected stream, plain or TLS, behind one type.
pub(crate) type BoxedStream = Box<dyn ByteStream>;

/// The host part of `host:port`, without IPv6 brackets.
///
/// Only used to pick a TLS server name; the address itself is resolved by
/// the OS.
pub(crate) fn host_of(address: &str) -> &str {
    let host = match address.rsplit_once(':') {
        // A bare IPv6 address has more than one colon and no brackets.
        Some((host, _)) if !host.contains(':') || host.starts_with('[') => host,
        _ => address,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Opens TCP (and TLS, if configured) to `address` within `timeout`.
pub(crate) async fn connect(
    address: &str,
    tls: Option<&TlsOptions>,
    timeout: Duration,
) -> Result<(BoxedStream, SocketAddr), ConnError> {
    // Build the TLS config first: a missing CA file should be reported as
    // such, not after a connect timeout.
    let tls = match tls {
        Some(options) => Some((
            options,
            TlsConnector::from(options.client_config()?),
            options.server_name_for(host_of(address))?,
        )),
        None => None,
    };
    let timed_out = || ConnError::Timeout {
        what: format!("connecting to {address}"),
        after: timeout,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(address))
        .await
        .map_err(|_| timed_out())?
        .map_err(|source| ConnError::Connect {
            address: address.to_owned(),
            source,
        })?;
    // Requests are small and latency matters more than packet count.
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().map_err(|source| ConnError::Connect {
        address: address.to_owned(),
        source,
    })?;
    let Some((options, connector, server_name)) = tls else {
        return Ok((Box::new(tcp), peer));
    };
    let stream = tokio::time::timeout_at(deadline, connector.connect(server_name, tcp))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| {
            let message = e.to_string();
            TlsError::Handshake {
                address: address.to_owned(),
                hint: handshake_hint(&format!("{e:?} {message}"), options),
                message,
            }
        })?;
    Ok((Box::new(stream), peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_handles_names_v4_and_v6() {
        assert_eq!(host_of("node1.example.com:9042"), "node1.example.com");
        assert_eq!(host_of("127.0.0.2:9042"), "127.0.0.2");
        assert_eq!(host_of("[::1]:9042"), "::1");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }
}
