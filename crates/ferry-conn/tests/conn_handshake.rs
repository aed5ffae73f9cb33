//! Handshake against the fake server: versions, negotiation, segments,
//! compression, authentication, TLS.

mod support;

use std::time::Duration;

use ferry_conn::{ConnError, Connection, ConnectionConfig, TlsError, TlsOptions};
use ferry_testkit::fake_server::{Action, FakeServer, TestPki, VersionRejection};
use ferry_wire::compression::Compression;
use ferry_wire::request::Request;
use ferry_wire::response::ResultResponse;
use ferry_wire::{Consistency, Opcode, ProtocolVersion};

fn config(server: &FakeServer) -> ConnectionConfig {
    ConnectionConfig::new(server.address())
        .with_heartbeat(None)
        .with_connect_timeout(Duration::from_secs(5))
}

/// A fake server that speaks protocol versions up to `max`.
async fn server_up_to(max: ProtocolVersion) -> FakeServer {
    FakeServer::builder()
        .max_version(max)
        .start()
        .await
        .unwrap()
}

/// A fake Cassandra 2.1: protocol v3 at most, refusing v4 and v5 with
/// `rejection`.
async fn v3_server_rejecting_newer(rejection: VersionRejection) -> FakeServer {
    FakeServer::builder()
        .max_version(ProtocolVersion::V3)
        .version_rejection(rejection)
        .start()
        .await
        .unwrap()
}

/// A server that lets only user "alice" (password "s3cret") in.
async fn alice_only_server() -> FakeServer {
    FakeServer::builder()
        .require_password("alice", "s3cret")
        .start()
        .await
        .unwrap()
}

/// A query long enough to need several v5 segments (a segment payload is
/// under 128 KiB), compressible so LZ4 segments are really compressed.
fn long_query() -> String {
    let mut q = String::from("SELECT * FROM t WHERE k IN (");
    for i in 0..40_000 {
        q.push_str(&format!("{},", i % 97));
    }
    q.push_str("0)");
    q
}

fn startup_option(server: &FakeServer, key: &str) -> Option<String> {
    server
        .received_with(Opcode::Startup)
        .last()
        .and_then(|r| match &r.request {
            Some(Request::Startup(s)) => s.get(key).map(str::to_owned),
            _ => None,
        })
}

#[tokio::test]
async fn v4_handshake_and_query() {
    let server = server_up_to(ProtocolVersion::V4).await;
    let conn = Connection::connect(&config(&server).with_max_version(ProtocolVersion::V4))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V4);
    assert!(conn.rejected_versions().is_empty());
    assert!(conn.supported().is_some(), "OPTIONS probe ran");
    let result = conn.query("SELECT 1", Consistency::One).await.unwrap();
    assert!(matches!(result, ResultResponse::Rows(_)));
    let ops: Vec<Opcode> = server.received().iter().map(|r| r.opcode).collect();
    assert_eq!(ops, [Opcode::Options, Opcode::Startup, Opcode::Query]);
    assert_eq!(
        startup_option(&server, "DRIVER_NAME").as_deref(),
        Some("ferry")
    );
    assert_eq!(
        startup_option(&server, "CQL_VERSION").as_deref(),
        Some("3.0.0")
    );
    assert_eq!(startup_option(&server, "COMPRESSION"), None);
}

#[tokio::test]
async fn v5_handshake_switches_to_segments() {
    let server = FakeServer::start().await.unwrap();
    let conn = Connection::connect(&config(&server)).await.unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V5);
    assert_eq!(conn.compression(), None);
    // The fake server reads segments after READY: a bare frame would be
    // malformed there and the query would fail.
    let q = long_query();
    conn.query(&q, Consistency::One).await.unwrap();
    let last = server.received().pop().unwrap();
    assert_eq!(last.version, ProtocolVersion::V5);
    assert_eq!(last.query_text(), Some(q.as_str()));
    assert_eq!(server.stats().malformed_frames, 0);
}

#[tokio::test]
async fn v5_handshake_with_lz4_segments() {
    let server = FakeServer::start().await.unwrap();
    let conn = Connection::connect(&config(&server).with_compression(Compression::Lz4))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V5);
    assert_eq!(conn.compression(), Some(Compression::Lz4));
    assert_eq!(
        startup_option(&server, "COMPRESSION").as_deref(),
        Some("lz4")
    );
    let q = long_query();
    for _ in 0..3 {
        conn.query(&q, Consistency::One).await.unwrap();
    }
    let prepared = conn.prepare("SELECT v FROM t WHERE k = ?").await.unwrap();
    assert!(prepared.result_metadata_id.is_some());
    conn.execute(
        &prepared,
        ferry_wire::request::QueryParameters::new(Consistency::One),
    )
    .await
    .unwrap();
    match &server.received_with(Opcode::Execute)[0].request {
        Some(Request::Execute(e)) => {
            assert_eq!(e.id, prepared.id);
            assert_eq!(e.result_metadata_id, prepared.result_metadata_id);
        }
        other => panic!("EXECUTE not decoded: {other:?}"),
    }
    assert_eq!(server.received().last().unwrap().query_text(), None);
    assert_eq!(server.stats().malformed_frames, 0);
}

