//! `scripts/demo`: the appliance job on one machine. Stands up moto_server
//! (KMS key, report bucket, SQL Server secret), a TDS peer with TLS serving
//! the WideWorldImporters catalog, runs `assessor run` on a job config for
//! them (a real PostgreSQL session store, wiped at the end), then downloads
//! the delivered report as an operator would and prints its HTML path.
//!
//! Usage: demo ASSESSOR_BINARY OUT_DIR

use std::path::PathBuf;
use std::process::{Command, ExitCode, Output};
use std::time::Instant;

use testbed::PeerError;
use testbed::appliance::{ApplianceOptions, LocalAppliance};
use testbed::catalog_fixture::CatalogFixture;

/// How the demo ends when it does not succeed.
enum Stop {
    /// Something the demo needs is not there (exit 2): the message says
    /// what and how to get it.
    Missing(String),
    /// A step ran and failed (exit 1).
    Failed(String),
}

impl From<PeerError> for Stop {
    fn from(e: PeerError) -> Stop {
        match e {
            PeerError::Missing { .. } | PeerError::NoCorpora { .. } => Stop::Missing(e.to_string()),
            other => Stop::Failed(format!("the local peers: {other}")),
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(assessor), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: demo ASSESSOR_BINARY OUT_DIR");
        return ExitCode::from(2);
    };
    match demo(PathBuf::from(assessor), PathBuf::from(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Missing(why)) => {
            eprintln!("demo: {why}");
            ExitCode::from(2)
        }
        Err(Stop::Failed(why)) => {
            eprintln!("demo: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the assessor with the appliance's environment; its stderr goes to ours.
fn assessor_step(
    assessor: &PathBuf,
    app: &LocalAppliance,
    what: &str,
    args: &[&std::ffi::OsStr],
) -> Result<Output, Stop> {
    let out = Command::new(assessor)
        .envs(app.assessor_env())
        .args(args)
        .output()
        .map_err(|e| {
            Stop::Missing(format!(
                "could not start {} for {what}: {e}",
                assessor.display()
            ))
        })?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(out)
    } else {
        println!("{}", String::from_utf8_lossy(&out.stdout));
        Err(Stop::Failed(format!("{what} failed ({})", out.status)))
    }
}

fn demo(assessor: PathBuf, out: PathBuf) -> Result<(), Stop> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Stop::Failed(format!("could not start a tokio runtime: {e}")))?;
    let started = Instant::now();
    let fixture = CatalogFixture::wide_world_importers()?;
    eprintln!(
        "demo: starting moto_server and a TDS peer serving {} modules",
        fixture.module_count()
    );
    let password = testbed::postgres::random_hex(16)?;
    let app = runtime.block_on(LocalAppliance::start(ApplianceOptions {
        fixture,
        password,
        sql_server_down: false,
        key_disabled: false,
    }))?;
    eprintln!("demo: job config {}", app.config_path.display());
    let job = Instant::now();
    let run = assessor_step(
        &assessor,
        &app,
        "the job (assessor run)",
        &[
            "run".as_ref(),
            "--config".as_ref(),
            app.config_path.as_os_str(),
        ],
    )?;
    let job_seconds = job.elapsed().as_secs_f64();
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout)
        .map_err(|e| Stop::Failed(format!("the run summary on stdout is not JSON: {e}")))?;
    let run_id = summary["run_id"].as_str().unwrap_or_default();
    let location = format!("{}{run_id}/", app.reports_url());
    eprintln!("demo: downloading the report from {location}");
    let download = assessor_step(
        &assessor,
        &app,
        "assessor report download",
        &[
            "report".as_ref(),
            "download".as_ref(),
            location.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    )?;
    eprintln!(
        "demo: run {run_id}: {} findings in {} modules; job {job_seconds:.1} s, demo {:.1} s; session wiped: {}",
        summary["findings"],
        summary["targets"][0]["modules"],
        started.elapsed().as_secs_f64(),
        summary["wiped"],
    );
    // The HTML report's path, as `assessor report download` printed it.
    print!("{}", String::from_utf8_lossy(&download.stdout));
    Ok(())
}
