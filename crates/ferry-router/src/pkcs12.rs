//! The proxy's certificate chain and private key from a PKCS#12 file
//! (`--proxy-tls-pkcs12`), the format Java keystores and many cloud
//! consoles hand out.
//!
//! Decoding and decryption are p12-keystore's (pure Rust): OpenSSL 3's
//! default (PBES2, PBKDF2, AES-256-CBC, HMAC-SHA256 MAC), its `-legacy`
//! form (3DES and RC2, SHA-1 MAC) and Java's keytool output. This module
//! only picks the key and orders its chain, and turns failures into
//! advice.

use std::fmt;
use std::path::Path;

use p12_keystore::{CertificateBag, Pkcs12Archive};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What is wrong with a PKCS#12 file; the `Display` text says what to do.
///
/// ```
/// use ferry_router::Pkcs12Problem;
/// assert!(Pkcs12Problem::WrongPassword.to_string().contains("--proxy-tls-pkcs12-password"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Pkcs12Problem {
    /// The file could not be read.
    Read(std::io::Error),
    /// The integrity check (MAC) failed: the password is not the file's.
    WrongPassword,
    /// A PEM file was given where a PKCS#12 file was expected.
    Pem,
    /// The bytes are not a PKCS#12 structure.
    NotPkcs12(String),
    /// A PKCS#12 file whose contents did not decrypt or decode, without a
    /// MAC to tell why (a wrong password, or damage).
    Undecryptable(String),
    /// An encryption or MAC algorithm p12-keystore does not implement.
    Unsupported(String),
    /// The file holds no private key (a trust store?).
    NoPrivateKey,
    /// The file holds a key but no certificate.
    NoCertificate,
}

const CONVERT: &str = "convert it with `openssl pkcs12 -in FILE -nodes -out all.pem` (add \
                       -legacy for old files), then `openssl pkcs12 -export -in all.pem -out \
                       new.p12`, or use --proxy-tls-cert/--proxy-tls-key with the PEM parts";

impl fmt::Display for Pkcs12Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "cannot read it: {e}"),
            Self::WrongPassword => f.write_str(
                "wrong password (the file's integrity check failed): give its password with \
                 FERRY_PROXY_TLS_PKCS12_PASSWORD, --proxy-tls-pkcs12-password-file or \
                 --proxy-tls-pkcs12-password (no password means an empty one)",
            ),
            Self::Pem => f.write_str(
                "this is a PEM file, not PKCS#12: give the certificate chain with \
                 --proxy-tls-cert and the key with --proxy-tls-key instead",
            ),
            Self::NotPkcs12(e) => write!(
                f,
                "not a PKCS#12 (.p12/.pfx) file, or a truncated one ({e}); check the path, or `openssl pkcs12 -in \
                 FILE -info -noout` to inspect it"
            ),
            Self::Undecryptable(e) => write!(
                f,
                "cannot decrypt it ({e}): the password is probably wrong (this file has no \
                 integrity check to tell), or the file is damaged; give the password with \
                 FERRY_PROXY_TLS_PKCS12_PASSWORD or --proxy-tls-pkcs12-password-file"
            ),
            Self::Unsupported(e) => write!(f, "{e}: {CONVERT}"),
            Self::NoPrivateKey => f.write_str(
                "it holds no private key (a trust store?): export the proxy's certificate \
                 together with its key, e.g. `openssl pkcs12 -export -in proxy.pem -inkey \
                 proxy.key -certfile ca.pem -out proxy.p12`",
            ),
            Self::NoCertificate => f.write_str(
                "it holds a private key but no certificate: export the key together with its \
                 certificate (and chain), e.g. `openssl pkcs12 -export -in proxy.pem -inkey \
                 proxy.key -certfile ca.pem -out proxy.p12`",
            ),
        }
    }
}

/// A certificate chain (leaf first) and its private key.
pub(crate) type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// Reads `file` and returns the key and its chain.
pub(crate) fn read_identity(file: &Path, password: &str) -> Result<Identity, Pkcs12Problem> {
    let bytes = std::fs::read(file).map_err(Pkcs12Problem::Read)?;
    let archive = Pkcs12Archive::from_pkcs12(&bytes, password).map_err(|e| classify(&bytes, e))?;
    identity(archive)
}

fn classify(bytes: &[u8], e: p12_keystore::error::Error) -> Pkcs12Problem {
    use p12_keystore::error::Error as E;
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Pkcs12Problem::Pem;
    }
    match e {
        E::MacError(_) => Pkcs12Problem::WrongPassword,
        e if !looks_like_pfx(bytes) => Pkcs12Problem::NotPkcs12(e.to_string()),
        E::UnsupportedEncryptionScheme | E::UnsupportedMacAlgorithm | E::UnsupportedContentType => {
            Pkcs12Problem::Unsupported(e.to_string())
        }
        // A PFX whose contents do not decrypt or decode: with a MAC the
        // password was already proven right, so without one (a wrong key
        // gives bad padding, or by chance garbage that fails to decode)
        // the password is the likely cause.
        other => Pkcs12Problem::Undecryptable(other.to_string()),
    }
}

