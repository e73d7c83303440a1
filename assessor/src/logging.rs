//! Logging and the CLI's own messages on stderr.
//!
//! Log lines: human-readable on a terminal, JSON lines otherwise (the
//! appliance ships its journal to CloudWatch). The level is `info`, or what
//! `RUST_LOG` says; the global `--quiet` (`error`) and `--verbose` (`debug`)
//! flags override both.
//!
//! The CLI's informational lines (`note!`) follow the same verbosity:
//! `--quiet` drops them, errors are always printed (they use `eprintln!`
//! directly) and exit codes never depend on the verbosity.
//!
//! Colour (clap's help and errors, the terminal log format) is used only
//! when stderr is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>): see [`color_enabled`].
//!
//! Log lines never carry secrets or customer code: the types that hold them
//! do not implement `Display`, and their `Debug` is redacted.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

use tracing_subscriber::EnvFilter;

/// How much the CLI says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only (`--quiet`).
    Quiet,
    /// Errors, warnings, what was written, the closing summary.
    Normal,
    /// Also per-file progress and debug logs (`--verbose`).
    Verbose,
}

impl Verbosity {
    /// From the two global flags (clap makes them exclusive).
    pub fn from_flags(quiet: bool, verbose: bool) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, true) => Verbosity::Verbose,
            (false, false) => Verbosity::Normal,
        }
    }

    /// The log filter: the flags win over `RUST_LOG`, which wins over `info`.
    fn filter(self) -> EnvFilter {
        match self {
            Verbosity::Quiet => EnvFilter::new("error"),
            Verbosity::Verbose => EnvFilter::new("debug"),
            Verbosity::Normal => {
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
            }
        }
    }
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// The verbosity [`init`] was given (`Normal` before).
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        v if v == Verbosity::Quiet as u8 => Verbosity::Quiet,
        v if v == Verbosity::Verbose as u8 => Verbosity::Verbose,
        _ => Verbosity::Normal,
    }
}

/// Whether the CLI may colour its output: stderr is a terminal and
/// `NO_COLOR` is absent or empty (the convention: any non-empty value
/// turns colour off).
pub fn color_enabled(no_color: Option<&OsStr>, stderr_is_terminal: bool) -> bool {
    let no_color = no_color.is_some_and(|v| !v.is_empty());
    stderr_is_terminal && !no_color
}

/// [`color_enabled`] for this process.
pub fn color_enabled_here() -> bool {
    color_enabled(
        std::env::var_os("NO_COLOR").as_deref(),
        std::io::stderr().is_terminal(),
    )
}

pub fn init(verbosity: Verbosity, color: bool) {
    VERBOSITY.store(verbosity as u8, Ordering::Relaxed);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(verbosity.filter())
        .with_writer(std::io::stderr)
        .with_ansi(color);
    if std::io::stderr().is_terminal() {
        builder.with_target(false).init();
    } else {
        builder.json().with_current_span(false).init();
    }
}

/// An informational line on stderr, `assessor: ...`, unless `--quiet`.
/// Errors use `eprintln!` directly so that nothing can silence them.
macro_rules! note {
    ($($arg:tt)*) => {
        if $crate::logging::verbosity() >= $crate::logging::Verbosity::Normal {
            eprintln!("assessor: {}", format_args!($($arg)*));
        }
    };
}
pub(crate) use note;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_non_empty_no_color() {
        assert!(color_enabled(None, true));
        assert!(color_enabled(Some(OsStr::new("")), true));
        assert!(!color_enabled(Some(OsStr::new("1")), true));
        assert!(!color_enabled(Some(OsStr::new("false")), true));
        assert!(!color_enabled(None, false));
        assert!(!color_enabled(Some(OsStr::new("")), false));
    }

    #[test]
    fn flags_map_to_verbosity_and_quiet_wins() {
        assert_eq!(Verbosity::from_flags(false, false), Verbosity::Normal);
        assert_eq!(Verbosity::from_flags(true, false), Verbosity::Quiet);
        assert_eq!(Verbosity::from_flags(false, true), Verbosity::Verbose);
        assert_eq!(Verbosity::from_flags(true, true), Verbosity::Quiet);
        assert!(Verbosity::Quiet < Verbosity::Normal && Verbosity::Normal < Verbosity::Verbose);
    }
}
