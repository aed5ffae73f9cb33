//! TLS client settings, turned into a rustls [`ClientConfig`].
//!
//! The server certificate is always checked against the configured CA
//! bundle. Checking that it was issued for the name we dialled (hostname
//! verification) is on by default; clusters whose certificates do not name
//! their nodes can switch that part off with
//! [`TlsOptions::verify_hostname`], which keeps the chain check. There is
//! deliberately no "trust any certificate" mode.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, WebPkiServerVerifier};
use rustls::crypto::{ring, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::TlsError;

/// A client certificate and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertFiles {
    /// The certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// The private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key_file: PathBuf,
}

/// TLS settings for a connection.
///
/// ```no_run
/// use ferry_conn::TlsOptions;
/// let tls = TlsOptions::new("/etc/ferry/ca.pem")
///     .with_client_cert("/etc/ferry/client.pem", "/etc/ferry/client.key")
///     .with_server_name("node1.example.com");
/// let rustls_config = tls.client_config().unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM bundle of the CA certificates that may sign server certificates.
    pub ca_file: PathBuf,
    /// Client certificate for servers that require one.
    pub client_cert: Option<ClientCertFiles>,
    /// Whether the server certificate must name the server (default on).
    /// Off keeps the CA chain check but accepts any name.
    pub verify_hostname: bool,
    /// The name sent as SNI and checked against the certificate; defaults to
    /// the host part of the connection address.
    pub server_name: Option<String>,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("verify_hostname", &self.verify_hostname)
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsOptions {
    /// Trusts the CAs in `ca_file`, verifies hostnames, no client certificate.
    pub fn new(ca_file: impl Into<PathBuf>) -> Self {
        Self {
            ca_file: ca_file.into(),
            client_cert: None,
            verify_hostname: true,
            server_name: None,
        }
    }

    /// Presents a client certificate.
    #[must_use]
    pub fn with_client_cert(
        mut self,
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        self.client_cert = Some(ClientCertFiles {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
        });
        self
    }

    /// Verifies the certificate against `name` (and sends it as SNI).
    #[must_use]
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Keeps the CA check but stops requiring the certificate to name the server.
    #[must_use]
    pub fn without_hostname_verification(mut self) -> Self {
        self.verify_hostname = false;
        self
    }

    /// Reads the files and builds the rustls configuration.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let provider = Arc::new(ring::default_provider());
        let roots = Arc::new(load_roots(&self.ca_file)?);
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let verifier: Arc<dyn ServerCertVerifier> = {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .map_err(|e| TlsError::Config(e.to_string()))?;
            if self.verify_hostname {
                webpki
            } else {
                Arc::new(ChainOnlyVerifier {
                    inner: webpki,
                    roots,
                    algorithms: provider.signature_verification_algorithms,
                })
            }
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some(files) => {
                let chain = load_certs(&files.cert_file, "client certificate")?;
                let key = load_key(&files.key_file)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    TlsError::Config(format!(
                        "client certificate {} and key {} do not form a usable pair: {e}",
                        files.cert_file.display(),
                        files.key_file.display()
                    ))
                })?
            }
        };
        Ok(Arc::new(config))
    }

    /// The name to send and verify for a connection to `host`.
    pub fn server_name_for(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned()).map_err(|e| TlsError::InvalidServerName {
            name: name.to_owned(),
            message: e.to_string(),
        })
    }
}

fn read_file(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::ReadFile {
        what,
        path: path.to_owned(),
        source,
    })
}

fn load_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Parse {
            what,
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in load_certs(path, "CA certificate")?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsError::Parse {
            what: "CA certificate",
            path: path.to_owned(),
            message: format!("certificate #{} is not a usable trust anchor: {e}", i + 1),
        })?;
    }
    Ok(roots)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file(path, "client key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey {
            path: path.to_owned(),
        },
        other => TlsError::Parse {
            what: "client key",
            path: path.to_owned(),
            message: other.to_string(),
        },
    })
}

/// Checks the chain up to a configured CA, validity dates and signatures,
/// but not the name: for clusters whose node certificates do not carry the
/// address clients dial.
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A suggestion for a failed TLS handshake, from rustls' error text.
pub(crate) fn handshake_hint(message: &str, options: &TlsOptions) -> String {
    let ca = options.ca_file.display();
    if message.contains("UnknownIssuer") || message.contains("BadSignature") {
        format!(
            "; the server certificate is not signed by a CA in {ca}: point ca_file at the CA \
             that issued the node certificates"
        )
    } else if message.contains("NotValidForName") {
        "; the server certificate does not name the address dialled: set \
         TlsOptions::server_name to a name in the certificate, or turn off \
         verify_hostname (the CA chain is still checked)"
            .to_owned()
    } else if message.contains("Expired") || message.contains("NotValidYet") {
        "; the server certificate is outside its validity period (check the clocks)".to_owned()
    } else if message.contains("CertificateRequired") || message.contains("certificate required") {
        "; the server requires a client certificate: set TlsOptions::client_cert".to_owned()
    } else if message.contains("InvalidContentType") || message.contains("corrupt message") {
        "; the server does not seem to speak TLS on this port".to_owned()
    } else {
        String::new()
    }
}
