//! The proxy's client-side TLS identity from a PKCS#12 file
//! (`--proxy-tls-pkcs12`), in front of the real `source` and `target`
//! groups. The files are made here by the tools users have: `openssl
//! pkcs12 -export` (OpenSSL 3's default PBES2/AES-256 and its `-legacy`
//! 3DES/RC2 form) and Java 17's `keytool -importkeystore`. Each one must
//! carry a TLS client (ferry-conn, CA checked) through to both clusters;
//! wrong passwords, garbage and files without a key or certificate stop
//! the proxy with the flag, the file and the advice named.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferry_conn::{Connection, ConnectionConfig, TlsOptions};
use ferry_router::{ClientTls, Proxy, ProxyConfig};
use ferry_testkit::fake_server::TestPki;
use ferry_testkit::unique_keyspace_name;
use ferry_wire::Consistency;

/// Runs a tool that makes a test file; panics with its output on failure.
fn run(program: &Path, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn openssl(args: &[&str]) {
    run(Path::new("openssl"), args);
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// `openssl pkcs12 -export` of the test server's key, certificate and CA.
fn export(pki: &TestPki, out: &Path, password: &str, extra: &[&str]) {
    let pass = format!("pass:{password}");
    let mut args = vec!["pkcs12", "-export", "-in", path(&pki.server_cert)];
    args.extend([
        "-inkey",
        path(&pki.server_key),
        "-certfile",
        path(&pki.ca_cert),
    ]);
    args.extend(["-out", path(out), "-passout", &pass]);
    args.extend(extra);
    openssl(&args);
}

/// Asserts that `openssl pkcs12 -info` shows `algorithms` in `file`, so
/// each case is the format it claims to be.
fn assert_made_with(file: &Path, password: &str, algorithms: &[&str]) {
    let pass = format!("pass:{password}");
    let out = Command::new("openssl")
        .args(["pkcs12", "-legacy", "-info", "-noout", "-in", path(file)])
        .args(["-passin", &pass])
        .output()
        .expect("openssl runs");
    let info =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    for a in algorithms {
        assert!(
            info.contains(a),
            "{} should use {a}: {info}",
            file.display()
        );
    }
}

/// Java 17's keytool, as scripts/lib/deps.sh finds it (FERRY_JAVA's
/// sibling, JAVA_HOME, then the Debian/Ubuntu package's place).
fn keytool() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(java) = std::env::var_os("FERRY_JAVA") {
        candidates.push(PathBuf::from(java).with_file_name("keytool"));
    }
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        candidates.push(PathBuf::from(home).join("bin/keytool"));
    }
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/jvm") {
        let mut found: Vec<PathBuf> = dirs
            .flatten()
            .map(|d| d.path())
            .filter(|d| d.to_string_lossy().contains("java-17"))
            .map(|d| d.join("bin/keytool"))
            .collect();
        found.sort();
        candidates.extend(found);
    }
    candidates.into_iter().find(|c| c.is_file())
}

