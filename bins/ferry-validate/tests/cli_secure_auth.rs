//! `ferry-validate` against clusters that need a login or TLS: the `auth`
//! group (PasswordAuthenticator) as the source and the `secure` group
//! (TLS only) as the target. Credentials come from the environment or a
//! file; wrong credentials and a missing or unreadable CA are errors
//! (exit 2) that name the flag to fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ferry_conn::session::{QueryOptions, Session, SessionConfig};
use ferry_conn::{ConnectionConfig, TlsOptions};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-validate");

struct Setup {
    source: Session,
    target: Session,
    source_addr: String,
    target_addr: String,
    username: String,
    password: String,
    ca: PathBuf,
    keyspace: String,
    dir: PathBuf,
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

async fn ddl(session: &Session, cql: &str) {
    session
        .query(
            cql,
            (),
            QueryOptions::new().with_consistency(Consistency::All),
        )
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"));
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
    let keyspace = unique_keyspace_name("cli_secure_auth");
    for session in [&source, &target] {
        ddl(session, &format!("CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")).await;
        ddl(
            session,
            &format!("CREATE TABLE {keyspace}.t (k int, c int, v text, PRIMARY KEY (k, c))"),
        )
        .await;
    }
    let dir = std::env::temp_dir().join(&keyspace);
    std::fs::create_dir_all(&dir).unwrap();
    Setup {
        source,
        target,
        source_addr: auth.first().socket_addr().to_string(),
        target_addr: secure.first().socket_addr().to_string(),
        username: creds.username,
        password: creds.password,
        ca,
        keyspace,
        dir,
    }
}

impl Setup {
    async fn write(&self, session: &Session, k: i32, c: i32, v: &str, timestamp: i64) {
        let cql = format!(
            "INSERT INTO {}.t (k, c, v) VALUES (?, ?, ?) USING TIMESTAMP {timestamp}",
            self.keyspace
        );
        session
            .query(
                &cql,
                vec![
                    CqlValue::Int(k),
                    CqlValue::Int(c),
                    CqlValue::from(v.to_owned()),
                ],
                QueryOptions::new().with_consistency(Consistency::All),
            )
            .await
            .unwrap_or_else(|e| panic!("{cql}: {e}"));
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

    async fn teardown(&self) {
        for session in [&self.source, &self.target] {
            ddl(session, &format!("DROP KEYSPACE {}", self.keyspace)).await;
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_tls_clusters_are_validated_and_bad_settings_name_the_flag() {
    let s = std::sync::Arc::new(setup().await);
    let outcome = tokio::spawn(body(s.clone())).await;
    s.teardown().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

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

    // Wrong password: exit 2, naming the credentials flags.
    let out = s
        .command()
        .env("FERRY_SOURCE_PASSWORD", "wrong")
        .args(["--source-username", &s.username, "--target-ca", s.ca()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("refused the login: check --source-username"),
        "{}",
        text(&out)
    );

    // No credentials at all.
    let out = s.command().args(["--target-ca", s.ca()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("requires a login: pass --source-username"),
        "{}",
        text(&out)
    );

    // A password file that does not exist.
    let missing = s.dir.join("nope.pass");
    let out = s
        .command()
        .args([
            "--source-username",
            &s.username,
            "--source-password-file",
            missing.to_str().unwrap(),
            "--target-ca",
            s.ca(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("--source-password-file"),
        "{}",
        text(&out)
    );

    // The TLS-only target without a CA: plain text is refused.
    let out = s
        .command()
        .env("FERRY_SOURCE_USERNAME", &s.username)
        .env("FERRY_SOURCE_PASSWORD", &s.password)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out)
            .contains("requires TLS, pass the CA that signed its certificate with --target-ca"),
        "{}",
        text(&out)
    );

    // A CA file that does not exist.
    let no_ca = s.dir.join("no-ca.pem");
    let out = s
        .command()
        .env("FERRY_SOURCE_USERNAME", &s.username)
        .env("FERRY_SOURCE_PASSWORD", &s.password)
        .args(["--target-ca", no_ca.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains(&format!("check --target-ca {}", no_ca.display())),
        "{}",
        text(&out)
    );

    // A CA that did not sign the target's certificate (any other PEM
    // certificate would do; a file that is not a CA at all is refused too).
    let bogus = s.dir.join("bogus.pem");
    std::fs::write(&bogus, "not a certificate\n").unwrap();
    let out = s
        .command()
        .env("FERRY_SOURCE_USERNAME", &s.username)
        .env("FERRY_SOURCE_PASSWORD", &s.password)
        .args(["--target-ca", bogus.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("--target-ca"), "{}", text(&out));
}
