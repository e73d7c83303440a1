//! A local bundle folder, read as hostile input and verified against its
//! manifest before anything in it is used.
//!
//! Guarantees: the manifest is at most [`MAX_MANIFEST_BYTES`] and is checked
//! whole by [`Manifest::parse`] (only bundle file names, each once, sizes
//! within [`DownloadLimits::max_file_bytes`]); every file it lists is read
//! (never more than its stated size plus one byte) and its size and SHA-256
//! compared, the HTML and SARIF reports included, although only the JSON
//! files are kept. Files the manifest does not list are never opened. A
//! listed file that is missing, not a regular file, a symbolic link, or
//! different is an error naming the bundle and the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::bundle::{INVENTORY_FILE, MANIFEST, Manifest, ManifestProblem, SUMMARY_FILE};
use crate::deliver::{DownloadLimits, MAX_MANIFEST_BYTES};

use super::EstateError;

/// The report file the estate reads.
pub const REPORT_FILE: &str = "report.json";

/// A bundle whose every listed file matched the manifest.
#[derive(Debug)]
pub struct VerifiedBundle {
    /// How the operator named it (a folder or an `s3://` location).
    pub source: String,
    pub manifest: Manifest,
    /// `report.json`, `inventory.json` and `run-summary.json`, when listed.
    pub files: BTreeMap<&'static str, Vec<u8>>,
}

/// Files kept in memory for the estate; the others are only verified.
const KEPT: [&str; 3] = [REPORT_FILE, INVENTORY_FILE, SUMMARY_FILE];

/// Reads and verifies the bundle in `dir`; `source` names it in errors.
pub fn read_bundle(
    dir: &Path,
    source: &str,
    limits: DownloadLimits,
) -> Result<VerifiedBundle, EstateError> {
    let raw = match read_bounded(dir, MANIFEST, MAX_MANIFEST_BYTES, source)? {
        Some(raw) => raw,
        None => {
            return Err(EstateError::NoManifest {
                bundle: source.to_owned(),
            });
        }
    };
    let bad = |detail: String| EstateError::BadManifest {
        bundle: source.to_owned(),
        detail,
    };
    let (manifest, names) =
        Manifest::parse(&raw, limits.max_file_bytes).map_err(|problem| match problem {
            ManifestProblem::Syntax(detail) => bad(detail),
            ManifestProblem::UnexpectedFile(name) => {
                bad(format!("it lists \"{name}\", which is not a bundle file"))
            }
            ManifestProblem::Duplicate(name) => bad(format!("it lists {name} more than once")),
            ManifestProblem::TooLarge { name, limit } => EstateError::TooLarge {
                bundle: source.to_owned(),
                file: name.to_owned(),
                limit,
            },
            ManifestProblem::BadChecksum(name) => {
                bad(format!("the checksum of {name} is not a hex SHA-256"))
            }
        })?;
    let mut files = BTreeMap::new();
    for (name, entry) in names.into_iter().zip(&manifest.files) {
        let mismatch = || EstateError::Checksum {
            bundle: source.to_owned(),
            file: name.to_owned(),
        };
        let Some(mut file) = open_regular(dir, name, source)? else {
            return Err(EstateError::MissingFile {
                bundle: source.to_owned(),
                file: name.to_owned(),
            });
        };
        let keep = KEPT.contains(&name);
        let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let mut kept = Vec::new();
        let mut size: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| read_error(source, name, e))?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            size = size.saturating_add(n as u64);
            // Never more than the manifest says, whatever is on disk.
            if size > entry.size {
                return Err(mismatch());
            }
            digest.update(chunk);
            if keep {
                kept.extend_from_slice(chunk);
            }
        }
        let sha = crate::deliver::hex(digest.finish().as_ref());
        if size != entry.size || !sha.eq_ignore_ascii_case(&entry.sha256) {
            return Err(mismatch());
        }
        if keep {
            files.insert(name, kept);
        }
    }
    Ok(VerifiedBundle {
        source: source.to_owned(),
        manifest,
        files,
    })
}

/// Opens `name` in `dir` if it is a regular file and not a symbolic link;
/// `None` when there is nothing there.
fn open_regular(dir: &Path, name: &str, source: &str) -> Result<Option<File>, EstateError> {
    use std::os::unix::fs::MetadataExt;
    let path = dir.join(name);
    let io = |e| read_error(source, name, e);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let not_own = |what: &'static str| EstateError::NotOwnFile {
        bundle: source.to_owned(),
        file: name.to_owned(),
        what,
    };
    // A FIFO or a device would block or never end: only regular files.
    let opened = file.metadata().map_err(io)?;
    if !opened.is_file() {
        return Err(not_own("not a regular file"));
    }
    // A bundle's files are its own: a link planted in the folder (to a file
    // of the operator's elsewhere) is refused. The path is looked at after
    // the open and must be the very file opened, so a swap in between is
    // caught too.
    let named = std::fs::symlink_metadata(&path).map_err(io)?;
    if named.file_type().is_symlink() || (named.dev(), named.ino()) != (opened.dev(), opened.ino())
    {
        return Err(not_own("a symbolic link"));
    }
    Ok(Some(file))
}

/// The file `name` in `dir`, refusing more than `limit` bytes; `None` when
/// it does not exist.
fn read_bounded(
    dir: &Path,
    name: &str,
    limit: u64,
    source: &str,
) -> Result<Option<Vec<u8>>, EstateError> {
    let Some(file) = open_regular(dir, name, source)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(source, name, e))?;
    if bytes.len() as u64 > limit {
        return Err(EstateError::TooLarge {
            bundle: source.to_owned(),
            file: name.to_owned(),
            limit,
        });
    }
    Ok(Some(bytes))
}

fn read_error(source: &str, name: &str, e: std::io::Error) -> EstateError {
    EstateError::Read {
        bundle: source.to_owned(),
        file: name.to_owned(),
        source: e,
    }
}
