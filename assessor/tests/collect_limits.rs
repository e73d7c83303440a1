//! A hostile SQL Server's oversized answers (SECURITY.md, threat 2): the
//! collector, against the real TDS peer over verified TLS, stops at the
//! configured limits with an error naming the limit, the step and the key to
//! raise, and never holds the oversized answer in memory.
//!
//! Scaling: the case is a 1 GB definition against the default
//! 16 MiB limit, and a million rows. Generating that through the Python peer
//! is too slow for CI, so these tests configure small limits (64 KiB, 1,000
//! rows) and send answers 500 times (32 MB) and one row over them. The
//! check does not depend on the sizes: the connection's meter stops reading
//! once one row has taken more than twice the value limit plus 64 KiB on the
//! wire, so the memory a value can take is bounded by the limit, not by what
//! the server sends; the row count is checked on every row.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use assessor::collect::catalog::{CollectError, LimitExceeded, Limits, collect_within};
use assessor::collect::connect::{ConnectOptions, Endpoint, connect};
use assessor::collect::tls::{TlsPolicy, TrustAnchors};
use assessor::config::TlsMode;
use assessor::secrets::Password;
use testbed::catalog_fixture::{CatalogFixture, FixtureDatabase, FixtureModule};
use testbed::pki::{TestPki, Validity};
use testbed::tds::{TdsPeer, TdsPeerOptions};

const TIMEOUT: Duration = Duration::from_secs(120);

struct Server {
    peer: TdsPeer,
    pki: TestPki,
    _dir: tempfile::TempDir,
}

fn serve(fixture: &CatalogFixture) -> Server {
    let pki = TestPki::new("limits CA").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    fixture.write(&path).unwrap();
    let peer = TdsPeer::start(&TdsPeerOptions {
        leaf: pki.leaf("sql", &["127.0.0.1"], Validity::Current).unwrap(),
        user: "assessor".into(),
        password: "pw-for-tests".into(),
        fixture: Some(path),
    })
    .unwrap();
    Server {
        peer,
        pki,
        _dir: dir,
    }
}

async fn collect(server: &Server, limits: Limits) -> Result<usize, CollectError> {
    let endpoint = Endpoint {
        target: "sql-hostile".into(),
        host: "127.0.0.1".into(),
        port: server.peer.port(),
        username: "assessor".into(),
        password: Password::new("pw-for-tests".into()),
        database: None,
    };
    let tls = TlsPolicy::Verify {
        mode: TlsMode::Required,
        anchors: TrustAnchors::Private(Some(server.pki.ca_path().to_owned())),
        hostname_in_certificate: None,
    };
    let mut client = connect(&endpoint, &tls, ConnectOptions::default())
        .await
        .unwrap();
    let inventory = collect_within(&mut client, "sql-hostile", &[], TIMEOUT, limits).await?;
    Ok(inventory.databases.iter().map(|d| d.modules.len()).sum())
}

fn database(name: &str, modules: Vec<FixtureModule>) -> FixtureDatabase {
    FixtureDatabase {
        name: name.into(),
        modules,
        ..FixtureDatabase::default()
    }
}

/// `(field, kB)` from /proc/self/status.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap()
}

fn small_limits() -> Limits {
    Limits {
        max_value_bytes: 64 << 10,
        max_rows_per_query: 1_000,
        max_target_bytes: 16 << 20,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_definition_over_the_value_limit_fails_the_target_without_being_buffered() {
    const MARKER: char = 'Q';
    const DEFINITION: usize = 32 << 20;
    let fixture = CatalogFixture::with_databases(vec![database(
        "Huge",
        vec![
            FixtureModule::sized("small", 1_000, MARKER),
            FixtureModule::sized("huge", DEFINITION, MARKER),
        ],
    )]);
    let server = serve(&fixture);
    drop(fixture);
    // Peak RSS from here on (writing 5 to clear_refs resets VmHWM).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kb("VmRSS");

    let err = collect(&server, small_limits()).await.unwrap_err();
    let growth_kb = status_kb("VmHWM").saturating_sub(before);

    let CollectError::Limit { step, limit, .. } = &err else {
        panic!("not a limit error: {err}");
    };
    assert_eq!(*step, "module definitions");
    assert_eq!(*limit, LimitExceeded::Value(64 << 10));
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "sql-hostile: module definitions: the server sent a value larger than \
             limits.max_value_bytes (65536 bytes)"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("raise limits.max_value_bytes in the job config"),
        "{msg}"
    );
    assert!(
        !msg.contains("QQQQ") && !msg.contains("CREATE"),
        "data leaked: {msg}"
    );
    // 32 MB of text is 64 MB on the wire; the meter stops after ~192 KiB.
    assert!(
        growth_kb < 16 << 10,
        "peak memory grew by {growth_kb} kB while a {DEFINITION}-byte definition was refused"
    );

    eprintln!("peak memory growth while refusing the definition: {growth_kb} kB");

    // The control: under a limit that admits the definition, the same
    // answer is read whole, and the measurement sees it.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kb("VmRSS");
    let admitting = Limits {
        max_value_bytes: 64 << 20,
        max_rows_per_query: 10,
        max_target_bytes: 1 << 30,
    };
    assert_eq!(collect(&server, admitting).await.unwrap(), 2);
    let control_kb = status_kb("VmHWM").saturating_sub(before);
    eprintln!("peak memory growth while reading it: {control_kb} kB");
    assert!(
        control_kb > 32 << 10,
        "the measurement did not see a {DEFINITION}-byte definition read: {control_kb} kB"
    );

    // Under a limit that admits it, the same server's small module is read.
    let fixture = CatalogFixture::with_databases(vec![database(
        "Small",
        vec![FixtureModule::sized("small", 60 << 10, MARKER)],
    )]);
    let server = serve(&fixture);
    assert_eq!(collect(&server, small_limits()).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn more_rows_than_the_limit_fail_the_step_naming_the_key() {
    let modules = |n: usize| {
        (0..n)
            .map(|i| FixtureModule::sized(&format!("p{i}"), 60, ' '))
            .collect::<Vec<_>>()
    };
    let fixture = CatalogFixture::with_databases(vec![
        database("AtTheLimit", modules(1_000)),
        database("OverTheLimit", modules(1_001)),
    ]);
    let server = serve(&fixture);
    let err = collect(&server, small_limits()).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            CollectError::Limit {
                step: "module definitions",
                limit: LimitExceeded::Rows(1_000),
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("more rows than limits.max_rows_per_query (1000)")
            && msg.contains("raise limits.max_rows_per_query"),
        "{msg}"
    );
    // One more allowed row and both databases are collected.
    let limits = Limits {
        max_rows_per_query: 1_001,
        ..small_limits()
    };
    assert_eq!(collect(&server, limits).await.unwrap(), 2_001);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bytes_of_a_whole_target_are_bounded() {
    // 40 modules of 30 KiB: each under the value limit, 1.2 MB in all.
    let modules = (0..40)
        .map(|i| FixtureModule::sized(&format!("p{i}"), 30 << 10, 'x'))
        .collect();
    let server = serve(&CatalogFixture::with_databases(vec![database(
        "Many", modules,
    )]));
    let limits = Limits {
        max_target_bytes: 512 << 10,
        ..small_limits()
    };
    let err = collect(&server, limits).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            CollectError::Limit {
                limit: LimitExceeded::Target(524_288),
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("limits.max_target_bytes (524288 bytes) in all"),
        "{msg}"
    );
    // The defaults admit it.
    assert_eq!(collect(&server, Limits::default()).await.unwrap(), 40);
}
