//! `assessor completions SHELL` and `assessor man`: generated from the clap
//! definition of this very build, so they list exactly the subcommands and
//! flags it has (the appliance commands only in a build with them).

use std::process::ExitCode;

use anyhow::Context;
use clap_complete::Shell;

use super::write_stdout;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(ignore_case = true)]
    pub shell: Shell,
}

/// The completion script for `args.shell`, on standard output.
pub fn completions(mut command: clap::Command, args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let name = command.get_name().to_string();
    // Into memory first: the generators panic on a write error, and a
    // closed pipe is not one.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    write_stdout(|out| out.write_all(&script))
        .context("cannot write the completion script to standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// The man page (roff), on standard output: `assessor man > assessor.1`.
pub fn man(command: clap::Command) -> anyhow::Result<ExitCode> {
    write_stdout(|out| clap_mangen::Man::new(command).render(out))
        .context("cannot write the man page to standard output")?;
    Ok(ExitCode::SUCCESS)
}
