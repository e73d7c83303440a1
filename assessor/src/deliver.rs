//! Report delivery: the bundle to S3 under the customer's KMS key, and back.
//!
//! Guarantees:
//! - Every object is written with SSE-KMS under the configured key and a
//!   SHA-256 checksum that S3 verifies on receipt.
//! - The bundle's `manifest.json` (SHA-256 and size of every file) is
//!   uploaded last, so a bundle with a manifest is complete.
//! - A bundle holds only the files named in [`BUNDLE_FILES`] and its
//!   [`MANIFEST`]: [`upload`] refuses any other name, and [`download`]
//!   refuses a manifest that lists any other name (or one twice) before it
//!   writes anything, so a hostile bundle cannot name `.bashrc` or `../x`.
//! - [`download`] treats the bundle as untrusted input: the manifest is at
//!   most [`MAX_MANIFEST_BYTES`], each file at most its manifest size and
//!   [`DownloadLimits::max_file_bytes`] (checked on `Content-Length` and
//!   counted while streaming); each file is streamed into a new temporary
//!   file (`O_CREAT | O_EXCL`, which never follows a symlink, mode 0600) and
//!   renamed to its name only after its SHA-256 and size match the manifest
//!   (a rename replaces a symlink planted at the name, never follows it); a
//!   corrupted or missing file fails the download, naming the file. An
//!   output directory that does not exist is created 0700. The manifest is
//!   written last, the same way, so a downloaded folder can be verified
//!   again ([`crate::estate`] does before merging it).
//! - Text from the bucket or the bundle (keys, names, S3 error messages) is
//!   shown through [`crate::display_safe`] in every error message.
//! - [`wait_for_run`] reports a run only once its manifest is there (so
//!   only a complete bundle), polls no faster than once a second and gives
//!   up at its deadline.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, EncodingType, ServerSideEncryption};
use tokio::io::AsyncWriteExt;

use crate::bundle::ManifestProblem;
pub use crate::bundle::{BUNDLE_FILES, MANIFEST, Manifest, ManifestEntry, bundle_file};
use crate::display_safe::escape;
use crate::streamed_body::Render;

/// The largest `manifest.json` [`download`] reads (a real one is a few
/// hundred bytes).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// The default largest bundle file [`download`] writes.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 2 << 30;

/// Size limits of a [`download_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadLimits {
    /// The largest file of a bundle (each file is also held to the size its
    /// manifest states).
    pub max_file_bytes: u64,
}

impl Default for DownloadLimits {
    fn default() -> DownloadLimits {
        DownloadLimits {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// `s3://bucket/prefix/` parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix, empty or ending in `/`.
    pub prefix: String,
}

impl S3Location {
    pub fn new(bucket: &str, prefix: &str) -> S3Location {
        let prefix = prefix.trim_matches('/');
        S3Location {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        }
    }

    /// Parses `s3://bucket/some/prefix/`.
    pub fn parse(url: &str) -> Result<S3Location, DeliverError> {
        let bad = || DeliverError::BadUrl {
            url: url.to_owned(),
        };
        let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad());
        }
        Ok(S3Location::new(bucket, prefix))
    }

