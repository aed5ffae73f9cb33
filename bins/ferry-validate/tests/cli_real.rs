//! The `ferry-validate` binary end to end against the real `source` and
//! `target` clusters: exit codes, report files, the config file, sampling,
//! repair.

use std::path::PathBuf;
use std::process::{Command, Output};

use ferry_conn::session::{Session, SessionConfig};
use ferry_testkit::NodeGroup;
use ferry_wire::types::CqlValue;

mod support;

use support::{json, text};

const BIN: &str = env!("CARGO_BIN_EXE_ferry-validate");

type Setup = support::Clusters;

async fn setup(test: &str) -> Setup {
    let (s, t) = (NodeGroup::require("source"), NodeGroup::require("target"));
    let source_addr = s.first().socket_addr().to_string();
    let target_addr = t.first().socket_addr().to_string();
    let source = Session::connect(SessionConfig::new([source_addr.clone()]))
        .await
        .unwrap();
    let target = Session::connect(SessionConfig::new([target_addr.clone()]))
        .await
        .unwrap();
    Setup::create(
        test,
        (source, source_addr),
        (target, target_addr),
        "k int PRIMARY KEY, v text, n int",
    )
    .await
}

impl Setup {
    async fn write(&self, session: &Session, k: i32, v: &str) {
        let cql = format!(
            "INSERT INTO {}.t (k, v, n) VALUES (?, ?, ?) USING TIMESTAMP 1000",
            self.keyspace
        );
        let values = vec![
            CqlValue::Int(k),
            CqlValue::from(v.to_owned()),
            CqlValue::Int(k),
        ];
        support::write(session, &cql, values).await;
    }

    fn run(&self, extra: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "--source",
            &self.source_addr,
            "--target",
            &self.target_addr,
            "--keyspace",
            &self.keyspace,
            "--recheck-delay",
            "0.2",
        ]);
        cmd.args(extra);
        cmd.output().expect("run ferry-validate")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_reports_config_file_sampling_and_repair() {
    let s = std::sync::Arc::new(setup("cli_end_to_end").await);
    // The body runs as a task so the keyspaces are dropped even if it fails.
    support::run_then_clean_up(end_to_end(s.clone()), s.teardown()).await;
}

async fn end_to_end(s: std::sync::Arc<Setup>) {
    for k in 0..300 {
        s.write(&s.source, k, "same").await;
        if k != 42 {
            s.write(&s.target, k, "same").await;
        }
    }

    // Differences: exit 1, with the missing key in JSON and JUnit.
    let (report, junit) = (s.path("r.json"), s.path("j.xml"));
    let out = s.run(&[
        "--table",
        "t",
        "--report-json",
        report.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("k=42"),
        "{}",
        text(&out)
    );
    let r = json(&report);
    assert_eq!(r["status"], "different");
    assert_eq!(r["tables"][0]["counts"]["missing_on_target"], 1);
    assert_eq!(
        r["tables"][0]["differences"][0]["primary_key"][0]["value"],
        "42"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("failures=\"1\"") && xml.contains("k=42"),
        "{xml}"
    );

    // The same through a config file, with a sample of the ranges.
    let config = s.path("v.toml");
    std::fs::write(
        &config,
        format!(
            "source = \"{}\"\ntarget = \"{}\"\ntable = [\"{}.t\"]\nsample = \"50%\"\nsplits = 64\nreport_json = \"{}\"\n",
            s.source_addr, s.target_addr, s.keyspace, report.display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "-q"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let r = json(&report);
    let t = &r["tables"][0];
    assert_eq!(t["sampled_percent"], 50.0);
    let planned = t["ranges_planned"].as_u64().unwrap();
    assert!(
        (30..=36).contains(&planned),
        "half of about 64 pieces: {planned}"
    );
    let compared = t["counts"]["rows_compared"].as_u64().unwrap();
    assert!(
        compared > 50 && compared < 250,
        "about half the rows: {compared}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "quiet: the verdict only"
    );

    // Repair, then validate again: exit 0.
    let out = s.run(&["--table", "t", "--repair"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("repaired 1"),
        "{}",
        text(&out)
    );
    let out = s.run(&[
        "--table",
        "t",
        "--compare-writetime",
        "--report-json",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&report)["totals"]["matched"], 300);

    // Errors: exit 2.
    let out = s.run(&["--table", "no_such_table"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = Command::new(BIN)
        .args([
            "--source",
            "127.0.0.1:1",
            "--target",
            &s.target_addr,
            "-k",
            "ks",
            "--request-timeout",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot connect to the source"),
        "{}",
        text(&out)
    );
    let out = Command::new(BIN).args(["--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["--source", "x", "--target", "y"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "nothing to validate: {}",
        text(&out)
    );

    // Explicit token ranges.
    let out = s.run(&[
        "--table",
        "t",
        "--token-range",
        "0:9223372036854775807",
        "--report-json",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&report);
    assert_eq!(r["tables"][0]["ranges_planned"], 1);
    let half = r["tables"][0]["counts"]["rows_compared"].as_u64().unwrap();
    assert!(half > 90 && half < 210, "{half}");
}