#[tokio::test]
async fn v4_body_compression_lz4_and_snappy() {
    for c in [Compression::Lz4, Compression::Snappy] {
        let server = server_up_to(ProtocolVersion::V4).await;
        let conn = Connection::connect(
            &config(&server)
                .with_max_version(ProtocolVersion::V4)
                .with_compression(c),
        )
        .await
        .unwrap();
        assert_eq!(conn.compression(), Some(c));
        assert_eq!(
            startup_option(&server, "COMPRESSION").as_deref(),
            Some(c.name())
        );
        let q = long_query();
        conn.query(&q, Consistency::One).await.unwrap();
        assert_eq!(
            server.received().last().unwrap().query_text(),
            Some(q.as_str())
        );
    }
}

#[tokio::test]
async fn compression_the_server_does_not_offer_is_not_requested() {
    let server = FakeServer::builder()
        .max_version(ProtocolVersion::V4)
        .compression(["snappy"])
        .start()
        .await
        .unwrap();
    let conn = Connection::connect(&config(&server).with_compression(Compression::Lz4))
        .await
        .unwrap();
    assert_eq!(conn.compression(), None);
    assert_eq!(startup_option(&server, "COMPRESSION"), None);
    conn.query("SELECT 1", Consistency::One).await.unwrap();
}

#[tokio::test]
async fn snappy_is_not_requested_on_v5() {
    let server = FakeServer::start().await.unwrap();
    let conn = Connection::connect(&config(&server).with_compression(Compression::Snappy))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V5);
    assert_eq!(conn.compression(), None);
    conn.query("SELECT 1", Consistency::One).await.unwrap();
}

#[tokio::test]
async fn negotiation_steps_down_to_v4_on_a_protocol_error() {
    let server = server_up_to(ProtocolVersion::V4).await;
    let conn = Connection::connect(&config(&server)).await.unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V4);
    let rejected = conn.rejected_versions();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].version, ProtocolVersion::V5);
    assert!(
        rejected[0].outcome.contains("PROTOCOL"),
        "{}",
        rejected[0].outcome
    );
    assert_eq!(
        server.stats().connections,
        2,
        "one connection per version tried"
    );
    conn.query("SELECT 1", Consistency::One).await.unwrap();
}

#[tokio::test]
async fn negotiation_reaches_v3_through_cassandra_2_1_server_errors() {
    let server = v3_server_rejecting_newer(VersionRejection::ServerError).await;
    let conn = Connection::connect(&config(&server)).await.unwrap();
    support::assert_v3_after_v5_server_error(&conn);
    conn.query("SELECT 1", Consistency::One).await.unwrap();
    assert!(server
        .received_with(Opcode::Query)
        .iter()
        .all(|r| r.version == ProtocolVersion::V3));
}

#[tokio::test]
async fn negotiation_steps_down_one_at_a_time_when_the_server_hangs_up() {
    let server = v3_server_rejecting_newer(VersionRejection::Close).await;
    let conn = Connection::connect(&config(&server)).await.unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3);
    let tried: Vec<_> = conn.rejected_versions().iter().map(|a| a.version).collect();
    assert_eq!(tried, [ProtocolVersion::V5, ProtocolVersion::V4]);
    assert_eq!(server.stats().connections, 3);
}

#[tokio::test]
async fn pinned_version_refused_is_a_negotiation_error() {
    let server = server_up_to(ProtocolVersion::V4).await;
    let err = Connection::connect(&config(&server).with_pinned_version(ProtocolVersion::V5))
        .await
        .unwrap_err();
    match &err {
        ConnError::Negotiation { attempts, .. } => {
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].version, ProtocolVersion::V5);
        }
        other => panic!("expected a negotiation error, got {other}"),
    }
    assert!(err.to_string().contains("min_version"), "{err}");
}

