//! The TLS matrix against real TDS servers written by others, on loopback:
//! pysqlbridge (TLS in PRELOGIN) and mssql-mock-tds (TDS 8.0 strict, and a
//! server that offers no encryption at all).
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use assessor::collect::connect::{ConnectError, ConnectOptions, Endpoint, connect};
use assessor::collect::tls::{TlsPolicy, TrustAnchors};
use assessor::config::TlsMode;
use assessor::secrets::Password;
use testbed::mock_tds::{MockTds, MockTdsPeer};
use testbed::pki::{Leaf, TestPki, Validity};
use testbed::tds::{TdsPeer, TdsPeerOptions};

const PASSWORD: &str = "Canary-Passw0rd-91c2";

fn endpoint(port: u16, password: &str) -> Endpoint {
    Endpoint {
        target: "sql-test".into(),
        host: "127.0.0.1".into(),
        port,
        username: "assessor".into(),
        password: Password::new(password.into()),
        database: None,
    }
}

fn verify(pki: &TestPki, mode: TlsMode, hostname: Option<&str>) -> TlsPolicy {
    TlsPolicy::Verify {
        mode,
        anchors: TrustAnchors::Private(Some(pki.ca_path().to_owned())),
        hostname_in_certificate: hostname.map(str::to_owned),
    }
}

fn fast() -> ConnectOptions {
    ConnectOptions {
        timeout: Duration::from_secs(20),
        attempts: 1,
        backoff: Duration::from_millis(10),
    }
}

fn bridge(leaf: Leaf) -> TdsPeer {
    TdsPeer::start(&TdsPeerOptions {
        leaf,
        user: "assessor".into(),
        password: PASSWORD.into(),
        fixture: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/tds-smoke.json"),
        ),
    })
    .unwrap()
}

#[tokio::test]
async fn valid_chain_connects_and_queries() {
    let pki = TestPki::new("matrix CA").unwrap();
    let peer = bridge(pki.leaf("ok", &["127.0.0.1"], Validity::Current).unwrap());
    let mut client = connect(
        &endpoint(peer.port(), PASSWORD),
        &verify(&pki, TlsMode::Required, None),
        fast(),
    )
    .await
    .unwrap();
    let row = client
        .simple_query("SELECT @@VERSION")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert!(row.get::<&str, _>(0).unwrap().contains("SQL Server"));
}

#[tokio::test]
async fn untrusted_ca_wrong_name_and_expired_are_each_refused_with_their_own_error() {
    let pki = TestPki::new("matrix CA").unwrap();
    let stranger = TestPki::new("stranger CA").unwrap();

    let peer = bridge(
        pki.leaf(
            "ok",
            &["127.0.0.1", "sql-a.corp.example"],
            Validity::Current,
        )
        .unwrap(),
    );
    let untrusted = connect(
        &endpoint(peer.port(), PASSWORD),
        &verify(&stranger, TlsMode::Required, None),
        fast(),
    )
    .await;
    assert!(
        matches!(untrusted, Err(ConnectError::UntrustedCertificate { .. })),
        "{:?}",
        untrusted.err()
    );

    let wrong_name = connect(
        &endpoint(peer.port(), PASSWORD),
        &verify(&pki, TlsMode::Required, Some("sql-b.corp.example")),
        fast(),
    )
    .await;
    assert!(
        matches!(wrong_name, Err(ConnectError::HostnameMismatch { .. })),
        "{:?}",
        wrong_name.err()
    );
    // The right name is accepted on the same server: the check is real.
    assert!(
        connect(
            &endpoint(peer.port(), PASSWORD),
            &verify(&pki, TlsMode::Required, Some("sql-a.corp.example")),
            fast()
        )
        .await
        .is_ok()
    );

    let expired_peer = bridge(pki.leaf("old", &["127.0.0.1"], Validity::Expired).unwrap());
    let expired = connect(
        &endpoint(expired_peer.port(), PASSWORD),
        &verify(&pki, TlsMode::Required, None),
        fast(),
    )
    .await;
    assert!(
        matches!(expired, Err(ConnectError::CertificateExpired { .. })),
        "{:?}",
        expired.err()
    );
}

#[tokio::test]
async fn wrong_password_fails_fast_without_retry_and_never_echoes_the_password() {
    let pki = TestPki::new("matrix CA").unwrap();
    let peer = bridge(pki.leaf("ok", &["127.0.0.1"], Validity::Current).unwrap());
    let started = Instant::now();
    let options = ConnectOptions {
        attempts: 5,
        backoff: Duration::from_secs(2),
        ..fast()
    };
    let err = connect(
        &endpoint(peer.port(), "Wrong-Canary-77"),
        &verify(&pki, TlsMode::Required, None),
        options,
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, ConnectError::LoginFailed { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no backoff: a login failure is not retried"
    );
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("Wrong-Canary-77") && !text.contains(PASSWORD),
        "{text}"
    );
}

#[tokio::test]
async fn a_server_without_encryption_is_refused() {
    let peer = MockTdsPeer::start(MockTds::None, None).unwrap();
    let pki = TestPki::new("matrix CA").unwrap();
    let err = connect(
        &endpoint(peer.port(), PASSWORD),
        &verify(&pki, TlsMode::Required, None),
        fast(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(err, ConnectError::EncryptionRefused { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("never connects without it"));
}

#[tokio::test]
async fn tds8_strict_mode_connects_end_to_end() {
    let pki = TestPki::new("matrix CA").unwrap();
    let leaf = pki
        .leaf("strict", &["127.0.0.1"], Validity::Current)
        .unwrap();
    let peer = MockTdsPeer::start(MockTds::Strict, Some(&leaf)).unwrap();
    let mut client = connect(
        &endpoint(peer.port(), PASSWORD),
        &verify(&pki, TlsMode::Strict, None),
        fast(),
    )
    .await
    .unwrap();
    let row = client
        .simple_query("SELECT 1")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>(0), Some(1));

    // Strict mode verifies too: another CA is refused.
    let stranger = TestPki::new("stranger CA").unwrap();
    let refused = connect(
        &endpoint(peer.port(), PASSWORD),
        &verify(&stranger, TlsMode::Strict, None),
        fast(),
    )
    .await;
    assert!(
        matches!(refused, Err(ConnectError::UntrustedCertificate { .. })),
        "{:?}",
        refused.err()
    );
}
