//! Dialing the source: the raw leg of each client connection.
//!
//! The source leg relays the client's own frames, handshake included, so
//! it is a plain byte stream (TCP, or TLS with ferry-conn's certificate
//! checks) rather than a ferry-conn connection.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::ClusterEndpoint;

/// A byte stream to the source (TCP or TLS).
pub(crate) trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> ByteStream for T {}

/// A boxed [`ByteStream`].
pub(crate) type BoxedStream = Box<dyn ByteStream>;

/// Opens connections to one endpoint.
#[derive(Clone)]
pub(crate) struct Dialer {
    address: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    timeout: Duration,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("address", &self.address)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Dialer {
    /// Reads the TLS files (if any) once, up front.
    pub(crate) fn new(
        endpoint: &ClusterEndpoint,
        timeout: Duration,
    ) -> Result<Dialer, ferry_conn::TlsError> {
        let tls = match &endpoint.tls {
            None => None,
            Some(options) => {
                let config = options.client_config()?;
                let name = options.server_name_for(endpoint.host())?;
                Some((TlsConnector::from(Arc::clone(&config)), name))
            }
        };
        Ok(Dialer {
            address: endpoint.address.clone(),
            tls,
            timeout,
        })
    }

    /// The address dialled.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// Connects (and completes the TLS handshake) within the timeout.
    pub(crate) async fn dial(&self) -> io::Result<BoxedStream> {
        let connect = async {
            let tcp = TcpStream::connect(&self.address).await?;
            tcp.set_nodelay(true)?;
            match &self.tls {
                None => Ok(Box::new(tcp) as BoxedStream),
                Some((connector, name)) => {
                    let tls = connector.connect(name.clone(), tcp).await?;
                    Ok(Box::new(tls) as BoxedStream)
                }
            }
        };
        tokio::time::timeout(self.timeout, connect)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "connecting to {} timed out after {:?}",
                        self.address, self.timeout
                    ),
                )
            })?
    }
}
