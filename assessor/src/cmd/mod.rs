//! One module per subcommand. Each parses nothing itself (clap does) and
//! returns the process exit code.

pub mod analyze;

/// Exit code for usage and input errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a run that could not complete.
pub const EXIT_ERROR: u8 = 1;
