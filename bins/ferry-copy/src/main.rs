//! `ferry-copy`: the historical bulk copy of a live migration. The work is
//! done by the `ferry-copier` library; this binary reads the options,
//! connects to both clusters, shows progress and prints the summary.
//!
//! Exit status: 0 the copy is complete; 1 it could not start (bad input,
//! unreachable cluster, incompatible schema...); 2 it failed part-way
//! (rerun the same command to retry); 130 it was stopped (Ctrl-C, or
//! `--stop-after-ranges`; rerun to continue).

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use ferry_conn::session::Session;
use ferry_copier::report::{ProgressPrinter, ProgressStyle};
use ferry_copier::{CopyControl, CopyError, CopyStatus, Side};

use cli::Args;

fn main() -> ExitCode {
    let args = match Args::load() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("ferry-copy: {}", render(&e));
            return ExitCode::from(1);
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-copy: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferry-copy: {}", render(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes, leaving out causes whose text the message
/// already includes (Ferry's errors quote their source).
fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    if out.contains("no credentials are configured") {
        out.push_str(" (ferry-copy: give --source-username/--target-username and a password)");
    }
    out
}

async fn run(args: Args) -> Result<ExitCode> {
    let options = args.copy_options()?;
    let source_config = args.session_config(Side::Source)?;
    let target_config = args.session_config(Side::Target)?;
    let source = connect(Side::Source, source_config).await?;
    let target = connect(Side::Target, target_config).await?;

    let control = CopyControl::new();
    watch_ctrl_c(control.clone());
    let style = if args.quiet {
        ProgressStyle::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressStyle::Terminal
    } else {
        ProgressStyle::Log
    };
    let interval = Duration::from_secs_f64(args.progress_interval.unwrap_or(10.0).max(0.1));
    let printer = ProgressPrinter::start(control.clone(), style, interval);
    let result = ferry_copier::copy(&source, &target, &options, control).await;
    printer.finish();
    source.close().await;
    target.close().await;
    let summary = result?;

    println!("{}", summary.to_text());
    if let Some(path) = &args.summary_json {
        let json = serde_json_pretty(&summary)?;
        std::fs::write(path, json)
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    Ok(match summary.status {
        CopyStatus::Complete => ExitCode::SUCCESS,
        CopyStatus::Failed => ExitCode::from(2),
        CopyStatus::Stopped => ExitCode::from(130),
    })
}

/// Opens a session, naming the cluster in errors.
async fn connect(
    side: Side,
    config: ferry_conn::session::SessionConfig,
) -> Result<Session, CopyError> {
    let contact = config.contact_addresses().join(", ");
    Session::connect(config)
        .await
        .map_err(|source| CopyError::Connect {
            side,
            contact,
            source,
        })
}

/// First Ctrl-C (or SIGTERM): finish the ranges in flight, then stop (the progress file
/// then says exactly what is done). Second Ctrl-C: exit now (the ranges in
/// flight are redone by the next run).
/// SIGTERM (what Kubernetes and systemd send) counts as a first Ctrl-C.
fn watch_ctrl_c(control: Arc<CopyControl>) {
    tokio::spawn(async move {
        if !first_stop_signal().await {
            return;
        }
        eprintln!("\nferry-copy: stopping after the ranges in flight (Ctrl-C again to stop now; rerun the same command to continue)");
        control.stop();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nferry-copy: stopped; rerun the same command to continue");
            std::process::exit(130);
        }
    });
}

/// Waits for Ctrl-C or SIGTERM; `false` if neither can be watched.
async fn first_stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                r = tokio::signal::ctrl_c() => r.is_ok(),
                _ = term.recv() => true,
            };
        }
    }
    tokio::signal::ctrl_c().await.is_ok()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn serde_json_pretty(summary: &ferry_copier::CopySummary) -> Result<String> {
    Ok(serde_json::to_string_pretty(summary)?)
}
