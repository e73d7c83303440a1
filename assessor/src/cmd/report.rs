//! `assessor report list|wait|download|merge`: find, await and fetch
//! delivered reports, and merge many into one estate report
//! ([`assessor::estate`]).
//!
//! A reader needs only s3:ListBucket and s3:GetObject on the prefix and
//! kms:Decrypt on the key (`policies/report-reader.json`).
//!
//! `report wait` exits 0 and prints the run(s) once delivered, and
//! [`EXIT_TIMED_OUT`] when none was by its timeout, so a script can tell
//! "not yet" from an error (1) or a usage mistake (2).
//!
//! Everything the bucket or a bundle controls (keys, the manifest's run id)
//! is printed through [`assessor::display_safe`], so it cannot drive the
//! terminal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use assessor::deliver::{self, DeliverError, DownloadLimits, S3Location, WaitPolicy};
use assessor::display_safe::Escaped;
use assessor::estate::{self, BundleDir, EstateError, MergeOptions, Scratch};

/// Exit code of `report wait` when no run was delivered in time.
pub const EXIT_TIMED_OUT: u8 = 4;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
    /// AWS region of the bucket (else the usual AWS configuration).
    #[arg(long, global = true)]
    pub region: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the runs delivered under a location.
    List {
        /// e.g. s3://my-reports/assessments/
        #[arg(value_parser = parse_location)]
        location: S3Location,
    },
    /// Wait until a run is delivered under a location (its manifest, which
    /// the job writes last, is there), then print it.
    Wait {
        /// e.g. s3://my-reports/assessments/ (any run below) or a run's own
        /// prefix.
        #[arg(value_parser = parse_location)]
        location: S3Location,
        /// Wait for a run that was not there when waiting began.
        #[arg(long)]
        new: bool,
        /// Give up after this long (e.g. 30m, 2h; at most 24h).
        #[arg(long, value_parser = parse_wait, default_value = "1h")]
        timeout: Duration,
        /// Look this often (e.g. 10s, 1m; at least 1s).
        #[arg(long, value_parser = parse_wait, default_value = "15s")]
        interval: Duration,
    },
    /// Download a run's report, verifying every checksum against its manifest.
    Download {
        /// e.g. s3://my-reports/assessments/run-1700000000-ab12cd34/
        #[arg(value_parser = parse_location)]
        location: S3Location,
        /// Where to write the files.
        #[arg(long, default_value = "assessment-report")]
        out: PathBuf,
        /// Print a time-limited URL of the HTML report instead (e.g. 15m, 2h).
        #[arg(long, value_parser = parse_duration)]
        presign: Option<Duration>,
        /// Refuse a bundle file larger than this (bytes, or with a unit: K, M, G).
        #[arg(long, value_parser = parse_size, default_value = "2G")]
        max_file_size: u64,
    },
    /// Merge delivered bundles (runs, servers) into one estate report:
    /// estate.json, estate.html and estate.csv, every checksum verified.
    Merge {
        /// Bundle folders (as `report download` writes them) or s3://
        /// locations (a run's prefix, or a prefix holding runs).
        #[arg(required = true, value_parser = parse_source)]
        sources: Vec<Source>,
        /// Where to write the estate report.
        #[arg(long)]
        out: PathBuf,
        /// Merge bundles of another assessor or schema version, flagged in
        /// the report, instead of refusing them.
        #[arg(long)]
        allow_mixed_versions: bool,
        /// Refuse a bundle file larger than this (bytes, or with a unit: K, M, G).
        #[arg(long, value_parser = parse_size, default_value = "2G")]
        max_file_size: u64,
    },
}

/// A bundle to merge: an `s3://` location or a local folder.
#[derive(Debug, Clone)]
pub enum Source {
    S3(S3Location),
    Dir(PathBuf),
}

fn parse_source(text: &str) -> Result<Source, String> {
    if text.starts_with("s3://") {
        parse_location(text).map(Source::S3)
    } else {
        Ok(Source::Dir(PathBuf::from(text)))
    }
}

/// An `s3://` location, checked while the arguments are read: a mistyped
/// URL is a usage error (exit 2) before any AWS configuration is loaded.
fn parse_location(text: &str) -> Result<S3Location, String> {
    S3Location::parse(text).map_err(|e| e.to_string())
}

fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number of bytes, e.g. 500M or 2G"))?;
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("{text:?}: the unit must be K, M or G")),
    };
    match n.checked_mul(1 << shift) {
        Some(0) | None => Err(format!("{text:?}: expected between 1 byte and 16 EiB")),
        Some(bytes) => Ok(bytes),
    }
}

/// A number with a unit: s (or none), m or h.
fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit, e.g. 15m"))?;
    let scale = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("{text:?}: the unit must be s, m or h")),
    };
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: too long"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d.is_zero() || d > Duration::from_secs(7 * 24 * 3600) {
        return Err("a presigned URL lives between 1 s and 7 days".into());
    }
    Ok(d)
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d.is_zero() || d > Duration::from_secs(24 * 3600) {
        return Err(format!("{text:?}: expected between 1 s and 24 h"));
    }
    Ok(d)
}

