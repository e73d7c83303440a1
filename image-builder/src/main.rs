//! `image-builder`: the command-line edge.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use image_builder::profile::Profile;

/// Build, verify and publish the assessment appliance image.
#[derive(Debug, Parser)]
#[command(name = "image-builder", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check an image profile and print what it contains.
    CheckProfile {
        /// The profile file, e.g. image-builder/profiles/appliance.toml.
        #[arg(long)]
        profile: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckProfile { profile } => match Profile::load(&profile) {
            Ok(p) => {
                println!(
                    "{}: {} packages, ssh {}",
                    p.name,
                    p.packages.len(),
                    if p.ssh { "on" } else { "off" }
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("image-builder: error: {err}");
                ExitCode::from(2)
            }
        },
    }
}
