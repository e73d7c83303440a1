//! policy-gates: the stack (`cloudformation/appliance.yaml`) and the IAM
//! documents (`policies/`) checked by the real checkers, run as subprocesses.
//!
//! The gates themselves are the integration tests of this crate
//! (`tests/*.rs`); this library holds what they share:
//!
//! - [`checkers`]: finds cfn-lint, checkov, parliament and cfn-guard the way
//!   `scripts/lib.sh` installs them, and runs them. A missing tool is an error
//!   that says to run `scripts/dev-env`, never a skipped test.
//! - [`template`]: reads a CloudFormation template (long-form intrinsics only,
//!   so plain YAML) into JSON, for assertions on properties that moto ignores.
//! - [`placeholders`]: the `${Name}` placeholders of the standalone policy
//!   documents, the realistic values the checkers see instead, and the
//!   rendering of the template's intrinsics into the same placeholders, so the
//!   documents can be compared with the template statement by statement.
//! - [`guard`]: reads cfn-guard's structured JSON report into per-rule
//!   outcomes with the resources that failed.
//! - [`evaluator`]: evaluates a policy document against one request, so the
//!   deployer and publisher policies can be probed for escalation paths.
//! - [`ec2_query`]: the few EC2 Query API calls the moto deploy test needs
//!   (the EC2 SDK would add minutes of compilation for three calls).
//!
//! Nothing here contacts anything but 127.0.0.1.

pub mod checkers;
pub mod ec2_query;
pub mod evaluator;
pub mod guard;
pub mod placeholders;
pub mod template;

use std::path::PathBuf;

/// Why a gate could not be evaluated (as opposed to a gate that ran and
/// found something, which the tests report with the checker's output).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{tool} not found at {path}: run scripts/dev-env to install the checkers")]
    Missing { tool: &'static str, path: String },
    #[error("could not run {tool}: {source}")]
    Run {
        tool: &'static str,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{what} is not what was expected: {detail}")]
    Parse { what: String, detail: String },
    #[error("talking to the emulator at 127.0.0.1:{port} failed: {source}")]
    Http { port: u16, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, GateError>;

/// The repository root (this crate lives at `tests/policy-gates`): found
/// from the run-time `CARGO_MANIFEST_DIR` (cargo and nextest set it) before
/// the build-time one, so a test binary built in another clone sharing the
/// target directory still reads this checkout's files.
pub fn repo_root() -> PathBuf {
    let build_time = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(build_time.clone()),
    ]
    .into_iter()
    .flatten()
    .find_map(|dir| {
        let root = dir.join("../..");
        root.join("tests/policy-gates/Cargo.toml")
            .is_file()
            .then_some(root)
    })
    .unwrap_or_else(|| build_time.join("../.."))
}

/// Reads a file below the repository root as text.
pub fn read_repo_file(relative: &str) -> Result<String> {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).map_err(|source| GateError::Read {
        path: path.display().to_string(),
        source,
    })
}
