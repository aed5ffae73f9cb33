//! TLS on the client side: the proxy's certificate (PEM files or a PKCS#12
//! file, read by the `pkcs12` module), and optionally the client certificates it
//! requires (`--proxy-tls-*`).
//!
//! Same rustls version and crypto provider (ring) as ferry-conn's client
//! side. The files are read once at startup, so a bad file stops the proxy
//! before it listens, with the file named.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::{ClientTls, ClientTlsIdentity};
use crate::pkcs12::{read_identity, Pkcs12Problem};

/// Why the client-side TLS settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("client-side TLS: {what} file {path}: {message}")]
    File {
        /// "certificate", "private key" or "client CA".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The PKCS#12 file (`--proxy-tls-pkcs12`) is unusable.
    #[error("client-side TLS: --proxy-tls-pkcs12 {path}: {problem}")]
    Pkcs12 {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do.
        problem: Pkcs12Problem,
    },
    /// rustls refused the combination (a key that does not match the
    /// certificate, an unusable CA...).
    #[error("client-side TLS: {0}")]
    Config(String),
}

impl ClientTls {
    /// Reads the files now and checks that rustls accepts them, so that a
    /// program can name a bad one before it connects anywhere; the proxy
    /// reads them again when it starts.
    ///
    /// ```
    /// use ferry_router::ClientTls;
    /// let e = ClientTls::from_pkcs12("/nonexistent/proxy.p12", "").check().unwrap_err();
    /// assert!(e.to_string().contains("--proxy-tls-pkcs12 /nonexistent/proxy.p12"));
    /// ```
    pub fn check(&self) -> Result<(), ClientTlsError> {
        self.acceptor().map(drop)
    }

    /// Reads the files and builds the acceptor.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, ClientTlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientTlsError::Config(e.to_string()))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certs(ca, "client CA")? {
                    roots.add(cert).map_err(|e| ClientTlsError::File {
                        what: "client CA",
                        path: ca.clone(),
                        message: format!("not a usable CA certificate: {e}"),
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| ClientTlsError::Config(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let (chain, key) = match &self.identity {
            ClientTlsIdentity::Pem {
                cert,
                key: key_file,
            } => (certs(cert, "certificate")?, key(key_file)?),
            ClientTlsIdentity::Pkcs12 { file, password } => {
                read_identity(file, password).map_err(|problem| ClientTlsError::Pkcs12 {
                    path: file.clone(),
                    problem,
                })?
            }
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            ClientTlsError::Config(match &self.identity {
                ClientTlsIdentity::Pem { cert, key } => format!(
                    "certificate {} with key {}: {e}",
                    cert.display(),
                    key.display()
                ),
                ClientTlsIdentity::Pkcs12 { file, .. } => {
                    format!("--proxy-tls-pkcs12 {}: {e}", file.display())
                }
            })
        })?;
        // CQL is not negotiated with ALPN; leave it empty.
        config.alpn_protocols.clear();
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, ClientTlsError> {
    std::fs::read(path).map_err(|e| ClientTlsError::File {
        what,
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, ClientTlsError> {
    let pem = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientTlsError::File {
            what,
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(ClientTlsError::File {
            what,
            path: path.to_owned(),
            message: "no PEM certificate in it (\"-----BEGIN CERTIFICATE-----\"); for a PKCS#12 \
                      file use --proxy-tls-pkcs12"
                .into(),
        });
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, ClientTlsError> {
    let pem = read(path, "private key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| ClientTlsError::File {
        what: "private key",
        path: path.to_owned(),
        message: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PEM private key in it (PKCS#8, PKCS#1 or SEC1)".to_owned()
            }
            other => other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named() {
        let e = ClientTls::new("/nonexistent/proxy.pem", "/nonexistent/proxy.key")
            .acceptor()
            .err()
            .unwrap();
        assert!(e.to_string().contains("/nonexistent/proxy.pem"), "{e}");
    }
}
