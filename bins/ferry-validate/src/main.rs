//! `ferry-validate`: checks that a target Cassandra cluster holds what the
//! source holds; see `ferry-validate --help` and docs/validate.md.

mod cli;
mod hints;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use ferry_conn::session::{Session, SessionConfig};
use ferry_conn::token::{Token, TokenRange};
use ferry_validator::{Progress, Validator};

use cli::{Cli, Side};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ferry-validate: error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ferry-validate: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<u8> {
    let cli = cli.merge_config_file()?;
    let mut config = cli.validator_config()?;
    let source_config = cli.session_config(Side::Source)?.with_prefetch(true);
    let target_config = cli.session_config(Side::Target)?.with_prefetch(true);
    let (source, target) = tokio::join!(
        connect("source", source_config),
        connect("target", target_config)
    );
    let (source, target) = (source?, target?);
    if !cli.token_range.is_empty() {
        let partitioner = source
            .partitioner()
            .context("the source's partitioner is not supported")?;
        let mut ranges = Vec::new();
        for text in &cli.token_range {
            let Some((start, end)) = text.split_once(':') else {
                bail!("--token-range {text:?}: expected START:END");
            };
            let start = Token::parse(partitioner, start)
                .with_context(|| format!("--token-range {text:?}"))?;
            let end = Token::parse(partitioner, end)
                .with_context(|| format!("--token-range {text:?}"))?;
            ranges.push(TokenRange::new(start, end)?);
        }
        config.ranges = Some(ranges);
    }
    let validator = Validator::new(source, target, config)?;

    let show_progress = match cli.progress.as_deref().unwrap_or("auto") {
        "auto" => std::io::stderr().is_terminal() && !cli.quiet,
        "always" => true,
        "never" => false,
        other => bail!("--progress {other:?}: use auto, always or never"),
    };
    let printer = show_progress.then(|| tokio::spawn(print_progress(validator.progress())));
    let report = validator.run().await;
    if let Some(printer) = printer {
        printer.abort();
        if std::io::stderr().is_terminal() {
            eprint!("\r\x1b[K");
        }
    }

    if let Some(path) = &cli.report_json {
        std::fs::write(path, report.to_json())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &cli.junit {
        std::fs::write(path, report.to_junit_xml())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let summary = report.summary(cli.max_differences.unwrap_or(20).min(20));
    if cli.quiet {
        if let Some(verdict) = summary.lines().last() {
            println!("{verdict}");
        }
    } else {
        print!("{summary}");
    }
    validator.source().close().await;
    validator.target().close().await;
    Ok(report.exit_code() as u8)
}

/// Connects to one side; a failure says which flag to check when it is
/// about credentials or TLS.
async fn connect(side: &str, config: SessionConfig) -> Result<Session> {
    let tls = config.connection.tls.is_some();
    Session::connect(config)
        .await
        .map_err(|e| match hints::connect_hint(side, tls, &e) {
            Some(hint) => {
                anyhow::anyhow!("cannot connect to the {side}: {e}\n  what to do: {hint}")
            }
            None => anyhow::Error::new(e).context(format!("cannot connect to the {side}")),
        })
}

/// A progress line on stderr: redrawn every second on a terminal, a new
/// line every 10 s otherwise.
async fn print_progress(progress: Arc<Progress>) {
    let terminal = std::io::stderr().is_terminal();
    let every = if terminal {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    };
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let line = progress.snapshot().line();
        if terminal {
            eprint!("\r\x1b[K{line}");
        } else {
            eprintln!("{line}");
        }
    }
}
