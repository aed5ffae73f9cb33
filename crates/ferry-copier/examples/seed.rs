//! Fills a table with generated rows, for trying and measuring copies.
//!
//! ```sh
//! cargo run --release -p ferry-copier --example seed -- HOST KEYSPACE TABLE ROWS [ROWS_PER_PARTITION]
//! ```
//!
//! Creates `KEYSPACE` (SimpleStrategy, RF 1) and
//! `TABLE (k int, c int, v text, n bigint, d double, PRIMARY KEY (k, c))`
//! if missing, then inserts ROWS rows (100 bytes of text each), 256 at a
//! time, with consistency ONE.

use std::time::Instant;

use ferry_conn::session::{QueryOptions, Session, SessionConfig};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, ks, table, rows, rest @ ..] = args.as_slice() else {
        eprintln!("usage: seed HOST KEYSPACE TABLE ROWS [ROWS_PER_PARTITION]");
        std::process::exit(2);
    };
    let rows: u64 = rows.parse()?;
    let per_partition: u64 = rest.first().map_or(Ok(10), |s| s.parse())?;
    let session =
        Session::connect(SessionConfig::new([host.as_str()]).with_consistency(Consistency::One))
            .await?;
    let ddl = QueryOptions::new().with_consistency(Consistency::All);
    session
        .query(
            &format!("CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            (),
            ddl.clone(),
        )
        .await?;
    session
        .query(
            &format!("CREATE TABLE IF NOT EXISTS {ks}.{table} (k int, c int, v text, n bigint, d double, PRIMARY KEY (k, c))"),
            (),
            ddl,
        )
        .await?;
    let insert = session
        .prepare(&format!(
            "INSERT INTO {ks}.{table} (k, c, v, n, d) VALUES (?, ?, ?, ?, ?)"
        ))
        .await?;
    let payload = "x".repeat(100);
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..rows)
        .map(|i| {
            let session = &session;
            let insert = &insert;
            let payload = &payload;
            async move {
                let values = vec![
                    CqlValue::Int((i / per_partition) as i32),
                    CqlValue::Int((i % per_partition) as i32),
                    CqlValue::from(format!("{i}:{payload}")),
                    CqlValue::Bigint(i as i64 * 7),
                    CqlValue::Double(i as f64 / 3.0),
                ];
                session
                    .execute(insert, values, QueryOptions::new().idempotent(true))
                    .await
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{rows} rows in {secs:.1}s ({:.0} rows/s), {failed} failed",
        rows as f64 / secs
    );
    Ok(())
}