async fn tls_client(proxy: &Proxy, ca: &Path) -> Result<Connection, ferry_conn::ConnError> {
    Connection::connect(
        &ConnectionConfig::new(proxy.local_addr().to_string())
            .with_tls(TlsOptions::new(ca))
            .with_connect_timeout(Duration::from_secs(10)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_files_from_openssl_and_keytool_serve_tls_clients() {
    let (source, target, dir, base) = support::real_setup("tls_pkcs12");
    let pki = TestPki::generate(&["127.0.0.1", "localhost"]);

    // OpenSSL 3's default: PBES2 (PBKDF2, AES-256-CBC), HMAC-SHA256 MAC.
    let modern = dir.join("modern.p12");
    export(&pki, &modern, "modern secret", &["-name", "proxy"]);
    assert_made_with(&modern, "modern secret", &["AES-256-CBC", "MAC: sha256"]);
    // The legacy form: RC2-40 certificates, 3DES key, SHA-1 MAC.
    let legacy = dir.join("legacy.p12");
    export(&pki, &legacy, "legacy", &["-legacy"]);
    let old = ["40BitRC2-CBC", "3-KeyTripleDES-CBC", "MAC: sha1"];
    assert_made_with(&legacy, "legacy", &old);
    // No password at all (`-passout pass:`): an empty one.
    let empty = dir.join("empty.p12");
    export(&pki, &empty, "", &[]);
    let mut files = vec![
        ("openssl 3 default", modern.clone(), "modern secret"),
        ("openssl -legacy", legacy, "legacy"),
        ("openssl, empty password", empty, ""),
    ];
    // Java 17's PKCS12 keystore (PBES2 with 10,000 iterations, its own
    // bag attributes), re-encrypted from the OpenSSL file by keytool.
    match keytool() {
        Some(keytool) => {
            let java = dir.join("java.p12");
            run(
                &keytool,
                &[
                    "-importkeystore",
                    "-noprompt",
                    "-srckeystore",
                    path(&modern),
                    "-srcstoretype",
                    "PKCS12",
                    "-srcstorepass",
                    "modern secret",
                    "-destkeystore",
                    path(&java),
                    "-deststoretype",
                    "PKCS12",
                    "-deststorepass",
                    "java-changeit",
                ],
            );
            assert_made_with(&java, "java-changeit", &["AES-256-CBC", "Iteration 10000"]);
            files.push(("keytool -importkeystore", java, "java-changeit"));
        }
        None => eprintln!("no Java 17 keytool found: the keytool case is not run"),
    }

    let ks = unique_keyspace_name("proxy_tls_pkcs12");
    let mut schema = support::kv_schema(&ks, "text");
    for (k, (made_by, file, password)) in files.iter().enumerate() {
        let mut config = base.clone();
        // Only the PKCS#12 file: if it is not read, there is no TLS port.
        config.client_tls = Some(ClientTls::from_pkcs12(file, *password));
        config.write_mode = ferry_router::WriteMode::Sync;
        let proxy = Proxy::start(config)
            .await
            .unwrap_or_else(|e| panic!("{made_by}: the proxy starts with {file:?}: {e}"));
        let conn = tls_client(&proxy, &pki.ca_cert)
            .await
            .unwrap_or_else(|e| panic!("{made_by}: a TLS client trusting the CA connects: {e}"));
        for statement in schema.drain(..).chain([format!(
            "INSERT INTO {ks}.kv (k, v) VALUES ({k}, '{made_by}')"
        )]) {
            conn.query(&statement, Consistency::One)
                .await
                .unwrap_or_else(|e| panic!("{made_by}: {statement}: {e}"));
        }
        drop(conn);
        proxy.shutdown().await;
    }

    let query = vec![format!("SELECT k, v FROM {ks}.kv")];
    for group in [&source, &target] {
        let rows = support::cql(group, query.clone()).await;
        assert_eq!(
            rows[0].rows.len(),
            files.len(),
            "one row per PKCS#12 file on {}: {:?}",
            group.name,
            rows[0].rows
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Starts the proxy (`config`) with a PKCS#12 file that must be refused;
/// the error.
async fn refused(config: &ProxyConfig, file: &Path, password: &str) -> String {
    let mut config = config.clone();
    config.client_tls = Some(ClientTls::from_pkcs12(file, password));
    match Proxy::start(config).await {
        Ok(proxy) => {
            proxy.shutdown().await;
            panic!("the proxy started with {}", file.display())
        }
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_pkcs12_files_are_refused_with_advice() {
    let (_, _, dir, config) = support::real_setup("tls_pkcs12_bad");
    let pki = TestPki::generate(&["127.0.0.1"]);
    let good = dir.join("proxy.p12");
    export(&pki, &good, "right", &[]);
    let named = |e: &str, file: &Path, what: &str| {
        assert!(e.contains("--proxy-tls-pkcs12"), "the flag is named: {e}");
        assert!(e.contains(path(file)), "the file is named: {e}");
        assert!(e.contains(what), "expected {what:?} in: {e}");
    };

    let e = refused(&config, &good, "wrong").await;
    named(&e, &good, "wrong password");
    assert!(e.contains("FERRY_PROXY_TLS_PKCS12_PASSWORD"), "{e}");
    assert!(!e.contains("right"), "the password is never shown: {e}");

    // Without a MAC, a wrong password shows as a failed decryption.
    let no_mac = dir.join("no-mac.p12");
    export(&pki, &no_mac, "right", &["-nomac"]);
    named(
        &refused(&config, &no_mac, "wrong").await,
        &no_mac,
        "password is probably wrong",
    );

    let garbage = dir.join("garbage.p12");
    std::fs::write(&garbage, b"this is not a PKCS#12 file\n").unwrap();
    named(
        &refused(&config, &garbage, "right").await,
        &garbage,
        "not a PKCS#12",
    );

    let truncated = dir.join("truncated.p12");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    named(
        &refused(&config, &truncated, "right").await,
        &truncated,
        "truncated",
    );

    // A PEM certificate given as the PKCS#12 file: pointed to the PEM flags.
    named(
        &refused(&config, &pki.server_cert, "x").await,
        &pki.server_cert,
        "--proxy-tls-cert",
    );

    // A trust store (certificates only) and a key without its certificate.
    let trust = dir.join("trust.p12");
    openssl(&[
        "pkcs12",
        "-export",
        "-nokeys",
        "-in",
        path(&pki.ca_cert),
        "-out",
        path(&trust),
        "-passout",
        "pass:right",
    ]);
    named(
        &refused(&config, &trust, "right").await,
        &trust,
        "no private key",
    );
    let key_only = dir.join("key-only.p12");
    openssl(&[
        "pkcs12",
        "-export",
        "-nocerts",
        "-inkey",
        path(&pki.server_key),
        "-out",
        path(&key_only),
        "-passout",
        "pass:right",
    ]);
    named(
        &refused(&config, &key_only, "right").await,
        &key_only,
        "no certificate",
    );

    let missing = dir.join("missing.p12");
    named(
        &refused(&config, &missing, "right").await,
        &missing,
        "cannot read",
    );
    std::fs::remove_dir_all(&dir).ok();
}
