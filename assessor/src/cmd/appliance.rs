//! `assessor appliance ...`: the boot-time steps `assessor.service` runs
//! around `assessor run` (see `assessor::appliance`). Each prints one line
//! saying what it did, and exits 2 for a bad config, 1 otherwise on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use assessor::appliance::{break_glass, firewall, power, session_volume, user_data};
use assessor::config::JobConfig;

use crate::logging::note;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    step: Step,
}

#[derive(Debug, clap::Subcommand)]
enum Step {
    /// Writes the job config from the instance's user data (IMDSv2).
    FetchConfig {
        /// Where to write it (owner-only; inline CA bundles go beside it).
        #[arg(long)]
        out: PathBuf,
    },
    /// Opens the firewall to the SQL Servers the config names (root).
    AllowTargets {
        #[arg(long)]
        config: PathBuf,
    },
    /// Opens the encrypted session volume (root; sqlassess-session.service).
    OpenSession,
    /// Closes the session volume, destroying its key (root).
    CloseSession,
    /// After the job: powers off if the config asks for it (root).
    Finish {
        #[arg(long)]
        config: PathBuf,
    },
    /// sshd's AuthorizedKeysCommand on the break-glass image: prints the
    /// `[break_glass]` keys of the user data for the break-glass user.
    AuthorizedKeys {
        /// The user sshd asks about (`%u`).
        user: String,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.step {
        Step::FetchConfig { out } => {
            let text = match user_data::fetch().await {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("assessor: {e}");
                    return Ok(ExitCode::from(super::EXIT_ERROR));
                }
            };
            match user_data::materialize_for(&text, &out, break_glass::SshServer::detect()) {
                Ok(m) => {
                    eprintln!(
                        "assessor: job config for {} target(s) written to {}",
                        m.config.targets.len(),
                        out.display()
                    );
                    // Public keys: their fingerprints are safe to log, and
                    // let the operator check which keys the image accepts.
                    for key in &m.break_glass {
                        eprintln!(
                            "assessor: break-glass SSH key accepted: {} {}",
                            key.algorithm,
                            key.fingerprint()
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("assessor: {e}");
                    Ok(ExitCode::from(super::EXIT_USAGE))
                }
            }
        }
        Step::AllowTargets { config } => {
            let Some(config) = load(&config) else {
                return Ok(ExitCode::from(super::EXIT_USAGE));
            };
            match firewall::allow(&config) {
                Ok(opened) => {
                    eprintln!(
                        "assessor: firewall opened to {} SQL Server address(es) and {} AWS \
                         endpoint address(es)",
                        opened.sql_servers.len(),
                        opened.aws.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("assessor: {e}");
                    Ok(ExitCode::from(super::EXIT_ERROR))
                }
            }
        }
        Step::OpenSession => {
            let Some(device) = session_volume::find_partition(
                std::path::Path::new("/sys/class/block"),
                session_volume::PARTITION,
            ) else {
                eprintln!(
                    "assessor: session volume: no partition named `{}` on this machine; \
                     the image builds one ([disk] session_mib in the profile)",
                    session_volume::PARTITION
                );
                return Ok(ExitCode::from(super::EXIT_ERROR));
            };
            match session_volume::open(
                &device.display().to_string(),
                session_volume::MOUNT,
                "assessor:assessor",
            ) {
                Ok(()) => {
                    eprintln!(
                        "assessor: session volume opened at {} (dm-crypt, per-boot random key)",
                        session_volume::MOUNT
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("assessor: {e}");
                    Ok(ExitCode::from(super::EXIT_ERROR))
                }
            }
        }
        Step::CloseSession => match session_volume::close(session_volume::MOUNT) {
            Ok(()) => {
                note!("session volume closed; its key is destroyed");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("assessor: {e}");
                Ok(ExitCode::from(super::EXIT_ERROR))
            }
        },
        Step::Finish { config } => {
            let Some(config) = load(&config) else {
                return Ok(ExitCode::from(super::EXIT_USAGE));
            };
            match power::power_off_if_configured(&config) {
                Ok(true) => note!("job ended; powering off"),
                Ok(false) => {
                    note!("job ended; staying up (power_off_when_done is off)")
                }
                Err(e) => {
                    eprintln!("assessor: {e}");
                    return Ok(ExitCode::from(super::EXIT_ERROR));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Step::AuthorizedKeys { user } => Ok(authorized_keys(&user).await),
    }
}

/// sshd reads stdout as authorized_keys lines and logs stderr; the exit
/// status only tells it whether to trust what was printed.
async fn authorized_keys(user: &str) -> ExitCode {
    if user != break_glass::USER {
        return ExitCode::SUCCESS;
    }
    let printed = match user_data::fetch().await {
        Ok(text) => break_glass::authorized_keys_for(user, &text).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match printed {
        Ok(lines) => {
            print!("{lines}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("assessor: break-glass keys: {e}");
            ExitCode::from(super::EXIT_ERROR)
        }
    }
}

fn load(path: &std::path::Path) -> Option<JobConfig> {
    match JobConfig::load(path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("assessor: {e}");
            None
        }
    }
}
