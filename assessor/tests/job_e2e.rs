//! The appliance job end to end on one machine: the real `assessor` binary
//! against moto_server (KMS, Secrets Manager, S3), a TDS peer with verified
//! TLS serving the WideWorldImporters catalog, and a real PostgreSQL.
//!
//! The canary test scans every file of the session directory (PostgreSQL's
//! data files and WAL included) while the job runs, and all of its output
//! afterwards, for two planted strings: one in a module definition and one
//! in the SQL password.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testbed::appliance::{ApplianceOptions, BUCKET, LocalAppliance, PREFIX};
use testbed::catalog_fixture::{CatalogFixture, FixtureDatabase, FixtureModule};
use testbed::postgres::random_hex;
use testbed::workload_fixture::{
    EF_ENTITIES, FixtureProcedure, FixtureWorkload, GLOBAL_TEMP_TABLES, INSERT_TABLES, SourceAnswer,
};

fn assessor(app: &LocalAppliance) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_assessor"));
    cmd.envs(app.assessor_env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn start_job(app: &LocalAppliance) -> Child {
    assessor(app)
        .arg("run")
        .arg("--config")
        .arg(&app.config_path)
        .spawn()
        .unwrap()
}

/// The job with debug logs: they must not carry the canaries either.
fn start_job_logging_debug(app: &LocalAppliance) -> Child {
    assessor(app)
        .env("RUST_LOG", "debug")
        .arg("run")
        .arg("--config")
        .arg(&app.config_path)
        .spawn()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn summary(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not the run summary ({e}):\n{}", text(output)))
}

/// Every regular file under `dir` (what is there at this instant).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What the scanner saw while the job ran.
#[derive(Debug, Default)]
struct Scan {
    /// Scans made while the session's PostgreSQL data directory existed.
    with_cluster: usize,
    /// Scans made after module definitions were stored (the module
    /// table's file is non-empty).
    files_seen: usize,
    hits: Vec<(PathBuf, String)>,
    /// Every file name seen under the session directory.
    names: std::collections::BTreeSet<String>,
}

/// Waits for the job, scanning the session directory for `canaries` the
/// whole time.
fn scan_while_running(mut child: Child, session: &Path, canaries: &[&str]) -> (Output, Scan) {
    // Drain the pipes meanwhile, or a chatty job blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut bytes).unwrap();
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut scan = Scan::default();
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the job did not finish in 10 min"
        );
        let files = files_under(session);
        if session.join("pg/data/base").is_dir() {
            scan.with_cluster += 1;
        }
        scan.files_seen = scan.files_seen.max(files.len());
        for file in files {
            if let Some(name) = file.file_name() {
                scan.names.insert(name.to_string_lossy().into_owned());
            }
            // A file can vanish between listing and reading.
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            for canary in canaries {
                if contains(&bytes, canary.as_bytes()) {
                    scan.hits.push((file.clone(), (*canary).to_owned()));
                }
            }
        }
        // Short: the complete cluster lives well under a second once the
        // job is fast, and a loaded machine starves this thread.
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = Output {
        status: child.wait().unwrap(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (output, scan)
}

fn canary_fixture(canary: &str) -> CatalogFixture {
    let mut fixture = CatalogFixture::wide_world_importers().unwrap();
    fixture.databases[0].modules.push(FixtureModule {
        schema: "Application".into(),
        name: "CanaryReport".into(),
        kind: "SQL_STORED_PROCEDURE".into(),
        definition: Some(format!(
            "CREATE PROCEDURE [Application].[CanaryReport]\nAS\nBEGIN\n    DECLARE @marker nvarchar(64) = N'{canary}';\n    SELECT STR(123.456, 8, 2) AS amount, @marker AS marker;\n    RAISERROR(N'report done', 10, 1) WITH LOG;\nEND\n"
        )),
    });
    fixture
}

async fn stand_up(options: ApplianceOptions) -> LocalAppliance {
    LocalAppliance::start(options).await.unwrap()
}

async fn s3(app: &LocalAppliance) -> aws_sdk_s3::Client {
    let shared = testbed::appliance::sdk_config(&app.moto.endpoint_url()).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    )
}

/// One object's content.
async fn object_bytes(client: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

/// Every key in the bucket.
async fn bucket_keys(app: &LocalAppliance) -> Vec<String> {
    s3(app)
        .await
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_job_delivers_a_verified_report_and_leaves_no_plaintext_behind() {
    let module_canary = format!("CANARY-MODULE-{}", random_hex(8).unwrap());
    let password_canary = format!("CANARY-PASSWORD-{}", random_hex(8).unwrap());
    // A password in a CmdExec job step: only T-SQL steps' commands are
    // read, so it must never reach the appliance at all.
    let step_canary = format!("CANARY-JOBSTEP-{}", random_hex(8).unwrap());
    let mut fixture = canary_fixture(&module_canary);
    fixture.job_steps.push((
        "Nightly export".into(),
        1,
        "CmdExec".into(),
        format!("bcp WideWorldImporters.Sales.Orders out D:\\x.dat -U etl -P {step_canary}"),
    ));
    let modules = fixture.module_count();
    let tsql_job_steps = fixture
        .job_steps
        .iter()
        .filter(|(_, _, subsystem, _)| subsystem == "TSQL")
        .count();
    let app = stand_up(ApplianceOptions::healthy(fixture, &password_canary)).await;

    // Debug logs too: they must not carry the canaries either.
    let child = start_job_logging_debug(&app);
    // The KMS-wrapped data key is not written either: moto's ciphertext
    // blob starts with the key's id, so the id in any session file would be
    // a stored wrapped key (the job itself never names the key there).
    let canaries = [
        module_canary.clone(),
        password_canary.clone(),
        step_canary.clone(),
        app.key_id.clone(),
    ];
    let session = app.session_dir.clone();
    let (output, scan) = tokio::task::spawn_blocking(move || {
        let canaries: Vec<&str> = canaries.iter().map(String::as_str).collect();
        scan_while_running(child, &session, &canaries)
    })
    .await
    .unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(
        scan.with_cluster > 0 && scan.files_seen > 100,
        "the scanner never saw the session's PostgreSQL at work: {scan:?}"
    );
    assert!(scan.hits.is_empty(), "plaintext on disk: {:?}", scan.hits);
    assert!(
        scan.names.iter().all(|n| !n.contains("data-key")),
        "a data key file was written: {:?}",
        scan.names
    );
    assert!(!app.session_dir.exists(), "the session directory survived");
    for canary in [&module_canary, &password_canary, &step_canary] {
        assert!(!all.contains(canary.as_str()), "{canary} in the output");
    }

    let run = summary(&output);
    assert_eq!(run["outcome"], "succeeded");
    assert_eq!(run["wiped"], true);
    assert_eq!(run["targets"][0]["target"], "sql-01");
    // The whole job, its PostgreSQL and the delivery included, ran under
    // the Landlock ruleset (C37; tests/confinement.rs proves what it denies).
    assert_eq!(run["confinement"]["enforced"], true, "{run}");
    assert_eq!(run["confinement"]["policy"], "required", "{run}");
    assert!(
        run["confinement"]["landlock_abi"].as_i64() >= Some(1),
        "{run}"
    );
    assert!(all.contains("confinement: Landlock ABI"), "{all}");

    // The operator's status lines: the run's stages and outcome, by number
    // and fixed word only; no name, code, secret or key.
    let lines = app.status_lines().await.unwrap();
    let run_id = run["run_id"].as_str().unwrap();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains(r#""event":"started""#) && l.contains(run_id)),
        "{lines:#?}"
    );
    for expected in [
        r#""event":"confinement","enforced":true"#,
        r#""event":"stage","stage":"collect","ok":true"#,
        r#""event":"stage","stage":"wipe","ok":true"#,
        r#""event":"target","index":1,"ok":true,"databases":2"#,
        r#""event":"finished","outcome":"succeeded","exit_code":0"#,
    ] {
        assert!(
            lines.iter().any(|l| l.contains(expected)),
            "no {expected} in {lines:#?}"
        );
    }
    let log = lines.join("\n");
    for secret in [
        module_canary.as_str(),
        password_canary.as_str(),
        step_canary.as_str(),
        "sql-01",
        "WideWorldImporters",
        app.key_id.as_str(),
        app.secret_id.as_str(),
        testbed::appliance::BUCKET,
    ] {
        assert!(!log.contains(secret), "{secret} in the status lines: {log}");
    }
    assert_eq!(run["targets"][0]["modules"], modules);
    assert_eq!(run["targets"][0]["databases"], 2);
    let stages: Vec<&str> = run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "preflight",
            "store",
            "collect",
            "analyze",
            "report",
            "deliver",
            "wipe"
        ]
    );
    let run_id = run["run_id"].as_str().unwrap();

    // Every object is under the customer's key.
    let client = s3(&app).await;
    let keys = bucket_keys(&app).await;
    assert!(keys.len() >= 7, "{keys:?}");
    // The bundle under the run's folder, and one object per query table
    // named after the run under athena/ (assessor::athena).
    let tables: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with(&format!("{PREFIX}/athena/")))
        .collect();
    assert_eq!(tables.len(), 3, "{tables:?}");
    for key in &keys {
        let in_run = key.starts_with(&format!("{PREFIX}/{run_id}/"));
        let table = key.starts_with(&format!("{PREFIX}/athena/"))
            && key.contains("/run_date=")
            && key.ends_with(&format!("/{run_id}.json"));
        assert!(in_run || table, "{key}");
        let head = client
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption().map(|s| s.as_str()),
            Some("aws:kms"),
            "{key}"
        );
        assert!(
            head.ssekms_key_id().unwrap_or("").contains(&app.key_id),
            "{key}"
        );
    }

    // The operator's side: list, then download with every checksum verified.
    let listed = assessor(&app)
        .args(["report", "list", &app.reports_url()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains(run_id),
        "{}",
        text(&listed)
    );
    let out = download(&app, run_id);

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let in_canary = |feature: &str| {
        findings.iter().any(|f| {
            f["feature"] == feature
                && f["file"]
                    .as_str()
                    .unwrap()
                    .ends_with("WideWorldImporters.Application.CanaryReport.sql")
        })
    };
    // The two differences Compass misses, found in code that came over TDS.
    assert!(in_canary("function.str"), "no STR() finding");
    assert!(
        in_canary("statement.raiserror.with_log"),
        "no RAISERROR WITH LOG finding"
    );
    assert_eq!(findings.len() as u64, run["findings"].as_u64().unwrap());
    // Every collected module and T-SQL job step is one analysed unit of code.
    assert_eq!(
        report["summary"]["files_analyzed"],
        modules + tsql_job_steps
    );
    // The constructs that run unchanged are counted for collected code too.
    assert!(report["summary"]["supported_constructs"]["total"].as_u64() > Some(0));
    // What the catalog showed beyond code is assessed too: the fixture's
    // availability group, its Agent job, and WWI's temporal and
    // memory-optimized tables, each attributed to its object.
    let fact = |file: &str, feature: &str, object: &str| {
        findings
            .iter()
            .any(|f| f["file"] == file && f["feature"] == feature && f["object"]["name"] == object)
    };
    assert!(fact(
        "sql-01/(server)",
        "server.availability_group",
        "wwi-ag"
    ));
    assert!(fact(
        "sql-01/(server)",
        "server.agent_job",
        "WWI nightly purge"
    ));
    assert!(fact(
        "sql-01/WideWorldImporters",
        "ddl.temporal.create_table",
        "Cities"
    ));
    assert!(fact(
        "sql-01/WideWorldImporters",
        "memory_optimized.memory_optimized",
        "ColdRoomTemperatures"
    ));
    // The drill-down carries the module's source around its findings: a
    // line with no finding of its own, from the decrypted store.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("DECLARE @marker nvarchar(64)"),
        "no source excerpt in the appliance's HTML report"
    );
    // The server overview: what was assessed, from the inventory.
    let servers = &html[html
        .find("<section id=\"servers\"")
        .expect("no servers section")..];
    assert!(servers.contains("<h3>sql-01</h3>") && servers.contains("16.0.4125.3"));
    assert!(servers.contains("<td class=\"obj\">WideWorldImporters</td>"));
    let inventory: Value =
        serde_json::from_slice(&std::fs::read(out.join("inventory.json")).unwrap()).unwrap();
    assert_eq!(inventory["sql-01"]["server"]["version"], "16.0.4125.3");
    let wwi = &inventory["sql-01"]["databases"][0];
    assert_eq!(wwi["name"], "WideWorldImporters");
    assert!(wwi["tables"].as_array().unwrap().len() > 40);
    // Code never travels in the inventory: no definitions, no job commands.
    let inventory_text = std::fs::read_to_string(out.join("inventory.json")).unwrap();
    assert!(!inventory_text.contains("\"definition\""));
    assert!(!inventory_text.contains(&module_canary));
    // The CmdExec step is listed by subsystem; its command is nowhere in the
    // bundle (it never left the server).
    assert!(inventory_text.contains("CmdExec"));
    for file in std::fs::read_dir(&out).unwrap() {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !contains(&bytes, step_canary.as_bytes()),
            "the CmdExec step's command is in {}",
            path.display()
        );
    }
    // The delivered summary is the truth of the run, written after the wipe:
    // the same outcome, timing and wipe as the summary the command printed.
    let delivered: Value =
        serde_json::from_slice(&std::fs::read(out.join("run-summary.json")).unwrap()).unwrap();
    assert_eq!(delivered["run_id"], run_id);
    assert_eq!(delivered["wiped"], true, "{delivered}");
    assert_eq!(delivered["outcome"], run["outcome"]);
    assert_eq!(delivered["seconds"], run["seconds"]);
    assert!(delivered["seconds"].as_f64().unwrap() > 0.0, "{delivered}");
    let stages: Vec<&str> = delivered["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages.last(), Some(&"wipe"), "{stages:?}");
    // Every report says when it was made.
    let generated_at = report["generated_at"]
        .as_str()
        .expect("generated_at is set");
    assert!(
        generated_at.len() == 20 && generated_at.ends_with('Z'),
        "{generated_at}"
    );
}

