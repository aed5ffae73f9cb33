//! What each subcommand does.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ferry_cli::Side;
use ferry_router::failed_log::read_log;
use ferry_router::replay::ReplayOptions;
use ferry_router::startup_check::check_clusters;
use ferry_router::Proxy;
use tracing_subscriber::EnvFilter;

use crate::cli::{ProxyArgs, ReplayArgs};
use crate::settings;

fn init_logging(level: Option<&str>) {
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the proxy until SIGTERM or Ctrl-C.
pub async fn run_proxy(cli: ProxyArgs) -> Result<ExitCode> {
    let file = match &cli.config {
        Some(path) => settings::read_file(path)?,
        None => ProxyArgs::default(),
    };
    let args = settings::merge(cli, file);
    init_logging(args.log_level.as_deref());
    let mut resolved = settings::resolve(args)?;
    if let Some(tls) = &resolved.proxy.client_tls {
        // A bad certificate file is named before the clusters are checked.
        tls.check()?;
    }

    if resolved.skip_startup_check {
        tracing::warn!("startup check skipped: cluster versions are not checked");
    } else {
        let cap = resolved.proxy.max_protocol_version;
        let report = check_clusters(&resolved.source_check, &resolved.target_check, cap)
            .await
            .context("startup check failed (use --skip-startup-check to start anyway)")?;
        tracing::info!(source = %report.source, "source cluster");
        tracing::info!(target = %report.target, "target cluster");
        tracing::info!(
            shared = %format!("{}..={}", report.min_shared, report.max_shared),
            "protocol versions both clusters support; applications are capped at the highest"
        );
        resolved.proxy.max_protocol_version = report.max_shared;
    }

    let proxy = Proxy::start(resolved.proxy).await?;
    if let Some(addr) = resolved.metrics {
        let (bound, serve) = ferry_router::serve_metrics(addr, proxy.metrics())
            .await
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        tracing::info!(
            %bound,
            "metrics on http://{bound}/metrics, health on /health/live and /health/ready, \
             primary switch with POST http://{bound}/primary?cluster=source|target"
        );
        tokio::spawn(serve);
    }
    wait_for_signal().await;
    tracing::info!("shutting down: no new connections; draining the target queue");
    let report = proxy.shutdown().await;
    if report.drain.spilled > 0 {
        tracing::warn!(
            spilled = report.drain.spilled,
            "pending target writes were appended to the failed-write log; replay it"
        );
    }
    Ok(if report.drain.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `ferry-proxy replay`.
pub async fn replay(args: ReplayArgs) -> Result<ExitCode> {
    init_logging(args.log_level.as_deref());
    let cluster = args.clusters.cluster(Side::Target);
    settings::tls(&cluster)?;
    let target = cluster.connection_config(cluster.address()?)?;
    let mut options = ReplayOptions::new(target);
    options.skip_non_idempotent = args.skip_non_idempotent;
    let report = ferry_router::replay::replay(&args.log, &options).await?;
    println!(
        "{} record(s): {} applied ({} not idempotent), {} skipped, {} failed",
        report.records,
        report.applied,
        report.applied_non_idempotent,
        report.skipped,
        report.failed.len()
    );
    for f in &report.failed {
        println!("  record at byte offset {}: {}", f.offset, f.reason);
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `ferry-proxy dump`.
pub fn dump(log: &Path) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for item in read_log(log)? {
        let (offset, r) = item?;
        let line = serde_json::json!({
            "offset": offset,
            "logged_at_micros": r.logged_at_micros,
            "write_timestamp": r.write_timestamp,
            "version": r.version.number(),
            "opcode": r.opcode.name(),
            "flags": r.flags.0,
            "keyspace": r.keyspace,
            "idempotent": r.idempotent,
            "reason": r.reason,
            "statements": r.statements.iter().map(|s| serde_json::json!({
                "id": hex(&s.id),
                "text": s.text,
                "keyspace": s.keyspace,
            })).collect::<Vec<_>>(),
            "body": hex(&r.body),
        });
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