async fn s3(region: Option<String>) -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region));
    }
    let shared = loader.load().await;
    // AWS_ENDPOINT_URL (an emulator, for tests) needs path-style addressing.
    let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(path_style)
            .build(),
    )
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The client is made per command: a merge of local folders needs no
    // AWS configuration at all.
    let region = args.region;
    match args.command {
        Command::List { location } => {
            let client = s3(region).await;
            for run in deliver::list_runs(&client, &location).await? {
                println!("{}", Escaped(&run.to_string()));
            }
        }
        Command::Wait {
            location,
            new,
            timeout,
            interval,
        } => {
            let client = s3(region).await;
            let known = if new {
                deliver::list_runs(&client, &location).await?
            } else {
                Vec::new()
            };
            let policy = WaitPolicy { timeout, interval };
            match deliver::wait_for_run(&client, &location, &known, policy).await {
                Ok(runs) => {
                    for run in runs {
                        println!("{}", Escaped(&run.to_string()));
                    }
                }
                Err(e @ DeliverError::WaitTimedOut { .. }) => {
                    eprintln!("assessor: {e}");
                    return Ok(ExitCode::from(EXIT_TIMED_OUT));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Download {
            location,
            out,
            presign,
            max_file_size,
        } => {
            let client = s3(region).await;
            if let Some(valid_for) = presign {
                println!(
                    "{}",
                    deliver::presign(&client, &location, "report.html", valid_for).await?
                );
                return Ok(ExitCode::SUCCESS);
            }
            let limits = DownloadLimits {
                max_file_bytes: max_file_size,
            };
            let (manifest, written) = deliver::download_with(&client, &location, &out, limits)
                .await
                .with_context(|| format!("downloading {}", Escaped(&location.to_string())))?;
            eprintln!(
                "verified {} file(s) of run {} against the manifest",
                written.len(),
                Escaped(&manifest.run_id)
            );
            match written
                .iter()
                .find(|p| p.file_name().is_some_and(|n| n == "report.html"))
            {
                Some(html) => println!("{}", html.display()),
                None => println!("{}", out.display()),
            }
        }
        Command::Merge {
            sources,
            out,
            allow_mixed_versions,
            max_file_size,
        } => {
            let options = MergeOptions {
                limits: DownloadLimits {
                    max_file_bytes: max_file_size,
                },
                allow_mixed_versions,
            };
            match merge(region, &sources, &out, options).await {
                Ok(()) => {}
                // A refused bundle names itself and what to do; bundles are
                // the operator's input, so it is a usage error.
                Err(e) if e.is_refusal() => {
                    eprintln!("assessor: {e}; nothing was written");
                    return Ok(ExitCode::from(super::EXIT_USAGE));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `report merge`: S3 sources are downloaded (verified) into a scratch
/// folder removed at the end, then every bundle is verified and merged, and
/// only then is anything written to `out`.
async fn merge(
    region: Option<String>,
    sources: &[Source],
    out: &std::path::Path,
    options: MergeOptions,
) -> Result<(), EstateError> {
    let mut bundles = Vec::with_capacity(sources.len());
    let mut scratch = None;
    let mut client = None;
    for source in sources {
        match source {
            Source::Dir(dir) => bundles.push(BundleDir {
                dir: dir.clone(),
                source: dir.display().to_string(),
            }),
            Source::S3(location) => {
                let client = match &client {
                    Some(c) => c,
                    None => client.insert(s3(region.clone()).await),
                };
                let scratch = match &scratch {
                    Some(s) => s,
                    None => scratch.insert(Scratch::new(&std::env::temp_dir())?),
                };
                bundles.extend(estate::fetch_s3(client, location, scratch, options.limits).await?);
            }
        }
    }
    let estate = estate::merge(&bundles, options)?;
    let written = estate::render::write_all(out, &estate)?;
    let s = &estate.summary;
    eprintln!(
        "merged {} bundle(s), every checksum verified: {} server(s), {} database(s), {} failed \
         run(s), {} of another version; {} shared piece(s) of code counted once",
        s.bundles,
        s.servers,
        s.databases,
        s.failed_runs,
        s.mixed_version_bundles,
        s.shared_code_groups
    );
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_bounds() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("8d").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_wait("30m").unwrap(), Duration::from_secs(1800));
        assert!(parse_wait("25h").is_err());
        assert!(parse_wait("0").is_err());
        assert!(parse_wait("99999999999999999h").is_err());
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(parse_size("64k").unwrap(), 64 << 10);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("0").is_err());
        assert!(parse_size("2T").is_err());
        assert!(parse_size("99999999999G").is_err());
        assert!(parse_size("big").is_err());
    }
}