/// `[targets.workload]`: Query Store read live, its statements normalised
/// in the collector, stored sealed, weighed in the analyze stage and
/// delivered in report.json; the plan cache refused (a skipped step naming
/// SQL Server 2022's permission) without failing the run; a canary in a
/// string literal of the workload is nowhere: not in the session directory
/// while the job runs, not in any bundle object, not in the output, not in
/// the status lines.
#[tokio::test(flavor = "multi_thread")]
async fn the_job_weighs_the_live_workload_and_no_literal_survives() {
    let canary = format!("CANARY-WORKLOAD-{}", random_hex(8).unwrap());
    let mut workload = FixtureWorkload::realistic(&canary);
    workload.plan_cache_answer = SourceAnswer::Denied(300);
    let query_store_rows = workload.query_store.len() as u64;
    let executions: u64 = workload.query_store.iter().map(|s| s.executions).sum();
    let mut fixture = CatalogFixture::with_databases(vec![FixtureDatabase {
        name: "Sales".into(),
        ..FixtureDatabase::default()
    }])
    .with_major_version(16);
    fixture.workload = Some(workload);
    let app = stand_up(ApplianceOptions::healthy(fixture, "pw-workload")).await;

    let child = start_job_logging_debug(&app);
    let session = app.session_dir.clone();
    let scanned = canary.clone();
    let (output, scan) = tokio::task::spawn_blocking(move || {
        scan_while_running(child, &session, &[scanned.as_str()])
    })
    .await
    .unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(
        scan.with_cluster > 0,
        "the scanner never saw the session: {scan:?}"
    );
    assert!(scan.hits.is_empty(), "the canary on disk: {:?}", scan.hits);
    assert!(!all.contains(&canary), "the canary in the output");
    let run = summary(&output);
    assert_eq!(run["outcome"], "succeeded");
    // The refused plan cache: two steps skipped, the run not failed.
    assert_eq!(run["targets"][0]["ok"], true);
    assert_eq!(run["targets"][0]["skipped_steps"], 2);
    let log = app.status_lines().await.unwrap().join("\n");
    assert!(
        log.contains(r#""event":"finished","outcome":"succeeded""#),
        "{log}"
    );
    assert!(!log.contains(&canary), "the canary in the status lines");

    // Every delivered object, read back from the bucket.
    let client = s3(&app).await;
    let keys = bucket_keys(&app).await;
    assert!(keys.iter().any(|k| k.ends_with("/report.json")), "{keys:?}");
    let mut report = None;
    for key in &keys {
        let body = object_bytes(&client, key).await;
        assert!(!contains(&body, canary.as_bytes()), "the canary in {key}");
        assert!(
            !contains(&body, b"CANARY-WORKLOAD"),
            "part of the canary in {key}"
        );
        if key.ends_with("/report.json") {
            report = Some(serde_json::from_slice::<Value>(&body).unwrap());
        }
        if key.ends_with("/inventory.json") {
            let inventory: Value = serde_json::from_slice(&body).unwrap();
            let skipped: Vec<(&str, &str)> = inventory["sql-01"]["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["step"].as_str().unwrap(),
                        s["permission"].as_str().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                skipped,
                [
                    ("plan cache statements", "VIEW SERVER PERFORMANCE STATE"),
                    (
                        "plan cache module statistics",
                        "VIEW SERVER PERFORMANCE STATE"
                    ),
                ]
            );
        }
    }
    let report = report.unwrap();
    let w = &report["workload"];
    // Each EF entity's MERGE, each table's INSERT, the 1500 ad hoc lookups
    // as one statement, the staging tables, two catalog queries and the
    // canary UPDATE.
    let distinct = EF_ENTITIES + INSERT_TABLES + 1 + GLOBAL_TEMP_TABLES + 2 + 1;
    assert_eq!(w["statements_distinct"], distinct, "{w}");
    assert_eq!(w["executions_total"], executions);
    assert_eq!(w["events_read"], query_store_rows);
    assert_eq!(w["captures"][0]["file"], "sql-01.query_store");
    assert_eq!(w["captures"][0]["format"], "query_store");
    assert_eq!(w["first_event"], "2026-11-28T08:00:00.000");
    assert_eq!(w["statements"].as_array().unwrap().len() as u64, distinct);
    // Blockers ranked by the executions that would fail: the global
    // temporary tables are one, with their statements' weight (the staging
    // tables' 5..=14 executions each, and the canary UPDATE's 3).
    let blockers = w["blockers"].as_array().unwrap();
    let global = blockers
        .iter()
        .find(|b| b["feature"] == "statement.global_temp_table")
        .unwrap_or_else(|| panic!("no global temp blocker: {w}"));
    assert_eq!(global["statements"], GLOBAL_TEMP_TABLES + 1);
    assert_eq!(
        global["executions"],
        (5..5 + GLOBAL_TEMP_TABLES).sum::<u64>() + 3
    );
    let ranked: Vec<u64> = blockers
        .iter()
        .map(|b| b["executions"].as_u64().unwrap())
        .collect();
    assert!(ranked.windows(2).all(|p| p[0] >= p[1]), "{ranked:?}");
    assert!(w["headline"]["blockers"].as_u64().unwrap() >= 1, "{w}");
    assert!(
        w["executions_failing"].as_u64().unwrap() > 0
            && w["executions_failing"].as_u64().unwrap() < executions
    );
    // Its findings carry their statement's weight.
    let findings = report["findings"].as_array().unwrap();
    let weighted = findings
        .iter()
        .find(|f| {
            f["feature"] == "statement.global_temp_table"
                && f["file"]
                    .as_str()
                    .unwrap()
                    .starts_with("workload/sql-01.query_store#")
        })
        .unwrap();
    assert!(weighted["workload"]["executions"].as_u64().unwrap() >= 3);
    // The canary's statement is reported, with its literal replaced.
    let canary_update = findings
        .iter()
        .find(|f| {
            f["feature"] == "statement.global_temp_table"
                && f["snippet"]
                    .as_str()
                    .is_some_and(|s| s.contains("UPDATE ##session_notes"))
        })
        .unwrap_or_else(|| panic!("no finding on the canary's statement"));
    assert!(
        canary_update["snippet"]
            .as_str()
            .unwrap()
            .contains("SET Notes = N'?'"),
        "{canary_update}"
    );
}

/// Modules are weighed by `sys.dm_exec_procedure_stats`: a blocker in a
/// procedure the server ran hundreds of thousands of times ranks by those executions,
/// a module the server ran without a blocker counts as ready executions,
/// and a module nobody ran (not in the statistics) keeps its findings
/// unweighted.
#[tokio::test(flavor = "multi_thread")]
async fn the_job_weighs_modules_by_the_executions_the_server_recorded() {
    let module = |name: &str, body: &str| FixtureModule {
        schema: "Website".into(),
        name: name.into(),
        kind: "SQL_STORED_PROCEDURE".into(),
        definition: Some(format!(
            "CREATE PROCEDURE [Website].[{name}]\nAS\nBEGIN\n    {body}\nEND\n"
        )),
    };
    let mut workload = FixtureWorkload::realistic("no-canary-here");
    workload.procedures = vec![
        FixtureProcedure {
            database: "Shop".into(),
            schema: "Website".into(),
            name: "SearchForPeople".into(),
            executions: 400_000,
            cpu_us: 900_000_000,
        },
        FixtureProcedure {
            database: "Shop".into(),
            schema: "Website".into(),
            name: "ListCities".into(),
            executions: 800,
            cpu_us: 1_000_000,
        },
    ];
    let mut fixture = CatalogFixture::with_databases(vec![FixtureDatabase {
        name: "Shop".into(),
        modules: vec![
            module(
                "SearchForPeople",
                "SELECT p.FullName INTO ##people FROM Application.People AS p;",
            ),
            module(
                "ListCities",
                "SELECT c.CityName FROM Application.Cities AS c ORDER BY c.CityName;",
            ),
            module(
                "NeverRun",
                "SELECT p.FullName INTO ##archive FROM Application.People AS p;",
            ),
        ],
        ..FixtureDatabase::default()
    }])
    .with_major_version(16);
    fixture.workload = Some(workload);
    let app = stand_up(ApplianceOptions::healthy(fixture, "pw-module-weights")).await;
    let output = start_job(&app).wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let run_id = summary(&output)["run_id"].as_str().unwrap().to_owned();
    let out = download(&app, &run_id);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let w = &report["workload"];
    assert_eq!(
        (&w["modules_run"], &w["modules_ready"]),
        (&json!(2), &json!(1))
    );
    let rows = w["statements"].as_array().unwrap();
    let row = |file: &str| {
        rows.iter()
            .find(|r| r["file"] == file)
            .unwrap_or_else(|| panic!("no row for {file}"))
    };
    let search = row("sql-01/Shop.Website.SearchForPeople.sql");
    assert_eq!(
        (&search["module"], &search["executions"], &search["ready"]),
        (&json!(true), &json!(400_000), &json!(false))
    );
    let cities = row("sql-01/Shop.Website.ListCities.sql");
    assert_eq!(
        (&cities["executions"], &cities["ready"]),
        (&json!(800), &json!(true))
    );
    assert!(
        rows.iter()
            .all(|r| r["file"] != "sql-01/Shop.Website.NeverRun.sql")
    );
    // Statements and modules together make up the executions.
    let sum: u64 = rows.iter().map(|r| r["executions"].as_u64().unwrap()).sum();
    assert_eq!(w["executions_total"], sum);
    // The procedure's blocker leads the ranking by its 40,000 executions.
    let top = &w["blockers"][0];
    assert_eq!(
        top["feature"], "statement.global_temp_table",
        "{}",
        w["blockers"]
    );
    assert_eq!(top["modules"], 1, "{top}");
    assert!(top["executions"].as_u64().unwrap() >= 400_000, "{top}");
    // Its finding carries the module's weight; the unrun module's does not.
    let findings = report["findings"].as_array().unwrap();
    let weight_of = |file: &str| {
        findings
            .iter()
            .find(|f| f["file"] == file && f["feature"] == "statement.global_temp_table")
            .unwrap_or_else(|| panic!("no global temp finding in {file}"))["workload"]
            .clone()
    };
    let weighted = weight_of("sql-01/Shop.Website.SearchForPeople.sql");
    assert_eq!(weighted["executions"], 400_000, "{weighted}");
    assert_eq!(weighted["cpu_ms"], 900_000);
    assert!(
        weighted["executions_percent"].as_f64().unwrap() > 50.0,
        "{weighted}"
    );
    assert_eq!(weight_of("sql-01/Shop.Website.NeverRun.sql"), Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn report_effort_in_the_config_is_checked_first_and_calibrates_the_report() {
    let app = stand_up(ApplianceOptions::healthy(
        CatalogFixture::wide_world_importers().unwrap(),
        "pw-effort-test",
    ))
    .await;
    let config = std::fs::read_to_string(&app.config_path).unwrap();
    // In the [report] table: the line before the first target.
    let with = |effort: &str| {
        let text = config.replacen("[[targets]]", &format!("{effort}\n\n[[targets]]"), 1);
        let path = app.scratch().join("effort.toml");
        std::fs::write(&path, &text).unwrap();
        let line = text.lines().position(|l| l.starts_with("effort")).unwrap() + 1;
        (path, line)
    };

    // A bad calibration stops the job before anything is collected.
    let (bad, line) = with(
        "effort = { complexity = { low = -1 }, feature.\"no.such\" = { status = \"ignored\" } }",
    );
    let output = assessor(&app)
        .args(["run", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!(
            "`report.effort.complexity.low` is negative (-1): minutes are 0 or more (line {line})"
        )),
        "{all}"
    );
    assert!(all.contains("unknown feature id `no.such`"), "{all}");
    assert!(bucket_keys(&app).await.is_empty());

    // CHECKSUM() is a review_semantics finding in WWI's code: calibrated to
    // supported, it is counted as a supported construct instead. The Agent
    // job, a blocker from the catalog facts, is accepted as ignored.
    let (good, _) = with(
        "effort = { complexity = { high = 1 }, feature.\"function.checksum\" = { status = \"supported\" }, \
         feature.\"server.agent_job\" = { status = \"ignored\" } }",
    );
    let output = assessor(&app)
        .args(["run", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let run_id = summary(&output)["run_id"].as_str().unwrap().to_owned();
    let out = download(&app, &run_id);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let recorded = &report["summary"]["effort_overrides"];
    assert_eq!(recorded["overrides"], 3, "{recorded}");
    assert!(
        recorded["file"]
            .as_str()
            .unwrap()
            .ends_with("effort.toml [report.effort]")
    );
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["feature"] != "function.checksum"));
    let job = findings
        .iter()
        .find(|f| f["feature"] == "server.agent_job")
        .unwrap();
    assert_eq!(job["status"], "ignored");
    assert!(
        report["summary"]["supported_constructs"]["by_feature"]["function.checksum"].as_u64()
            > Some(0)
    );
    // Every high-complexity finding, in code or catalog facts, costs 1 minute.
    let high: Vec<&Value> = findings
        .iter()
        .filter(|f| f["complexity"] == "high")
        .collect();
    assert!(!high.is_empty());
    assert!(high.iter().all(|f| f["effort_minutes"] == 1), "{high:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_server_down_fails_the_run_delivers_a_summary_without_data_and_wipes() {
    let password = format!("CANARY-PASSWORD-{}", random_hex(8).unwrap());
    let app = stand_up(ApplianceOptions {
        sql_server_down: true,
        ..ApplianceOptions::healthy(CatalogFixture::wide_world_importers().unwrap(), &password)
    })
    .await;
    let output = assessor(&app)
        .args(["run", "--config"])
        .arg(&app.config_path)
        .output()
        .unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(!all.contains(&password));
    let run = summary(&output);
    assert_eq!(run["outcome"], "failed");
    assert_eq!(run["wiped"], true);
    let error = run["targets"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("sql-01: cannot reach 127.0.0.1:"),
        "{error}"
    );
    assert!(!app.session_dir.exists());

    // The bucket says what happened, and holds nothing else.
    let delivered = delivered_failure(&app, &run).await;
    assert_eq!(delivered["outcome"], "failed");
    assert_eq!(delivered["findings"], 0);

    // The status lines say it failed, and which target, by number only.
    let lines = app.status_lines().await.unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""event":"finished","outcome":"failed","exit_code":1"#)),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""event":"target","index":1,"ok":false"#)),
        "{lines:#?}"
    );
    let log = lines.join("\n");
    assert!(
        !log.contains("sql-01") && !log.contains("127.0.0.1") && !log.contains(&password),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_key_stops_the_run_before_anything_is_collected() {
    let app = stand_up(ApplianceOptions {
        key_disabled: true,
        ..ApplianceOptions::healthy(
            CatalogFixture::wide_world_importers().unwrap(),
            "pw-key-test",
        )
    })
    .await;
    let output = assessor(&app)
        .args(["run", "--config"])
        .arg(&app.config_path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    let run = summary(&output);
    assert!(
        run["error"].as_str().unwrap().starts_with("preflight:"),
        "{run}"
    );
    assert_eq!(run["targets"].as_array().unwrap().len(), 0);
    // Not a single statement reached the SQL Server.
    assert_eq!(app.tds.as_ref().unwrap().statements(), Vec::<String>::new());
    assert!(!app.session_dir.exists());
}

/// `report.kms_key_id` (central delivery, docs/deploy.md): every object the
/// run delivers is SSE-KMS under that key, none under the job's key (which
/// still makes the session's data keys).
#[tokio::test(flavor = "multi_thread")]
async fn a_report_key_encrypts_every_upload_instead_of_the_job_key() {
    let app = stand_up(ApplianceOptions::healthy(
        CatalogFixture::wide_world_importers().unwrap(),
        "pw-report-key-test",
    ))
    .await;
    let shared = testbed::appliance::sdk_config(&app.moto.endpoint_url()).await;
    let created = aws_sdk_kms::Client::new(&shared)
        .create_key()
        .description("central report key")
        .send()
        .await
        .unwrap();
    let report_key = created.key_metadata().unwrap().arn().unwrap().to_owned();
    let config = std::fs::read_to_string(&app.config_path).unwrap();
    assert!(config.contains("[report]\n"), "{config}");
    let config = config.replacen(
        "[report]\n",
        &format!("[report]\nkms_key_id = \"{report_key}\"\n"),
        1,
    );
    std::fs::write(&app.config_path, config).unwrap();
    let output = assessor(&app)
        .args(["run", "--config"])
        .arg(&app.config_path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let keys = bucket_keys(&app).await;
    assert!(
        keys.iter().any(|k| k.ends_with("/manifest.json")),
        "{keys:?}"
    );
    let client = s3(&app).await;
    for key in &keys {
        let head = client
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        let used = head.ssekms_key_id().unwrap_or("");
        assert!(used.contains(&report_key), "{key}: {used}");
        assert!(!used.contains(&app.key_id), "{key}: {used}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_stops_the_run_before_anything_is_collected() {
    let app = stand_up(ApplianceOptions::healthy(
        CatalogFixture::wide_world_importers().unwrap(),
        "pw-bucket-test",
    ))
    .await;
    s3(&app)
        .await
        .delete_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let output = assessor(&app)
        .args(["run", "--config"])
        .arg(&app.config_path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    let error = summary(&output)["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains(&format!("the report bucket {BUCKET} cannot be reached")),
        "{error}"
    );
    assert_eq!(app.tds.as_ref().unwrap().statements(), Vec::<String>::new());
    assert!(!app.session_dir.exists());
}

/// Waits until the job's session PostgreSQL is running; returns its pid.
fn wait_for_cluster(session: &Path, child: &mut Child) -> u32 {
    let pid_file = session.join("pg/data/postmaster.pid");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the job ended before its cluster ran"
        );
        assert!(Instant::now() < deadline, "no session cluster after 120 s");
        if let Ok(text) = std::fs::read_to_string(&pid_file)
            && let Some(pid) = text.lines().next().and_then(|l| l.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` is still running. An exited process whose parent has not
/// yet reaped it (a zombie) is not: the stopped postmaster is reparented to
/// PID 1, which may reap it seconds later (CI's init does so lazily), and a
/// zombie holds no files, sockets or memory.
fn alive(pid: u32) -> bool {
    !matches!(process_state(pid), None | Some('Z' | 'X'))
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `Z`, …); `None` only when
/// the pid no longer exists. A stat line it cannot read panics rather than
/// passing for a stopped process.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the parenthesised command name, which may hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    Some(state.unwrap_or_else(|| panic!("unreadable /proc/{pid}/stat: {stat:?}")))
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_sigkill_the_next_run_destroys_the_leftovers_and_starts_clean() {
    let app = stand_up(ApplianceOptions::healthy(
        CatalogFixture::wide_world_importers().unwrap(),
        "pw-kill-test",
    ))
    .await;
    let mut child = start_job(&app);
    let session = app.session_dir.clone();
    let postmaster = wait_for_cluster(&session, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        alive(postmaster),
        "the killed run's PostgreSQL should be orphaned"
    );
    // The killed run left its cluster, but never a copy of its data key:
    // what it sealed is already unreadable (crypto-shredded).
    assert!(session.join("pg").is_dir());
    assert!(
        files_under(&session)
            .iter()
            .all(|f| !f.to_string_lossy().contains("data-key")),
        "a data key file was left behind"
    );

    let output = assessor(&app)
        .args(["run", "--config"])
        .arg(&app.config_path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("destroyed a previous run's leftovers"),
        "{}",
        text(&output)
    );
    assert!(
        !alive(postmaster),
        "the orphaned PostgreSQL is still running (state {:?}): {}",
        process_state(postmaster),
        text(&output)
    );
    assert!(!session.exists());
    // Only the second run delivered anything.
    let run_id = summary(&output)["run_id"].as_str().unwrap().to_owned();
    assert!(bucket_keys(&app).await.iter().all(|k| k.contains(&run_id)));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_wipes_the_session_and_exits_130() {
    let app = stand_up(ApplianceOptions::healthy(
        CatalogFixture::wide_world_importers().unwrap(),
        "pw-term-test",
    ))
    .await;
    let mut child = start_job(&app);
    let session = app.session_dir.clone();
    let postmaster = wait_for_cluster(&session, &mut child);
    assert!(alive(postmaster), "the session PostgreSQL is not running");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    assert!(text(&output).contains("interrupted by SIGTERM"));
    assert!(!session.exists(), "the session survived SIGTERM");
    assert!(
        !alive(postmaster),
        "the session PostgreSQL survived SIGTERM (state {:?})",
        process_state(postmaster)
    );
}

/// Downloads run `run_id`'s report, every checksum verified, into a new
/// folder of the scratch directory, and returns the folder.
fn download(app: &LocalAppliance, run_id: &str) -> PathBuf {
    let out = app.scratch().join("downloaded");
    let downloaded = assessor(app)
        .args(["report", "download"])
        .arg(format!("{}{run_id}/", app.reports_url()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(downloaded.status.code(), Some(0), "{}", text(&downloaded));
    assert!(text(&downloaded).contains("report.html"));
    out
}

/// Runs the job with `session_dir` moved to `dir` and extra environment.
fn run_with_session(app: &LocalAppliance, dir: &Path, env: &[(&str, &str)]) -> Output {
    let config = std::fs::read_to_string(&app.config_path).unwrap();
    let moved = config
        .lines()
        .map(|l| {
            if l.starts_with("session_dir = ") {
                format!("session_dir = \"{}\"", dir.display())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = app.scratch().join("moved.toml");
    std::fs::write(&path, moved).unwrap();
    assessor(app)
        .envs(env.iter().copied())
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap()
}

/// The failure summary the bucket received, alone with its manifest.
async fn delivered_failure(app: &LocalAppliance, run: &Value) -> Value {
    let run_id = run["run_id"].as_str().unwrap();
    let mut keys = bucket_keys(app).await;
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{PREFIX}/{run_id}/manifest.json"),
            format!("{PREFIX}/{run_id}/run-summary.json"),
        ]
    );
    let key = format!("{PREFIX}/{run_id}/run-summary.json");
    serde_json::from_slice(&object_bytes(&s3(app).await, &key).await).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_session_disk_fails_cleanly_and_wipes() {
    let app = stand_up(ApplianceOptions::healthy(
        CatalogFixture::wide_world_importers().unwrap(),
        "pw-disk-test",
    ))
    .await;
    // A 4 MB file system: the data key fits, a PostgreSQL cluster does not.
    let mount = app.scratch().join("small");
    std::fs::create_dir(&mount).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs"])
        .arg(&mount)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mounting a small tmpfs needs root (the tests run as root)"
    );
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());
    let session = mount.join("session");
    let output = run_with_session(&app, &session, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let run = summary(&output);
    let error = run["error"].as_str().unwrap();
    assert!(error.starts_with("session database:"), "{error}");
    assert_eq!(run["wiped"], true);
    assert!(!session.exists(), "the session survived a full disk");
    assert_eq!(
        std::fs::read_dir(&mount).unwrap().count(),
        0,
        "something was left on the small file system"
    );
    assert_eq!(delivered_failure(&app, &run).await["outcome"], "failed");
    assert_eq!(app.tds.as_ref().unwrap().statements(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_failing_to_start_fails_cleanly_and_wipes() {
    let app = stand_up(ApplianceOptions::healthy(
        CatalogFixture::wide_world_importers().unwrap(),
        "pw-pg-test",
    ))
    .await;
    // A PostgreSQL installation without its server binaries.
    let empty = app.scratch().join("no-postgres");
    std::fs::create_dir(&empty).unwrap();
    let session = app.scratch().join("session-pg");
    let output = run_with_session(
        &app,
        &session,
        &[("ASSESSOR_PG_BIN", empty.to_str().unwrap())],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let run = summary(&output);
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .starts_with("session database:"),
        "{run}"
    );
    assert!(!session.exists());
    assert_eq!(delivered_failure(&app, &run).await["outcome"], "failed");
}

/// `report.settings` is checked against the rule catalog before anything
/// else happens: an unknown setting or value is a config error (exit 2)
/// naming it, and no AWS call is made (the config's endpoints are never
/// contacted: the example config names none that would answer).
#[test]
fn unknown_report_settings_are_a_config_error_naming_them() {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/job.toml"))
            .unwrap();
    assert!(example.contains("escape_hatch_table_hints=ignore"));
    let dir = tempfile::tempdir().unwrap();
    for (bad, named) in [
        ("escape_hatch_table_hint=ignore", "escape_hatch_table_hint`"),
        ("escape_hatch_table_hints=lenient", "lenient"),
    ] {
        let path = dir.path().join("job.toml");
        std::fs::write(
            &path,
            example.replace("escape_hatch_table_hints=ignore", bad),
        )
        .unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_assessor"))
            .args(["run", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let all = text(&output);
        assert_eq!(output.status.code(), Some(2), "{all}");
        assert!(
            all.contains("report.settings") && all.contains(named),
            "{all}"
        );
    }
}
