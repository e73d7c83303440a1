//! One module per subcommand. Each parses nothing itself (clap does) and
//! returns the process exit code.

pub mod analyze;
#[cfg(feature = "appliance")]
pub mod appliance;
#[cfg(feature = "appliance")]
pub mod check;
pub mod generate;
#[cfg(feature = "appliance")]
pub mod report;
#[cfg(feature = "appliance")]
pub mod run;
#[cfg(feature = "appliance")]
pub mod wipe;

/// Exit code for usage and input errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a run that could not complete.
pub const EXIT_ERROR: u8 = 1;

/// Runs an async command on a multi-threaded runtime.
#[cfg(feature = "appliance")]
pub fn block_on<F: std::future::Future<Output = anyhow::Result<std::process::ExitCode>>>(
    future: F,
) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(future)
}

/// Writes to standard output through `write`, flushed. A closed pipe
/// (`| head`) is the reader's choice, not a failure.
pub fn write_stdout(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    match write(&mut lock).and_then(|()| lock.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
