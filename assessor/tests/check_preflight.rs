//! `assessor check`: the preflight proves the AWS side and each server's
//! TLS, login and permissions, and collects nothing.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assessor::collect::connect::{ConnectError, ConnectOptions};
use assessor::collect::permissions::PERMISSIONS_QUERY;
use assessor::collect::queries::{SERVER_QUERY, is_collector_statement};
use assessor::collect::tls::{TlsPolicy, TrustAnchors};
use assessor::collect::tls_probe::{ProbeTarget, TlsDetails, TlsProbeError, probe};
use assessor::config::{TlsConfig, TlsMode};
use testbed::appliance::{ApplianceOptions, LocalAppliance};
use testbed::catalog_fixture::CatalogFixture;
use testbed::mock_tds::{MockTds, MockTdsPeer};
use testbed::pki::{TestPki, Validity};
use testbed::tds::{TdsPeer, TdsPeerOptions};

async fn appliance(permissions: [bool; 4], down: bool, key_disabled: bool) -> LocalAppliance {
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.permissions = permissions;
    LocalAppliance::start(ApplianceOptions {
        fixture,
        password: "pw-check".into(),
        sql_server_down: down,
        key_disabled,
    })
    .await
    .unwrap()
}

fn run_check(app: &LocalAppliance, extra: &[&str]) -> Output {
    run_check_with_system_roots(app, extra, None)
}

/// `assessor check`, with the system trust store replaced by `roots` when
/// given (`SSL_CERT_FILE`, which the driver's and the probe's loader honour).
fn run_check_with_system_roots(
    app: &LocalAppliance,
    extra: &[&str],
    roots: Option<&std::path::Path>,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assessor"));
    if let Some(roots) = roots {
        command
            .env("SSL_CERT_FILE", roots)
            .env_remove("SSL_CERT_DIR");
    }
    command
        .envs(app.assessor_env())
        .args(["check", "--config"])
        .arg(&app.config_path)
        .args(extra)
        .output()
        .unwrap()
}

fn check(app: &LocalAppliance) -> (Option<i32>, String) {
    check_output(run_check(app, &[]))
}

