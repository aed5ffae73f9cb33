//! `--proxy-tls-pkcs12` through the binary: the flags in `--help` (the
//! password variable's value never shown), the password taken from
//! FERRY_PROXY_TLS_PKCS12_PASSWORD and from the password file, a TLS
//! handshake with the identity from the file (checked against the CA by
//! `openssl s_client`), and refusals that name the flags and the file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ferry_testkit::fake_server::TestPki;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-proxy");
const PASSWORD_VAR: &str = "FERRY_PROXY_TLS_PKCS12_PASSWORD";

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferry-proxy-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `openssl pkcs12 -export` of the test server's key and certificate.
fn export(pki: &TestPki, out: &Path, password: &str) {
    let status = Command::new("openssl")
        .args(["pkcs12", "-export", "-in"])
        .arg(&pki.server_cert)
        .arg("-inkey")
        .arg(&pki.server_key)
        .arg("-certfile")
        .arg(&pki.ca_cert)
        .arg("-out")
        .arg(out)
        .args(["-passout", &format!("pass:{password}")])
        .status()
        .expect("openssl runs");
    assert!(status.success());
}

/// The proxy in front of the real groups (plain legs), on a port the
/// system picks (its "listening" log line tells which).
fn proxy(log: &Path) -> Command {
    let source = ferry_testkit::NodeGroup::require("source");
    let target = ferry_testkit::NodeGroup::require("target");
    let mut cmd = Command::new(BIN);
    cmd.arg(source.first().address.to_string())
        .arg(target.first().address.to_string())
        .args(["--disable-source-tls", "--disable-target-tls"])
        .args(["--proxy-port", "0"])
        .arg("--failed-write-log")
        .arg(log)
        .env_remove(PASSWORD_VAR);
    cmd
}

#[test]
fn help_lists_the_pkcs12_flags_without_the_password() {
    let out = Command::new(BIN)
        .arg("--help")
        .env(PASSWORD_VAR, "hunter2-secret")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--proxy-tls-pkcs12 <FILE>",
        "--proxy-tls-pkcs12-password <PASSWORD>",
        "--proxy-tls-pkcs12-password-file <FILE>",
        PASSWORD_VAR,
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
    assert!(!help.contains("hunter2-secret"), "{help}");
}

#[test]
fn the_proxy_presents_the_pkcs12_identity() {
    let pki = TestPki::generate(&["127.0.0.1"]);
    let dir = temp_dir("cli-pkcs12");
    let p12 = dir.join("proxy.p12");
    export(&pki, &p12, "store pass");
    let password_file = dir.join("password");
    std::fs::write(&password_file, "store pass\n").unwrap();
    // The password from the variable, then from the file (the variable
    // left empty must not hide it).
    for (var, file) in [("store pass", None), ("", Some(&password_file))] {
        let mut cmd = proxy(&dir.join("failed.log"));
        cmd.arg("--proxy-tls-pkcs12")
            .arg(&p12)
            .env(PASSWORD_VAR, var);
        if let Some(file) = file {
            cmd.arg("--proxy-tls-pkcs12-password-file").arg(file);
        }
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let listening = lines
            .by_ref()
            .map_while(Result::ok)
            .inspect(|l| seen.push(l.clone()))
            .find(|l| l.contains("ferry-proxy listening"));
        // "... listen=127.0.0.1:PORT tls=true ..."
        let address = listening.as_deref().and_then(|l| {
            let rest = l.split_once("listen=")?.1;
            rest.split_whitespace().next().map(str::to_owned)
        });
        let handshake = address.map(|address| {
            let out = Command::new("openssl")
                .args(["s_client", "-connect", &address])
                .arg("-CAfile")
                .arg(&pki.ca_cert)
                .args(["-verify_return_error", "-verify_ip", "127.0.0.1"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        });
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        child.wait().unwrap();
        let handshake = handshake.unwrap_or_else(|| panic!("not listening: {seen:?}"));
        assert!(
            handshake.contains("Verify return code: 0 (ok)"),
            "the certificate from the PKCS#12 file is served and trusted: {handshake}"
        );
        assert!(!rest.iter().any(|l| l.contains("store pass")), "{rest:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn wrong_passwords_and_two_identities_are_refused() {
    let pki = TestPki::generate(&["127.0.0.1"]);
    let dir = temp_dir("cli-pkcs12-bad");
    let p12 = dir.join("proxy.p12");
    export(&pki, &p12, "right");
    let out = proxy(&dir.join("failed.log"))
        .arg("--proxy-tls-pkcs12")
        .arg(&p12)
        .env(PASSWORD_VAR, "wrong")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--proxy-tls-pkcs12") && err.contains(p12.to_str().unwrap()),
        "{err}"
    );
    assert!(err.contains("wrong password"), "{err}");

    let out = proxy(&dir.join("failed.log"))
        .arg("--proxy-tls-pkcs12")
        .arg(&p12)
        .arg("--proxy-tls-cert")
        .arg(&pki.server_cert)
        .arg("--proxy-tls-key")
        .arg(&pki.server_key)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--proxy-tls-pkcs12") && err.contains("--proxy-tls-cert"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
