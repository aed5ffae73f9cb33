//! `--replace-time-functions` end to end on the real `source` and `target`
//! nodes: rows written through the proxy with `now()` and `uuid()` in
//! simple, prepared and batched statements have the same ids on both
//! clusters, and the driver never sees the proxy's extra bind markers.

mod support;

use std::time::Duration;

use ferry_router::WriteMode;
use ferry_testkit::unique_keyspace_name;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_and_uuid_give_the_same_ids_on_both_clusters() {
    same_ids_through_the_proxy(WriteMode::Async).await;
}

/// In sync mode PREPARE runs on both clusters before the client's answer
/// (another code path for hiding the markers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_and_uuid_give_the_same_ids_in_sync_mode_too() {
    same_ids_through_the_proxy(WriteMode::Sync).await;
}

async fn same_ids_through_the_proxy(mode: WriteMode) {
    let (source, target, dir, mut config) = support::real_setup("time_functions");
    config.replace_time_functions = true;
    config.write_mode = mode;
    let proxy = support::start(config).await;
    let port = proxy.local_addr().port();
    let ks = unique_keyspace_name("proxy_time_fns");

    let args = vec!["127.0.0.1".to_string(), port.to_string(), ks.clone()];
    let client = support::run_python_async(&source, "time_functions_client.py", args).await;
    // The driver sees the statements as it wrote them.
    assert_eq!(
        client["bind_columns"],
        json!({"events": ["note"], "items": ["note"], "combo": ["k", "note"]}),
        "{client}"
    );
    // `k` is the partition key of combo, at the client's index 0; events'
    // key is filled by the proxy, so the driver gets no routing key.
    assert_eq!(
        client["routing_key_indexes"]["combo"],
        json!([0]),
        "{client}"
    );
    assert_eq!(
        client["routing_key_indexes"]["events"],
        json!(null),
        "{client}"
    );
    assert_eq!(
        client["counts"],
        json!({"events": 9, "items": 9, "combo": 8}),
        "{client}"
    );

    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    assert_eq!(proxy.metrics().failed_log_records(), 0);
    let checks = vec![
        format!("SELECT id, note, WRITETIME(note) FROM {ks}.events"),
        format!("SELECT id, note, WRITETIME(note) FROM {ks}.items"),
        format!("SELECT k, id, u, note FROM {ks}.combo"),
    ];
    let on_source = support::cql(&source, checks.clone()).await;
    let on_target = support::cql(&target, checks).await;
    for (i, (table, rows)) in [("events", 9), ("items", 9), ("combo", 8)]
        .iter()
        .enumerate()
    {
        let s = support::sorted(&on_source[i]);
        let t = support::sorted(&on_target[i]);
        assert_eq!(s.len(), *rows, "{table} on the source: {s:?}");
        assert_eq!(s, t, "{table} differs between the clusters");
    }
    // The ids are real UUIDs of the right versions, all distinct.
    let mut events: Vec<String> = support::sorted(&on_source[0])
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    assert!(
        events.iter().all(|id| id.as_bytes()[14] == b'1'),
        "{events:?}"
    );
    events.dedup();
    assert_eq!(events.len(), 9);
    let items: Vec<String> = support::sorted(&on_source[1])
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    assert!(
        items.iter().all(|id| id.as_bytes()[14] == b'4'),
        "{items:?}"
    );

    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
