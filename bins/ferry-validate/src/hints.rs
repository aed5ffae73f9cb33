//! What to do next when a cluster cannot be reached: the connection error
//! says what happened in the driver's terms (`with_credentials`, TLS
//! handshake); the user of the command line needs the flag to change.

use ferry_conn::session::SessionError;
use ferry_conn::{ConnError, TlsError};

/// A hint naming the `--source-…`/`--target-…` flag to fix, for an error of
/// connecting to the `side` cluster (`"source"` or `"target"`), or `None`
/// when the error is not about credentials or TLS. `tls` says whether TLS
/// was configured for that side.
pub fn connect_hint(side: &str, tls: bool, error: &SessionError) -> Option<String> {
    let errors: Vec<&ConnError> = match error {
        SessionError::ContactPoints { tried } => tried.iter().map(|(_, e)| e).collect(),
        SessionError::Request { source, .. } => vec![source.as_ref()],
        _ => Vec::new(),
    };
    // The first recognised error wins: with several contact points they
    // usually all fail the same way.
    errors.into_iter().find_map(|e| conn_hint(side, tls, e))
}

fn conn_hint(side: &str, tls: bool, error: &ConnError) -> Option<String> {
    let env = format!("FERRY_{}_PASSWORD", side.to_uppercase());
    let password_flags = format!("--{side}-password, {env} or --{side}-password-file");
    match error {
        ConnError::Auth { message, .. } if message.contains("no credentials") => Some(format!(
            "the {side} requires a login: pass --{side}-username and a password ({password_flags})"
        )),
        ConnError::Auth { .. } => Some(format!(
            "the {side} refused the login: check --{side}-username and the password \
             ({password_flags})"
        )),
        ConnError::Tls(TlsError::ReadFile { what, path, .. })
        | ConnError::Tls(TlsError::Parse { what, path, .. }) => Some(format!(
            "check {} {}",
            tls_file_flag(side, what),
            path.display()
        )),
        ConnError::Tls(TlsError::NoCertificates { path }) => Some(format!(
            "check --{side}-ca / --{side}-client-cert {}: it holds no PEM certificate",
            path.display()
        )),
        ConnError::Tls(TlsError::NoPrivateKey { path }) => Some(format!(
            "check --{side}-client-key {}: it holds no PEM private key",
            path.display()
        )),
        ConnError::Tls(TlsError::InvalidServerName { .. }) => Some(format!(
            "check --{side}-tls-server-name (or the host names of --{side})"
        )),
        ConnError::Tls(TlsError::Config(_)) => Some(format!(
            "check --{side}-client-cert and --{side}-client-key (the key must match the certificate)"
        )),
        ConnError::Tls(TlsError::Handshake { .. }) => Some(format!(
            "the TLS handshake with the {side} failed: check that it serves TLS on this port, that \
             --{side}-ca holds the CA that signed its certificate and that the certificate names \
             the host (or set --{side}-tls-server-name); --disable-{side}-tls connects in plain text"
        )),
        // A TLS-only node closes plain-text connections without a word,
        // which looks like a failed version negotiation.
        ConnError::Negotiation { .. } | ConnError::Closed { .. } if !tls => Some(format!(
            "if the {side} requires TLS, pass the CA that signed its certificate with --{side}-ca FILE"
        )),
        _ => None,
    }
}

/// The flag that names a TLS file, from what the file was meant to be.
fn tls_file_flag(side: &str, what: &str) -> String {
    if what.contains("CA") {
        format!("--{side}-ca")
    } else if what.contains("key") {
        format!("--{side}-client-key")
    } else {
        format!("--{side}-client-cert")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(e: ConnError) -> SessionError {
        SessionError::ContactPoints {
            tried: vec![("10.0.0.1:9042".into(), e)],
        }
    }

    #[test]
    fn credentials_errors_name_the_flags() {
        let e = contact(ConnError::Auth {
            address: "a".into(),
            message: "the server requires authentication but no credentials are configured".into(),
        });
        let hint = connect_hint("target", false, &e).unwrap();
        assert!(hint.contains("--target-username"), "{hint}");
        assert!(hint.contains("FERRY_TARGET_PASSWORD"), "{hint}");
        let e = contact(ConnError::Auth {
            address: "a".into(),
            message: "bad credentials".into(),
        });
        let hint = connect_hint("source", false, &e).unwrap();
        assert!(
            hint.contains("refused") && hint.contains("--source-password-file"),
            "{hint}"
        );
    }

    #[test]
    fn tls_errors_name_the_flags() {
        let e = contact(ConnError::Tls(TlsError::ReadFile {
            what: "CA certificate",
            path: "/no/ca.pem".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
        assert_eq!(
            connect_hint("source", true, &e).unwrap(),
            "check --source-ca /no/ca.pem"
        );
        let e = contact(ConnError::Tls(TlsError::ReadFile {
            what: "client key",
            path: "/k.pem".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
        assert!(connect_hint("target", true, &e)
            .unwrap()
            .contains("--target-client-key"));
        let e = contact(ConnError::Negotiation {
            address: "a".into(),
            attempts: Vec::new(),
        });
        let hint = connect_hint("target", false, &e).unwrap();
        assert!(hint.contains("--target-ca FILE"), "{hint}");
        assert_eq!(
            connect_hint("target", true, &e),
            None,
            "TLS is already on: no advice to turn it on"
        );
        let e = contact(ConnError::Tls(TlsError::Handshake {
            address: "a".into(),
            message: "corrupt message".into(),
            hint: String::new(),
        }));
        assert!(connect_hint("source", true, &e)
            .unwrap()
            .contains("--source-ca holds the CA"));
    }

    #[test]
    fn other_errors_have_no_hint() {
        let e = contact(ConnError::Connect {
            address: "a".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        });
        assert_eq!(connect_hint("source", false, &e), None);
    }
}
