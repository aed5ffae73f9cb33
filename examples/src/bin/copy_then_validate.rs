//! Copies one table from a source cluster to a target cluster with
//! `ferry-copier`, then validates it with `ferry-validator`, and prints the
//! counts: Ferry's crates embedded in a program of your own.
//!
//! Usage: `copy_then_validate SOURCE_HOST[:PORT] TARGET_HOST[:PORT] KEYSPACE TABLE`
//! (plain-text connections, no authentication: a starting point to adapt).
//! Exit status: the validation's (0 equal, 1 differences, 2 errors), or 2
//! when the copy or a connection failed.

use std::process::ExitCode;

use ferry_conn::{Session, SessionConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, target, keyspace, table] = args.as_slice() else {
        eprintln!("usage: copy_then_validate SOURCE_HOST[:PORT] TARGET_HOST[:PORT] KEYSPACE TABLE");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("copy_then_validate: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let progress = std::env::temp_dir().join(format!(
            "ferry-example-{keyspace}.{table}.{}.progress.jsonl",
            std::process::id()
        ));
        let result = run(source, target, keyspace, table, progress.clone()).await;
        let _ = std::fs::remove_file(&progress);
        match result {
            Ok(outcome) => {
                println!("{}", outcome.line());
                ExitCode::from(u8::try_from(outcome.validation_exit_code).unwrap_or(2))
            }
            Err(e) => {
                eprintln!("copy_then_validate: {e}");
                ExitCode::from(2)
            }
        }
    })
}

async fn run(
    source: &str,
    target: &str,
    keyspace: &str,
    table: &str,
    progress: std::path::PathBuf,
) -> Result<ferry_examples::Outcome, ferry_examples::ExampleError> {
    let source = Session::connect(SessionConfig::new([source])).await?;
    let target = Session::connect(SessionConfig::new([target])).await?;
    let outcome =
        ferry_examples::copy_then_validate(&source, &target, keyspace, table, progress).await;
    source.close().await;
    target.close().await;
    outcome
}
