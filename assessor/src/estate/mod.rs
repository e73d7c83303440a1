//! The estate report (`assessor report merge`): one report over many
//! delivered bundles (runs, servers), in JSON, HTML and CSV.
//!
//! [`read`] verifies a local bundle folder against its manifest, [`model`]
//! reads the verified files and merges them, [`render`] writes the three
//! formats. Bundles in S3 are fetched with [`crate::deliver::download_with`]
//! (the verified download of `report download`) into a private scratch
//! folder and then read like local ones ([`fetch_s3`]).
//!
//! Guarantees:
//! - Every bundle is verified whole before any of it is used; the first
//!   bundle that fails (a checksum, a missing or oversized file, another
//!   version without `allow_mixed`) stops the merge with an [`EstateError`]
//!   naming it ([`EstateError::is_refusal`]), and nothing is written
//!   ([`render::write_all`] runs only after every bundle merged).
//! - Bundle text in error messages goes through [`crate::display_safe`];
//!   in the reports it is escaped for each format ([`render`]).
//! - A failed run's bundle (its run summary alone) is an estate row, not an
//!   error. A run given twice (by run id) is an error: its servers would
//!   count twice.

pub mod model;
pub mod read;
pub mod render;

use std::path::{Path, PathBuf};

use crate::deliver::{DeliverError, DownloadLimits, S3Location};
use crate::display_safe::escape;

pub use model::Estate;

