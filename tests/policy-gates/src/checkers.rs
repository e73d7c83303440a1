//! The checkers, found where `scripts/dev-env` installs them, run as child
//! processes with their output captured.
//!
//! - cfn-lint, checkov and parliament live in the checkers' virtual
//!   environment: `$ASSESSOR_CHECKERS_VENV/bin`, by default
//!   `~/.cache/sqlassess/venv-checkers/bin` (the same default as
//!   `scripts/lib.sh`).
//! - cfn-guard is a cargo-installed binary: `$ASSESSOR_CFN_GUARD` if set, else
//!   the first `cfn-guard` on `PATH`, else `~/.cargo/bin/cfn-guard`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{GateError, Result};

/// One of the checkers the gates run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checker {
    CfnLint,
    Checkov,
    CfnGuard,
    Parliament,
}

impl Checker {
    pub fn name(self) -> &'static str {
        match self {
            Checker::CfnLint => "cfn-lint",
            Checker::Checkov => "checkov",
            Checker::CfnGuard => "cfn-guard",
            Checker::Parliament => "parliament",
        }
    }

    /// The executable, or an error naming where it was looked for.
    pub fn executable(self) -> Result<PathBuf> {
        let path = match self {
            Checker::CfnGuard => cfn_guard_path(),
            _ => checkers_venv().join("bin").join(self.name()),
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(GateError::Missing {
                tool: self.name(),
                path: path.display().to_string(),
            })
        }
    }

    /// Runs the checker with `args` in the repository root, feeding `stdin`
    /// if given, and returns what it printed and how it exited.
    pub fn run<I, S>(self, args: I, stdin: Option<&[u8]>) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let exe = self.executable()?;
        let tool = self.name();
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .current_dir(crate::repo_root())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // checkov: no guideline or mapping download (see also --skip-download).
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let mut child = cmd
            .spawn()
            .map_err(|source| GateError::Run { tool, source })?;
        if let Some(input) = stdin
            && let Some(mut pipe) = child.stdin.take()
        {
            pipe.write_all(input)
                .map_err(|source| GateError::Run { tool, source })?;
            // Dropping the pipe closes it, so the checker sees end of input.
        }
        let out = child
            .wait_with_output()
            .map_err(|source| GateError::Run { tool, source })?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// What a checker printed and how it exited.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code; `None` if a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Both streams, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ASSESSOR_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache"));
    base.join("sqlassess")
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
}

fn checkers_venv() -> PathBuf {
    std::env::var_os("ASSESSOR_CHECKERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("venv-checkers"))
}

fn cfn_guard_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ASSESSOR_CFN_GUARD") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("cfn-guard"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| home().join(".cargo/bin/cfn-guard"))
}

/// checkov's JSON report on one template (offline: `--skip-download`).
pub fn checkov_report(file: &str) -> Result<serde_json::Value> {
    let out = Checker::Checkov.run(
        [
            "--skip-download",
            "--framework",
            "cloudformation",
            "-o",
            "json",
            "-f",
            file,
        ],
        None,
    )?;
    serde_json::from_str(&out.stdout).map_err(|e| GateError::Parse {
        what: "checkov's JSON".into(),
        detail: format!("{e}\n{}", out.transcript()),
    })
}