#[tokio::test]
async fn floor_stops_negotiation_and_mentions_tls_when_every_attempt_was_hung_up() {
    let server = v3_server_rejecting_newer(VersionRejection::Close).await;
    let err = Connection::connect(&config(&server).with_min_version(ProtocolVersion::V4))
        .await
        .unwrap_err();
    let ConnError::Negotiation { attempts, .. } = &err else {
        panic!("expected a negotiation error, got {err}");
    };
    let tried: Vec<_> = attempts.iter().map(|a| a.version).collect();
    assert_eq!(tried, [ProtocolVersion::V5, ProtocolVersion::V4]);
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn without_options_probe_startup_comes_first() {
    let server = FakeServer::start().await.unwrap();
    let conn = Connection::connect(&config(&server).with_options_probe(false))
        .await
        .unwrap();
    assert!(conn.supported().is_none());
    assert_eq!(server.received()[0].opcode, Opcode::Startup);
}

#[tokio::test]
async fn keyspace_from_config_is_used_after_connecting() {
    let server = FakeServer::start().await.unwrap();
    let _conn = Connection::connect(&config(&server).with_keyspace("Shop"))
        .await
        .unwrap();
    let last = server.received().pop().unwrap();
    assert_eq!(last.query_text(), Some("USE \"Shop\""));
}

#[tokio::test]
async fn auth_with_right_credentials() {
    for max in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let server = FakeServer::builder()
            .max_version(max)
            .require_password("alice", "s3cret")
            .start()
            .await
            .unwrap();
        let conn = Connection::connect(
            &config(&server)
                .with_credentials("alice", "s3cret")
                .with_compression(Compression::Lz4),
        )
        .await
        .unwrap();
        assert_eq!(conn.protocol_version(), max);
        conn.query("SELECT 1", Consistency::One).await.unwrap();
        let auth = server.received_with(Opcode::AuthResponse);
        assert_eq!(auth.len(), 1);
        match &auth[0].request {
            Some(Request::AuthResponse(a)) => {
                assert_eq!(a.sasl_plain_credentials(), Some(("alice", "s3cret")));
            }
            other => panic!("AUTH_RESPONSE not decoded: {other:?}"),
        }
        assert!(!auth[0].after_ready);
        assert!(server.received_with(Opcode::Query)[0].after_ready);
    }
}

#[tokio::test]
async fn auth_with_wrong_credentials_names_the_user() {
    let server = alice_only_server().await;
    let err = Connection::connect(&config(&server).with_credentials("bob", "guess"))
        .await
        .unwrap_err();
    let ConnError::Auth { message, .. } = &err else {
        panic!("expected an auth error, got {err}");
    };
    assert!(
        message.contains("bad credentials for user \"bob\""),
        "{message}"
    );
    assert!(
        message.contains("check the username and password"),
        "{message}"
    );
}

#[tokio::test]
async fn auth_required_but_not_configured() {
    let server = alice_only_server().await;
    let err = Connection::connect(&config(&server)).await.unwrap_err();
    let ConnError::Auth { message, .. } = &err else {
        panic!("expected an auth error, got {err}");
    };
    assert!(message.contains("PasswordAuthenticator"), "{message}");
    assert!(message.contains("with_credentials"), "{message}");
}

// ---- TLS ----

async fn tls_server(pki: &TestPki, require_client_cert: bool) -> FakeServer {
    FakeServer::builder()
        .tls(pki.server_config(require_client_cert))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn tls_with_the_right_ca_and_name() {
    let pki = TestPki::generate(&["localhost"]);
    let server = tls_server(&pki, false).await;
    let tls = TlsOptions::new(&pki.ca_cert).with_server_name("localhost");
    let conn = Connection::connect(&config(&server).with_tls(tls))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V5);
    conn.query("SELECT 1", Consistency::One).await.unwrap();
    conn.close().await;
}

#[tokio::test]
async fn tls_with_an_ip_san() {
    let pki = TestPki::generate(&["127.0.0.1"]);
    let server = tls_server(&pki, false).await;
    let conn = Connection::connect(&config(&server).with_tls(TlsOptions::new(&pki.ca_cert)))
        .await
        .unwrap();
    conn.query("SELECT 1", Consistency::One).await.unwrap();
}

