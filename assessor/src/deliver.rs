//! Report delivery: the bundle to S3 under the customer's KMS key, and back.
//!
//! Guarantees:
//! - Every object is written with SSE-KMS under the configured key and a
//!   SHA-256 checksum that S3 verifies on receipt.
//! - The bundle's `manifest.json` (SHA-256 and size of every file) is
//!   uploaded last, so a bundle with a manifest is complete.
//! - [`download`] verifies every file against the manifest and writes each
//!   one atomically (temporary name, then rename); a corrupted or missing
//!   file fails the download, naming the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};
use serde::{Deserialize, Serialize};

/// Name of the manifest inside a bundle.
pub const MANIFEST: &str = "manifest.json";

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

/// One file of a bundle in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// The bundle's table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub run_id: String,
    pub files: Vec<ManifestEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("{url} is not an S3 location; expected s3://BUCKET/PREFIX/")]
    BadUrl { url: String },
    #[error(
        "{action} {location}{name} failed: {message}. Check that the bucket exists, that this role \
         may write to it, and may use the KMS key"
    )]
    S3 {
        action: &'static str,
        location: String,
        name: String,
        message: String,
    },
    #[error(
        "{location} has no {MANIFEST}: the bundle is incomplete or this is not a report location"
    )]
    NoManifest { location: String },
    #[error("{MANIFEST} in {location} is not valid: {detail}")]
    BadManifest { location: String, detail: String },
    #[error(
        "{name} in {location} does not match its manifest checksum: the download is corrupted; retry it"
    )]
    Checksum { location: String, name: String },
    #[error("{name}: file names in a bundle must be plain names")]
    BadName { name: String },
    #[error("writing {path} failed: {source}")]
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
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_name(name: &str) -> Result<(), DeliverError> {
    let plain = !name.is_empty()
        && !name.contains('/')
        && !name.contains('\\')
        && name != "."
        && name != "..";
    if plain {
        Ok(())
    } else {
        Err(DeliverError::BadName {
            name: name.to_owned(),
        })
    }
}

/// Uploads `files` (name, content) and then their manifest to `location`,
/// encrypted with SSE-KMS under `kms_key_id`.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    kms_key_id: &str,
    run_id: &str,
    files: &[(String, Vec<u8>)],
) -> Result<Manifest, DeliverError> {
    let mut entries = Vec::with_capacity(files.len());
    for (name, content) in files {
        check_name(name)?;
        put(s3, location, kms_key_id, name, content.clone()).await?;
        entries.push(ManifestEntry {
            name: name.clone(),
            sha256: sha256_hex(content),
            size: content.len() as u64,
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
    s3.put_object()
        .bucket(&location.bucket)
        .key(location.key(name))
        .body(ByteStream::from(content))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(kms_key_id)
        .bucket_key_enabled(true)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map_err(|e| s3_error("uploading", location, name, e))?;
    Ok(())
}

async fn get(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    name: &str,
) -> Result<Option<Vec<u8>>, DeliverError> {
    let out = match s3
        .get_object()
        .bucket(&location.bucket)
        .key(location.key(name))
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(s3_error("downloading", location, name, e)),
    };
    let bytes = out.body.collect().await.map_err(|e| DeliverError::S3 {
        action: "reading",
        location: location.to_string(),
        name: name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Some(bytes.into_bytes().to_vec()))
}

/// Downloads a bundle into `out`, verifying every checksum. Returns the
/// manifest and the paths written.
pub async fn download(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    out: &Path,
) -> Result<(Manifest, Vec<PathBuf>), DeliverError> {
    let raw = get(s3, location, MANIFEST)
        .await?
        .ok_or_else(|| DeliverError::NoManifest {
            location: location.to_string(),
        })?;
    let manifest: Manifest =
        serde_json::from_slice(&raw).map_err(|e| DeliverError::BadManifest {
            location: location.to_string(),
            detail: e.to_string(),
        })?;
    std::fs::create_dir_all(out).map_err(|source| DeliverError::Write {
        path: out.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for entry in &manifest.files {
        check_name(&entry.name)?;
        let bytes =
            get(s3, location, &entry.name)
                .await?
                .ok_or_else(|| DeliverError::Checksum {
                    location: location.to_string(),
                    name: entry.name.clone(),
                })?;
        if sha256_hex(&bytes) != entry.sha256 || bytes.len() as u64 != entry.size {
            return Err(DeliverError::Checksum {
                location: location.to_string(),
                name: entry.name.clone(),
            });
        }
        let path = out.join(&entry.name);
        let tmp = out.join(format!(".{}.part", entry.name));
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| DeliverError::Write {
                path: path.clone(),
                source,
            })?;
        written.push(path);
    }
    Ok((manifest, written))
}

/// The run folders (`RUN-ID/`) below `location` that have a manifest.
pub async fn list_runs(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
) -> Result<Vec<S3Location>, DeliverError> {
    let mut runs = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(&location.bucket)
        .prefix(&location.prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| s3_error("listing", location, "", e))?;
        for object in page.contents() {
            if let Some(run) = object.key().and_then(|k| k.strip_suffix(MANIFEST)) {
                runs.push(S3Location::new(&location.bucket, run));
            }
        }
    }
    Ok(runs)
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
        for bad in ["../x", "a/b", "..", "", "c\\d"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("report.html").is_ok());
    }
}
