//! `assessor`: the command-line edge. Flags, logging and exit codes live here;
//! everything else is in the library.

use std::process::ExitCode;

use clap::{ColorChoice, CommandFactory, FromArgMatches, Parser, Subcommand};

#[cfg(feature = "appliance")]
mod allocator;
mod cmd;
mod logging;

/// Assess SQL Server code and configuration for Babelfish for Aurora PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "assessor", version, about, max_term_width = 100)]
struct Cli {
    /// Print errors only (no progress, notes or closing summary); exit
    /// codes are unchanged. Overrides RUST_LOG.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print per-file progress and debug logs. Overrides RUST_LOG.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyse exported T-SQL scripts offline (no AWS, no SQL Server).
    // Boxed: without the appliance commands it is by far the largest.
    Analyze(Box<cmd::analyze::Args>),
    /// Check a job config without collecting: AWS side, TLS login, permissions.
    #[cfg(feature = "appliance")]
    Check(cmd::check::Args),
    /// Run the appliance job: collect, analyse, deliver the report, wipe.
    #[cfg(feature = "appliance")]
    Run(cmd::run::Args),
    /// Destroy a session's leftovers (idempotent).
    #[cfg(feature = "appliance")]
    Wipe(cmd::wipe::Args),
    /// List or download delivered reports.
    #[cfg(feature = "appliance")]
    Report(cmd::report::Args),
    /// The appliance's boot-time steps (run by assessor.service).
    #[cfg(feature = "appliance")]
    Appliance(cmd::appliance::Args),
    /// Print a shell completion script for this build to standard output.
    Completions(cmd::generate::CompletionsArgs),
    /// Print this build's man page (roff) to standard output.
    Man,
}

fn main() -> ExitCode {
    // Decided before parsing: clap colours its help and errors.
    let color = logging::color_enabled_here();
    let matches = Cli::command()
        .color(if color {
            ColorChoice::Auto
        } else {
            ColorChoice::Never
        })
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    logging::init(
        logging::Verbosity::from_flags(cli.quiet, cli.verbose),
        color,
    );
    let result = match cli.command {
        Command::Analyze(args) => cmd::analyze::run(*args),
        #[cfg(feature = "appliance")]
        Command::Check(args) => cmd::block_on(cmd::check::run(args)),
        #[cfg(feature = "appliance")]
        // Not on the runtime: the run confines itself before any thread starts.
        Command::Run(args) => cmd::run::run(args),
        #[cfg(feature = "appliance")]
        Command::Wipe(args) => cmd::wipe::run(args),
        #[cfg(feature = "appliance")]
        Command::Report(args) => cmd::block_on(cmd::report::run(args)),
        #[cfg(feature = "appliance")]
        Command::Appliance(args) => cmd::block_on(cmd::appliance::run(args)),
        Command::Completions(args) => cmd::generate::completions(Cli::command(), args),
        Command::Man => cmd::generate::man(Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("assessor: error: {err:#}");
            ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}