/// Whether `bytes` are one DER SEQUENCE spanning the whole file that
/// starts with version 3, as every PKCS#12 file does: tells "not PKCS#12"
/// from "PKCS#12 that did not decrypt".
fn looks_like_pfx(bytes: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (bytes.first(), bytes.get(1)) else {
        return false;
    };
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        match bytes.get(2..2 + n) {
            Some(len) if (1..=4).contains(&n) => (
                2 + n,
                len.iter().fold(0usize, |acc, b| acc << 8 | usize::from(*b)),
            ),
            _ => return false,
        }
    };
    header.checked_add(len) == Some(bytes.len())
        && bytes.get(header..header + 3) == Some(&[0x02, 0x01, 0x03][..])
}

/// Picks the private key whose certificate is in the file (matched by
/// their local key id, as OpenSSL and keytool write them), then its chain
/// by following issuer names through the other certificates.
fn identity(archive: Pkcs12Archive) -> Result<Identity, Pkcs12Problem> {
    let certs = &archive.certs;
    let same_id =
        |id: &[u8], c: &CertificateBag| c.local_key_id.as_deref().is_some_and(|k| k == id);
    let mut keys = archive.keys.iter();
    let first = keys.next().ok_or(Pkcs12Problem::NoPrivateKey)?;
    if certs.is_empty() {
        return Err(Pkcs12Problem::NoCertificate);
    }
    let matched = std::iter::once(first).chain(keys).find_map(|k| {
        let id = &k.local_key_id.as_ref()?.0;
        Some((k, certs.iter().find(|c| same_id(id, c))?))
    });
    let (key, leaf) = match matched {
        Some(pair) => pair,
        // No ids: the leaf is the certificate that issued none of the others.
        None => (
            first,
            certs
                .iter()
                .find(|c| {
                    !certs
                        .iter()
                        .any(|o| o.cert.issuer() == c.cert.subject() && !std::ptr::eq(o, *c))
                })
                .unwrap_or(&certs[0]),
        ),
    };
    let mut chain = vec![leaf];
    while let Some(last) = chain.last() {
        if last.cert.issuer() == last.cert.subject() {
            break; // self-signed: the root
        }
        let issuer = certs.iter().find(|c| {
            c.cert.subject() == last.cert.issuer() && !chain.iter().any(|d| std::ptr::eq(*d, *c))
        });
        match issuer {
            Some(c) => chain.push(c),
            None => break,
        }
    }
    let chain = chain
        .into_iter()
        .map(|c| CertificateDer::from(c.cert.as_der().to_vec()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.key.as_der().to_vec()));
    Ok((chain, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_pem_are_told_apart() {
        let dir = std::env::temp_dir().join(format!("ferry-p12-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let garbage = dir.join("garbage.p12");
        std::fs::write(&garbage, b"\x30\x03\x02\x01\x03not pkcs12 at all").unwrap();
        let e = read_identity(&garbage, "pw").unwrap_err();
        assert!(matches!(e, Pkcs12Problem::NotPkcs12(_)), "{e}");
        let pem = dir.join("proxy.pem");
        std::fs::write(&pem, b"-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
        let e = read_identity(&pem, "pw").unwrap_err();
        assert!(matches!(e, Pkcs12Problem::Pem), "{e}");
        assert!(e.to_string().contains("--proxy-tls-cert"), "{e}");
        let e = read_identity(&dir.join("missing.p12"), "pw").unwrap_err();
        assert!(matches!(e, Pkcs12Problem::Read(_)), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_pfx_outline_is_recognised() {
        assert!(looks_like_pfx(&[0x30, 0x05, 0x02, 0x01, 0x03, 0x04, 0x00]));
        assert!(looks_like_pfx(&[0x30, 0x81, 0x03, 0x02, 0x01, 0x03]));
        assert!(looks_like_pfx(&[0x30, 0x82, 0x00, 0x03, 0x02, 0x01, 0x03]));
        // Truncated, trailing bytes, another version, not a SEQUENCE.
        assert!(!looks_like_pfx(&[0x30, 0x05, 0x02, 0x01, 0x03]));
        assert!(!looks_like_pfx(&[0x30, 0x03, 0x02, 0x01, 0x03, 0x00]));
        assert!(!looks_like_pfx(&[0x30, 0x03, 0x02, 0x01, 0x02]));
        assert!(!looks_like_pfx(&[0x31, 0x03, 0x02, 0x01, 0x03]));
        assert!(!looks_like_pfx(&[0x30, 0x85, 0, 0, 0, 0, 3, 2, 1, 3]));
        assert!(!looks_like_pfx(&[0x30]));
        assert!(!looks_like_pfx(&[]));
    }
}
