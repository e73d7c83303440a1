//! `assessor check --config FILE`: the preflight (see `assessor::check`).
//! Exit 0 when every check passes, 4 otherwise, 2 for a bad config.

use std::path::PathBuf;
use std::process::ExitCode;

use assessor::config::JobConfig;
use assessor::display_safe::Escaped;
use assessor::pipeline::{Aws, exit};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job config (TOML); see assessor/examples/job.toml.
    #[arg(long)]
    pub config: PathBuf,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match JobConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("assessor: {e}");
            return Ok(ExitCode::from(exit::CONFIG));
        }
    };
    let aws = match Aws::from_config(&config).await {
        Ok(aws) => aws,
        Err(e) => {
            eprintln!("assessor: {e}");
            return Ok(ExitCode::from(exit::CONFIG));
        }
    };
    let report = assessor::check::check(&config, &aws).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        // Names and details carry text the servers choose (versions,
        // certificate names, error messages with routing hosts): escaped so
        // none of it reaches the terminal as control characters.
        for c in &report.checks {
            println!(
                "{} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                Escaped(&c.name),
                Escaped(&c.detail)
            );
        }
    }
    Ok(ExitCode::from(if report.ok() {
        exit::OK
    } else {
        exit::PREFLIGHT
    }))
}
