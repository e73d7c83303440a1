//! Where the peers' executables are: the environment set by scripts/lib.sh,
//! else the same defaults.

use std::path::{Path, PathBuf};

use crate::{PeerError, Result};

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ASSESSOR_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    base.join("sqlassess")
}

fn existing(tool: &'static str, path: PathBuf) -> Result<PathBuf> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(PeerError::Missing {
            tool,
            path: path.display().to_string(),
        })
    }
}

pub fn moto_server() -> Result<PathBuf> {
    let path = std::env::var_os("ASSESSOR_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("venv-peers/bin/moto_server"));
    existing("moto_server", path)
}

pub fn peers_python() -> Result<PathBuf> {
    let path = std::env::var_os("ASSESSOR_PEERS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("venv-peers/bin/python"));
    existing("the test peers' Python (with pysqlbridge)", path)
}

/// The PostgreSQL server binaries directory (the newest installed).
pub fn pg_bin() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ASSESSOR_PG_BIN") {
        return existing("initdb", PathBuf::from(dir).join("initdb"))
            .map(|p| p.parent().map(PathBuf::from).unwrap_or_default());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| PeerError::Missing {
            tool: "PostgreSQL",
            path: "/usr/lib/postgresql".into(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().ok_or(PeerError::Missing {
        tool: "initdb",
        path: "/usr/lib/postgresql/*/bin".into(),
    })
}

/// The repository root: the nearest folder above the running test's package
/// (cargo and nextest set `CARGO_MANIFEST_DIR` at run time), the working
/// directory, or, last, this crate's build-time location, that holds
/// `tests/testbed/Cargo.toml`.
///
/// Run-time locations come first because a binary built in another clone
/// that shares the target directory keeps that clone's build-time path, which
/// may be gone.
pub fn repo_root() -> PathBuf {
    let candidates = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        std::env::current_dir().ok(),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    candidates
        .iter()
        .flatten()
        .flat_map(|start| start.ancestors())
        .find(|dir| dir.join("tests/testbed/Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}