/// Why a merge stopped. Everything from a bundle is shown escaped.
#[derive(Debug, thiserror::Error)]
pub enum EstateError {
    #[error(
        "{} has no manifest.json: it is not a delivered report bundle (download one with \
         `assessor report download`, or name the run's folder)",
        escape(.bundle)
    )]
    NoManifest { bundle: String },
    #[error("the manifest of {} is not valid: {}; refusing the bundle", escape(.bundle), escape(.detail))]
    BadManifest { bundle: String, detail: String },
    #[error(
        "{} in {} does not match the checksum in its manifest: the bundle was altered or \
         damaged; download it again (`assessor report download`) and do not edit its files",
        escape(.file), escape(.bundle)
    )]
    Checksum { bundle: String, file: String },
    #[error(
        "{} in {} is listed in its manifest but missing: download the bundle again",
        escape(.file), escape(.bundle)
    )]
    MissingFile { bundle: String, file: String },
    #[error(
        "{} in {} is {what}, not a file of the bundle's own: refusing it; download the \
         bundle again into a new folder",
        escape(.file), escape(.bundle)
    )]
    NotOwnFile {
        bundle: String,
        file: String,
        what: &'static str,
    },
    #[error(
        "{} in {} is larger than the limit of {limit} bytes (raise it with --max-file-size)",
        escape(.file), escape(.bundle)
    )]
    TooLarge {
        bundle: String,
        file: String,
        limit: u64,
    },
    #[error("reading {} in {} failed: {source}", escape(.file), escape(.bundle))]
    Read {
        bundle: String,
        file: String,
        source: std::io::Error,
    },
    #[error("{} in {} is not what this assessor reads: {}", escape(.file), escape(.bundle), escape(.detail))]
    BadFile {
        bundle: String,
        file: String,
        detail: String,
    },
    #[error(
        "{} was written by another version: {}; merge bundles of one version, or pass \
         --allow-mixed-versions to merge it anyway (it is flagged in the report)",
        escape(.bundle), escape(.detail)
    )]
    MixedVersion { bundle: String, detail: String },
    #[error(
        "run {} is given twice ({} and {}): its servers would count twice; name each run once",
        escape(.run_id), escape(.first), escape(.second)
    )]
    DuplicateRun {
        run_id: String,
        first: String,
        second: String,
    },
    #[error("{} holds no delivered run (no manifest.json below it)", escape(.location))]
    NoRuns { location: String },
    #[error("fetching {}: {source}", escape(.location))]
    Fetch {
        location: String,
        source: DeliverError,
    },
    #[error("the scratch folder {} for downloads: {source}", escape(&.path.to_string_lossy()))]
    Scratch {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot write the estate report {}: {source}; check free space and permissions",
        escape(&.path.to_string_lossy())
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EstateError {
    /// Whether a bundle was refused for what it holds or how it was named
    /// (exit 2), rather than an I/O or AWS failure on the way (exit 1).
    pub fn is_refusal(&self) -> bool {
        use DeliverError as D;
        match self {
            EstateError::NoManifest { .. }
            | EstateError::BadManifest { .. }
            | EstateError::Checksum { .. }
            | EstateError::MissingFile { .. }
            | EstateError::NotOwnFile { .. }
            | EstateError::TooLarge { .. }
            | EstateError::BadFile { .. }
            | EstateError::MixedVersion { .. }
            | EstateError::DuplicateRun { .. }
            | EstateError::NoRuns { .. } => true,
            EstateError::Fetch { source, .. } => matches!(
                source,
                D::NoManifest { .. }
                    | D::BadManifest { .. }
                    | D::UnexpectedFile { .. }
                    | D::Checksum { .. }
                    | D::TooLarge { .. }
            ),
            EstateError::Read { .. } | EstateError::Scratch { .. } | EstateError::Write { .. } => {
                false
            }
        }
    }
}

/// How a merge treats its bundles.
#[derive(Debug, Clone, Copy, Default)]
pub struct MergeOptions {
    pub limits: DownloadLimits,
    /// Merge bundles of other versions, flagged, instead of refusing them.
    pub allow_mixed_versions: bool,
}

/// One bundle to merge: a folder and how to name it in messages.
#[derive(Debug, Clone)]
pub struct BundleDir {
    pub dir: PathBuf,
    pub source: String,
}

/// Verifies, reads and merges the bundles, in order; stops at the first
/// bundle that fails.
pub fn merge(bundles: &[BundleDir], options: MergeOptions) -> Result<Estate, EstateError> {
    let mut parts = Vec::with_capacity(bundles.len());
    let mut runs: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for b in bundles {
        let verified = read::read_bundle(&b.dir, &b.source, options.limits)?;
        let part = model::read_parts(&verified, options.allow_mixed_versions)?;
        if let Some(first) = runs.insert(part.run_id().to_owned(), b.source.clone()) {
            return Err(EstateError::DuplicateRun {
                run_id: part.run_id().to_owned(),
                first,
                second: b.source.clone(),
            });
        }
        parts.push(part);
    }
    Ok(model::merge(parts))
}

/// A private folder removed (with what is in it) when dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new folder, mode 0700, with an unpredictable name under `parent`.
    pub fn new(parent: &Path) -> Result<Scratch, EstateError> {
        use std::os::unix::fs::DirBuilderExt;
        let mut nonce = [0u8; 8];
        let scratch_error = |path: &Path, source| EstateError::Scratch {
            path: path.to_owned(),
            source,
        };
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| scratch_error(parent, std::io::Error::other("no randomness")))?;
        let path = parent.join(format!("assessor-merge-{}", crate::deliver::hex(&nonce)));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| scratch_error(&path, e))?;
        Ok(Scratch { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: the downloads are copies of bundles in the bucket.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Downloads every run below `location` (a run's own prefix, or a prefix
/// holding runs) into `scratch`, verified, and returns the folders.
pub async fn fetch_s3(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    scratch: &Scratch,
    limits: DownloadLimits,
) -> Result<Vec<BundleDir>, EstateError> {
    let fetch_error = |source| EstateError::Fetch {
        location: location.to_string(),
        source,
    };
    let mut runs = crate::deliver::list_runs(s3, location)
        .await
        .map_err(fetch_error)?;
    if runs.is_empty() {
        return Err(EstateError::NoRuns {
            location: location.to_string(),
        });
    }
    runs.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    let mut dirs = Vec::with_capacity(runs.len());
    for run in runs {
        // Numbered folders: run names come from the bucket.
        let existing = std::fs::read_dir(scratch.path())
            .map_err(|e| EstateError::Scratch {
                path: scratch.path().to_owned(),
                source: e,
            })?
            .count();
        let dir = scratch.path().join(existing.to_string());
        crate::deliver::download_with(s3, &run, &dir, limits)
            .await
            .map_err(|source| EstateError::Fetch {
                location: run.to_string(),
                source,
            })?;
        dirs.push(BundleDir {
            dir,
            source: run.to_string(),
        });
    }
    Ok(dirs)
}
