//! From the command line and the TOML file to a [`ProxyConfig`].

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ferry_cli::{Cluster, Clusters, Secret, Side};
use ferry_conn::{ConnectionConfig, TlsOptions};
use ferry_router::{
    ClientTls, ClusterEndpoint, Credentials, ProxyConfig, ProxyTopology, RetryPolicy,
};
use ferry_wire::ProtocolVersion;

use crate::cli::ProxyArgs;

/// Fills every option not given on the command line from the file.
pub fn merge(cli: ProxyArgs, file: ProxyArgs) -> ProxyArgs {
    macro_rules! pick {
        ($($opt:ident),* ; $($flag:ident),*) => {
            ProxyArgs {
                config: cli.config,
                clusters: cli.clusters.or(file.clusters),
                $($opt: cli.$opt.or(file.$opt),)*
                $($flag: cli.$flag || file.$flag,)*
            }
        };
    }
    pick!(
        proxy_port, bind, protocol_version, cql_version, write_mode,
        queue_capacity, full_queue, max_retries, failed_write_log, prepared_cache_size,
        target_timeout_ms, async_schema_wait_ms, drain_timeout_secs, metrics_port, metrics_bind, log_level,
        proxy_topology_addresses, proxy_topology_index, mirror_reads_max_in_flight,
        proxy_tls_cert, proxy_tls_key, proxy_tls_client_ca, proxy_tls_pkcs12,
        proxy_tls_pkcs12_password, proxy_tls_pkcs12_password_file, primary, source_failed_write_log,
        health_interval_ms;
        skip_startup_check, mirror_reads, replace_time_functions
    )
}

/// Reads the TOML file.
pub fn read_file(path: &Path) -> Result<ProxyArgs> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let args =
        from_toml(&text).with_context(|| format!("config file {} is not valid", path.display()))?;
    if args.config.is_some() {
        bail!(
            "config file {}: `config` cannot be set in a config file",
            path.display()
        );
    }
    Ok(args)
}

/// The options of a config file: the clusters' keys (see ferry-cli), then
/// the proxy's, unknown keys refused.
fn from_toml(text: &str) -> Result<ProxyArgs> {
    let (clusters, mut args): (_, ProxyArgs) = Clusters::read_toml(text)?;
    args.clusters = clusters;
    Ok(args)
}

/// The TLS settings of one cluster, its files read now so that a bad one
/// is named at startup rather than at the first connection.
pub fn tls(cluster: &Cluster<'_>) -> Result<Option<TlsOptions>> {
    let tls = cluster.tls()?;
    if let Some(tls) = &tls {
        tls.client_config()
            .with_context(|| format!("TLS settings of the {}", cluster.side()))?;
    }
    Ok(tls)
}

/// The topology-rewrite settings, if on.
fn topology(args: &ProxyArgs, proxy_port: u16) -> Result<Option<ProxyTopology>> {
    let Some(list) = &args.proxy_topology_addresses else {
        if args.proxy_topology_index.is_some() {
            bail!("--proxy-topology-index needs --proxy-topology-addresses (every proxy instance, IP[:PORT],...)");
        }
        return Ok(None);
    };
    let count = list.split(',').filter(|e| !e.trim().is_empty()).count();
    let index = match args.proxy_topology_index {
        Some(i) => i,
        None if count == 1 => 0,
        None => bail!(
            "--proxy-topology-addresses lists {count} instances: give this instance's position with --proxy-topology-index N (0 to {})",
            count.saturating_sub(1)
        ),
    };
    Ok(Some(ProxyTopology::parse(list, proxy_port, index)?))
}

