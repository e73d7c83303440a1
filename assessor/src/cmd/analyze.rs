//! `assessor analyze` (in progress).

use std::path::PathBuf;
use std::process::ExitCode;

/// Analyse exported T-SQL scripts.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories of `.sql` scripts.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
