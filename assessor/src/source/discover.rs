//! Finding the `.sql` files to analyse.
//!
//! Guarantees: directories are walked recursively; only files whose
//! extension is `sql` (any case) are kept from directories, while a file
//! named explicitly is always kept; the result is sorted by relative path so
//! reports are deterministic. Nothing is read here: callers read one file at
//! a time.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// One script to analyse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    /// Path relative to the input root (the file name for a single file
    /// argument), with `/` separators: this is what reports show.
    pub relative: String,
    /// Where to read it.
    pub path: PathBuf,
}

/// Why the inputs could not be listed.
#[derive(Debug, Error)]
pub enum SourceError {
    #[error("cannot read input {path}: {source}; check that it exists and is readable")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("input {path} is neither a file nor a directory")]
    NotAFile { path: PathBuf },
}

/// What [`discover_all`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The scripts to analyse, in report order.
    pub files: Vec<InputFile>,
    /// Other files in the directories walked (not `.sql`), counted so that
    /// "nothing to analyse" can say what was there instead.
    pub ignored: usize,
}

/// Lists the `.sql` files under `paths` (files and directories).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<InputFile>, SourceError> {
    discover_all(paths).map(|d| d.files)
}

/// Lists the `.sql` files under `paths` and counts the other files.
pub fn discover_all(paths: &[PathBuf]) -> Result<Discovery, SourceError> {
    let mut out = Vec::new();
    let mut ignored = 0;
    for root in paths {
        let meta = std::fs::metadata(root).map_err(|source| SourceError::Io {
            path: root.clone(),
            source,
        })?;
        if meta.is_file() {
            let name = root.file_name().map_or_else(
                || root.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            out.push(InputFile {
                relative: name,
                path: root.clone(),
            });
        } else if meta.is_dir() {
            let mut found = Vec::new();
            ignored += walk(root, root, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            return Err(SourceError::NotAFile { path: root.clone() });
        }
    }
    Ok(Discovery {
        files: out,
        ignored,
    })
}

/// Pushes the `.sql` files under `dir` and returns how many other files
/// it saw.
fn walk(root: &Path, dir: &Path, out: &mut Vec<InputFile>) -> Result<usize, SourceError> {
    let mut ignored = 0;
    // An explicit stack: deep trees cannot overflow the call stack.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let io = |source| SourceError::Io {
            path: dir.clone(),
            source,
        };
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            // file_type does not follow symlinks: a link loop cannot trap us.
            let ty = entry.file_type().map_err(io)?;
            if ty.is_dir() {
                stack.push(path);
            } else if (ty.is_file() || ty.is_symlink() && path.is_file()) && is_sql(&path) {
                let relative = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(InputFile { relative, path });
            } else {
                ignored += 1;
            }
        }
    }
    Ok(ignored)
}

fn is_sql(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("sql"))
}
