use std::time::Duration;
use ferry_conn::*;
use ferry_testkit::fake_server::*;
use ferry_wire::ProtocolVersion;
#[tokio::test]
async fn show() {
    let pki = TestPki::generate(&["localhost"]);
    let server = FakeServer::builder().tls(pki.server_config(true)).start().await.unwrap();
    let c = ConnectionConfig::new(server.address()).with_heartbeat(None);
    eprintln!("PLAIN->TLS: {}", Connection::connect(&c).await.unwrap_err());
    eprintln!("NO CLIENT CERT: {}", Connection::connect(&c.clone().with_tls(TlsOptions::new(&pki.ca_cert).with_server_name("localhost"))).await.unwrap_err());
    eprintln!("WRONG NAME: {}", Connection::connect(&c.clone().with_tls(TlsOptions::new(&pki.ca_cert))).await.unwrap_err());
    let other = TestPki::generate(&["localhost"]);
    eprintln!("WRONG CA: {}", Connection::connect(&c.clone().with_tls(TlsOptions::new(&other.ca_cert).with_server_name("localhost"))).await.unwrap_err());
    let s2 = FakeServer::builder().max_version(ProtocolVersion::V4).start().await.unwrap();
    eprintln!("PIN: {}", Connection::connect(&ConnectionConfig::new(s2.address()).with_pinned_version(ProtocolVersion::V5)).await.unwrap_err());
    let s3 = FakeServer::builder().require_password("a","b").start().await.unwrap();
    eprintln!("AUTH: {}", Connection::connect(&ConnectionConfig::new(s3.address()).with_credentials("bob","x")).await.unwrap_err());
    eprintln!("CONNECT: {}", Connection::connect(&ConnectionConfig::new("127.0.0.1:1")).await.unwrap_err());
    eprintln!("TIMEOUT: {}", Connection::connect(&ConnectionConfig::new("10.255.255.1:9042").with_connect_timeout(Duration::from_millis(100))).await.unwrap_err());
}
