//! The shared connection flags: names, merge precedence, passwords from
//! files, and errors that name the flag or key.

mod support;

use clap::CommandFactory;
use ferry_cli::{CliError, Clusters, Side};
use support::parse;

fn file(text: &str) -> (Clusters<support::Copy>, toml::Table) {
    let mut table: toml::Table = toml::from_str(text).unwrap();
    let clusters = Clusters::take_from_toml(&mut table).unwrap();
    (clusters, table)
}

#[test]
fn the_flag_wins_over_the_file_and_the_file_over_the_default() {
    let (from_file, rest) = file(
        "source = \"file-host\"\ntarget = \"t\"\nsource_port = 1\ntarget-port = 2\n\
         disable_target_tls = true\nsource-local-dc = \"dc9\"\nkeyspace = \"ks\"\n",
    );
    assert_eq!(rest.keys().collect::<Vec<_>>(), ["keyspace"]);
    let cli = parse(&["--source", "cli-host", "--source-port", "7"]);
    let merged = cli.clusters.or(from_file);
    let source = merged.cluster(Side::Source);
    assert_eq!(source.hosts().unwrap(), ["cli-host"]);
    assert_eq!(source.port(), 7);
    assert_eq!(merged.source.datacenter.as_deref(), Some("dc9"));
    let target = merged.cluster(Side::Target);
    assert_eq!(target.port(), 2);
    assert!(target.tls().unwrap().is_none());
    // Neither: the default.
    let bare = parse(&["--source", "h"]);
    assert_eq!(bare.clusters.cluster(Side::Source).port(), 9042);
}

#[test]
fn aliases_of_the_older_flag_names_work() {
    let cli = parse(&[
        "--source",
        "h",
        "--source-ca",
        "/ca.pem",
        "--source-client-cert",
        "/c.pem",
        "--source-client-key",
        "/k.pem",
        "--source-local-dc",
        "dc1",
    ]);
    let config = cli.clusters.cluster(Side::Source).session_config().unwrap();
    let tls = config.connection.tls.expect("TLS");
    assert!(tls.client_cert.is_some());
    assert_eq!(cli.clusters.source.datacenter.as_deref(), Some("dc1"));
}

#[test]
fn the_password_file_gives_its_first_line() {
    let dir = std::env::temp_dir().join(format!("ferry-cli-pass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p");
    std::fs::write(&path, "s3cret\r\nignored\n").unwrap();
    let with_file = |file: &std::path::Path| {
        parse(&[
            "--source",
            "h",
            "--source-username",
            "u",
            "--source-password-file",
            file.to_str().unwrap(),
        ])
    };
    let (_, password) = support::login(&with_file(&path), Side::Source);
    assert_eq!(password.expose(), "s3cret");

    let e = with_file(&dir.join("missing"))
        .clusters
        .cluster(Side::Source)
        .credentials()
        .unwrap_err();
    assert!(matches!(e, CliError::PasswordFile { .. }));
    assert!(e.to_string().contains("--source-password-file"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_values_name_the_flag_or_key_and_what_to_do() {
    let message = |args: &[&str], side: Side| -> String {
        let cli = parse(args);
        cli.clusters
            .cluster(side)
            .session_config()
            .unwrap_err()
            .to_string()
    };
    let e = message(&["--source", "h"], Side::Source);
    assert!(
        e.contains("--source-ca FILE") && e.contains("--disable-source-tls"),
        "{e}"
    );
    let e = message(&["--disable-target-tls"], Side::Target);
    assert!(e.contains("--target is required"), "{e}");
    let e = message(&["--target", " , ", "--disable-target-tls"], Side::Target);
    assert!(e.contains("--target names no host"), "{e}");
    let e = message(
        &[
            "--source",
            "h",
            "--disable-source-tls",
            "--source-username",
            "u",
        ],
        Side::Source,
    );
    if std::env::var_os("FERRY_SOURCE_PASSWORD").is_none() {
        assert!(e.contains("--source-username needs a password"), "{e}");
    }
    let e = message(
        &["--source", "h", "--source-ca", "/ca", "--source-cert", "/c"],
        Side::Source,
    );
    assert!(
        e.contains("--source-cert and --source-key go together"),
        "{e}"
    );

    // Clap refuses a port that is not one, naming the flag.
    let e = support::Cli::try_parse_from_args(&["--source-port", "70000"]);
    assert!(e.contains("--source-port"), "{e}");

    // Config keys of the wrong kind, or spelled twice.
    let mut t: toml::Table = toml::from_str("target_port = \"x\"").unwrap();
    let e = Clusters::<support::Copy>::take_from_toml(&mut t).unwrap_err();
    assert!(e.to_string().contains("`target_port`"), "{e}");
    let mut t: toml::Table = toml::from_str("source_dc = \"a\"\nsource-dc = \"b\"").unwrap();
    let e = Clusters::<support::Copy>::take_from_toml(&mut t).unwrap_err();
    assert!(e.to_string().contains("keep one"), "{e}");
}

#[test]
fn help_lists_both_sides_under_the_profile_headings() {
    let help = support::Cli::command().render_long_help().to_string();
    for flag in [
        "--source <HOSTS>",
        "--target-port <PORT>",
        "--disable-source-tls",
        "--target-password-file <FILE>",
        "--source-tls-server-name <NAME>",
        "[alias: --target-local-dc]",
        "Target login, explained at length\n",
        "Login:",
    ] {
        assert!(help.contains(flag), "{flag} missing from\n{help}");
    }
    support::Cli::command().debug_assert();
}

trait TryParse {
    fn try_parse_from_args(args: &[&str]) -> String;
}

impl TryParse for support::Cli {
    fn try_parse_from_args(args: &[&str]) -> String {
        use clap::Parser;
        support::Cli::try_parse_from(std::iter::once("tool").chain(args.iter().copied()))
            .unwrap_err()
            .to_string()
    }
}