    /// The location of `child` below this one.
    pub fn join(&self, child: &str) -> S3Location {
        S3Location::new(&self.bucket, &format!("{}{}", self.prefix, child))
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

// Every field that can hold text from the bucket or a bundle is shown
// escaped (`escape`): these messages reach the terminal.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("{} is not an S3 location; expected s3://BUCKET/PREFIX/", escape(.url))]
    BadUrl { url: String },
    #[error(
        "{action} {}{} failed: {}. Check that the bucket exists, that this role \
         may write to it, and may use the KMS key",
        escape(.location), escape(.name), escape(.message)
    )]
    S3 {
        action: &'static str,
        location: String,
        name: String,
        message: String,
    },
    #[error(
        "{}{} already exists: a report is never written over an earlier object; deliver \
         this run under a new prefix (a new run id)",
        escape(.location), escape(.name)
    )]
    Exists { location: String, name: String },
    #[error(
        "{} has no {MANIFEST}: the bundle is incomplete or this is not a report location",
        escape(.location)
    )]
    NoManifest { location: String },
    #[error("{MANIFEST} in {} is not valid: {}", escape(.location), escape(.detail))]
    BadManifest { location: String, detail: String },
    #[error(
        "{MANIFEST} in {} lists \"{}\", which is not a file of a report bundle (those are {}): \
         refusing the download; nothing was written",
        escape(.location), escape(.name), BUNDLE_FILES.join(", ")
    )]
    UnexpectedFile { location: String, name: String },
    #[error(
        "{} in {} does not match its manifest checksum: the download is corrupted; retry it",
        escape(.name), escape(.location)
    )]
    Checksum { location: String, name: String },
    #[error(
        "{} in {} is larger than the limit of {limit} bytes{}",
        escape(.name), escape(.location),
        if .name == MANIFEST { "" } else { " (raise it with --max-file-size)" }
    )]
    TooLarge {
        location: String,
        name: String,
        limit: u64,
    },
    #[error(
        "rendering {} for upload failed: {}; nothing of it was stored",
        escape(.name), escape(.detail)
    )]
    Render { name: String, detail: String },
    #[error(
        "\"{}\" is not a file of a report bundle (those are {} and {MANIFEST}, each once)",
        escape(.name), BUNDLE_FILES.join(", ")
    )]
    BadName { name: String },
    #[error(
        "no {}run was delivered under {} within {seconds} s; the job may still be running \
         (its console and log group say), or it failed: wait longer with --timeout",
        if *.new { "new " } else { "" }, escape(.location)
    )]
    WaitTimedOut {
        location: String,
        new: bool,
        seconds: u64,
    },
    #[error("writing {} failed: {source}", escape(&.path.to_string_lossy()))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn s3_error<E>(
    action: &'static str,
    location: &S3Location,
    name: &str,
    err: aws_sdk_s3::error::SdkError<E>,
) -> DeliverError
where
    E: std::error::Error + 'static,
{
    DeliverError::S3 {
        action,
        location: location.to_string(),
        name: name.to_owned(),
        message: aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `name` as a bundle file: one of [`BUNDLE_FILES`] (never the manifest).
fn check_name(name: &str) -> Result<&'static str, DeliverError> {
    bundle_file(name).ok_or_else(|| DeliverError::BadName {
        name: name.to_owned(),
    })
}

/// Uploads `files` and then the manifest that lists them, each object
/// encrypted with the customer's key. The manifest goes last, so a bundle
/// whose manifest exists is complete.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    run_id: &str,
    files: &[(String, Vec<u8>)],
) -> Result<Manifest, DeliverError> {
    let entries = upload_files(s3, location, kms_key_id, files.to_vec()).await?;
    put_manifest(s3, location, kms_key_id, run_id, entries).await
}

