//! An I/O failure on a named file or folder: what was being done, to which
//! path, and the operating system's reason. Every module's error type wraps
//! it (`Io(#[from] PathError)`), so the message reads the same everywhere:
//! `cannot read /x/build-info.json: No such file or directory`.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct PathError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// `map_err(io_err("cannot read", path))?`: `?` turns it into the caller's
/// error type (any that wraps [`PathError`]).
pub fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PathError {
    let path = path.to_owned();
    move |source| PathError {
        action,
        path,
        source,
    }
}
