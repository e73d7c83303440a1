//! `assessor run --config FILE`: the appliance job (see
//! `assessor::pipeline`). Adds what only a process can: the config file,
//! Landlock confinement (`assessor::confinement`, applied before the async
//! runtime starts any thread), the exit code, and the wipe on SIGTERM and
//! SIGINT.
//!
//! Prints the run summary (JSON) on standard output; logs go to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use assessor::analyze::Analyzer;
use assessor::config::JobConfig;
use assessor::confinement;

use crate::logging::note;
use assessor::pipeline::{self, Aws, Engine, exit};
use assessor::rules::effort::Calibrated;
use assessor::rules::{Catalog, EffortOverrides};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job config (TOML); see assessor/examples/job.toml.
    #[arg(long)]
    pub config: PathBuf,
}

/// Reads and checks the config, confines the process, then runs the job on
/// a new runtime (whose threads inherit the confinement).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // First, while this is the only thread.
    crate::allocator::one_arena();
    let config = match JobConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("assessor: {e}");
            return Ok(ExitCode::from(exit::CONFIG));
        }
    };
    let catalog =
        Catalog::shipped().context("the rule catalog shipped with this build is invalid")?;
    let target = match &config.report.target {
        None => catalog.latest(),
        Some(word) => match catalog.resolve_target(word) {
            Some(v) => v,
            None => {
                eprintln!(
                    "assessor: {}: report.target `{word}` is unknown; valid targets: {}",
                    args.config.display(),
                    catalog.target_names().join(", ")
                );
                return Ok(ExitCode::from(exit::CONFIG));
            }
        },
    };
    let settings = match catalog.resolve_settings(&config.report.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("assessor: {}: report.settings: {e}", args.config.display());
            return Ok(ExitCode::from(exit::CONFIG));
        }
    };
    let effort = match read_effort(&args.config, &config, &catalog) {
        Ok(e) => e,
        Err(message) => {
            eprintln!("assessor: {message}");
            return Ok(ExitCode::from(exit::CONFIG));
        }
    };
    let target_name = target.target_name();
    let chosen: Vec<(String, String)> = settings.to_map().into_iter().collect();
    let mut analyzer = Analyzer::with_settings(&catalog, target, &settings);
    if let Some(effort) = &effort {
        analyzer = analyzer.with_effort(effort);
    }
    let no_overrides = EffortOverrides::default();
    let calibrated = Calibrated {
        catalog: &catalog,
        effort: effort.as_ref().unwrap_or(&no_overrides),
    };
    let engine = Engine {
        analyzer: &analyzer,
        features: &calibrated,
        target_name: &target_name,
        settings: &chosen,
        effort: effort.as_ref(),
    };
    // Before any secret is read or connection made, and before the runtime
    // starts its threads. The session directory must exist for its rule.
    if let Err(e) = assessor::wipe::create(&config.job.session_dir) {
        eprintln!("assessor: cannot create the session directory: {e}");
        return Ok(ExitCode::from(exit::FAILED));
    }
    let confined = match confinement::confine(&config) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("assessor: {e}");
            let _ = assessor::wipe::wipe(&config.job.session_dir);
            return Ok(ExitCode::from(exit::CONFINEMENT));
        }
    };
    if confined.enforced {
        note!("{}", confined.describe());
    } else {
        tracing::warn!("{}", confined.describe());
    }
    super::block_on(run_confined(&config, engine, confined))
}

/// The job itself, on the runtime, already confined.
async fn run_confined(
    config: &JobConfig,
    engine: Engine<'_>,
    confined: confinement::Outcome,
) -> anyhow::Result<ExitCode> {
    let run_id = pipeline::new_run_id().context("cannot make a run id")?;
    tracing::info!(run_id = %run_id, targets = config.targets.len(), "run started");
    let aws = match Aws::from_config(config).await {
        Ok(aws) => aws,
        Err(e) => {
            eprintln!("assessor: {e}");
            let _ = assessor::wipe::wipe(&config.job.session_dir);
            return Ok(ExitCode::from(exit::CONFIG));
        }
    };

    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let job = pipeline::run(config, &aws, engine, &run_id, &confined);
    let summary = tokio::select! {
        summary = job => summary,
        _ = terminate.recv() => return Ok(interrupted(config, "SIGTERM")),
        _ = interrupt.recv() => return Ok(interrupted(config, "SIGINT")),
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    match &summary.delivered_to {
        Some(location) if summary.exit_code == exit::OK || summary.exit_code == exit::PARTIAL => {
            note!("report delivered to {location} (assessor report download {location})");
        }
        _ => {}
    }
    if let Some(error) = &summary.error {
        eprintln!("assessor: run {} failed: {error}", summary.run_id);
    }
    Ok(ExitCode::from(summary.exit_code))
}

/// The job future is dropped (its connections and store client with it);
/// what it left on disk is destroyed before the process exits.
fn interrupted(config: &JobConfig, signal: &str) -> ExitCode {
    tracing::warn!(signal, "interrupted; wiping the session");
    match assessor::wipe::wipe(&config.job.session_dir) {
        Ok(report) => eprintln!("assessor: interrupted by {signal}; {report}"),
        Err(e) => eprintln!("assessor: interrupted by {signal}; the wipe failed: {e}"),
    }
    ExitCode::from(exit::INTERRUPTED)
}

/// The config's `report.effort` calibration, checked against the catalog
/// (`None` without one); the error is the message, every problem with its
/// key path and line in the config.
fn read_effort(
    path: &std::path::Path,
    config: &JobConfig,
    catalog: &Catalog,
) -> Result<Option<EffortOverrides>, String> {
    if config.report.effort.is_none() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the config again: {e}", path.display()))?;
    EffortOverrides::from_job_config(&text, path, catalog).map_err(|e| e.to_string())
}