/// Uploads `files` (name, content) without a manifest, encrypted with SSE-KMS
/// under `kms_key_id`; returns their manifest entries, for [`put_manifest`]
/// once the bundle's last file (the run summary, written after the session
/// is wiped) is up too. Every name must be one of [`BUNDLE_FILES`], once;
/// anything else is refused before any upload. Takes the files by value
/// and lets each go once it is sent: a large bundle is not held twice.
pub async fn upload_files(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<ManifestEntry>, DeliverError> {
    check_names(files.iter().map(|(name, _)| name.as_str()))?;
    let mut entries = Vec::with_capacity(files.len());
    for (name, content) in files {
        entries.push(upload_file(s3, location, kms_key_id, name, content).await?);
    }
    Ok(entries)
}

/// Refuses, before anything is uploaded, a set of bundle file names with
/// one that is not in [`BUNDLE_FILES`] or appears twice.
pub fn check_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), DeliverError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(check_name(name)?) {
            return Err(DeliverError::BadName {
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// Uploads one bundle file (its name checked by [`check_names`] with the
/// others first), SSE-KMS, written once; returns its manifest entry. The
/// caller renders and sends one file at a time, so a large bundle is never
/// held whole.
pub async fn upload_file(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    name: String,
    content: Vec<u8>,
) -> Result<ManifestEntry, DeliverError> {
    let entry = ManifestEntry {
        sha256: sha256_hex(&content),
        size: content.len() as u64,
        name,
    };
    put(s3, location, kms_key_id, &entry.name, content).await?;
    Ok(entry)
}

/// Uploads one bundle file (its name checked by [`check_names`] first)
/// that `render` writes, streamed as it renders (see
/// [`crate::streamed_body`]): rendered once to count and hash it, then
/// once per attempt. The body cannot be replayed by the SDK, so a failed
/// attempt is retried here, up to [`UPLOAD_ATTEMPTS`] times; a refusal
/// (4xx: an existing object, a denied key) is not retried.
pub async fn upload_rendered(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    name: String,
    render: &Render<'_>,
) -> Result<ManifestEntry, DeliverError> {
    let rendering_failed = |e: std::io::Error| DeliverError::Render {
        name: name.clone(),
        detail: e.to_string(),
    };
    let digest = crate::streamed_body::digest(render).map_err(rendering_failed)?;
    let checksum = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(digest.sha256)
    };
    let len = i64::try_from(digest.len).map_err(|_| DeliverError::Render {
        name: name.clone(),
        detail: format!("{} bytes is more than one object can hold", digest.len),
    })?;
    let mut attempt = 1;
    loop {
        let (sent, rendered) = crate::streamed_body::stream(render, digest.len, |body| {
            put_request(s3, location, kms_key_id, &name)
                .body(body)
                .content_length(len)
                // Set by hand, so the SDK neither buffers the body to hash
                // it nor re-encodes it with a checksum trailer.
                .checksum_sha256(&checksum)
                .send()
        });
        match sent {
            Ok(_) => {
                rendered.map_err(rendering_failed)?;
                break;
            }
            Err(e) => {
                // A render error surfaces as the body's error: name it. A
                // broken pipe is the failed request stopping the render.
                match rendered {
                    Err(r) if r.kind() != std::io::ErrorKind::BrokenPipe => {
                        return Err(rendering_failed(r));
                    }
                    _ => {}
                }
                // A 4xx (412, the object exists, included) will not change
                // on a retry.
                let refused = e
                    .raw_response()
                    .is_some_and(|r| (400..500).contains(&r.status().as_u16()));
                if refused || attempt == UPLOAD_ATTEMPTS {
                    return Err(upload_error(location, &name, e));
                }
                tracing::warn!(attempt, "report upload failed; retrying");
                attempt += 1;
            }
        }
    }
    Ok(ManifestEntry {
        sha256: hex(&digest.sha256),
        size: digest.len,
        name,
    })
}

/// How many times [`upload_rendered`] tries one file.
pub const UPLOAD_ATTEMPTS: u32 = 3;

/// Uploads the run's query tables ([`crate::athena::Tables`]) under the
/// report prefix `root`, outside the run's bundle, each streamed as it
/// renders, SSE-KMS and written once. Every key must lie under
/// [`crate::athena::FOLDER`] with plain segments (no `..`, no empty one);
/// anything else is refused before any upload.
pub async fn upload_tables(
    s3: &aws_sdk_s3::Client,
    root: &S3Location,
    kms_key_id: &str,
    tables: &crate::athena::Tables<'_>,
) -> Result<(), DeliverError> {
    let keys: Vec<(&str, String)> = crate::athena::TABLES
        .iter()
        .map(|&table| (table, tables.key(table)))
        .collect();
    if let Some((_, key)) = keys.iter().find(|(_, key)| !is_table_key(key)) {
        return Err(DeliverError::BadName { name: key.clone() });
    }
    for (table, key) in keys {
        let render = |w: &mut dyn std::io::Write| tables.write(table, w);
        upload_rendered(s3, root, kms_key_id, key, &render).await?;
    }
    Ok(())
}

/// A key below [`crate::athena::FOLDER`] made of plain segments.
fn is_table_key(key: &str) -> bool {
    key.strip_prefix(crate::athena::FOLDER)
        .is_some_and(|rest| rest.starts_with('/'))
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Writes the manifest listing `entries` (files already uploaded).
pub async fn put_manifest(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    run_id: &str,
    entries: Vec<ManifestEntry>,
) -> Result<Manifest, DeliverError> {
    let mut seen = HashSet::new();
    if let Some(dup) = entries.iter().find(|e| !seen.insert(e.name.as_str())) {
        return Err(DeliverError::BadName {
            name: dup.name.clone(),
        });
    }
    let manifest = Manifest {
        schema_version: 1,
        run_id: run_id.to_owned(),
        files: entries,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| DeliverError::BadManifest {
        location: location.to_string(),
        detail: e.to_string(),
    })?;
    put(s3, location, kms_key_id, MANIFEST, json).await?;
    Ok(manifest)
}

async fn put(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    name: &str,
    content: Vec<u8>,
) -> Result<(), DeliverError> {
    put_request(s3, location, kms_key_id, name)
        .body(ByteStream::from(content))
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map_err(|e| upload_error(location, name, e))?;
    Ok(())
}

/// A failed PutObject: `Exists` when `If-None-Match: *` found the object
/// there (412), the S3 error otherwise.
fn upload_error<E>(
    location: &S3Location,
    name: &str,
    err: aws_sdk_s3::error::SdkError<E>,
) -> DeliverError
where
    E: std::error::Error + 'static,
{
    if err
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 412)
    {
        DeliverError::Exists {
            location: location.to_string(),
            name: name.to_owned(),
        }
    } else {
        s3_error("uploading", location, name, err)
    }
}

/// A PutObject of `name` below `location` without its body: SSE-KMS under
/// the customer's key, written once.
fn put_request(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    name: &str,
) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
    s3.put_object()
        .bucket(&location.bucket)
        .key(location.key(name))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(kms_key_id)
        .bucket_key_enabled(true)
        // A report is written once: never over an earlier object (each run
        // has its own prefix, so this only trips on a reused run id or
        // someone else's object there).
        .if_none_match("*")
}

/// The object `name` below `location`, opened; `None` when there is no
/// such key.
async fn open(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    name: &str,
) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, DeliverError> {
    match s3
        .get_object()
        .bucket(&location.bucket)
        .key(location.key(name))
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(s3_error("downloading", location, name, e)),
    }
}

