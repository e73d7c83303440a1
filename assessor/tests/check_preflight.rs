//! `assessor check`: the preflight proves the AWS side and each server's
//! login and permissions, and collects nothing.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use assessor::collect::catalog::{SERVER_QUERY, is_collector_statement};
use assessor::collect::permissions::PERMISSIONS_QUERY;
use testbed::appliance::{ApplianceOptions, LocalAppliance};
use testbed::catalog_fixture::CatalogFixture;

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

fn check(app: &LocalAppliance) -> (Option<i32>, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_assessor"))
        .envs(app.assessor_env())
        .args(["check", "--config"])
        .arg(&app.config_path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
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
        "ok   sql-01: login: logged in over verified TLS (Required mode)",
        "ok   sql-01: server: SQL Server 16.0.4125.3 RTM",
        "ok   sql-01: permissions: every collection step can run",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
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
            "FAIL sql-01: permissions: missing VIEW ANY DEFINITION (skips: object counts, module definitions); \
             SELECT on msdb.dbo.sysjobs (SQLAgentReaderRole in msdb) (skips: SQL Agent job steps); \
             grant them with policies/sqlserver-login.sql"
        ),
        "{out}"
    );
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
        out.contains("FAIL sql-01: login: sql-01: cannot reach 127.0.0.1:"),
        "{out}"
    );
}
