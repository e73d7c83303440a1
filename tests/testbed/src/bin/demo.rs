//! `scripts/demo`: the appliance job on one machine. Stands up moto_server
//! (KMS key, report bucket, SQL Server secret), a TDS peer with TLS serving
//! the WideWorldImporters catalog, runs `assessor run` on a job config for
//! them (a real PostgreSQL session store, wiped at the end), then downloads
//! the delivered report as an operator would and prints its HTML path.
//!
//! Usage: demo ASSESSOR_BINARY OUT_DIR

// A demo harness: a failure is reported with its location and what it was.
#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use testbed::appliance::{ApplianceOptions, LocalAppliance};
use testbed::catalog_fixture::CatalogFixture;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(assessor), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: demo ASSESSOR_BINARY OUT_DIR");
        return ExitCode::from(2);
    };
    let (assessor, out) = (PathBuf::from(assessor), PathBuf::from(out));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let started = Instant::now();
    let fixture = CatalogFixture::wide_world_importers().expect("the WWI corpus");
    eprintln!(
        "demo: starting moto_server and a TDS peer serving {} modules",
        fixture.module_count()
    );
    let app = runtime
        .block_on(LocalAppliance::start(ApplianceOptions {
            fixture,
            password: testbed::postgres::random_hex(16).expect("randomness"),
            sql_server_down: false,
            key_disabled: false,
        }))
        .expect("the local peers");
    eprintln!("demo: job config {}", app.config_path.display());
    let job = Instant::now();
    let run = Command::new(&assessor)
        .envs(app.assessor_env())
        .args(["run", "--config"])
        .arg(&app.config_path)
        .output()
        .expect("running the assessor");
    let job_seconds = job.elapsed().as_secs_f64();
    eprint!("{}", String::from_utf8_lossy(&run.stderr));
    if !run.status.success() {
        println!("{}", String::from_utf8_lossy(&run.stdout));
        eprintln!("demo: the job failed ({})", run.status);
        return ExitCode::FAILURE;
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&run.stdout).expect("the run summary on stdout");
    let run_id = summary["run_id"].as_str().unwrap_or_default();
    let location = format!("{}{run_id}/", app.reports_url());
    let download = Command::new(&assessor)
        .envs(app.assessor_env())
        .args(["report", "download", &location, "--out"])
        .arg(&out)
        .output()
        .expect("running assessor report download");
    eprint!("{}", String::from_utf8_lossy(&download.stderr));
    if !download.status.success() {
        eprintln!("demo: the download failed ({})", download.status);
        return ExitCode::FAILURE;
    }
    eprintln!(
        "demo: run {run_id}: {} findings in {} modules; job {job_seconds:.1} s, demo {:.1} s; session wiped: {}",
        summary["findings"],
        summary["targets"][0]["modules"],
        started.elapsed().as_secs_f64(),
        summary["wiped"],
    );
    // The HTML report's path, as `assessor report download` printed it.
    print!("{}", String::from_utf8_lossy(&download.stdout));
    ExitCode::SUCCESS
}