fn read_error(location: &S3Location, name: &str, err: impl fmt::Display) -> DeliverError {
    DeliverError::S3 {
        action: "reading",
        location: location.to_string(),
        name: name.to_owned(),
        message: err.to_string(),
    }
}

fn too_large(location: &S3Location, name: &str, limit: u64) -> DeliverError {
    DeliverError::TooLarge {
        location: location.to_string(),
        name: name.to_owned(),
        limit,
    }
}

/// Whether a `Content-Length` is more than `limit` (a negative one is).
fn longer_than(content_length: Option<i64>, limit: u64) -> bool {
    content_length.is_some_and(|n| u64::try_from(n).map_or(true, |n| n > limit))
}

/// The object `name` whole, refusing more than `limit` bytes (announced or
/// streamed); `None` when there is no such key.
async fn get_bounded(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    name: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, DeliverError> {
    let Some(out) = open(s3, location, name).await? else {
        return Ok(None);
    };
    if longer_than(out.content_length(), limit) {
        return Err(too_large(location, name, limit));
    }
    let mut body = out.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| read_error(location, name, e))?
    {
        if (bytes.len() as u64).saturating_add(chunk.len() as u64) > limit {
            return Err(too_large(location, name, limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// Downloads a bundle into `out` with the default [`DownloadLimits`]; see
/// [`download_with`].
pub async fn download(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    out: &Path,
) -> Result<(Manifest, Vec<PathBuf>), DeliverError> {
    download_with(s3, location, out, DownloadLimits::default()).await
}

/// Downloads a bundle into `out`, verifying every checksum. Returns the
/// manifest and the paths written.
///
/// The manifest is checked whole before anything is written: every entry
/// must be one of [`BUNDLE_FILES`], listed once, with a SHA-256 and a size
/// within `limits`. `out` is created (mode 0700) when it does not exist.
pub async fn download_with(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    out: &Path,
    limits: DownloadLimits,
) -> Result<(Manifest, Vec<PathBuf>), DeliverError> {
    let raw = get_bounded(s3, location, MANIFEST, MAX_MANIFEST_BYTES)
        .await?
        .ok_or_else(|| DeliverError::NoManifest {
            location: location.to_string(),
        })?;
    let bad_manifest = |detail: String| DeliverError::BadManifest {
        location: location.to_string(),
        detail,
    };
    let (manifest, names) =
        Manifest::parse(&raw, limits.max_file_bytes).map_err(|problem| match problem {
            ManifestProblem::Syntax(detail) => bad_manifest(detail),
            ManifestProblem::UnexpectedFile(name) => DeliverError::UnexpectedFile {
                location: location.to_string(),
                name,
            },
            ManifestProblem::Duplicate(name) => {
                bad_manifest(format!("it lists {name} more than once"))
            }
            ManifestProblem::TooLarge { name, limit } => too_large(location, name, limit),
            ManifestProblem::BadChecksum(name) => {
                bad_manifest(format!("the checksum of {name} is not a hex SHA-256"))
            }
        })?;
    let plan: Vec<(&'static str, &ManifestEntry)> =
        names.into_iter().zip(manifest.files.iter()).collect();
    create_private_dir(out)?;
    let mut written = Vec::with_capacity(plan.len());
    for (name, entry) in plan {
        written.push(fetch_file(s3, location, out, name, entry).await?);
    }
    // The manifest last, as the job uploads it: a folder with one holds
    // every file it lists, and can be verified again (`report merge`).
    write_manifest(out, &raw).await?;
    Ok((manifest, written))
}

/// Writes the (checked) manifest bytes to `out/manifest.json` through a new
/// temporary file and a rename, like the bundle's files.
async fn write_manifest(out: &Path, raw: &[u8]) -> Result<(), DeliverError> {
    let (tmp, mut file) = create_temp(out, MANIFEST).await?;
    let path = out.join(MANIFEST);
    let written = async {
        file.write_all(raw).await?;
        file.sync_all().await?;
        tokio::fs::rename(&tmp, &path).await
    }
    .await;
    if let Err(source) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(DeliverError::Write { path, source });
    }
    Ok(())
}

/// Creates `out` (and missing parents) with mode 0700; an existing
/// directory is used as it is.
fn create_private_dir(out: &Path) -> Result<(), DeliverError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(out)
        .map_err(|source| DeliverError::Write {
            path: out.to_owned(),
            source,
        })
}

/// Downloads one file of the bundle to `out/name` (see [`download_with`]):
/// into a new temporary file, renamed once its size and checksum match.
async fn fetch_file(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    out: &Path,
    name: &'static str,
    entry: &ManifestEntry,
) -> Result<PathBuf, DeliverError> {
    let corrupted = || DeliverError::Checksum {
        location: location.to_string(),
        name: name.to_owned(),
    };
    let object = open(s3, location, name).await?.ok_or_else(corrupted)?;
    // `entry.size` is within the limit, so a body of another length is
    // refused, announced (here) or streamed (`stream_verified`).
    if object
        .content_length()
        .is_some_and(|n| u64::try_from(n) != Ok(entry.size))
    {
        return Err(corrupted());
    }
    let (tmp, file) = create_temp(out, name).await?;
    let streamed = stream_verified(file, object.body, entry, &tmp, location, name).await;
    let renamed = match streamed {
        Ok(()) => {
            let path = out.join(name);
            // A rename replaces whatever is at `path` (a symlink included)
            // and never follows it.
            tokio::fs::rename(&tmp, &path)
                .await
                .map(|()| path.clone())
                .map_err(|source| DeliverError::Write { path, source })
        }
        Err(e) => Err(e),
    };
    if renamed.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    renamed
}

/// A new, empty, owner-only temporary file in `out` with an unpredictable
/// name. `create_new` is `O_CREAT | O_EXCL`, which fails on any existing
/// path, a symlink included (POSIX: never followed), so it has the effect of
/// `O_NOFOLLOW` without needing the flag.
async fn create_temp(out: &Path, name: &str) -> Result<(PathBuf, tokio::fs::File), DeliverError> {
    let mut last = None;
    for _ in 0..4 {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| DeliverError::Write {
            path: out.to_owned(),
            source: std::io::Error::other("no randomness for a temporary name"),
        })?;
        let tmp = out.join(format!(".{name}.{}.part", hex(&nonce)));
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .await
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some((tmp, e)),
            Err(source) => return Err(DeliverError::Write { path: tmp, source }),
        }
    }
    let (path, source) = last.unwrap_or_else(|| {
        (
            out.to_owned(),
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        )
    });
    Err(DeliverError::Write { path, source })
}

/// Streams `body` into `file`, hashing and counting; fails as corrupted as
/// soon as it is longer than the manifest says, or at the end when its size
/// or SHA-256 differ.
async fn stream_verified(
    mut file: tokio::fs::File,
    mut body: ByteStream,
    entry: &ManifestEntry,
    tmp: &Path,
    location: &S3Location,
    name: &str,
) -> Result<(), DeliverError> {
    let corrupted = || DeliverError::Checksum {
        location: location.to_string(),
        name: name.to_owned(),
    };
    let write_error = |source| DeliverError::Write {
        path: tmp.to_owned(),
        source,
    };
    let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut size: u64 = 0;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| read_error(location, name, e))?
    {
        size = size.saturating_add(chunk.len() as u64);
        if size > entry.size {
            return Err(corrupted());
        }
        digest.update(&chunk);
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    file.flush().await.map_err(write_error)?;
    file.sync_all().await.map_err(write_error)?;
    if size != entry.size || !hex(digest.finish().as_ref()).eq_ignore_ascii_case(&entry.sha256) {
        return Err(corrupted());
    }
    Ok(())
}

/// `text` with `%XX` escapes decoded and `+` as a space: the form S3 uses
/// for keys when asked for `EncodingType=url` (AWS writes a space as `+` and
/// a plus as `%2B`; botocore decodes it the same way).
pub fn decode_url_key(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let digit = |at: usize| {
            bytes
                .get(at)
                .and_then(|&d| char::from(d).to_digit(16))
                .and_then(|d| u8::try_from(d).ok())
        };
        let escaped = match (b, digit(i + 1), digit(i + 2)) {
            (b'%', Some(high), Some(low)) => Some(high << 4 | low),
            _ => None,
        };
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(if b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The run folders (`RUN-ID/`) below `location` that have a manifest.
///
/// Keys are requested URL-encoded (`EncodingType=url`): a key may hold
/// characters XML 1.0 cannot carry (U+0001), which would otherwise make the
/// whole listing unreadable. The decoded keys are returned as they are; show
/// them through [`crate::display_safe`].
pub async fn list_runs(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
) -> Result<Vec<S3Location>, DeliverError> {
    let mut runs = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(&location.bucket)
        .prefix(&location.prefix)
        .encoding_type(EncodingType::Url)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| s3_error("listing", location, "", e))?;
        // A store that ignores the request says so by leaving this out.
        let encoded = page.encoding_type() == Some(&EncodingType::Url);
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            let key = if encoded {
                decode_url_key(key)
            } else {
                key.to_owned()
            };
            let run = key
                .strip_suffix(MANIFEST)
                .filter(|run| run.is_empty() || run.ends_with('/'));
            if let Some(run) = run {
                runs.push(S3Location::new(&location.bucket, run));
            }
        }
    }
    Ok(runs)
}

/// How [`wait_for_run`] polls: every `interval` (at least one second) until
/// `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitPolicy {
    pub timeout: Duration,
    pub interval: Duration,
}

