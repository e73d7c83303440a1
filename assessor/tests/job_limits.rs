//! The appliance job with one hostile SQL Server among its targets: the real
//! `assessor run` against moto_server, a real PostgreSQL, the usual TDS peer
//! (WideWorldImporters) and a second one whose module definition is larger
//! than the configured `limits.max_value_bytes`. The hostile target fails
//! with the limit's message, the other is assessed and delivered, the run is
//! partial (exit 6) and the session is wiped. (How the limit scales to the
//! issue's 1 GB definition: see `collect_limits.rs`.)
#![cfg(feature = "testing-endpoint")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

use serde_json::Value;
use testbed::appliance::{ApplianceOptions, LocalAppliance, SQL_USER};
use testbed::catalog_fixture::{CatalogFixture, FixtureDatabase, FixtureModule};
use testbed::pki::Validity;
use testbed::postgres::random_hex;
use testbed::tds::{TdsPeer, TdsPeerOptions};

#[tokio::test(flavor = "multi_thread")]
async fn a_server_sending_an_oversized_definition_fails_its_target_and_the_job_goes_on() {
    let password = format!("CANARY-PASSWORD-{}", random_hex(8).unwrap());
    let app = LocalAppliance::start(ApplianceOptions {
        fixture: CatalogFixture::wide_world_importers().unwrap(),
        password: password.clone(),
        sql_server_down: false,
        key_disabled: false,
    })
    .await
    .unwrap();

    // The hostile server: same login, one 1 MB module among small ones.
    let marker = format!("HUGE{}", random_hex(4).unwrap());
    let mut huge = FixtureModule::sized("huge", 1 << 20, 'x');
    if let Some(d) = huge.definition.as_mut() {
        d.push_str(&marker);
    }
    let hostile = CatalogFixture::with_databases(vec![FixtureDatabase {
        name: "Hostile".into(),
        modules: vec![FixtureModule::sized("small", 500, ' '), huge],
        ..FixtureDatabase::default()
    }]);
    let fixture_path = app.scratch().join("hostile.json");
    hostile.write(&fixture_path).unwrap();
    let peer = TdsPeer::start(&TdsPeerOptions {
        leaf: app
            .pki
            .leaf("hostile", &["127.0.0.1"], Validity::Current)
            .unwrap(),
        user: SQL_USER.into(),
        password: password.clone(),
        fixture: Some(fixture_path),
    })
    .unwrap();
    let mut config = std::fs::read_to_string(&app.config_path).unwrap();
    config.push_str(&format!(
        r#"
[[targets]]
name = "sql-hostile"
secret_id = "{secret}"
host = "127.0.0.1"
port = {port}
[targets.tls]
mode = "required"
ca_bundle = "{ca}"

[limits]
max_value_bytes = 65536
"#,
        secret = app.secret_id,
        port = peer.port(),
        ca = app.pki.ca_path().display(),
    ));
    std::fs::write(&app.config_path, config).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_assessor"))
        .envs(app.assessor_env())
        .args(["run", "--config"])
        .arg(&app.config_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(6), "{all}");
    assert!(!all.contains(&marker), "the definition leaked: {all}");
    assert!(!all.contains(&password));
    let run: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(run["outcome"], "partial", "{run}");
    assert_eq!(run["wiped"], true, "{run}");
    assert!(!app.session_dir.exists());
    let targets = run["targets"].as_array().unwrap();
    let target = |name: &str| {
        targets
            .iter()
            .find(|t| t["target"] == name)
            .unwrap_or_else(|| panic!("no {name} in {run}"))
    };
    assert_eq!(target("sql-01")["ok"], true, "{run}");
    assert!(target("sql-01")["modules"].as_u64().unwrap() > 100, "{run}");
    let hostile = target("sql-hostile");
    assert_eq!(hostile["ok"], false, "{run}");
    let error = hostile["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "sql-hostile: module definitions: the server sent a value larger than \
             limits.max_value_bytes (65536 bytes)"
        ) && error.contains("raise limits.max_value_bytes in the job config"),
        "{error}"
    );
    assert!(run["delivered_to"].is_string(), "{run}");
}