fn check_output(out: Output) -> (Option<i32>, String) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// `assessor check --json`: the exit code and the report on stdout.
fn check_json(app: &LocalAppliance) -> (Option<i32>, serde_json::Value) {
    let out = run_check(app, &["--json"]);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_setup_passes_every_check_and_nothing_is_collected() {
    let app = appliance([true; 4], false, false).await;
    let (code, out) = check(&app);
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "ok   kms key:",
        "ok   report bucket: demo-assessment-reports answers",
        "ok   sql-01: secret:",
        "ok   sql-01: tls: TLSv1.",
        "ok   sql-01: login: logged in over verified TLS (Required mode)",
        "ok   sql-01: server: SQL Server 16.0.4125.3 RTM",
        "ok   sql-01: permissions: every collection step can run",
        // The fixture's login holds VIEW SERVER STATE although the job does
        // not opt in to host resources: said, not failed.
        "ok   sql-01: host resources: not collected (opt-in: `[targets.collect] host_resources = true`); \
         WARNING: the login holds VIEW SERVER STATE",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    // The TLS probe's connection sent none: these are the login's.
    let statements = app.tds.as_ref().unwrap().statements();
    assert_eq!(
        statements,
        [SERVER_QUERY, PERMISSIONS_QUERY],
        "{statements:?}"
    );
    assert!(statements.iter().all(|s| is_collector_statement(s)));
    assert!(!out.contains("pw-check"));
    assert!(!app.session_dir.exists(), "check must not create a session");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_permissions_name_the_steps_they_would_skip() {
    let app = appliance([true, false, true, false], false, false).await;
    let (code, out) = check(&app);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.contains(
            "FAIL sql-01: permissions: missing VIEW ANY DEFINITION (skips: availability groups, logins, \
             linked servers, server triggers, endpoints, credentials, audits, object counts, feature counts, \
             tables, columns, indexes, cross-database references, module definitions); \
             SELECT on msdb.dbo.sysjobs (SQLAgentReaderRole in msdb) (skips: SQL Agent job steps); \
             grant them with policies/sqlserver-login.sql"
        ),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_resources_opt_in_is_listed_with_the_permission_it_needs() {
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.view_server_state = false;
    let app = LocalAppliance::start(ApplianceOptions {
        fixture,
        password: "pw-check".into(),
        sql_server_down: false,
        key_disabled: false,
    })
    .await
    .unwrap();
    // Without the opt-in, VIEW SERVER STATE is not needed: the check passes
    // and names the switch and the permission it would need.
    let (code, out) = check(&app);
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "ok   sql-01: permissions: every collection step can run",
        "ok   sql-01: host resources: not collected (opt-in: `[targets.collect] host_resources = \
         true`, which needs VIEW SERVER STATE)",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    // Opted in, the missing permission fails the check.
    edit_config(
        &app,
        "[timeouts]",
        "[targets.collect]\nhost_resources = true\n\n[timeouts]",
    );
    let (code, out) = check(&app);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.contains(
            "FAIL sql-01: host resources: opted in with `[targets.collect] host_resources = true` \
             but the login lacks VIEW SERVER STATE"
        ),
        "{out}"
    );
    // The check itself never reads server state, opted in or not.
    let statements = app.tds.as_ref().unwrap().statements();
    assert_eq!(
        statements,
        [
            SERVER_QUERY,
            PERMISSIONS_QUERY,
            SERVER_QUERY,
            PERMISSIONS_QUERY
        ],
        "{statements:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_host_other_than_the_secrets_is_warned_about() {
    let app = appliance([true; 4], false, false).await;
    let (_, out) = check(&app);
    assert!(!out.contains("sql-01: host:"), "{out}");
    // The secret names 127.0.0.1; the config sends the login elsewhere.
    edit_config(
        &app,
        "name = \"sql-01\"\n",
        "name = \"sql-01\"\nhost = \"localhost\"\n",
    );
    let (_, out) = check(&app);
    assert!(
        out.contains(
            "ok   sql-01: host: WARNING: sql-01: the job config's host differs from the host in \
             secret"
        ),
        "{out}"
    );
    assert!(!out.contains("pw-check"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_failure_is_listed_and_the_other_checks_still_run() {
    let app = appliance([true; 4], true, true).await;
    let (code, out) = check(&app);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("FAIL kms key:"), "{out}");
    assert!(out.contains("ok   report bucket:"), "{out}");
    assert!(out.contains("ok   sql-01: secret:"), "{out}");
    assert!(
        out.contains("FAIL sql-01: tls: sql-01: cannot reach 127.0.0.1:"),
        "{out}"
    );
    assert!(
        out.contains("FAIL sql-01: login: sql-01: cannot reach 127.0.0.1:"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// The TLS details (protocol, cipher suite, certificate, expiry).

fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Whole days left on a certificate of `validity`, measured around `run`.
fn assert_days_left(details: &TlsDetails, validity: Validity, before: i64, after: i64) {
    let (_, not_after) = validity.not_after();
    let range = (not_after - after).div_euclid(86_400)..=(not_after - before).div_euclid(86_400);
    assert!(
        range.contains(&details.days_left),
        "{details:?}, expected {range:?}"
    );
}

fn assert_negotiated(details: &TlsDetails) {
    assert!(
        ["TLSv1.2", "TLSv1.3"].contains(&details.protocol.as_str()),
        "{details:?}"
    );
    let tls13 = details.protocol == "TLSv1.3";
    assert!(
        details
            .cipher
            .starts_with(if tls13 { "TLS13_" } else { "TLS_ECDHE_" }),
        "{details:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tls_check_reports_protocol_cipher_certificate_and_expiry() {
    let app = appliance([true; 4], false, false).await;
    let (rfc3339, _) = Validity::Current.not_after();
    let date = &rfc3339[..10];

    let before = unix_now();
    let (code, out) = check(&app);
    assert_eq!(code, Some(0), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("ok   sql-01: tls: "))
        .unwrap_or_else(|| panic!("no tls check in\n{out}"));
    assert!(
        line.starts_with("ok   sql-01: tls: TLSv1.3, TLS13_")
            || line.starts_with("ok   sql-01: tls: TLSv1.2, TLS_ECDHE_"),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            ", certificate CN=127.0.0.1 (issued by CN=appliance test CA), expires {date} ("
        )),
        "{line}"
    );
    assert!(
        !line.contains("WARNING") && !line.contains("ALPN"),
        "{line}"
    );

    let (code, report) = check_json(&app);
    let after = unix_now();
    assert_eq!(code, Some(0), "{report}");
    let tls = report["tls"].as_array().unwrap();
    assert_eq!(tls.len(), 1, "{report}");
    assert_eq!(tls[0][0], "sql-01");
    let d = &tls[0][1];
    let details = TlsDetails {
        protocol: d["protocol"].as_str().unwrap().into(),
        cipher: d["cipher"].as_str().unwrap().into(),
        alpn: d["alpn"].as_str().map(Into::into),
        subject: d["subject"].as_str().unwrap().into(),
        issuer: d["issuer"].as_str().unwrap().into(),
        not_after: d["not_after"].as_str().unwrap().into(),
        days_left: d["days_left"].as_i64().unwrap(),
        verified: d["verified"].as_bool().unwrap(),
    };
    assert_negotiated(&details);
    assert!(line.contains(&format!("{}, {}", details.protocol, details.cipher)));
    assert_eq!(details.alpn, None);
    assert_eq!(details.subject, "CN=127.0.0.1");
    assert_eq!(details.issuer, "CN=appliance test CA");
    assert_eq!(details.not_after, rfc3339);
    assert!(details.verified);
    assert_days_left(&details, Validity::Current, before, after);
    assert!(
        line.contains(&format!("({} days)", details.days_left)),
        "{line}"
    );
}

/// The job config with `old` replaced by `new` (the config is ours: a
/// failed replacement is a broken test).
fn edit_config(app: &LocalAppliance, old: &str, new: &str) {
    let config = std::fs::read_to_string(&app.config_path).unwrap();
    assert!(config.contains(old), "{old:?} not in\n{config}");
    std::fs::write(&app.config_path, config.replace(old, new)).unwrap();
}

/// `tls.ca = "private"` (the default) against a server whose certificate a
/// *system* root vouches for: the system store is pointed at the server's CA
/// (`SSL_CERT_FILE`, which the driver's and the probe's loader honour) while
/// the config's bundle holds another CA. Both the probe and the real login
/// must refuse; with `ca = "system"` both pass, which proves the setup does
/// make the server publicly trusted.
#[tokio::test(flavor = "multi_thread")]
async fn under_ca_private_a_certificate_only_a_system_root_vouches_for_is_refused() {
    let app = appliance([true; 4], false, false).await;
    let private = TestPki::new("private CA of another team").unwrap();
    let ca_line = format!("ca_bundle = \"{}\"", app.pki.ca_path().display());
    let private_line = format!("ca_bundle = \"{}\"", private.ca_path().display());
    edit_config(&app, &ca_line, &private_line);
    let check_with_system_roots = || {
        check_output(run_check_with_system_roots(
            &app,
            &[],
            Some(app.pki.ca_path()),
        ))
    };

    let (code, out) = check_with_system_roots();
    assert_eq!(code, Some(4), "{out}");
    for check in ["tls", "login"] {
        assert!(
            out.contains(&format!(
                "FAIL sql-01: {check}: sql-01: the server's certificate is not signed by a trusted CA"
            )),
            "{check} must be refused under ca = \"private\":\n{out}"
        );
    }
    assert!(!out.contains("ok   sql-01: server:"), "{out}");

    edit_config(
        &app,
        &private_line,
        &format!("ca = \"system\"\n{private_line}"),
    );
    let (_, out) = check_with_system_roots();
    assert!(out.contains("ok   sql-01: tls: TLSv1."), "{out}");
    assert!(
        out.contains("ok   sql-01: login: logged in over verified TLS"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_ca_fails_the_tls_check_and_trusting_any_certificate_is_flagged() {
    let app = appliance([true; 4], false, false).await;
    let stranger = TestPki::new("stranger CA").unwrap();
    let ca_line = format!("ca_bundle = \"{}\"", app.pki.ca_path().display());
    let stranger_line = format!("ca_bundle = \"{}\"", stranger.ca_path().display());

    edit_config(&app, &ca_line, &stranger_line);
    let (code, out) = check(&app);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.contains(
            "FAIL sql-01: tls: sql-01: the server's certificate is not signed by a trusted CA; \
             put the CA that issued it in tls.ca_bundle (with tls.ca = \"private\", the default, \
             no public CA is trusted; do not disable validation)"
        ),
        "{out}"
    );

    edit_config(
        &app,
        &stranger_line,
        "dangerously_trust_server_certificate = true",
    );
    let (_, out) = check(&app);
    let line = out
        .lines()
        .find(|l| l.starts_with("ok   sql-01: tls: "))
        .unwrap_or_else(|| panic!("no passing tls check in\n{out}"));
    assert!(
        line.contains("certificate CN=127.0.0.1 (issued by CN=appliance test CA)"),
        "{line}"
    );
    assert!(
        line.contains(
            "; WARNING: certificate NOT VERIFIED (dangerously_trust_server_certificate = true)"
        ),
        "{line}"
    );
    // The login line says so too, and never calls that TLS verified.
    let login = out
        .lines()
        .find(|l| l.starts_with("ok   sql-01: login: "))
        .unwrap_or_else(|| panic!("no passing login check in\n{out}"));
    assert!(!login.contains("verified TLS"), "{login}");
    assert!(
        login.contains("the certificate was NOT verified"),
        "{login}"
    );
}

fn fast() -> ConnectOptions {
    ConnectOptions {
        timeout: Duration::from_secs(20),
        attempts: 1,
        backoff: Duration::from_millis(10),
    }
}

fn loopback(port: u16) -> ProbeTarget {
    ProbeTarget {
        target: "sql-probe".into(),
        host: "127.0.0.1".into(),
        port,
    }
}

fn verify(pki: &TestPki, mode: TlsMode, hostname: Option<&str>) -> TlsPolicy {
    TlsPolicy::Verify {
        mode,
        anchors: TrustAnchors::Private(Some(pki.ca_path().to_owned())),
        hostname_in_certificate: hostname.map(str::to_owned),
    }
}

#[tokio::test]
async fn the_probe_reports_the_leaf_verifies_like_the_login_and_sends_no_statement() {
    let pki = TestPki::new("probe CA").unwrap();
    let peer = TdsPeer::start(&TdsPeerOptions {
        leaf: pki
            .leaf(
                "probe",
                &["sql-a.corp.example", "127.0.0.1"],
                Validity::Current,
            )
            .unwrap(),
        user: "assessor".into(),
        password: "pw-probe".into(),
        fixture: None,
    })
    .unwrap();
    let to = loopback(peer.port());

    let before = unix_now();
    let details = probe(&to, &verify(&pki, TlsMode::Required, None), fast())
        .await
        .unwrap();
    let after = unix_now();
    assert_negotiated(&details);
    assert_eq!(details.alpn, None);
    assert_eq!(details.subject, "CN=sql-a.corp.example");
    assert_eq!(details.issuer, "CN=probe CA");
    assert_eq!(details.not_after, Validity::Current.not_after().0);
    assert_days_left(&details, Validity::Current, before, after);
    assert!(details.verified);

    // The login's checks, with the login's errors.
    let wrong_name = probe(
        &to,
        &verify(&pki, TlsMode::Required, Some("sql-b.corp.example")),
        fast(),
    )
    .await;
    assert!(
        matches!(
            wrong_name,
            Err(TlsProbeError::Connect(
                ConnectError::HostnameMismatch { .. }
            ))
        ),
        "{wrong_name:?}"
    );
    let right_name = probe(
        &to,
        &verify(&pki, TlsMode::Required, Some("sql-a.corp.example")),
        fast(),
    )
    .await;
    assert_eq!(right_name.unwrap().subject, "CN=sql-a.corp.example");
    let stranger = TestPki::new("stranger CA").unwrap();
    let untrusted = probe(&to, &verify(&stranger, TlsMode::Required, None), fast()).await;
    assert!(
        matches!(
            untrusted,
            Err(TlsProbeError::Connect(
                ConnectError::UntrustedCertificate { .. }
            ))
        ),
        "{untrusted:?}"
    );

    // Trusting any certificate still reads it, and says it was not verified.
    let dangerous = TlsPolicy::from_config(&TlsConfig {
        dangerously_trust_server_certificate: true,
        ..TlsConfig::default()
    });
    let unverified = probe(&to, &dangerous, fast()).await.unwrap();
    assert!(!unverified.verified);
    assert_eq!(unverified.subject, "CN=sql-a.corp.example");

    // Five handshakes, and not one statement reached the server.
    assert_eq!(peer.statements(), Vec::<String>::new());
}

#[tokio::test]
async fn strict_mode_reports_alpn_tds_8_0() {
    let pki = TestPki::new("strict CA").unwrap();
    let leaf = pki
        .leaf("strict", &["127.0.0.1"], Validity::Current)
        .unwrap();
    let peer = MockTdsPeer::start(MockTds::Strict, Some(&leaf)).unwrap();
    let to = loopback(peer.port());
    let details = probe(&to, &verify(&pki, TlsMode::Strict, None), fast())
        .await
        .unwrap();
    assert_negotiated(&details);
    assert_eq!(details.alpn.as_deref(), Some("tds/8.0"), "{details:?}");
    assert_eq!(details.subject, "CN=127.0.0.1");
    assert_eq!(details.issuer, "CN=strict CA");
    assert_eq!(details.not_after, Validity::Current.not_after().0);
    assert!(details.verified);

    // Strict mode verifies too.
    let stranger = TestPki::new("stranger CA").unwrap();
    let untrusted = probe(&to, &verify(&stranger, TlsMode::Strict, None), fast()).await;
    assert!(
        matches!(
            untrusted,
            Err(TlsProbeError::Connect(
                ConnectError::UntrustedCertificate { .. }
            ))
        ),
        "{untrusted:?}"
    );
}

#[tokio::test]
async fn the_probe_refuses_a_server_without_encryption() {
    let peer = MockTdsPeer::start(MockTds::None, None).unwrap();
    let pki = TestPki::new("matrix CA").unwrap();
    let err = probe(
        &loopback(peer.port()),
        &verify(&pki, TlsMode::Required, None),
        fast(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(
            err,
            TlsProbeError::Connect(ConnectError::EncryptionRefused { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("sql-probe: "), "{err}");
}

#[test]
fn without_aws_credentials_check_says_so_in_one_line() {
    let home = tempfile::tempdir().unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/job.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_assessor"))
        .args(["check", "--config", config])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let (code, all) = check_output(out);
    assert_eq!(code, Some(4), "{all}");
    let failures: Vec<&str> = all.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failures.len(), 1, "{all}");
    assert!(
        failures[0].starts_with("FAIL aws credentials: no AWS credentials found"),
        "{all}"
    );
    assert!(failures[0].contains("AWS_PROFILE"), "{all}");
    // The SDK's provider-chain dump stays out of what the user reads.
    assert!(
        !all.contains("ProviderChainError") && !all.contains("dispatch failure"),
        "{all}"
    );
}
