//! `assessor analyze` (in progress).

use std::path::PathBuf;
use std::process::ExitCode;

use super::EXIT_USAGE;

/// Analyse exported T-SQL scripts.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories of `.sql` scripts.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    eprintln!("assessor: analyze is not available in this build yet");
    Ok(ExitCode::from(EXIT_USAGE))
}
