//! A tour of what Ferry can do today against real Cassandra nodes: the
//! first half of a migration (reach any cluster, write, scan every token
//! range exactly once). `scripts/demo.sh` starts the nodes and runs it:
//!
//! ```sh
//! cargo run --release -p ferry-conn --example tour -- 127.0.0.2:9042 127.0.0.3:9042 20000
//! ```
//!
//! Arguments: a single node, a node of a multi-node ring, and a row count.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_conn::session::{QueryOptions, Session, SessionConfig};
use ferry_conn::token::Token;
use ferry_conn::{Connection, ConnectionConfig};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;
use futures::StreamExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn step(n: u32, what: &str) {
    println!("\n\x1b[1m{n}. {what}\x1b[0m");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let single = args.first().map_or("127.0.0.2:9042", String::as_str);
    let ring_node = args.get(1).map_or("127.0.0.3:9042", String::as_str);
    let rows: i32 = match args.get(2) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("row count `{n}` is not a number"))?,
        None => 20_000,
    };

    step(
        1,
        "Protocol negotiation: ask for v5, let the server say what it speaks",
    );
    let conn = Connection::connect(&ConnectionConfig::new(single)).await?;
    for attempt in conn.rejected_versions() {
        println!("   rejected: {attempt:?}");
    }
    println!(
        "   connected to {single} with protocol {} (Cassandra 2.1 speaks v3; it answers newer versions with a server error, which Ferry handles)",
        conn.protocol_version()
    );
    conn.close().await;

    step(2, "Discover a 3-node ring from one contact point");
    let config = SessionConfig::new([ring_node.to_string()])
        .with_connection(ConnectionConfig::new("").with_request_timeout(Duration::from_secs(30)))
        .with_consistency(Consistency::One);
    let session = Session::connect(config).await?;
    let ring = session.ring().ok_or("the cluster reported no token ring")?;
    for node in session.nodes() {
        println!(
            "   node {} ({}/{}), {} tokens, Cassandra {}",
            node.address,
            node.datacenter,
            node.rack,
            node.tokens.len(),
            node.release_version.as_deref().unwrap_or("?")
        );
    }
    let ranges = ring.ranges();
    let covered: u128 = ranges.iter().map(|r| r.range.token_count()).sum();
    println!(
        "   {} primary token ranges covering {covered} ring positions ({})",
        ranges.len(),
        if covered == 1u128 << 64 {
            "all 2^64: no gap, no overlap"
        } else {
            "NOT the whole ring"
        }
    );

    step(
        3,
        &format!("Write {rows} rows with a prepared INSERT, 128 in flight"),
    );
    let ks = format!("ferry_tour_{}", std::process::id());
    let all = QueryOptions::new().with_consistency(Consistency::All);
    session
        .query(
            &format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 2}}"),
            (),
            all.clone(),
        )
        .await?;
    session
        .query(
            &format!("CREATE TABLE {ks}.users (id int PRIMARY KEY, name text, visits bigint)"),
            (),
            all.clone(),
        )
        .await?;
    let insert = session
        .prepare(&format!(
            "INSERT INTO {ks}.users (id, name, visits) VALUES (?, ?, ?)"
        ))
        .await?;
    let started = Instant::now();
    let insert = Arc::new(insert);
    let results = futures::stream::iter(0..rows)
        .map(|id| {
            let (session, insert) = (session.clone(), insert.clone());
            async move {
                let values = vec![
                    CqlValue::Int(id),
                    CqlValue::Text(format!("user-{id}").into()),
                    CqlValue::Bigint(i64::from(id) * 7),
                ];
                session.execute(&insert, values, QueryOptions::new()).await
            }
        })
        .buffer_unordered(128)
        .collect::<Vec<_>>()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "   {} rows written in {secs:.2} s ({:.0} rows/s), {failed} failed",
        rows as usize - failed,
        f64::from(rows) / secs
    );
    if failed > 0 {
        return Err(format!("{failed} writes failed").into());
    }

    step(
        4,
        "Scan the table range by range, each range from a replica that owns it",
    );
    let started = Instant::now();
    let mut seen = HashSet::new();
    let mut duplicates = 0usize;
    let mut token_checked = 0usize;
    let partitioner = session.partitioner().ok_or("unknown partitioner")?;
    for primary in &ranges {
        let mut stream = session
            .scan_range(&ks, "users", &["id"], &primary.range, QueryOptions::new())
            .await?;
        while let Some(row) = stream.next().await {
            let row = row?;
            let Some(CqlValue::Int(id)) = row.get(0) else {
                return Err("row without an id".into());
            };
            if !seen.insert(*id) {
                duplicates += 1;
            }
        }
    }
    println!(
        "   {} distinct rows, {duplicates} seen twice, in {:.2} s",
        seen.len(),
        started.elapsed().as_secs_f64()
    );

    step(
        5,
        "Ferry's Murmur3 against the server's token() for 1,000 keys",
    );
    let mut sample = session.query_stream(
        &format!("SELECT id, token(id) FROM {ks}.users LIMIT 1000"),
        (),
        QueryOptions::new(),
    );
    while let Some(row) = sample.next().await {
        let row = row?;
        if let (Some(CqlValue::Int(id)), Some(CqlValue::Bigint(server))) = (row.get(0), row.get(1))
        {
            let ours = Token::for_key(partitioner, &[id.to_be_bytes()])?;
            if ours != Token::murmur3(*server) {
                return Err(
                    format!("token mismatch for id {id}: ours {ours}, server {server}").into(),
                );
            }
            token_checked += 1;
        }
    }
    println!("   equal for all {token_checked} keys");
    if token_checked == 0 {
        return Err("no token was compared".into());
    }
    session
        .query(&format!("DROP KEYSPACE {ks}"), (), all)
        .await?;
    session.close().await;
    if seen.len() != rows as usize || duplicates != 0 {
        return Err(format!(
            "scan saw {} rows ({duplicates} twice), expected {rows}",
            seen.len()
        )
        .into());
    }
    println!("\nEvery row written was read back exactly once across the whole token ring.");
    Ok(())
}
