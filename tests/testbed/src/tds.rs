//! A SQL Server stand-in on 127.0.0.1 speaking TDS with TLS: pysqlbridge
//! (PyPI) driven by `tests/peers/tds_peer.py`, presenting a leaf certificate
//! from [`crate::pki::TestPki`].

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::pki::Leaf;
use crate::process::Guard;
use crate::{PeerError, Result, tools};

/// How to start a [`TdsPeer`].
#[derive(Debug, Clone)]
pub struct TdsPeerOptions {
    /// The certificate the server presents.
    pub leaf: Leaf,
    /// The one SQL login it admits.
    pub user: String,
    pub password: String,
    /// JSON fixture of answers (see tds_peer.py); none answers nothing.
    pub fixture: Option<PathBuf>,
}

/// A running TDS server; stopped on drop.
#[derive(Debug)]
pub struct TdsPeer {
    _guard: Guard,
    port: u16,
    dir: TempDir,
}

impl TdsPeer {
    pub fn start(options: &TdsPeerOptions) -> Result<TdsPeer> {
        let python = tools::peers_python()?;
        let script = tools::repo_root().join("tests/peers/tds_peer.py");
        let dir = tempfile::Builder::new()
            .prefix("testbed-tds-")
            .tempdir()
            .map_err(|source| PeerError::Io {
                what: "creating the TDS peer directory",
                source,
            })?;
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--user",
                &options.user,
            ])
            .arg("--cert")
            .arg(&options.leaf.cert_path)
            .arg("--key")
            .arg(&options.leaf.key_path)
            .args(["--password-env", "TDS_PEER_PASSWORD"])
            .arg("--query-log")
            .arg(dir.path().join("queries.jsonl"))
            // The password goes through the environment, never argv (`ps`).
            .env("TDS_PEER_PASSWORD", &options.password)
            .env("PYTHONUNBUFFERED", "1");
        if let Some(fixture) = &options.fixture {
            cmd.arg("--fixture").arg(fixture);
        }
        let mut guard = Guard::spawn("the TDS peer", cmd)?;
        let port = guard.wait_for("the TDS peer", Duration::from_secs(30), |out| {
            out.lines()
                .find_map(|l| l.strip_prefix("LISTENING ")?.trim().parse::<u16>().ok())
        })?;
        Ok(TdsPeer {
            _guard: guard,
            port,
            dir,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every statement the server received, in order.
    pub fn statements(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("queries.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// A [`TdsPeer`] serving a catalog fixture with a certificate from its own
/// test CA, for 127.0.0.1, admitting `user`; everything goes on drop.
#[derive(Debug)]
pub struct ServedCatalog {
    pub peer: TdsPeer,
    pub pki: crate::pki::TestPki,
    _dir: TempDir,
}

impl ServedCatalog {
    pub fn start(
        fixture: &crate::catalog_fixture::CatalogFixture,
        user: &str,
        password: &str,
    ) -> Result<ServedCatalog> {
        let pki = crate::pki::TestPki::new("catalog CA")?;
        let dir = tempfile::tempdir().map_err(|source| PeerError::Io {
            what: "creating the fixture directory",
            source,
        })?;
        let path = dir.path().join("catalog.json");
        fixture.write(&path)?;
        let peer = TdsPeer::start(&TdsPeerOptions {
            leaf: pki.leaf("sql", &["127.0.0.1"], crate::pki::Validity::Current)?,
            user: user.into(),
            password: password.into(),
            fixture: Some(path),
        })?;
        Ok(ServedCatalog {
            peer,
            pki,
            _dir: dir,
        })
    }
}
