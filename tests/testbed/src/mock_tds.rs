//! `mssql-mock-tds` (crates.io, from Microsoft's mssql-rs): a TDS server with
//! TDS 8.0 strict TLS, TDS 7.4 TLS, or no TLS at all (to prove a client
//! refuses it). It answers `SELECT 1`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::pki::Leaf;
use crate::process::Guard;
use crate::{PeerError, Result};

/// How the mock server does TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockTds {
    /// No encryption offered at all.
    None,
    /// TLS negotiated in PRELOGIN (TDS 7.4).
    Optional,
    /// TLS before PRELOGIN (TDS 8.0 strict).
    Strict,
}

/// A running `mssql-mock-tds`; stopped on drop.
#[derive(Debug)]
pub struct MockTdsPeer {
    _guard: Guard,
    port: u16,
}

fn executable() -> Result<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")));
    for dir in candidates {
        let exe = dir.join("mssql-mock-tds");
        if exe.is_file() {
            return Ok(exe);
        }
    }
    Err(PeerError::Missing {
        tool: "mssql-mock-tds",
        path: "$PATH or ~/.cargo/bin".into(),
    })
}

impl MockTdsPeer {
    pub fn start(tls: MockTds, leaf: Option<&Leaf>) -> Result<MockTdsPeer> {
        let mut cmd = Command::new(executable()?);
        cmd.args(["--host", "127.0.0.1", "--port", "0", "--tls-mode"])
            .arg(match tls {
                MockTds::None => "none",
                MockTds::Optional => "optional",
                MockTds::Strict => "strict",
            });
        if let Some(leaf) = leaf {
            cmd.arg("--cert")
                .arg(&leaf.cert_path)
                .arg("--key")
                .arg(&leaf.key_path);
        }
        let mut guard = Guard::spawn("mssql-mock-tds", cmd)?;
        let port = guard.wait_for("mssql-mock-tds", Duration::from_secs(30), |out| {
            out.lines().find_map(|l| {
                l.strip_prefix("Mock TDS Server listening on ")?
                    .rsplit(':')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
        })?;
        Ok(MockTdsPeer {
            _guard: guard,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}
