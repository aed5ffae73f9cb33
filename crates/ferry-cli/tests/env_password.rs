//! Passwords and usernames from the environment (its own test binary: the
//! environment is the process's, so no other test may race with it).

mod support;

use ferry_cli::Side;

#[test]
fn the_environment_fills_the_login_and_the_flag_wins() {
    std::env::set_var("FERRY_SOURCE_USERNAME", "env-user");
    std::env::set_var("FERRY_SOURCE_PASSWORD", "env-secret");
    std::env::remove_var("FERRY_TARGET_USERNAME");
    std::env::remove_var("FERRY_TARGET_PASSWORD");

    let cli = support::parse(&["--source", "h", "--disable-source-tls"]);
    let (user, password) = support::login(&cli, Side::Source);
    assert_eq!(
        (user.as_str(), password.expose()),
        ("env-user", "env-secret")
    );
    // Never printed, even in the options' Debug output.
    assert!(!format!("{cli:?}").contains("env-secret"));

    let cli = support::parse(&["--source", "h", "--source-password", "flag-secret"]);
    let (_, password) = support::login(&cli, Side::Source);
    assert_eq!(password.expose(), "flag-secret");

    // --help names the variables but never shows their values.
    let help = <support::Cli as clap::CommandFactory>::command()
        .render_long_help()
        .to_string();
    assert!(help.contains("FERRY_SOURCE_PASSWORD"), "{help}");
    assert!(!help.contains("env-secret"), "{help}");
}