/// TLS for the applications: the proxy's certificate and key from PEM
/// files or one PKCS#12 file, and the CA client certificates need.
fn client_tls(args: &ProxyArgs) -> Result<Option<ClientTls>> {
    let pem = (&args.proxy_tls_cert, &args.proxy_tls_key);
    let tls = match (pem, &args.proxy_tls_pkcs12) {
        ((None, None), None) if args.proxy_tls_client_ca.is_some() => bail!(
            "--proxy-tls-client-ca needs the proxy's own certificate: --proxy-tls-cert and \
             --proxy-tls-key, or --proxy-tls-pkcs12"
        ),
        ((None, None), None) => return Ok(None),
        ((None, None), Some(file)) => ClientTls::from_pkcs12(file, pkcs12_password(args)?.expose()),
        ((Some(cert), Some(key)), None) => ClientTls::new(cert, key),
        (_, Some(_)) => bail!(
            "--proxy-tls-pkcs12 and --proxy-tls-cert/--proxy-tls-key both give the proxy's \
             certificate: keep either the PKCS#12 file or the PEM pair"
        ),
        _ => bail!(
            "--proxy-tls-cert and --proxy-tls-key go together (the certificate and its key, PEM)"
        ),
    };
    Ok(Some(match &args.proxy_tls_client_ca {
        Some(ca) => tls.requiring_client_certs(ca),
        None => tls,
    }))
}

/// The PKCS#12 password: the flag or FERRY_PROXY_TLS_PKCS12_PASSWORD, else
/// the first line of the password file, else empty (a file exported with
/// `-passout pass:`). An empty variable (`FERRY_..._PASSWORD=` left in an
/// environment file) does not hide the password file.
fn pkcs12_password(args: &ProxyArgs) -> Result<Secret> {
    if let Some(p) = &args.proxy_tls_pkcs12_password {
        if !p.expose().is_empty() || args.proxy_tls_pkcs12_password_file.is_none() {
            return Ok(p.clone());
        }
    }
    let Some(path) = &args.proxy_tls_pkcs12_password_file else {
        return Ok(Secret::new(""));
    };
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "--proxy-tls-pkcs12-password-file {}: cannot read it",
            path.display()
        )
    })?;
    Ok(Secret::from_file_text(&text))
}

/// Everything `run` needs.
#[derive(Debug)]
pub struct Resolved {
    pub proxy: ProxyConfig,
    pub source_check: ConnectionConfig,
    pub target_check: ConnectionConfig,
    pub metrics: Option<SocketAddr>,
    pub skip_startup_check: bool,
}

