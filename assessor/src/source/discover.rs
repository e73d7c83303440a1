//! Finding the `.sql` files to analyse.
//!
//! Guarantees: directories are walked recursively; only files whose
//! extension is `sql` (any case) are kept from directories, while a file
//! named explicitly is always kept; the result is sorted by relative path so
//! reports are deterministic. Nothing is read here: callers read one file at
//! a time.
//!
//! Names: with one input, a file's name is relative to that folder (or is
//! the file's name). With several, every name is relative to the deepest
//! folder that holds all the inputs, so `a/proc.sql` and `b/proc.sql` stay
//! two files with two names, and each name says which input it came from;
//! a file reached through two inputs (`a` and `a/proc.sql`) is listed once.

use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// One script to analyse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    /// Path relative to the input root (the file name for a single file
    /// argument), or to the inputs' common folder when there are several
    /// (see the module docs), with `/` separators: this is what reports
    /// show.
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
    let labels = root_labels(paths);
    for (root, label) in paths.iter().zip(&labels) {
        let meta = std::fs::metadata(root).map_err(|source| SourceError::Io {
            path: root.clone(),
            source,
        })?;
        if meta.is_file() {
            let name = match label {
                Some(label) => label.clone(),
                None => root.file_name().map_or_else(
                    || root.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
            };
            out.push(InputFile {
                relative: name,
                path: root.clone(),
            });
        } else if meta.is_dir() {
            let mut found = Vec::new();
            ignored += walk(root, root, &mut found)?;
            found.sort();
            if let Some(label) = label.as_deref().filter(|l| !l.is_empty()) {
                for f in &mut found {
                    f.relative = format!("{label}/{}", f.relative);
                }
            }
            out.extend(found);
        } else {
            return Err(SourceError::NotAFile { path: root.clone() });
        }
    }
    // The same file through two inputs has the same name: analyse it once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(f.relative.clone()));
    Ok(Discovery {
        files: out,
        ignored,
    })
}

/// With several inputs, each one's path relative to the deepest folder
/// holding them all (a folder that is that folder gets `""`); `None` for
/// each with one input, or when the current directory is unknown (names
/// then stay relative to each input, as with one).
///
/// Lexical: `..` drops the previous component and symlinks are not
/// resolved. These are names for the report, never paths to open.
fn root_labels(paths: &[PathBuf]) -> Vec<Option<String>> {
    let none = || vec![None; paths.len()];
    if paths.len() < 2 {
        return none();
    }
    let mut absolute = Vec::with_capacity(paths.len());
    for path in paths {
        match lexical_components(path) {
            Some(c) => absolute.push((c, path.is_file())),
            None => return none(),
        }
    }
    // A file's folder is its parent: compare folders only.
    let folder = |(c, is_file): &(Vec<String>, bool)| -> usize {
        if *is_file {
            c.len().saturating_sub(1)
        } else {
            c.len()
        }
    };
    let mut common = folder(&absolute[0]);
    for a in &absolute[1..] {
        let limit = folder(a).min(common);
        common = (0..limit)
            .find(|&i| a.0[i] != absolute[0].0[i])
            .unwrap_or(limit);
    }
    absolute
        .iter()
        .map(|(c, _)| Some(c[common..].join("/")))
        .collect()
}

/// The normal components of `path` made absolute, with `.` dropped and
/// `..` applied lexically; the root itself is not a component.
fn lexical_components(path: &Path) -> Option<Vec<String>> {
    let absolute = std::path::absolute(path).ok()?;
    let mut out: Vec<String> = Vec::new();
    for c in absolute.components() {
        match c {
            Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
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
