//! The `ferry-copy` command against real Cassandra 2.1 nodes: a copy
//! killed with SIGKILL and run again, a config file, and bad input
//! (unreachable node, wrong credentials, TLS without a CA).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ferry_copier::progress::{ProgressFile, Record};
use support::{assert_same_rows, exec, temp_dir};

const BIN: &str = env!("CARGO_BIN_EXE_ferry-copy");

fn ferry_copy(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("FERRY_SOURCE_PASSWORD")
        .env_remove("FERRY_TARGET_PASSWORD")
        .output()
        .expect("run ferry-copy")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn range_lines(progress: &Path) -> usize {
    std::fs::read_to_string(progress)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"record\":\"range\""))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_killed_with_sigkill_completes_when_run_again_without_redoing_ranges() {
    let (source, target, ks) = support::source_and_target("cli_sigkill").await;
    let name = ks.name.clone();
    let n = 4000u32;
    support::list_table_t(&ks, &source, n).await;

    let dir = temp_dir("cli_sigkill");
    let progress = dir.join("progress.jsonl");
    let summary = dir.join("summary.json");
    let mut common = support::copy_args(&name, "64");
    common.extend(["--progress", progress.to_str().unwrap()]);
    // Slow enough to be killed in the middle: ~4000 rows at 800 rows/s.
    let mut child = Command::new(BIN)
        .args(&common)
        .args(["--rate-limit", "800", "--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while range_lines(&progress) < 8 {
        assert!(Instant::now() < deadline, "no progress within a minute");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = ProgressFile::read(&progress).unwrap();
    let done_before = before.done.clone();
    assert!(
        done_before.len() >= 8 && done_before.len() < 64,
        "{} ranges before the kill",
        done_before.len()
    );

    let out = ferry_copy(&[&common[..], &["--summary-json", summary.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("copy complete"), "{stdout}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["status"], "complete");
    assert_eq!(json["run"], 1);
    assert_eq!(
        json["ranges_skipped"].as_u64().unwrap(),
        done_before.len() as u64
    );
    assert_eq!(json["ranges_done"], json["ranges_total"]);

    let after = ProgressFile::read(&progress).unwrap();
    let mut runs: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for r in &after.range_records {
        if let Record::Range { run, index, .. } = r {
            runs.entry(*index).or_default().push(*run);
        }
    }
    assert_eq!(runs.len(), after.plans["t"].len(), "every range done");
    for (index, r) in &runs {
        assert_eq!(r.len(), 1, "range {index} recorded by runs {r:?}");
        assert_eq!(
            r[0] == 0,
            done_before.contains(&("t".to_owned(), *index)),
            "range {index}"
        );
    }
    // Complete, and the ranges in flight at the kill were redone without
    // duplicating list elements.
    assert_eq!(
        assert_same_rows(&source, &target, &name, "t", 2).await,
        n as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_come_from_a_config_file_and_the_command_line_wins() {
    let (source, target, ks) = support::source_and_target("cli_config").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int PRIMARY KEY, v text)"
    ))
    .await;
    for k in 0..50 {
        exec(
            &source,
            &format!("INSERT INTO {name}.t (k, v) VALUES ({k}, 'v')"),
        )
        .await;
    }
    let dir = temp_dir("cli_config");
    let config = dir.join("copy.toml");
    std::fs::write(
        &config,
        format!(
            r#"
source = "127.0.0.8"
target = "127.0.0.99"
disable-source-tls = true
disable-target-tls = true
keyspace = "{name}"
table = ["t"]
consistency-read = "ONE"
consistency-write = "ONE"
progress = "{}"
"#,
            dir.join("p.jsonl").display()
        ),
    )
    .unwrap();
    // The file's target is wrong; the command line corrects it.
    let out = ferry_copy(&[
        "--config",
        config.to_str().unwrap(),
        "--target",
        "127.0.0.9",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("p.jsonl").exists());
    assert_eq!(assert_same_rows(&source, &target, &name, "t", 1).await, 50);

    let out = ferry_copy(&["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot connect to the target cluster (127.0.0.99:9042)"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&config, "sorce = \"x\"\n").unwrap();
    let out = ferry_copy(&["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown field `sorce`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unreachable_nodes_wrong_credentials_and_missing_tls_settings_are_named() {
    let plain = [
        "--disable-source-tls",
        "--disable-target-tls",
        "--keyspace",
        "ks",
    ];

    let out = ferry_copy(
        &[
            &["--source", "127.0.0.99", "--target", "127.0.0.9"][..],
            &plain,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("cannot connect to the source cluster (127.0.0.99:9042)")
            && e.contains("Connection refused"),
        "{e}"
    );
    assert_eq!(e.matches("Connection refused").count(), 1, "said once: {e}");

    let auth = ferry_testkit::NodeGroup::require("auth");
    let host = auth.first().address.to_string();
    let out = ferry_copy(
        &[
            &[
                "--source",
                &host,
                "--target",
                "127.0.0.9",
                "--source-username",
                "cassandra",
                "--source-password",
                "wrong",
            ][..],
            &plain,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains(&format!(
            "cannot connect to the source cluster ({host}:9042)"
        )) && e.contains("bad credentials for user \"cassandra\""),
        "{e}"
    );

    let out = ferry_copy(&[&["--source", "127.0.0.8", "--target", &host], &plain[..]].concat());
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("cannot connect to the target cluster") && e.contains("requires authentication"),
        "{e}"
    );

    let out = ferry_copy(&[
        "--source",
        "127.0.0.8",
        "--target",
        "127.0.0.9",
        "--keyspace",
        "ks",
        "--disable-target-tls",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("TLS to the source cluster is on by default: give --source-ca FILE"),
        "{}",
        stderr(&out)
    );

    let out = ferry_copy(&["--source", "127.0.0.8", "--target", "127.0.0.9"]);
    assert!(
        stderr(&out).contains("--keyspace is required"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_explains_every_flag() {
    let out = ferry_copy(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--source ",
        "--target ",
        "--source-port",
        "--target-port",
        "--source-username",
        "--source-password",
        "--target-username",
        "--target-password",
        "--disable-source-tls",
        "--disable-target-tls",
        "--source-ca",
        "--target-ca",
        "--keyspace",
        "--table",
        "--consistency-read",
        "--consistency-write",
        "--preserve-writetime",
        "--splits",
        "--concurrency",
        "--page-size",
        "--rate-limit",
        "--max-retries",
        "--progress ",
        "--summary-json",
        "--config",
        "--batch-size",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    assert!(
        !help.contains("--stop-after-ranges"),
        "test-only flag hidden"
    );
}
