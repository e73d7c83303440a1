//! `assessor report merge` on bundles of real runs: the appliance job
//! (`assessor run`) against a TDS peer serving the WideWorldImporters
//! catalog, moto_server and a real PostgreSQL, delivered to the emulated
//! bucket and downloaded with `assessor report download`, as an operator
//! would.
//!
//! Three runs make the estate: run A assesses two servers (`sql-01`,
//! `sql-02`), run B a third (`sql-03`) limited to one database, run C a
//! server that is down (a failed run: its bundle is the run summary alone).
//! The same modules on three servers are the shared code the estate counts
//! once. Each test makes its own bundles (about 8 s: nextest runs every test
//! in a process of its own, so a shared copy would not be shared anyway) and
//! removes them at its end.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bucket_support;
mod chromium_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use testbed::appliance::{ApplianceOptions, LocalAppliance};
use testbed::catalog_fixture::CatalogFixture;

struct Bundles {
    _dir: tempfile::TempDir,
    /// Run A: sql-01 and sql-02.
    a: PathBuf,
    /// Run B: sql-03, the first database only.
    b: PathBuf,
    /// Run C: failed.
    c: PathBuf,
    /// The query tables every run wrote under `PREFIX/athena/`, as they
    /// are in the bucket.
    tables: PathBuf,
    first_database: String,
}

