//! Throwaway certificates for TLS tests: a CA, a server certificate and a
//! client certificate, written as PEM files into a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

/// A CA with a server and a client certificate it signed, as PEM files.
///
/// The directory is removed when the value is dropped.
///
/// ```
/// use ferry_testkit::fake_server::TestPki;
/// let pki = TestPki::generate(&["localhost", "127.0.0.1"]);
/// assert!(std::fs::read_to_string(&pki.ca_cert).unwrap().contains("BEGIN CERTIFICATE"));
/// let _config = pki.server_config(false);
/// ```
#[derive(Debug)]
pub struct TestPki {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// CA certificate (PEM).
    pub ca_cert: PathBuf,
    /// Server certificate (PEM), valid for the names given to `generate`.
    pub server_cert: PathBuf,
    /// Server private key (PKCS#8 PEM).
    pub server_key: PathBuf,
    /// Client certificate (PEM).
    pub client_cert: PathBuf,
    /// Client private key (PKCS#8 PEM).
    pub client_key: PathBuf,
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Makes test certificates; panics on failure (test support only).
impl TestPki {
    /// Generates a fresh CA and certificates; the server certificate names
    /// `server_names` (DNS names or IP addresses).
    pub fn generate(server_names: &[&str]) -> TestPki {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferry-testkit-pki-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("create the PKI directory");

        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ferry test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).expect("self-sign the CA");

        let leaf = |names: Vec<String>, purpose: ExtendedKeyUsagePurpose, cn: &str| {
            let key = KeyPair::generate().expect("leaf key");
            let mut params = CertificateParams::new(names).expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![purpose];
            let cert = params.signed_by(&key, &ca, &ca_key).expect("sign the leaf");
            (cert.pem(), key.serialize_pem())
        };
        let names = server_names.iter().map(|s| (*s).to_owned()).collect();
        let (server_pem, server_key_pem) = leaf(
            names,
            ExtendedKeyUsagePurpose::ServerAuth,
            "ferry test server",
        );
        let (client_pem, client_key_pem) = leaf(
            vec!["client.ferry.test".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
            "ferry test client",
        );

        let write = |name: &str, contents: &str| {
            let path = dir.join(name);
            std::fs::write(&path, contents).expect("write a PEM file");
            path
        };
        TestPki {
            ca_cert: write("ca.pem", &ca.pem()),
            server_cert: write("server.pem", &server_pem),
            server_key: write("server.key", &server_key_pem),
            client_cert: write("client.pem", &client_pem),
            client_key: write("client.key", &client_key_pem),
            dir,
        }
    }

    /// A rustls server configuration presenting the server certificate;
    /// with `require_client_cert`, clients must present a certificate
    /// signed by this CA.
    pub fn server_config(&self, require_client_cert: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if require_client_cert {
            let mut roots = RootCertStore::empty();
            for cert in certs(&self.ca_cert) {
                roots.add(cert).expect("add the CA");
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::from_pem_file(&self.server_key).expect("server key");
        Arc::new(
            builder
                .with_single_cert(certs(&self.server_cert), key)
                .expect("server certificate"),
        )
    }
}

fn certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .expect("open a PEM file")
        .collect::<Result<Vec<_>, _>>()
        .expect("parse a PEM file")
}
