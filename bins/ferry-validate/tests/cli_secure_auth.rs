//! `ferry-validate` against clusters that need a login or TLS: the `auth`
//! group (PasswordAuthenticator) as the source and the `secure` group
//! (TLS only) as the target. Credentials come from the environment or a
//! file; wrong credentials and a missing or unreadable CA are errors
//! (exit 2) that name the flag to fix.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ferry_conn::session::{Session, SessionConfig};
use ferry_conn::{ConnectionConfig, TlsOptions};
use ferry_testkit::NodeGroup;
use ferry_wire::types::CqlValue;

mod support;

use support::{json, stderr, text};

const BIN: &str = env!("CARGO_BIN_EXE_ferry-validate");

/// The clusters, plus the source's login and the target's CA.
struct Setup {
    clusters: support::Clusters,
    username: String,
    password: String,
    ca: PathBuf,
}

impl std::ops::Deref for Setup {
    type Target = support::Clusters;

    fn deref(&self) -> &support::Clusters {
        &self.clusters
    }
}

fn session_config(group: &NodeGroup) -> SessionConfig {
    let mut connection = ConnectionConfig::new("").with_request_timeout(Duration::from_secs(30));
    if let Some(c) = &group.credentials {
        connection = connection.with_credentials(&c.username, &c.password);
    }
    if let Some(ca) = &group.tls_ca {
        connection = connection.with_tls(TlsOptions::new(ca));
    }
    SessionConfig::new([group.first().socket_addr().to_string()]).with_connection(connection)
}

async fn setup() -> Setup {
    let (auth, secure) = (NodeGroup::require("auth"), NodeGroup::require("secure"));
    let creds = auth
        .credentials
        .clone()
        .expect("the auth group has credentials");
    let ca = secure.tls_ca.clone().expect("the secure group has a CA");
    let (source, target) = tokio::join!(
        Session::connect(session_config(&auth)),
        Session::connect(session_config(&secure))
    );
    let (source, target) = (source.expect("auth session"), target.expect("TLS session"));
    let clusters = support::Clusters::create(
        "cli_secure_auth",
        (source, auth.first().socket_addr().to_string()),
        (target, secure.first().socket_addr().to_string()),
        "k int, c int, v text, PRIMARY KEY (k, c)",
    )
    .await;
    Setup {
        clusters,
        username: creds.username,
        password: creds.password,
        ca,
    }
}

impl Setup {
    async fn write(&self, session: &Session, k: i32, c: i32, v: &str, timestamp: i64) {
        let cql = format!(
            "INSERT INTO {}.t (k, c, v) VALUES (?, ?, ?) USING TIMESTAMP {timestamp}",
            self.keyspace
        );
        let values = vec![
            CqlValue::Int(k),
            CqlValue::Int(c),
            CqlValue::from(v.to_owned()),
        ];
        support::write(session, &cql, values).await;
    }

    /// The binary with both clusters and the table, and no `FERRY_*`
    /// credentials inherited from the caller's environment.
    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        for var in [
            "FERRY_SOURCE_USERNAME",
            "FERRY_SOURCE_PASSWORD",
            "FERRY_TARGET_USERNAME",
            "FERRY_TARGET_PASSWORD",
        ] {
            cmd.env_remove(var);
        }
        cmd.args([
            "--source",
            &self.source_addr,
            "--target",
            &self.target_addr,
            "--table",
            &format!("{}.t", self.keyspace),
            "--recheck-delay",
            "0.2",
            "--request-timeout",
            "10",
        ]);
        cmd
    }

    fn ca(&self) -> &str {
        self.ca.to_str().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_tls_clusters_are_validated_and_bad_settings_name_the_flag() {
    let s = std::sync::Arc::new(setup().await);
    support::run_then_clean_up(body(s.clone()), s.teardown()).await;
}

/// A refused run: what is wrong, its environment, its arguments, and the
/// text its stderr must contain.
type BadSettings<'a> = (&'a str, &'a [(&'a str, &'a str)], Vec<&'a str>, &'a str);

async fn body(s: std::sync::Arc<Setup>) {
    for k in 0..40 {
        for c in 0..5 {
            s.write(&s.source, k, c, "same", 1000).await;
            s.write(&s.target, k, c, "same", 1000).await;
        }
    }
    let report = s.dir.join("report.json");

    // Password from the environment, TLS with the CA: equal, exit 0.
    let out = s
        .command()
        .env("FERRY_SOURCE_USERNAME", &s.username)
        .env("FERRY_SOURCE_PASSWORD", &s.password)
        .args([
            "--target-ca",
            s.ca(),
            "--report-json",
            report.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&report);
    assert_eq!(r["totals"]["matched"], 200, "{r}");
    assert_eq!(r["tables"][0]["counts"]["source_rows"], 200);
    assert_eq!(r["tables"][0]["counts"]["target_rows"], 200);

    // A difference on the TLS target; password from a file this time.
    s.write(&s.target, 7, 3, "changed", 2000).await;
    let password_file = s.dir.join("source.pass");
    std::fs::write(&password_file, format!("{}\n", s.password)).unwrap();
    let out = s
        .command()
        .args([
            "--source-username",
            &s.username,
            "--source-password-file",
            password_file.to_str().unwrap(),
            "--target-ca",
            s.ca(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("k=7, c=3") && stdout.contains("'changed'"),
        "{}",
        text(&out)
    );

    // Bad settings: exit 2, and stderr names the flag to fix. Each case:
    // what is wrong, its environment, its arguments, the expected text.
    let missing = s.dir.join("nope.pass");
    let no_ca = s.dir.join("no-ca.pem");
    // A CA that did not sign the target's certificate (any other PEM
    // certificate would do; a file that is not a CA at all is refused too).
    let bogus = s.dir.join("bogus.pem");
    std::fs::write(&bogus, "not a certificate\n").unwrap();
    let login = [
        ("FERRY_SOURCE_USERNAME", s.username.as_str()),
        ("FERRY_SOURCE_PASSWORD", s.password.as_str()),
    ];
    let no_ca_named = format!("check --target-ca {}", no_ca.display());
    let cases: [BadSettings; 6] = [
        (
            "wrong password: names the credentials flags",
            &[("FERRY_SOURCE_PASSWORD", "wrong")],
            vec!["--source-username", &s.username, "--target-ca", s.ca()],
            "refused the login: check --source-username",
        ),
        (
            "no credentials at all",
            &[],
            vec!["--target-ca", s.ca()],
            "requires a login: pass --source-username",
        ),
        (
            "a password file that does not exist",
            &[],
            vec![
                "--source-username",
                &s.username,
                "--source-password-file",
                missing.to_str().unwrap(),
                "--target-ca",
                s.ca(),
            ],
            "--source-password-file",
        ),
        (
            "the TLS-only target without a CA: plain text is refused",
            &login,
            vec![],
            "requires TLS, pass the CA that signed its certificate with --target-ca",
        ),
        (
            "a CA file that does not exist",
            &login,
            vec!["--target-ca", no_ca.to_str().unwrap()],
            &no_ca_named,
        ),
        (
            "a CA that did not sign the target's certificate",
            &login,
            vec!["--target-ca", bogus.to_str().unwrap()],
            "--target-ca",
        ),
    ];
    for (case, env, args, expected) in cases {
        let out = s
            .command()
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{case}: {}", text(&out));
        assert!(stderr(&out).contains(expected), "{case}: {}", text(&out));
    }
}