/// Checks and resolves the merged options.
pub fn resolve(args: ProxyArgs) -> Result<Resolved> {
    let source = args.clusters.cluster(Side::Source);
    let target = args.clusters.cluster(Side::Target);
    let source_address = source.address()?;
    let target_address = target.address()?;
    let source_tls = tls(&source)?;
    let target_tls = tls(&target)?;
    let credentials =
        |(user, password): (String, Secret)| Credentials::new(user, password.expose());
    let target_credentials = target.credentials()?.map(credentials);
    let source_credentials = source.credentials()?.map(credentials);
    let bind: IpAddr = args
        .bind
        .as_deref()
        .unwrap_or("127.0.0.1")
        .parse()
        .context("--bind must be an IP address")?;
    let listen = SocketAddr::new(bind, args.proxy_port.unwrap_or(29042));
    let log = args
        .failed_write_log
        .clone()
        .unwrap_or_else(|| PathBuf::from("ferry-failed-writes.log"));

    let mut proxy = ProxyConfig::new(
        ClusterEndpoint {
            address: source_address.clone(),
            tls: source_tls.clone(),
        },
        ClusterEndpoint {
            address: target_address.clone(),
            tls: target_tls.clone(),
        },
        log,
    );
    proxy.listen = listen;
    proxy.target_credentials = target_credentials;
    proxy.source_credentials = source_credentials;
    proxy.client_tls = client_tls(&args)?;
    if let Some(primary) = &args.primary {
        proxy.primary = primary
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--primary: {e}"))?;
    }
    proxy.source_failed_write_log = args.source_failed_write_log.clone();
    if let Some(ms) = args.health_interval_ms {
        proxy.health_probe_interval = Duration::from_millis(ms);
    }
    if let Some(v) = args.protocol_version {
        proxy.max_protocol_version = ProtocolVersion::from_number(v)
            .with_context(|| format!("--protocol-version {v}: expected 2 to 5"))?;
    }
    if let Some(v) = &args.cql_version {
        proxy.cql_version = v.clone();
    }
    if let Some(mode) = &args.write_mode {
        proxy.write_mode = mode.parse().map_err(anyhow::Error::msg)?;
    }
    if let Some(n) = args.queue_capacity {
        proxy.queue_capacity = n;
    }
    if let Some(policy) = &args.full_queue {
        proxy.full_queue = policy.parse().map_err(anyhow::Error::msg)?;
    }
    if let Some(n) = args.max_retries {
        proxy.retry = RetryPolicy {
            max_retries: n,
            ..RetryPolicy::default()
        };
    }
    if let Some(n) = args.prepared_cache_size {
        proxy.prepared_cache_capacity = n;
    }
    if let Some(ms) = args.target_timeout_ms {
        proxy.target_request_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = args.async_schema_wait_ms {
        proxy.async_schema_wait = Duration::from_millis(ms);
    }
    if let Some(s) = args.drain_timeout_secs {
        proxy.drain_timeout = Duration::from_secs(s);
    }
    proxy.topology = topology(&args, listen.port())?;
    proxy.mirror_reads = args.mirror_reads;
    if let Some(n) = args.mirror_reads_max_in_flight {
        proxy.mirror_reads_max_in_flight = n;
    }
    proxy.replace_time_functions = args.replace_time_functions;
    proxy.validate().map_err(anyhow::Error::msg)?;

    let mut source_check = source.connection_config(source_address)?;
    let mut target_check = target.connection_config(target_address)?;
    source_check.cql_version = proxy.cql_version.clone();
    target_check.cql_version = proxy.cql_version.clone();

    let metrics = match args.metrics_port {
        None => None,
        Some(port) => {
            let ip: IpAddr = args
                .metrics_bind
                .as_deref()
                .unwrap_or("127.0.0.1")
                .parse()
                .context("--metrics-bind must be an IP address")?;
            Some(SocketAddr::new(ip, port))
        }
    };
    Ok(Resolved {
        proxy,
        source_check,
        target_check,
        metrics,
        skip_startup_check: args.skip_startup_check,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use ferry_router::ClientTlsIdentity;

    fn parse(args: &[&str]) -> ProxyArgs {
        crate::cli::Cli::try_parse_from(args).unwrap().proxy
    }

    #[test]
    fn the_command_line_wins_over_the_file() {
        let file = from_toml(
            r#"
            source = "10.0.0.1"
            target = "10.0.0.2"
            write_mode = "sync"
            queue_capacity = 5
            disable_source_tls = true
            disable_target_tls = true
            proxy_port = 1234
            "#,
        )
        .unwrap();
        let cli = parse(&[
            "ferry-proxy",
            "--write-mode",
            "async",
            "--proxy-port",
            "4321",
        ]);
        let r = resolve(merge(cli, file)).unwrap();
        assert_eq!(r.proxy.write_mode, ferry_router::WriteMode::Async);
        assert_eq!(r.proxy.queue_capacity, 5);
        assert_eq!(r.proxy.listen, "127.0.0.1:4321".parse().unwrap());
        assert_eq!(r.proxy.source.address, "10.0.0.1:9042");
        assert!(r.proxy.source.tls.is_none());
    }

    #[test]
    fn tls_is_on_by_default_and_needs_a_ca() {
        let e = resolve(parse(&["ferry-proxy", "a", "b"])).unwrap_err();
        assert!(e.to_string().contains("--source-ca"), "{e}");
        let e = resolve(parse(&["ferry-proxy", "a", "b", "--disable-source-tls"])).unwrap_err();
        assert!(e.to_string().contains("--target-ca"), "{e}");
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        assert!(from_toml("wrtie_mode = \"sync\"").is_err());
    }

    #[test]
    fn target_credentials_need_both_parts() {
        let base = [
            "ferry-proxy",
            "a",
            "b",
            "--disable-source-tls",
            "--disable-target-tls",
        ];
        let mut with_user: Vec<&str> = base.to_vec();
        with_user.extend(["--target-username", "u"]);
        // The environment may hold a password; the file is a clean test.
        let mut args = parse(&with_user);
        args.clusters.target.password = None;
        assert!(resolve(args).is_err());
        let mut args = parse(&with_user);
        args.clusters.target.password = Some(Secret::new("secret"));
        let r = resolve(args).unwrap();
        assert_eq!(r.proxy.target_credentials.unwrap().username(), "u");
    }

    #[test]
    fn topology_mirror_and_time_function_options() {
        let base = [
            "ferry-proxy",
            "a",
            "b",
            "--disable-source-tls",
            "--disable-target-tls",
            "--proxy-port",
            "9000",
        ];
        let mut args: Vec<&str> = base.to_vec();
        args.extend([
            "--proxy-topology-addresses",
            "10.0.0.1,10.0.0.2:9100",
            "--proxy-topology-index",
            "1",
            "--mirror-reads",
            "--replace-time-functions",
        ]);
        let r = resolve(parse(&args)).unwrap();
        let t = r.proxy.topology.unwrap();
        assert_eq!(t.this(), "10.0.0.2:9100".parse().unwrap());
        assert_eq!(t.instances()[0], "10.0.0.1:9000".parse().unwrap());
        assert!(r.proxy.mirror_reads && r.proxy.replace_time_functions);
        assert_eq!(r.proxy.mirror_reads_max_in_flight, 1024);

        let mut args: Vec<&str> = base.to_vec();
        args.extend(["--proxy-topology-addresses", "10.0.0.1,10.0.0.2"]);
        let e = resolve(parse(&args)).unwrap_err();
        assert!(e.to_string().contains("--proxy-topology-index"), "{e}");
        let mut args: Vec<&str> = base.to_vec();
        args.extend(["--proxy-topology-index", "0"]);
        assert!(resolve(parse(&args)).is_err());

        let file = from_toml(
            "proxy_topology_addresses = \"10.0.0.1\"\nmirror_reads = true\nmirror_reads_max_in_flight = 8\nreplace_time_functions = true",
        )
        .unwrap();
        let r = resolve(merge(parse(&base), file)).unwrap();
        assert_eq!(r.proxy.topology.unwrap().index(), 0);
        assert_eq!(r.proxy.mirror_reads_max_in_flight, 8);
        assert!(r.proxy.replace_time_functions);
    }

    #[test]
    fn tls_primary_and_health_settings_from_the_file() {
        let file = from_toml(
            r#"
            source = "a"
            target = "b"
            disable_source_tls = true
            disable_target_tls = true
            proxy_tls_cert = "/etc/ferry/proxy.pem"
            proxy_tls_key = "/etc/ferry/proxy.key"
            proxy_tls_client_ca = "/etc/ferry/clients.pem"
            primary = "target"
            health_interval_ms = 500
            async_schema_wait_ms = 250
            "#,
        )
        .unwrap();
        let r = resolve(merge(parse(&["ferry-proxy"]), file)).unwrap();
        let tls = r.proxy.client_tls.unwrap();
        assert_eq!(
            tls.identity,
            ClientTlsIdentity::Pem {
                cert: "/etc/ferry/proxy.pem".into(),
                key: "/etc/ferry/proxy.key".into()
            }
        );
        assert_eq!(tls.client_ca, Some(PathBuf::from("/etc/ferry/clients.pem")));
        assert_eq!(r.proxy.primary, ferry_router::Cluster::Target);
        assert_eq!(r.proxy.health_probe_interval, Duration::from_millis(500));
        assert_eq!(r.proxy.async_schema_wait, Duration::from_millis(250));
        let base = [
            "ferry-proxy",
            "a",
            "b",
            "--disable-source-tls",
            "--disable-target-tls",
        ];
        let mut args = base.to_vec();
        args.extend(["--primary", "both"]);
        let e = resolve(parse(&args)).unwrap_err();
        assert!(e.to_string().contains("--primary"), "{e}");
        let file = from_toml("proxy_tls_cert = \"/x.pem\"").unwrap();
        let e = resolve(merge(parse(&base), file)).unwrap_err();
        assert!(e.to_string().contains("--proxy-tls-key"), "{e}");
        // The certificate on the command line, its key in the file.
        let file = from_toml("proxy_tls_key = \"/x.key\"").unwrap();
        let mut args = base.to_vec();
        args.extend(["--proxy-tls-cert", "/x.pem"]);
        let r = resolve(merge(parse(&args), file)).unwrap();
        assert_eq!(
            r.proxy.client_tls.unwrap().identity,
            ClientTlsIdentity::Pem {
                cert: "/x.pem".into(),
                key: "/x.key".into()
            }
        );
    }

    /// The PKCS#12 settings of `args` plus the plain-TCP cluster flags.
    fn pkcs12_identity(args: &[&str], file: &str) -> Result<Option<ClientTls>> {
        let mut all = vec![
            "ferry-proxy",
            "a",
            "b",
            "--disable-source-tls",
            "--disable-target-tls",
        ];
        all.extend(args);
        let mut cli = parse(&all);
        if !args.contains(&"--proxy-tls-pkcs12-password") {
            // The environment may hold a password; the flags are the test.
            cli.proxy_tls_pkcs12_password = None;
        }
        resolve(merge(cli, from_toml(file)?)).map(|r| r.proxy.client_tls)
    }

    #[test]
    fn pkcs12_identity_and_its_password() {
        let p12 = |file: &str, password: &str| {
            Some(ClientTls::from_pkcs12(file, password).requiring_client_certs("/ca.pem"))
        };
        // The flag, the file's key, the password file's first line.
        let flags = [
            "--proxy-tls-pkcs12",
            "/p.p12",
            "--proxy-tls-client-ca",
            "/ca.pem",
        ];
        let mut args = flags.to_vec();
        args.extend(["--proxy-tls-pkcs12-password", "s3cret"]);
        assert_eq!(pkcs12_identity(&args, "").unwrap(), p12("/p.p12", "s3cret"));
        let file = "proxy_tls_pkcs12 = \"/f.p12\"\nproxy_tls_pkcs12_password = \"in file\"";
        let tls = pkcs12_identity(&["--proxy-tls-client-ca", "/ca.pem"], file).unwrap();
        assert_eq!(tls, p12("/f.p12", "in file"));
        assert!(!format!("{tls:?}").contains("in file"), "{tls:?}");
        let dir = std::env::temp_dir().join(format!("ferry-proxy-p12-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let password_file = dir.join("password");
        std::fs::write(&password_file, "from file\nsecond line\n").unwrap();
        let mut args = flags.to_vec();
        let password_path = password_file.to_str().unwrap();
        args.extend(["--proxy-tls-pkcs12-password-file", password_path]);
        assert_eq!(
            pkcs12_identity(&args, "").unwrap(),
            p12("/p.p12", "from file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let e = pkcs12_identity(&args, "").unwrap_err().to_string();
        assert!(
            e.contains("--proxy-tls-pkcs12-password-file") && e.contains(password_path),
            "{e}"
        );
        // No password anywhere: an empty one.
        assert_eq!(pkcs12_identity(&flags, "").unwrap(), p12("/p.p12", ""));

        // Both kinds of identity: refused, naming both.
        let mut args = flags.to_vec();
        args.extend(["--proxy-tls-cert", "/x.pem"]);
        let e = pkcs12_identity(&args, "proxy_tls_key = \"/x.key\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--proxy-tls-pkcs12") && e.contains("--proxy-tls-cert"),
            "{e}"
        );
        let e = pkcs12_identity(&["--proxy-tls-client-ca", "/ca.pem"], "").unwrap_err();
        assert!(e.to_string().contains("--proxy-tls-pkcs12"), "{e}");
    }

    #[test]
    fn the_pkcs12_password_is_hidden_in_help() {
        use clap::CommandFactory;
        let cmd = crate::cli::Cli::command();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_id() == "proxy_tls_pkcs12_password")
            .unwrap();
        assert_eq!(
            arg.get_env(),
            Some(std::ffi::OsStr::new("FERRY_PROXY_TLS_PKCS12_PASSWORD"))
        );
        assert!(arg.is_hide_env_values_set());
        let args = parse(&["ferry-proxy", "--proxy-tls-pkcs12-password", "hunter2"]);
        assert!(!format!("{args:?}").contains("hunter2"));
    }

    #[test]
    fn ipv6_hosts_get_brackets() {
        let args = parse(&[
            "ferry-proxy",
            "::1",
            "node1",
            "--disable-source-tls",
            "--disable-target-tls",
        ]);
        let r = resolve(args).unwrap();
        assert_eq!(r.proxy.source.address, "[::1]:9042");
        assert_eq!(r.proxy.target.address, "node1:9042");
    }
}
