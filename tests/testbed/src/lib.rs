//! testbed: real peers on loopback for tests, started for real and always
//! torn down.
//!
//! - [`moto::MotoServer`]: the AWS API emulator (`moto_server`, PyPI), reset
//!   between tests through its reset endpoint.
//! - [`postgres::PgCluster`]: a throwaway PostgreSQL cluster (initdb into a
//!   temporary directory, unix socket only, random password).
//! - [`appliance::LocalAppliance`]: the peers here arranged for the
//!   appliance job (key, bucket, secret, TDS peer, job config).
//! - [`tds::TdsPeer`]: a SQL Server stand-in (pysqlbridge, PyPI) presenting a
//!   leaf certificate signed by a test CA from [`pki::TestPki`].
//! - [`imds::ImdsEmulator`]: the EC2 instance metadata service (IMDSv2 only:
//!   token first, IMDSv1 refused), which cannot run here, for the appliance
//!   VM test: region, role credentials, user data.
//!
//! Every peer listens on 127.0.0.1 (or a unix socket) and is killed when its
//! handle drops, even when the test panics. Tools are found through the
//! environment variables set by `scripts/lib.sh`, with the same defaults; a
//! missing tool is an error that says to run `scripts/dev-env`, never a skip.

// A test-support crate: a failure here is a failed test, reported with its
// location, which is what unwrap/expect give.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod appliance;
pub mod catalog_fixture;
pub mod imds;
pub mod mock_tds;
pub mod moto;
pub mod pki;
pub mod postgres;
mod process;
pub mod tds;
pub mod tools;
pub mod workload_fixture;

/// Why a peer could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("{tool} not found at {path}: run scripts/dev-env to install the test peers")]
    Missing { tool: &'static str, path: String },
    #[error(
        "the T-SQL sample corpora are not at {path}: they are part of the repository \
         (tests/corpora/tsql); use a complete clone, or set ASSESSOR_CORPORA to a copy"
    )]
    NoCorpora { path: String },
    #[error("could not start {what}: {detail}")]
    Start { what: &'static str, detail: String },
    #[error("{what} did not become ready within {seconds} s; its output:\n{output}")]
    NotReady {
        what: &'static str,
        seconds: u64,
        output: String,
    },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, PeerError>;