#[tokio::test]
async fn tls_with_the_wrong_ca_fails_and_says_so() {
    let pki = TestPki::generate(&["localhost"]);
    let other = TestPki::generate(&["localhost"]);
    let server = tls_server(&pki, false).await;
    let tls = TlsOptions::new(&other.ca_cert).with_server_name("localhost");
    let err = Connection::connect(&config(&server).with_tls(tls))
        .await
        .unwrap_err();
    let ConnError::Tls(TlsError::Handshake { hint, .. }) = &err else {
        panic!("expected a TLS handshake error, got {err}");
    };
    assert!(hint.contains("not signed by a CA"), "{err}");
    assert!(
        err.to_string()
            .contains(&other.ca_cert.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn tls_with_the_wrong_hostname_fails_unless_verification_is_off() {
    let pki = TestPki::generate(&["node1.ferry.test"]);
    let server = tls_server(&pki, false).await;
    // Dialling 127.0.0.1: the certificate names only node1.ferry.test.
    let err = Connection::connect(&config(&server).with_tls(TlsOptions::new(&pki.ca_cert)))
        .await
        .unwrap_err();
    let ConnError::Tls(TlsError::Handshake { hint, .. }) = &err else {
        panic!("expected a TLS handshake error, got {err}");
    };
    assert!(hint.contains("server_name"), "{err}");

    let relaxed = TlsOptions::new(&pki.ca_cert).without_hostname_verification();
    let conn = Connection::connect(&config(&server).with_tls(relaxed))
        .await
        .unwrap();
    conn.query("SELECT 1", Consistency::One).await.unwrap();

    // Turning off the name check keeps the chain check.
    let other = TestPki::generate(&["node1.ferry.test"]);
    let relaxed_wrong_ca = TlsOptions::new(&other.ca_cert).without_hostname_verification();
    let err = Connection::connect(&config(&server).with_tls(relaxed_wrong_ca))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnError::Tls(TlsError::Handshake { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn tls_client_certificate() {
    let pki = TestPki::generate(&["localhost"]);
    let server = tls_server(&pki, true).await;
    let base = TlsOptions::new(&pki.ca_cert).with_server_name("localhost");
    let conn = Connection::connect(
        &config(&server).with_tls(
            base.clone()
                .with_client_cert(&pki.client_cert, &pki.client_key),
        ),
    )
    .await
    .unwrap();
    conn.query("SELECT 1", Consistency::One).await.unwrap();

    let err = Connection::connect(&config(&server).with_tls(base))
        .await
        .unwrap_err();
    let ConnError::Tls(TlsError::Handshake { hint, .. }) = &err else {
        panic!("expected a TLS handshake error, got {err}");
    };
    assert!(hint.contains("client_cert"), "{err}");
    assert!(server.stats().tls_failures >= 1);
}

/// The error of a connection whose TLS settings cannot be loaded (the
/// address is never reached).
async fn tls_setup_error(options: TlsOptions) -> ConnError {
    Connection::connect(&ConnectionConfig::new("127.0.0.1:9").with_tls(options))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn tls_file_errors_name_the_file() {
    let missing = std::env::temp_dir().join("ferry-no-such-ca.pem");
    let err = tls_setup_error(TlsOptions::new(&missing)).await;
    assert!(
        matches!(err, ConnError::Tls(TlsError::ReadFile { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("ferry-no-such-ca.pem"), "{err}");

    let pki = TestPki::generate(&["localhost"]);
    let not_pem = pki.dir.join("not-a-cert.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let err = tls_setup_error(TlsOptions::new(&not_pem)).await;
    assert!(
        matches!(err, ConnError::Tls(TlsError::NoCertificates { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("not-a-cert.pem"), "{err}");

    // A certificate where the key should be.
    let err = tls_setup_error(
        TlsOptions::new(&pki.ca_cert).with_client_cert(&pki.client_cert, &pki.client_cert),
    )
    .await;
    assert!(
        matches!(err, ConnError::Tls(TlsError::NoPrivateKey { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("client.pem"), "{err}");
}

#[tokio::test]
async fn plain_client_against_a_tls_server_fails_with_a_hint() {
    let pki = TestPki::generate(&["localhost"]);
    let server = tls_server(&pki, false).await;
    let err = Connection::connect(&config(&server)).await.unwrap_err();
    // rustls answers a plain-text hello with an alert record.
    let ConnError::Protocol { message, .. } = &err else {
        panic!("expected a protocol error, got {err}");
    };
    assert!(message.contains("with_tls"), "{err}");
    assert_eq!(
        server.stats().connections,
        1,
        "no point retrying other versions"
    );
}

// ---- protocol v2 (only when asked for) ----

#[tokio::test]
async fn v2_only_when_asked_and_with_128_stream_ids() {
    let server = FakeServer::builder()
        .min_version(ProtocolVersion::V2)
        .max_version(ProtocolVersion::V2)
        .handler(|req| {
            (req.opcode == Opcode::Query)
                .then(|| Action::respond_after(Duration::from_millis(30), Action::Default))
        })
        .start()
        .await
        .unwrap();

    // The default floor is v3.
    let err = Connection::connect(&config(&server)).await.unwrap_err();
    let ConnError::Negotiation { attempts, .. } = &err else {
        panic!("expected a negotiation error, got {err}");
    };
    let tried: Vec<_> = attempts.iter().map(|a| a.version).collect();
    assert_eq!(
        tried,
        [
            ProtocolVersion::V5,
            ProtocolVersion::V4,
            ProtocolVersion::V3
        ]
    );

    let conn = Connection::connect(&config(&server).with_min_version(ProtocolVersion::V2))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V2);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.query("SELECT 1", Consistency::One).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let queries = server.received_with(Opcode::Query);
    assert_eq!(queries.len(), 200);
    assert!(queries.iter().all(|r| (0..128).contains(&r.stream)));
    assert!(server.stats().max_outstanding <= 128);
    assert_eq!(server.stats().stream_id_reuses, 0);
}
