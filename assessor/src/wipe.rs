//! Wipe: destroy every trace of a session (crypto-shredding).
//!
//! Guarantees:
//! - Idempotent: wiping a wiped or never-created session succeeds and says so.
//! - Stops a session cluster left running by a crashed run before deleting
//!   its files, so no server keeps writing into a deleted directory (found by
//!   its postmaster.pid, stopped by `pg_ctl stop`, which involves no shell).
//! - Deletes only a directory the assessor created: the session directory must
//!   carry the [`MARKER`] file (written by [`prepare`]). A mistyped
//!   `session_dir = "/var/lib"` is refused, not deleted.
//! - What remains anywhere after a wipe is ciphertext under a data key that no
//!   longer exists in plaintext (the key only ever lived in memory and its KMS
//!   blob is deleted here), so it is unreadable even with the CMK.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Marks a directory as an assessor session directory.
pub const MARKER: &str = ".assessor-session";

/// What a wipe did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WipeReport {
    /// A running cluster was found and stopped.
    pub stopped_cluster: bool,
    /// Files and directories removed (top-level entries of the session).
    pub removed: Vec<PathBuf>,
}

impl std::fmt::Display for WipeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.removed.is_empty() && !self.stopped_cluster {
            return f.write_str("nothing to wipe");
        }
        if self.stopped_cluster {
            f.write_str("stopped the session database; ")?;
        }
        write!(f, "removed {} item(s)", self.removed.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WipeError {
    #[error(
        "refusing to wipe {dir}: it has no {MARKER} file, so the assessor did not create it; \
         check job.session_dir"
    )]
    NotASession { dir: PathBuf },
    #[error("wiping {path} failed: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Leaves an empty session directory (mode 0700) with its marker: a
/// leftover session's contents are destroyed first. An existing session
/// directory is emptied, not replaced, so that the run's Landlock rule for
/// it (made before this, on the directory itself: see
/// [`crate::confinement`]) still covers it.
pub fn prepare(dir: &Path) -> Result<WipeReport, WipeError> {
    if !dir.exists() {
        create(dir)?;
        return Ok(WipeReport::default());
    }
    let report = empty(dir)?;
    mark(dir)?;
    Ok(report)
}

/// Creates the session directory (mode 0700) with its marker if it does not
/// exist; an existing one is left exactly as it is (a leftover cluster in it
/// still needs its owner let through; the wipe refuses it unless it is a
/// session). The run calls this before it is confined, so
/// the directory exists for its Landlock rule.
pub fn create(dir: &Path) -> Result<(), WipeError> {
    let io = |source| WipeError::Io {
        path: dir.to_owned(),
        source,
    };
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    mark(dir)
}

/// Makes `dir` private (0700) and marks it as a session directory.
fn mark(dir: &Path) -> Result<(), WipeError> {
    let io = |source| WipeError::Io {
        path: dir.to_owned(),
        source,
    };
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    std::fs::write(dir.join(MARKER), b"").map_err(io)?;
    Ok(())
}

/// Stops any session cluster and deletes the session directory.
pub fn wipe(dir: &Path) -> Result<WipeReport, WipeError> {
    if !dir.exists() {
        return Ok(WipeReport::default());
    }
    let report = empty(dir)?;
    std::fs::remove_dir_all(dir).map_err(|source| WipeError::Io {
        path: dir.to_owned(),
        source,
    })?;
    Ok(report)
}

/// Stops any session cluster and deletes everything in the session
/// directory but its marker.
fn empty(dir: &Path) -> Result<WipeReport, WipeError> {
    let mut report = WipeReport::default();
    if !dir.join(MARKER).is_file() {
        return Err(WipeError::NotASession {
            dir: dir.to_owned(),
        });
    }
    // Any directory below holding a postmaster.pid is a cluster to stop.
    for pid_file in find(dir, "postmaster.pid") {
        if let Some(data) = pid_file.parent() {
            report.stopped_cluster |= stop_cluster(data);
        }
    }
    let entries = std::fs::read_dir(dir).map_err(|source| WipeError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == MARKER) {
            continue;
        }
        let removed = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|source| WipeError::Io {
            path: path.clone(),
            source,
        })?;
        report.removed.push(path);
    }
    Ok(report)
}

fn stop_cluster(data: &Path) -> bool {
    let Ok(bin) = crate::store::cluster::pg_bin() else {
        return false;
    };
    // `pg_ctl stop` reads postmaster.pid (written by the postmaster however it
    // was started) and signals that pid: unlike `pg_ctl start` it runs no
    // shell, and the data directory is one argv element. Run it as the data
    // directory's owner (it refuses to run as root).
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(data).map(|m| m.uid()).unwrap_or(0);
    let mut cmd = if owner == 0 {
        Command::new(bin.join("pg_ctl"))
    } else {
        let mut c = Command::new("runuser");
        c.args(["-u", &owner_name(owner), "--"])
            .arg(bin.join("pg_ctl"));
        c
    };
    cmd.arg("-D")
        .arg(data)
        .args(["-m", "immediate", "-w", "stop"]);
    match cmd.output() {
        Ok(out) if out.status.success() => true,
        // Said, not fatal: the files go anyway, and the server with them.
        Ok(out) => {
            tracing::warn!(
                status = %out.status,
                output = %String::from_utf8_lossy(&out.stderr).trim(),
                "pg_ctl could not stop a leftover session database"
            );
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "pg_ctl could not be started to stop a leftover session database");
            false
        }
    }
}

fn owner_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)? == uid.to_string()).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

fn find(root: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                found.push(path);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wipe_is_idempotent_and_reports_what_it_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("session");
        prepare(&dir).unwrap();
        std::fs::write(dir.join("data-key.enc"), b"ciphertext").unwrap();
        std::fs::create_dir(dir.join("tmp")).unwrap();
        std::fs::write(dir.join("tmp/x"), b"y").unwrap();
        let report = wipe(&dir).unwrap();
        assert_eq!(report.removed.len(), 2);
        assert!(!dir.exists());
        assert_eq!(wipe(&dir).unwrap(), WipeReport::default());
        assert_eq!(wipe(&dir).unwrap().to_string(), "nothing to wipe");
    }

    #[test]
    fn prepare_empties_an_existing_session_in_place() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("session");
        create(&dir).unwrap();
        let inode = std::fs::metadata(&dir).unwrap().ino();
        std::fs::write(dir.join("leftover"), b"x").unwrap();
        let report = prepare(&dir).unwrap();
        assert_eq!(report.removed, [dir.join("leftover")]);
        // The same directory: a Landlock rule made on it still applies.
        assert_eq!(std::fs::metadata(&dir).unwrap().ino(), inode);
        assert!(dir.join(MARKER).is_file());
        // A directory the assessor did not create is neither marked nor used.
        let foreign = tmp.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        create(&foreign).unwrap();
        assert!(!foreign.join(MARKER).exists());
        assert!(matches!(
            prepare(&foreign),
            Err(WipeError::NotASession { .. })
        ));
    }

    #[test]
    fn refuses_a_directory_it_did_not_create() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("precious"), b"keep me").unwrap();
        let err = wipe(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("refusing to wipe"), "{err}");
        assert!(tmp.path().join("precious").exists());
    }
}
