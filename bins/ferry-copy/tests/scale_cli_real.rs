//! Two `ferry-copy` processes sharing one job through the progress table,
//! one of them killed with SIGKILL in the middle, against real Cassandra
//! 2.1 nodes.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_copier::progress_table::{ProgressTable, RangeState};
use support::{assert_same_rows, temp_dir};

const BIN: &str = env!("CARGO_BIN_EXE_ferry-copy");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_ranges_are_finished_by_the_other_and_done_ranges_are_not_redone() {
    let (source, target, ks) = support::source_and_target("cli_scale").await;
    let name = ks.name.clone();
    let n = 4000u32;
    support::list_table_t(&ks, &source, n).await;
    let progress_table = format!("{name}.ferry_progress");
    // Created up front (docs/bulk-copy.md: before starting many workers).
    let reader = ProgressTable::open(
        &target,
        &progress_table,
        "shared",
        "test-reader",
        Duration::from_secs(3),
    )
    .await
    .unwrap();

    let dir = temp_dir("cli_scale");
    let summary = dir.join("summary-b.json");
    let mut common = support::copy_args(&name, "48");
    common.extend([
        "--progress-table",
        &progress_table,
        "--job-id",
        "shared",
        "--claim-lease",
        "3",
        "--concurrency",
        "2",
        "--quiet",
    ]);
    let spawn = |worker: &str, extra: &[&str]| {
        Command::new(BIN)
            .args(&common)
            .args(["--worker-id", worker, "--rate-limit", "400"])
            .args(extra)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut a = spawn("A", &[]);
    let mut b = spawn("B", &["--summary-json", summary.to_str().unwrap()]);

    let states = |rows: Vec<RangeState>| -> BTreeMap<usize, RangeState> {
        rows.into_iter().map(|s| (s.index, s)).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = states(reader.states("t", 200).await.unwrap());
        let a_done = now
            .values()
            .filter(|s| s.done && s.done_by.as_deref() == Some("A"))
            .count();
        let a_busy = now
            .values()
            .any(|s| !s.done && s.owner.as_deref() == Some("A"));
        // Kill A while it holds a range, after it recorded some.
        if a_done >= 3 && a_busy {
            break;
        }
        assert!(Instant::now() < deadline, "A did no range within 2 minutes");
        assert!(
            a.try_wait().unwrap().is_none(),
            "A finished before the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    let at_kill = states(reader.states("t", 200).await.unwrap());
    let done_at_kill: BTreeMap<usize, RangeState> = at_kill
        .iter()
        .filter(|(_, s)| s.done)
        .map(|(i, s)| (*i, s.clone()))
        .collect();
    let held_by_a: Vec<usize> = at_kill
        .values()
        .filter(|s| !s.done && s.owner.as_deref() == Some("A"))
        .map(|s| s.index)
        .collect();

    let status = tokio::task::spawn_blocking(move || b.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "B: {status}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["status"], "complete");
    assert_eq!(json["ranges_done"], json["ranges_total"]);
    let total = json["ranges_total"].as_u64().unwrap() as usize;

    let after = states(reader.states("t", 200).await.unwrap());
    assert_eq!(after.len(), total, "every range has a row");
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    let mut taken_over = 0;
    for (index, s) in &after {
        assert!(s.done, "range {index} not done");
        *by.entry(s.done_by.clone().unwrap()).or_default() += 1;
        match done_at_kill.get(index) {
            // Done before the kill: untouched since (same claim, same
            // worker, same finishing time).
            Some(before) => assert_eq!(s, before, "range {index} redone"),
            None if held_by_a.contains(index) => {
                // Taken over by B after the lease; or A's "done" was in
                // flight at the kill and its Paxos round still completed
                // on the server (the range was fully copied by then).
                let who = (s.done_by.as_deref(), s.claims);
                assert!(
                    who == (Some("B"), 2) || who == (Some("A"), 1),
                    "range {index}: {s:?}"
                );
                if who.0 == Some("B") {
                    taken_over += 1;
                }
            }
            None => {
                // B's own, or one A claimed just before the kill (its
                // claim landed after the snapshot) and B took over.
                assert_eq!(s.done_by.as_deref(), Some("B"), "range {index}");
                if s.claims == 2 {
                    taken_over += 1;
                }
            }
        }
    }
    assert!(by["A"] >= 3 && by["B"] >= 1, "{by:?}");
    let landed_late = after
        .iter()
        .filter(|(i, s)| !done_at_kill.contains_key(i) && s.done_by.as_deref() == Some("A"))
        .count();
    // A's ranges in flight at the kill: taken over by B after the lease
    // (claims 2), unless A's last "done" still landed.
    assert!(
        taken_over + landed_late >= 1,
        "A held a range at the kill: {at_kill:?}"
    );
    eprintln!(
        "{} ranges done at the kill, {} in flight, {taken_over} taken over by B, {landed_late} recorded by A after the kill",
        done_at_kill.len(),
        held_by_a.len()
    );
    assert_eq!(
        after.values().map(|s| s.rows).sum::<u64>(),
        u64::from(n),
        "each range's rows counted once"
    );
    // Complete, and the in-flight ranges redone by B (lists at a later
    // timestamp) left no duplicates.
    assert_eq!(
        assert_same_rows(&source, &target, &name, "t", 2).await,
        n as usize
    );
}

#[test]
fn help_explains_the_scale_out_and_filter_flags() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--progress-table",
        "--job-id",
        "--worker-id",
        "--claim-lease",
        "--token-range",
        "--written-after",
        "--written-before",
        "--columns",
        "--target-table",
        "--rename-column",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    // The unit pitfall is explained where the flag is.
    assert!(help.contains("MICROseconds"), "{help}");
}

#[test]
fn ambiguous_writetimes_and_unplaced_filters_are_refused_before_connecting() {
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["--source", "127.0.0.8", "--target", "127.0.0.9"])
            .args(["--disable-source-tls", "--disable-target-tls", "-k", "ks"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["-t", "t", "--written-after", "1700000000"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--written-after 1700000000 looks like seconds")
            && err.contains("1700000000000000"),
        "{err}"
    );
    let (code, err) = run(&["-t", "t", "--written-before", "1700000000000"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("looks like milliseconds"), "{err}");
    let (code, err) = run(&[
        "-t",
        "t",
        "--written-after",
        "2026-01-02T00:00:00Z",
        "--written-before",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("the window is empty"), "{err}");
    let (code, err) = run(&["-t", "a", "-t", "b", "--rename-column", "x=y"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("say which table"), "{err}");
    let (code, err) = run(&["--token-range", "12"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--token-range") && err.contains("START:END"),
        "{err}"
    );
}