/// The three runs' bundles, in a temporary folder removed on drop. Not for
/// an async context: it runs a runtime of its own.
fn bundles() -> Bundles {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(make_bundles())
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The job config with its one target block replaced by `targets`, each
/// `(name, extra lines)`.
fn config_with(base: &str, targets: &[(&str, &str)]) -> String {
    let start = base.find("[[targets]]").unwrap();
    let end = base.find("[timeouts]").unwrap();
    let block = &base[start..end];
    let blocks: String = targets
        .iter()
        .map(|(name, extra)| {
            block.replace(
                "name = \"sql-01\"\n",
                &format!("name = \"{name}\"\n{extra}"),
            )
        })
        .collect();
    format!("{}{blocks}{}", &base[..start], &base[end..])
}

/// Runs the job with `config` and downloads what it delivered into `out`.
fn run_and_download(app: &LocalAppliance, config: &str, out: &Path, expect_exit: i32) {
    let path = app.scratch().join(format!(
        "job-{}.toml",
        out.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&path, config).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_assessor"))
        .envs(app.assessor_env())
        .arg("run")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(expect_exit), "{}", text(&run));
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    let location = summary["delivered_to"].as_str().unwrap();
    let download = Command::new(env!("CARGO_BIN_EXE_assessor"))
        .envs(app.assessor_env())
        .args(["report", "download", location, "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(download.status.success(), "{}", text(&download));
}

async fn make_bundles() -> Bundles {
    let fixture = CatalogFixture::wide_world_importers().unwrap();
    let first_database = fixture.databases[0].name.clone();
    let app = LocalAppliance::start(ApplianceOptions {
        fixture,
        password: "merge-test-Passw0rd".into(),
        sql_server_down: false,
        key_disabled: false,
    })
    .await
    .unwrap();
    let base = std::fs::read_to_string(&app.config_path).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("report-merge-")
        .tempdir()
        .unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    // Blocking child processes: off the runtime's worker.
    let app = std::sync::Arc::new(app);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let only_first = format!("databases = [\"{first_database}\"]\n");
    let down = format!("host = \"127.0.0.1\"\nport = {closed}\n");
    let jobs = [
        (
            config_with(&base, &[("sql-01", ""), ("sql-02", "")]),
            a.clone(),
            0,
        ),
        (config_with(&base, &[("sql-03", &only_first)]), b.clone(), 0),
        (config_with(&base, &[("sql-04", &down)]), c.clone(), 1),
    ];
    let runner = std::sync::Arc::clone(&app);
    tokio::task::spawn_blocking(move || {
        for (config, out, code) in jobs {
            run_and_download(&runner, &config, &out, code);
        }
    })
    .await
    .unwrap();
    let tables = dir.path().join("tables");
    download_tables(&app, &tables).await;
    Bundles {
        _dir: dir,
        a,
        b,
        c,
        tables,
        first_database,
    }
}

/// Every object under the reports' `athena/` folder, into `to` at its key
/// below the prefix.
async fn download_tables(app: &LocalAppliance, to: &Path) {
    use testbed::appliance::{BUCKET, PREFIX};
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(
            &testbed::appliance::sdk_config(&app.moto.endpoint_url()).await,
        )
        .force_path_style(true)
        .build(),
    );
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("{PREFIX}/athena/"))
        .send()
        .await
        .unwrap();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let body = s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        let path = to.join(key.strip_prefix(&format!("{PREFIX}/")).unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn merge(sources: &[&Path], out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assessor"))
        .args(["report", "merge"])
        .args(sources)
        .arg("--out")
        .arg(out)
        .args(extra)
        // A local merge needs no AWS at all.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every key of `value` (objects in arrays included) not named as
/// `` `key` `` in `doc`.
fn undocumented(value: &Value, doc: &str, missing: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if !doc.contains(&format!("`{key}`")) {
                    missing.insert(key.clone());
                }
                undocumented(v, doc, missing);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| undocumented(v, doc, missing)),
        _ => {}
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A copy of the bundle in `from` under `to`.
fn copy_bundle(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Rewrites `name` in a bundle copy and its manifest entry, as a bundle of
/// another version would be (consistent, not tampered).
fn rewrite_consistently(bundle: &Path, name: &str, edit: impl FnOnce(&mut Value)) {
    let mut doc = json(&bundle.join(name));
    edit(&mut doc);
    let bytes = serde_json::to_vec_pretty(&doc).unwrap();
    std::fs::write(bundle.join(name), &bytes).unwrap();
    let mut manifest = json(&bundle.join("manifest.json"));
    for entry in manifest["files"].as_array_mut().unwrap() {
        if entry["name"] == name {
            entry["sha256"] = assessor::deliver::sha256_hex(&bytes).into();
            entry["size"] = bytes.len().into();
        }
    }
    std::fs::write(
        bundle.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
}

/// What the merged numbers must be, computed here from the bundles'
/// report.json files: per server (objects, ready, effort), and the estate's
/// remediation minutes with each fingerprint counted once (its largest
/// effort).
struct Expected {
    servers: BTreeMap<String, (u64, u64, u64)>,
    reported: u64,
    deduplicated: u64,
    copies: BTreeMap<String, BTreeSet<String>>,
}

fn expected(bundles: &[&Path]) -> Expected {
    let mut servers: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut by_hash: BTreeMap<String, u64> = BTreeMap::new();
    let mut copies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let (mut reported, mut unhashed) = (0, 0);
    for b in bundles {
        let report = json(&b.join("report.json"));
        for o in report["summary"]["objects"].as_array().unwrap() {
            let server = o["file"].as_str().unwrap().split('/').next().unwrap();
            let effort = o["effort_minutes"].as_u64().unwrap();
            let row = servers.entry(server.to_owned()).or_default();
            row.0 += 1;
            row.1 += u64::from(o["ready"].as_bool().unwrap());
            row.2 += effort;
            reported += effort;
            match o["code_sha256"].as_str() {
                Some(h) => {
                    let e = by_hash.entry(h.to_owned()).or_default();
                    *e = (*e).max(effort);
                    copies
                        .entry(h.to_owned())
                        .or_default()
                        .insert(server.to_owned());
                }
                None => unhashed += effort,
            }
        }
    }
    Expected {
        servers,
        reported,
        deduplicated: unhashed + by_hash.values().sum::<u64>(),
        copies,
    }
}

#[test]
fn bundles_of_two_runs_merge_with_shared_code_counted_once() {
    let b = &bundles();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("estate");
    let run = merge(&[&b.a, &b.b], &dir, &[]);
    assert!(run.status.success(), "{}", text(&run));
    let estate = json(&dir.join("estate.json"));
    let want = expected(&[&b.a, &b.b]);

    // Per server: the numbers each server's own report gives.
    let servers = estate["servers"].as_array().unwrap();
    let names: Vec<&str> = servers
        .iter()
        .map(|s| s["server"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sql-01", "sql-02", "sql-03"]);
    for s in servers {
        let (objects, ready, effort) = want.servers[s["server"].as_str().unwrap()];
        assert_eq!(s["objects_total"], objects, "{s}");
        assert_eq!(s["objects_ready"], ready, "{s}");
        assert_eq!(s["effort_minutes"], effort, "{s}");
        assert!(objects > 50, "too few objects to prove anything: {objects}");
        // Its databases add up to it.
        let dbs = s["databases"].as_array().unwrap();
        let sum = |key: &str| dbs.iter().map(|d| d[key].as_u64().unwrap()).sum::<u64>();
        assert_eq!(sum("objects_total"), objects);
        assert_eq!(sum("effort_minutes"), effort);
        assert_eq!(s["babelfish_target"], "babelfish-6.1");
    }
    // sql-03 assessed only the first database (and server-level code).
    let sql03: Vec<&str> = servers[2]["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["database"].as_str().unwrap())
        .collect();
    assert!(sql03.contains(&b.first_database.as_str()), "{sql03:?}");
    assert!(
        servers[0]["databases"].as_array().unwrap().len() > sql03.len(),
        "{sql03:?}"
    );

    // The same code on three servers counts once.
    let effort = &estate["summary"]["effort"];
    assert_eq!(effort["remediation_minutes_reported"], want.reported);
    assert_eq!(effort["remediation_minutes"], want.deduplicated);
    let saved = want.reported - want.deduplicated;
    assert!(
        saved * 2 >= want.reported,
        "two of three copies saved: {saved}"
    );
    assert_eq!(effort["shared_code_minutes_saved"], saved);
    let shared = estate["shared_code"].as_array().unwrap();
    let on_three = want.copies.values().filter(|s| s.len() == 3).count();
    assert!(
        on_three > 10,
        "{on_three} pieces of code on all three servers"
    );
    assert_eq!(
        shared.iter().filter(|c| c["servers"] == 3).count(),
        on_three
    );
    let top = &shared[0];
    assert!(top["saved_minutes"].as_u64().unwrap() > 0, "{top}");
    let places: BTreeSet<&str> = top["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["server"].as_str().unwrap())
        .collect();
    assert_eq!(
        places,
        want.copies[top["code_sha256"].as_str().unwrap()]
            .iter()
            .map(String::as_str)
            .collect()
    );

    // Blockers are ranked by the servers they affect.
    let blockers = estate["blockers"].as_array().unwrap();
    assert!(!blockers.is_empty());
    let counts: Vec<u64> = blockers
        .iter()
        .map(|b| b["servers"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert_eq!(counts[0], 3);

    // The CSV has a row per server and per database.
    let csv = std::fs::read_to_string(dir.join("estate.csv")).unwrap();
    let rows = csv.lines().count() - 1;
    let dbs: usize = servers
        .iter()
        .map(|s| s["databases"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows, servers.len() + dbs, "{csv}");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("merged 2 bundle(s)"), "{stderr}");

    // docs/report-schema.md names every field estate.json has (the part of
    // the page after its estate heading).
    let schema = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/report-schema.md"
    ))
    .unwrap();
    let estate_doc = &schema[schema.find("# The estate report").unwrap()..];
    let mut missing = BTreeSet::new();
    undocumented(&estate, estate_doc, &mut missing);
    assert!(
        missing.is_empty(),
        "estate.json fields not documented: {missing:?}"
    );

    // The same run twice would count its servers twice: refused.
    let twice = merge(&[&b.a, &b.b, &b.a], &out.path().join("twice"), &[]);
    let all = text(&twice);
    assert_eq!(twice.status.code(), Some(2), "{all}");
    assert!(all.contains("is given twice"), "{all}");
    assert!(!out.path().join("twice").exists());
}

#[test]
fn a_failed_run_is_listed_with_its_reason() {
    let b = &bundles();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("estate");
    let run = merge(&[&b.a, &b.c], &dir, &[]);
    assert!(run.status.success(), "{}", text(&run));
    let estate = json(&dir.join("estate.json"));
    assert_eq!(estate["summary"]["failed_runs"], 1);
    assert_eq!(estate["summary"]["servers"], 2);
    let failed: Vec<&Value> = estate["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    let reason = &failed[0]["failed_targets"][0];
    assert_eq!(reason["target"], "sql-04");
    assert!(
        reason["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach 127.0.0.1"),
        "{reason}"
    );
    let csv = std::fs::read_to_string(dir.join("estate.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("failed_run,")), "{csv}");
}

#[test]
fn another_version_is_refused_unless_allowed_and_then_flagged() {
    let b = &bundles();
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other");
    copy_bundle(&b.b, &other);
    rewrite_consistently(&other, "report.json", |doc| {
        doc["tool"]["version"] = "0.0.1-older-catalog".into();
    });
    let dir = tmp.path().join("estate");
    let refused = merge(&[&b.a, &other], &dir, &[]);
    let all = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&other.display().to_string())
            && all.contains("0.0.1-older-catalog")
            && all.contains("--allow-mixed-versions"),
        "{all}"
    );
    assert!(!dir.exists(), "something was written");

    let allowed = merge(&[&b.a, &other], &dir, &["--allow-mixed-versions"]);
    assert!(allowed.status.success(), "{}", text(&allowed));
    let estate = json(&dir.join("estate.json"));
    assert_eq!(estate["summary"]["mixed_version_bundles"], 1);
    let flagged: Vec<&str> = estate["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["version_mismatch"] == true)
        .map(|s| s["server"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["sql-03"]);
    let html = std::fs::read_to_string(dir.join("estate.html")).unwrap();
    assert!(html.contains("other version: catalog of assessor 0.0.1-older-catalog"));
}

#[test]
fn a_tampered_file_is_refused_naming_bundle_and_file() {
    let b = &bundles();
    let tmp = tempfile::tempdir().unwrap();
    // The HTML report is not read for the estate, and still verified.
    for name in ["report.json", "report.html", "inventory.json"] {
        let bad = tmp.path().join(format!("bad-{name}"));
        copy_bundle(&b.a, &bad);
        let mut bytes = std::fs::read(bad.join(name)).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        std::fs::write(bad.join(name), bytes).unwrap();
        let dir = tmp.path().join(format!("estate-{name}"));
        let run = merge(&[&b.b, &bad], &dir, &[]);
        let all = text(&run);
        assert_eq!(run.status.code(), Some(2), "{all}");
        assert!(
            all.contains(&format!("{name} in {}", bad.display()))
                && all.contains("does not match the checksum")
                && all.contains("nothing was written"),
            "{all}"
        );
        assert!(!dir.exists(), "something was written for {name}");
    }
    // A file of the bundle replaced by a link to an identical copy
    // elsewhere: refused all the same, a bundle's files are its own.
    let linked = tmp.path().join("linked");
    copy_bundle(&b.a, &linked);
    let elsewhere = tmp.path().join("report.json.elsewhere");
    std::fs::rename(linked.join("report.json"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, linked.join("report.json")).unwrap();
    let run = merge(&[&linked], &tmp.path().join("e-linked"), &[]);
    let all = text(&run);
    assert_eq!(run.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!(
            "report.json in {} is a symbolic link",
            linked.display()
        )),
        "{all}"
    );
    assert!(!tmp.path().join("e-linked").exists());

    // A folder that is no bundle at all, named to clear the terminal: shown
    // escaped.
    let odd = tmp.path().join("run\x1b[2J\u{202e}");
    std::fs::create_dir(&odd).unwrap();
    let run = merge(&[&odd], &tmp.path().join("e"), &[]);
    let all = text(&run);
    assert_eq!(run.status.code(), Some(2), "{all}");
    assert!(all.contains("has no manifest.json"), "{all}");
    assert!(
        !all.contains('\x1b') && !all.contains('\u{202e}') && all.contains("run\\u{1b}[2J"),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bundles_in_a_bucket_merge_from_s3() {
    let b = &tokio::task::spawn_blocking(bundles).await.unwrap();
    let moto = testbed::moto::MotoServer::start().unwrap();
    let s3 = bucket_support::s3(&moto).await;
    // The delivered files as they were, under one prefix.
    for (run, dir) in [("run-a", &b.a), ("run-c", &b.c)] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let key = format!("estate/{run}/{}", entry.file_name().to_string_lossy());
            bucket_support::put(&s3, &key, std::fs::read(entry.path()).unwrap()).await;
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("estate");
    let url = format!("s3://{}/estate/", bucket_support::BUCKET);
    let run = bucket_support::assessor(
        &moto,
        &["report", "merge", &url, "--out", dir.to_str().unwrap()],
    );
    assert!(run.status.success(), "{}", bucket_support::text(&run));
    let estate = json(&dir.join("estate.json"));
    let local = tmp.path().join("local");
    let local_run = merge(&[&b.a, &b.c], &local, &[]);
    assert!(local_run.status.success());
    let local = json(&local.join("estate.json"));
    assert_eq!(estate["summary"], local["summary"]);
    assert_eq!(estate["servers"].as_array().unwrap().len(), 2);
    let sources: Vec<&str> = estate["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"s3://reports/estate/run-a/"),
        "{sources:?}"
    );

    // A file changed in the bucket: refused by the verified download.
    bucket_support::put(&s3, "estate/run-a/report.json", b"{}".to_vec()).await;
    let dir = tmp.path().join("estate-2");
    let run = bucket_support::assessor(
        &moto,
        &["report", "merge", &url, "--out", dir.to_str().unwrap()],
    );
    let all = bucket_support::text(&run);
    assert_eq!(run.status.code(), Some(2), "{all}");
    assert!(
        all.contains("report.json in s3://reports/estate/run-a/"),
        "{all}"
    );
    assert!(!dir.exists());
}

/// Database and object names from a hostile server: markup that would run
/// if the estate page did not escape it.
const HOSTILE_DB: &str = "WWI<img src=x onerror=alert(1)><script>alert(2)</script>";

#[test]
fn the_estate_page_renders_in_chromium_with_hostile_names_inert() {
    let b = &bundles();
    let tmp = tempfile::tempdir().unwrap();
    let hostile = tmp.path().join("hostile");
    copy_bundle(&b.b, &hostile);
    for name in ["report.json", "inventory.json"] {
        rewrite_consistently(&hostile, name, |doc| {
            let text = doc.to_string().replace(&b.first_database, HOSTILE_DB);
            *doc = serde_json::from_str(&text).unwrap();
        });
    }
    let dir = tmp.path().join("estate");
    let run = merge(&[&b.a, &hostile, &b.c], &dir, &[]);
    assert!(run.status.success(), "{}", text(&run));
    let estate = json(&dir.join("estate.json"));
    let page = dir.join("estate.html");
    let browser = chromium_support::run_chromium(
        &tmp.path().join("profile"),
        &["--dump-dom"],
        &format!("file://{}", page.display()),
    );
    let dom = &browser.dom;
    assert!(dom.contains("Estate assessment"), "{dom}");
    assert_eq!(
        dom.matches("<tr class=\"server-row\"").count(),
        estate["servers"].as_array().unwrap().len()
    );
    assert_eq!(dom.matches("<tr class=\"run-row run-failed\"").count(), 1);
    assert!(
        dom.contains(&format!(
            "id=\"readiness\">{:.1}%<",
            estate["summary"]["readiness_percent"].as_f64().unwrap()
        )),
        "readiness card"
    );
    // The hostile name is text, not markup; nothing ran or was fetched.
    let lower = dom.to_ascii_lowercase();
    assert!(!lower.contains("<img"), "an <img> element was injected");
    assert!(!lower.contains("<script"), "a script element in the page");
    assert!(
        dom.contains("WWI&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;"),
        "the hostile name is not shown as text"
    );
    assert_eq!(
        chromium_support::console_messages(&browser.stderr),
        Vec::<&str>::new()
    );
    // The page allows no script and fetches nothing.
    let html = std::fs::read_to_string(&page).unwrap();
    let csp = assessor::estate::render::content_security_policy();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'none'"));
    assert!(html.contains(&format!(
        "http-equiv=\"Content-Security-Policy\" content=\"{}\"",
        assessor::report::html::escape(&csp)
    )));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

/// The estate stack's named queries, run by DuckDB over the delivered
/// query tables (tests/peers/athena_duckdb.py).
fn named_queries(tables: &Path) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var("ASSESSOR_PEERS_PYTHON")
        .expect("ASSESSOR_PEERS_PYTHON unset: run the tests through scripts/test");
    let out = Command::new(python)
        .arg(root.join("tests/peers/athena_duckdb.py"))
        .arg(root.join("cloudformation/estate.yaml"))
        .arg(tables)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["queries"].clone()
}

#[test]
fn the_estate_stacks_named_queries_agree_with_report_merge() {
    let b = bundles();
    // Two runs delivered tables (the failed one did not); one object per
    // table per run, under its run date.
    let files: Vec<PathBuf> = walk(&b.tables);
    assert_eq!(files.len(), 6, "{files:?}");
    for table in ["findings", "objects", "databases"] {
        assert!(
            files
                .iter()
                .any(|f| f.starts_with(b.tables.join("athena").join(table)))
        );
    }
    // No code in the query layer: no snippet, and no text of a module.
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains("snippet") && !text.contains("CREATE PROCEDURE"),
            "{}",
            f.display()
        );
    }

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("estate");
    let run = merge(&[&b.a, &b.b], &out, &[]);
    assert!(run.status.success(), "{}", text(&run));
    let estate = json(&out.join("estate.json"));
    let q = named_queries(&b.tables.join("athena"));

    // Readiness per server: the same numbers as the merge's servers.
    let readiness = q["estate_readiness"].as_array().unwrap();
    let servers = estate["servers"].as_array().unwrap();
    assert_eq!(readiness.len(), servers.len());
    for row in readiness {
        let server = servers
            .iter()
            .find(|s| s["server"] == row["target"] && s["run_id"] == row["run_id"])
            .unwrap_or_else(|| panic!("no server for {row}"));
        for (query, merged) in [
            ("objects_total", "objects_total"),
            ("objects_ready", "objects_ready"),
            ("effort_minutes", "effort_minutes"),
            ("blockers", "blockers"),
        ] {
            assert_eq!(
                row[query].as_u64(),
                server[merged].as_u64(),
                "{query} of {row}"
            );
        }
    }
    // Blockers across servers: the same features, counts and order.
    let blockers = blocker_rows(&q["top_blockers"]);
    let merged = blocker_rows(&estate["blockers"]);
    assert!(!merged.is_empty());
    assert_eq!(blockers, merged);
    // Shared code: the same groups and the same minutes saved.
    let shared = q["shared_code"].as_array().unwrap();
    assert_eq!(
        shared.len() as u64,
        estate["summary"]["shared_code_groups"].as_u64().unwrap()
    );
    let saved: u64 = shared
        .iter()
        .map(|r| r["minutes_saved"].as_u64().unwrap())
        .sum();
    assert!(saved > 0);
    assert_eq!(
        saved,
        estate["summary"]["effort"]["shared_code_minutes_saved"]
            .as_u64()
            .unwrap()
    );
}

/// `(feature, servers, databases, objects, occurrences)` of blocker rows.
fn blocker_rows(rows: &Value) -> Vec<(String, u64, u64, u64, u64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["feature"].as_str().unwrap().to_owned(),
                r["servers"].as_u64().unwrap(),
                r["databases"].as_u64().unwrap(),
                r["objects"].as_u64().unwrap(),
                r["occurrences"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}
