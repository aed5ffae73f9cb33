//! The `ferry-proxy` binary: its help, its refusals, and a real run in
//! front of the `source` and `target` groups, stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ferry-proxy");

#[test]
fn help_explains_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--source-port",
        "--target-port",
        "--proxy-port",
        "--bind",
        "--disable-source-tls",
        "--disable-target-tls",
        "--source-ca",
        "--target-ca",
        "--target-username",
        "--target-password",
        "--target-password-file",
        "--protocol-version",
        "--cql-version",
        "--write-mode",
        "--queue-capacity",
        "--full-queue",
        "--failed-write-log",
        "--config",
        "--metrics-port",
        "--proxy-tls-cert",
        "--proxy-tls-key",
        "--proxy-tls-client-ca",
        "--primary",
        "--source-failed-write-log",
        "--health-interval-ms",
        "/health/ready",
        "/primary?cluster=",
        "FERRY_TARGET_PASSWORD",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
    let replay = Command::new(BIN)
        .args(["replay", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&replay.stdout).contains("--skip-non-idempotent"));
}

#[test]
fn tls_without_a_ca_is_refused_with_what_to_do() {
    let out = Command::new(BIN)
        .args(["10.0.0.1", "10.0.0.2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--source-ca") && err.contains("--disable-source-tls"),
        "{err}"
    );
}

#[test]
fn unknown_config_keys_are_refused() {
    let dir = std::env::temp_dir().join(format!("ferry-proxy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("proxy.toml");
    std::fs::write(
        &file,
        "source = \"a\"\ntarget = \"b\"\nwrite_mdoe = \"sync\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write_mdoe"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn runs_in_front_of_real_nodes_and_stops_cleanly_on_sigterm() {
    let source = ferry_testkit::NodeGroup::require("source");
    let target = ferry_testkit::NodeGroup::require("target");
    let dir = std::env::temp_dir().join(format!("ferry-proxy-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let config = dir.join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            "source = \"{}\"\ntarget = \"{}\"\ndisable_source_tls = true\ndisable_target_tls = true\n\
             failed_write_log = \"{}\"\nwrite_mode = \"sync\"\n",
            source.first().address,
            target.first().address,
            dir.join("failed.log").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--proxy-port", &port.to_string(), "--log-level", "info"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for "listening", collecting the startup check's report.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let line = lines.next().expect("proxy output").unwrap();
        let listening = line.contains("ferry-proxy listening");
        seen.push(line);
        if listening {
            break;
        }
    }
    let text = seen.join("\n");
    assert!(text.contains("Cassandra 2.1.0"), "{text}");
    assert!(text.contains("max_protocol_version=v3"), "{text}");

    let ks = ferry_testkit::unique_keyspace_name("cli_run");
    let out = Command::new(&source.python)
        .arg("-c")
        .arg(format!(
            "from cassandra.cluster import Cluster\n\
             c = Cluster(['127.0.0.1'], port={port}); s = c.connect()\n\
             s.execute(\"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}\")\n\
             s.execute('CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)')\n\
             s.execute('INSERT INTO {ks}.t (k, v) VALUES (1, 2)')\n\
             c.shutdown()\n"
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Sync mode: the write is on the target once the client has its answer.
    let rows = target
        .cql_exec(
            target.first(),
            &[&format!("SELECT v FROM {ks}.t WHERE k = 1")],
        )
        .unwrap();
    assert_eq!(rows[0].rows, vec![vec![serde_json::json!(2)]]);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("ferry-proxy stopped")),
        "{rest:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// One HTTP request to the admin endpoint: (status, body).
fn http(port: u16, method: &str, path: &str) -> (u16, String) {
    ferry_testkit::http::request_blocking(([127, 0, 0, 1], port).into(), method, path)
}

/// The cutover interfaces of the binary: client TLS, /health/ready, the
/// primary switch over HTTP, and a TLS client's write served by the target
/// and mirrored to the source.
#[test]
fn tls_health_and_primary_switch_over_http() {
    let source = ferry_testkit::NodeGroup::require("source");
    let target = ferry_testkit::NodeGroup::require("target");
    let pki = ferry_testkit::fake_server::TestPki::generate(&["127.0.0.1"]);
    let dir = std::env::temp_dir().join(format!("ferry-proxy-cutover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (port, admin) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .arg(source.first().address.to_string())
        .arg(target.first().address.to_string())
        .args(["--disable-source-tls", "--disable-target-tls"])
        .args(["--proxy-port", &port.to_string()])
        .args(["--metrics-port", &admin.to_string()])
        .args(["--health-interval-ms", "200"])
        .arg("--proxy-tls-cert")
        .arg(&pki.server_cert)
        .arg("--proxy-tls-key")
        .arg(&pki.server_key)
        .arg("--failed-write-log")
        .arg(dir.join("failed.log"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let line = lines.next().expect("proxy output").unwrap();
        if line.contains("health on /health/live") {
            break;
        }
    }
    // Keep reading stderr so the proxy never blocks on a full pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = http(admin, "GET", "/health/ready");
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready: {status} {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = http(admin, "POST", "/primary?cluster=target");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"primary\":\"target\""), "{body}");
    assert!(body.contains("\"switch_seconds\":"), "{body}");
    let (_, metrics) = http(admin, "GET", "/metrics");
    assert!(
        metrics.contains("ferry_proxy_primary{cluster=\"target\"} 1"),
        "{metrics}"
    );

    let ks = ferry_testkit::unique_keyspace_name("cli_cutover");
    let out = Command::new(&source.python)
        .arg("-c")
        .arg(format!(
            "import ssl\n\
             from cassandra.cluster import Cluster\n\
             ctx = ssl.create_default_context(cafile='{ca}')\n\
             c = Cluster(['127.0.0.1'], port={port}, ssl_context=ctx, ssl_options={{'server_hostname': '127.0.0.1'}}); s = c.connect()\n\
             s.execute(\"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}\")\n\
             s.execute('CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)')\n\
             s.execute('INSERT INTO {ks}.t (k, v) VALUES (1, 2)')\n\
             c.shutdown()\n",
            ca = pki.ca_cert.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Served by the target; mirrored to the source (async: poll briefly).
    let query = format!("SELECT v, WRITETIME(v) FROM {ks}.t WHERE k = 1");
    let on_target = target.cql_exec(target.first(), &[&query]).unwrap();
    assert_eq!(on_target[0].rows.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    let on_source = loop {
        let rows = source.cql_exec(source.first(), &[&query]).unwrap();
        if !rows[0].rows.is_empty() || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        on_source[0].rows, on_target[0].rows,
        "same value and write time"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let rest = drain.join().unwrap();
    assert!(
        rest.iter().any(|l| l.contains("primary switched")),
        "{rest:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