/// Waits until a run is delivered under `location` that `known` does not
/// name (pass the runs already there to wait for a new one, none to accept
/// any), and returns those runs. A run counts once its manifest exists: the
/// job uploads it last, after every file it lists.
pub async fn wait_for_run(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    known: &[S3Location],
    policy: WaitPolicy,
) -> Result<Vec<S3Location>, DeliverError> {
    let interval = policy.interval.max(Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + policy.timeout;
    loop {
        let mut runs: Vec<S3Location> = list_runs(s3, location)
            .await?
            .into_iter()
            .filter(|run| !known.contains(run))
            .collect();
        if !runs.is_empty() {
            runs.sort_by(|a, b| a.prefix.cmp(&b.prefix));
            return Ok(runs);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(DeliverError::WaitTimedOut {
                location: location.to_string(),
                new: !known.is_empty(),
                seconds: policy.timeout.as_secs(),
            });
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
    }
}

/// A time-limited GET URL for one file of a bundle.
pub async fn presign(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    name: &str,
    valid_for: Duration,
) -> Result<String, DeliverError> {
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(valid_for).map_err(|e| {
        DeliverError::S3 {
            action: "presigning",
            location: location.to_string(),
            name: name.to_owned(),
            message: e.to_string(),
        }
    })?;
    let request = s3
        .get_object()
        .bucket(&location.bucket)
        .key(location.key(name))
        .presigned(config)
        .await
        .map_err(|e| s3_error("presigning", location, name, e))?;
    Ok(request.uri().to_owned())
}

#[cfg(test)]
mod table_key_tests {
    use super::is_table_key;

    #[test]
    fn table_keys_stay_below_the_athena_folder() {
        assert!(is_table_key(
            "athena/findings/run_date=2026-12-05/run-1.json"
        ));
        for bad in [
            "athena",
            "athena/",
            "athena/../run-1/report.json",
            "athena//x.json",
            "athenax/y.json",
            "run-1/report.json",
            "/athena/x.json",
        ] {
            assert!(!is_table_key(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_parse_and_print_back() {
        let loc = S3Location::parse("s3://reports/assess/run-1/").unwrap();
        assert_eq!(loc.bucket, "reports");
        assert_eq!(loc.prefix, "assess/run-1/");
        assert_eq!(loc.to_string(), "s3://reports/assess/run-1/");
        assert_eq!(S3Location::parse("s3://b").unwrap().prefix, "");
        assert!(S3Location::parse("https://b/x").is_err());
        assert!(S3Location::parse("s3:///x").is_err());
        assert_eq!(
            S3Location::new("b", "p").join("r1").to_string(),
            "s3://b/p/r1/"
        );
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bundle_names_cannot_escape_the_output_directory() {
        for bad in [
            "../x",
            "a/b",
            "..",
            "",
            "c\\d",
            ".bashrc",
            "../report.html",
            "report.html/",
            "REPORT.HTML",
            MANIFEST,
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        for good in BUNDLE_FILES {
            assert_eq!(check_name(good).unwrap(), good);
        }
    }

    #[test]
    fn the_bundle_list_names_every_file_the_job_delivers() {
        for format in crate::report::Format::ALL {
            assert!(
                bundle_file(format.file_name()).is_some(),
                "{}",
                format.file_name()
            );
        }
        assert!(bundle_file(crate::bundle::INVENTORY_FILE).is_some());
        assert!(bundle_file(crate::bundle::SUMMARY_FILE).is_some());
        assert!(bundle_file(MANIFEST).is_none());
    }

    #[test]
    fn url_encoded_keys_decode() {
        assert_eq!(
            decode_url_key("a/run%01x/manifest.json"),
            "a/run\u{1}x/manifest.json"
        );
        assert_eq!(decode_url_key("a+b%2Bc%20d"), "a b+c d");
        assert_eq!(decode_url_key("%E6%97%A5"), "日");
        // Malformed escapes stay as they are.
        assert_eq!(decode_url_key("100%"), "100%");
        assert_eq!(decode_url_key("%zz%4"), "%zz%4");
        assert_eq!(decode_url_key("%ff"), "\u{fffd}");
    }

    #[test]
    fn messages_show_bundle_text_escaped() {
        let err = DeliverError::UnexpectedFile {
            location: "s3://b/p/run\x1b[2J/".into(),
            name: "\x1b]8;;x\x07.bashrc".into(),
        };
        let text = err.to_string();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
        assert!(
            text.contains(".bashrc") && text.contains("run\\u{1b}[2J"),
            "{text}"
        );
        let err = DeliverError::S3 {
            action: "reading",
            location: "s3://b/".into(),
            name: "report.html".into(),
            message: "bad\u{202e}lmth".into(),
        };
        assert!(err.to_string().contains("bad\\u{202e}lmth"), "{err}");
    }
}
