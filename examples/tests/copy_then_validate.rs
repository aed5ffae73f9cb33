//! Runs the example program against the real `source` and `target` node
//! groups: a table copied and validated equal (exit 0, every row counted),
//! then a row only on the target found as a difference (exit 1).

use std::process::Command;

use ferry_conn::{QueryOptions, Session, SessionConfig};
use ferry_testkit::{unique_keyspace_name, NodeGroup};

fn run_example(source: &str, target: &str, keyspace: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_copy_then_validate"))
        .args([source, target, keyspace, "items"])
        .output()
        .expect("the example program runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some(),
        "killed by a signal; stderr: {stderr}"
    );
    (out.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_copies_a_table_and_validates_it() {
    let source_group = NodeGroup::require("source");
    let target_group = NodeGroup::require("target");
    let (source_addr, target_addr) = (
        source_group.first().socket_addr().to_string(),
        target_group.first().socket_addr().to_string(),
    );
    let ks = unique_keyspace_name("example_copy_validate");
    let source = Session::connect(SessionConfig::new([source_addr.clone()]))
        .await
        .expect("connect to source");
    let target = Session::connect(SessionConfig::new([target_addr.clone()]))
        .await
        .expect("connect to target");
    let q = QueryOptions::default;
    for session in [&source, &target] {
        session
            .query(
                &format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
                (),
                q(),
            )
            .await
            .expect("create keyspace");
        session
            .query(
                &format!("CREATE TABLE {ks}.items (k int, c int, v text, PRIMARY KEY (k, c))"),
                (),
                q(),
            )
            .await
            .expect("create table");
    }
    let rows = 300;
    for i in 0..rows {
        source
            .query(
                &format!(
                    "INSERT INTO {ks}.items (k, c, v) VALUES ({}, {}, 'v{i}')",
                    i / 10,
                    i % 10
                ),
                (),
                q(),
            )
            .await
            .expect("insert on the source");
    }

    let (code, output) = run_example(&source_addr, &target_addr, &ks);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains(&format!(
            "{ks}.items: copied {rows} rows; validated {rows} rows compared, 0 differences (exit 0)"
        )),
        "{output}"
    );

    // A row only on the target: the example must report it.
    target
        .query(
            &format!("INSERT INTO {ks}.items (k, c, v) VALUES (100000, 1, 'extra')"),
            (),
            q(),
        )
        .await
        .expect("insert on the target");
    let (code, output) = run_example(&source_addr, &target_addr, &ks);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!(
            "validated {} rows compared, 1 differences (exit 1)",
            rows + 1
        )),
        "{output}"
    );

    for session in [&source, &target] {
        let _ = session.query(&format!("DROP KEYSPACE {ks}"), (), q()).await;
        session.close().await;
    }
}
