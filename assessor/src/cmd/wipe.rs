//! `assessor wipe`: destroy a session's leftovers (idempotent).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use assessor::config::JobConfig;

/// Stop a leftover session database and delete the session directory.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job config whose `job.session_dir` to wipe.
    #[arg(long, default_value = "/etc/assessor/job.toml")]
    pub config: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match JobConfig::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("assessor: {e}");
            return Ok(ExitCode::from(super::EXIT_USAGE));
        }
    };
    let report = assessor::wipe::wipe(&config.job.session_dir)
        .with_context(|| format!("wiping {}", config.job.session_dir.display()))?;
    println!("{}: {report}", config.job.session_dir.display());
    Ok(ExitCode::SUCCESS)
}
