//! The signed image manifest: what an image directory contains, proven.
//!
//! A built image directory holds the raw disk (`disk.raw` by convention), any
//! side files (the SBOM, the package lock, ...), and two files written here:
//!
//! - `manifest.json`: a [`Manifest`]: the SHA-256 of the whole image and of
//!   each partition (a byte range of the image), the dm-verity root hash, the
//!   SBOM reference, every side file's digest, and the build inputs.
//! - `manifest.json.sig`: a [`SignatureFile`]: an ed25519 signature over the
//!   exact bytes of `manifest.json`, with the signer's key id.
//!
//! The signature covers the bytes on disk, not a re-serialisation, so there is
//! no canonical-JSON question: [`verify_image`] checks the signature over the
//! bytes it read *before* it parses them, then re-hashes every file and
//! partition the manifest names. Only then does it hand out a
//! [`VerifiedImage`], the proof type that publishing demands.
//!
//! The *manifest digest* (SHA-256 of `manifest.json`'s bytes) identifies an
//! image everywhere downstream: AMI and snapshot tags, idempotent re-publish.
//!
//! Keys: the private key is an unencrypted PKCS#8 ed25519 key, PEM
//! (`-----BEGIN PRIVATE KEY-----`) or DER; `openssl genpkey -algorithm ed25519`
//! and [`generate_key_files`] both produce one. The public key is a PEM or DER
//! SubjectPublicKeyInfo (`openssl pkey -pubout`), or 32 raw bytes. One crypto
//! provider, aws-lc-rs, does the hashing and the signing.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::digest::{Context, SHA256};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The manifest's file name inside an image directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The detached signature's file name inside an image directory.
pub const SIGNATURE_FILE: &str = "manifest.json.sig";
/// The manifest format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Read buffer for hashing; large enough that hashing, not syscalls, dominates.
const HASH_CHUNK: usize = 1 << 20;

/// Errors from writing, reading or verifying a manifest. Each names the file or
/// the item involved and, where there is one, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The image directory has no signature: it was never signed, or the
    /// signature file was removed. Re-run the build with a signing key.
    #[error(
        "{path} is missing: the image is unsigned; sign it with `image-builder` build/sign before verifying or publishing"
    )]
    Unsigned { path: PathBuf },
    /// A key file is not an ed25519 key in a format we read.
    #[error("{path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    /// The signature file is malformed.
    #[error("{path}: not a valid signature file: {reason}")]
    SignatureFormat { path: PathBuf, reason: String },
    /// The manifest was signed by another key than the one given.
    #[error(
        "the manifest is signed by key {signed_by}, not by the given public key {given}: use the publisher's public key, or rebuild with the right signing key"
    )]
    WrongKey { signed_by: String, given: String },
    /// The signature does not match the manifest bytes: the manifest or the
    /// signature was changed after signing.
    #[error(
        "{path}: the signature does not verify; the manifest was altered after signing, do not use this image"
    )]
    BadSignature { path: PathBuf },
    /// The manifest is not valid JSON for this format, or is inconsistent.
    #[error("{path}: invalid manifest: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// A file or partition does not have the digest the manifest records.
    #[error(
        "{what}: SHA-256 is {actual}, the signed manifest says {expected}; the image was altered or corrupted after signing, do not use it"
    )]
    DigestMismatch {
        what: String,
        expected: Sha256,
        actual: Sha256,
    },
    /// A file does not have the size the manifest records.
    #[error(
        "{what}: size is {actual} bytes, the signed manifest says {expected}; the image was altered or truncated after signing"
    )]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    /// The inputs given to [`write_signed_manifest`] are inconsistent.
    #[error("cannot write the manifest: {0}")]
    Inputs(String),
}

type Result<T, E = ManifestError> = std::result::Result<T, E>;

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ManifestError {
    let path = path.to_path_buf();
    move |source| ManifestError::Io {
        action,
        path,
        source,
    }
}

/// A SHA-256 digest; shown and serialised as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// Digest of a byte slice.
    pub fn of(data: &[u8]) -> Sha256 {
        Sha256::from_digest(&aws_lc_rs::digest::digest(&SHA256, data))
    }

    fn from_digest(d: &aws_lc_rs::digest::Digest) -> Sha256 {
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Sha256(out)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Sha256> {
        let bytes = unhex(s)?;
        Some(Sha256(bytes.try_into().ok()?))
    }

    /// Digest of a whole file, streamed.
    pub fn of_file(path: &Path) -> Result<(Sha256, u64)> {
        let mut file = File::open(path).map_err(io_err("cannot open", path))?;
        let mut ctx = Context::new(&SHA256);
        let mut buf = vec![0u8; HASH_CHUNK];
        let mut len = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io_err("cannot read", path))?;
            if n == 0 {
                break;
            }
            ctx.update(&buf[..n]);
            len += n as u64;
        }
        Ok((Sha256::from_digest(&ctx.finish()), len))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A file of the image directory, by plain file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Plain file name inside the image directory (no `/`, not `..`).
    pub path: String,
    pub size: u64,
    pub sha256: Sha256,
}

/// A partition: a byte range of the image file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// The partition's role, e.g. `esp`, `root`, `root-verity`; unique.
    pub name: String,
    /// GPT partition label, if different from the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Byte offset in the image.
    pub offset: u64,
    /// Length in bytes.
    pub size: u64,
    pub sha256: Sha256,
}

/// A partition to record: the digest is computed by [`write_signed_manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSpec {
    pub name: String,
    pub label: Option<String>,
    pub offset: u64,
    pub size: u64,
}

/// The dm-verity parameters of the root file system (`veritysetup format` output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verity {
    /// Root hash, hex (64 digits for sha256).
    pub root_hash: String,
    /// Salt, hex (may be empty).
    pub salt: String,
    /// Hash algorithm, e.g. `sha256`.
    pub hash_algorithm: String,
    pub data_block_size: u32,
    pub hash_block_size: u32,
    /// Name of the partition holding the data (the root file system).
    pub data_partition: String,
    /// Name of the partition holding the hash tree (may equal `data_partition`).
    pub hash_partition: String,
    /// Offset of the hash tree inside `hash_partition`, in bytes.
    #[serde(default)]
    pub hash_offset: u64,
}

/// The software bill of materials, a side file of the image directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbomRef {
    /// e.g. `CycloneDX-1.5-json`; `none` while no SBOM is produced yet.
    pub format: String,
    /// Plain file name; its digest is in [`Manifest::files`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What the image was built from. Enough to rebuild it and to tag the AMI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildInputs {
    /// Git commit of the source tree (`git rev-parse HEAD`), with `-dirty` if
    /// the tree had changes.
    pub source_commit: String,
    /// SOURCE_DATE_EPOCH used for every timestamp in the image.
    pub source_date_epoch: u64,
    /// Profile name and the SHA-256 of the profile file(s).
    pub profile: String,
    pub profile_sha256: Sha256,
    /// SHA-256 of the package lock the build honoured, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_lock_sha256: Option<Sha256>,
    /// `image-builder` version that built the image.
    pub builder_version: String,
    /// Anything else worth recording (snapshot.debian.org timestamp, kernel, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

/// The manifest, as serialised to `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Image name, e.g. `sqlassess-appliance`.
    pub name: String,
    /// Image version, e.g. `0.1.0`.
    pub version: String,
    /// The raw disk image.
    pub image: FileEntry,
    /// Partitions, in offset order, as byte ranges of `image`.
    pub partitions: Vec<Partition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verity: Option<Verity>,
    pub sbom: SbomRef,
    /// Every other file of the image directory that matters (SBOM, lock, ...).
    #[serde(default)]
    pub files: Vec<FileEntry>,
    pub build: BuildInputs,
}

/// What the builder hands to [`write_signed_manifest`]: names of files in the
/// image directory and metadata; digests are computed here.
#[derive(Debug, Clone)]
pub struct ManifestInputs {
    pub name: String,
    pub version: String,
    /// The raw disk's plain file name in the directory, e.g. `disk.raw`.
    pub image_file: String,
    pub partitions: Vec<PartitionSpec>,
    pub verity: Option<Verity>,
    /// `(format, file name)` of the SBOM, or `None` to record a placeholder.
    pub sbom: Option<(String, String)>,
    /// Other files of the directory to record (plain names).
    pub files: Vec<String>,
    pub build: BuildInputs,
}

/// The detached signature, as serialised to `manifest.json.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// Always `ed25519`.
    pub algorithm: String,
    /// [`PublicKey::key_id`] of the signer.
    pub key_id: String,
    /// Base64 of the 64-byte signature over the bytes of `manifest.json`.
    pub signature: String,
}

/// An ed25519 signing key. Its `Debug` shows the key id only.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.public_key().key_id())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads a PKCS#8 ed25519 private key, PEM or DER. The file's bytes are
    /// wiped from memory after parsing.
    pub fn load(path: &Path) -> Result<SigningKey> {
        let raw = Zeroizing::new(fs::read(path).map_err(io_err("cannot read key file", path))?);
        let der =
            match pem_body(&raw, "PRIVATE KEY") {
                Some(b64) => Zeroizing::new(B64.decode(b64.as_bytes()).map_err(|_| {
                    ManifestError::KeyFile {
                        path: path.to_path_buf(),
                        reason: "PEM body is not valid base64".into(),
                    }
                })?),
                None => raw,
            };
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|e| ManifestError::KeyFile {
            path: path.to_path_buf(),
            reason: format!(
                "not an unencrypted PKCS#8 ed25519 private key ({e}); create one with `image-builder keygen` or `openssl genpkey -algorithm ed25519`"
            ),
        })?;
        Ok(SigningKey { pair })
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(bytes)
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(msg).as_ref());
        out
    }
}

/// DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410); the key follows.
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    /// Loads a PEM or DER SubjectPublicKeyInfo, or 32 raw bytes.
    pub fn load(path: &Path) -> Result<PublicKey> {
        let raw = fs::read(path).map_err(io_err("cannot read public key file", path))?;
        let bad = |reason: &str| ManifestError::KeyFile {
            path: path.to_path_buf(),
            reason: reason.to_owned(),
        };
        let der = match pem_body(&raw, "PUBLIC KEY") {
            Some(b64) => B64
                .decode(b64.as_bytes())
                .map_err(|_| bad("PEM body is not valid base64"))?,
            None => raw,
        };
        let key = match der.len() {
            32 => der.as_slice(),
            44 if der.starts_with(&SPKI_ED25519_PREFIX) => &der[12..],
            _ => {
                return Err(bad(
                    "not an ed25519 public key (expected a PEM/DER SubjectPublicKeyInfo or 32 raw bytes); export it with `image-builder keygen` or `openssl pkey -pubout`",
                ));
            }
        };
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(key);
        Ok(PublicKey(bytes))
    }

    /// `ed25519:` followed by the first 16 hex digits of the SHA-256 of the key.
    pub fn key_id(&self) -> String {
        format!("ed25519:{}", &Sha256::of(&self.0).to_hex()[..16])
    }

    /// PEM SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            B64.encode(der)
        )
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(msg, sig)
            .is_ok()
    }
}

/// Returns the base64 body of the first PEM block with this label, if `raw`
/// is PEM.
fn pem_body(raw: &[u8], label: &str) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    Some(text[start..stop].split_whitespace().collect())
}

/// Generates a new ed25519 key: the private key as PKCS#8 PEM (mode 0600,
/// never overwriting an existing file) and the public key as PEM. Returns the
/// public key.
pub fn generate_key_files(private: &Path, public: &Path) -> Result<PublicKey> {
    let pair = Ed25519KeyPair::generate().map_err(|_| ManifestError::KeyFile {
        path: private.to_path_buf(),
        reason: "the crypto library could not generate a key".into(),
    })?;
    let der = pair.to_pkcs8().map_err(|_| ManifestError::KeyFile {
        path: private.to_path_buf(),
        reason: "the crypto library could not serialise the key".into(),
    })?;
    let pem = Zeroizing::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        Zeroizing::new(B64.encode(der.as_ref())).as_str()
    ));
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut file = opts.open(private).map_err(io_err(
        "cannot create private key file (it must not exist yet)",
        private,
    ))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_err("cannot write", private))?;
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(pair.public_key().as_ref());
    let key = PublicKey(bytes);
    write_atomic(public, key.to_pem().as_bytes())?;
    Ok(key)
}

/// A file name must be a plain name inside the image directory.
fn check_plain_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\\')
        || name.contains('\0')
    {
        Err(format!(
            "{name:?} is not a plain file name inside the image directory"
        ))
    } else {
        Ok(())
    }
}

/// Digests of the whole file and of each `(offset, size)` range, in one
/// sequential pass.
fn hash_image(path: &Path, ranges: &[(u64, u64)]) -> Result<(Sha256, u64, Vec<Sha256>)> {
    let mut file = File::open(path).map_err(io_err("cannot open image", path))?;
    let mut whole = Context::new(&SHA256);
    let mut parts: Vec<Context> = ranges.iter().map(|_| Context::new(&SHA256)).collect();
    let mut buf = vec![0u8; HASH_CHUNK];
    let mut pos = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(io_err("cannot read image", path))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        whole.update(chunk);
        let end = pos + n as u64;
        for (ctx, &(off, size)) in parts.iter_mut().zip(ranges) {
            let lo = off.max(pos);
            let hi = (off + size).min(end);
            if lo < hi {
                // Both bounds lie within this chunk, so they fit in usize.
                ctx.update(&chunk[(lo - pos) as usize..(hi - pos) as usize]);
            }
        }
        pos = end;
    }
    let parts = parts
        .into_iter()
        .map(|c| Sha256::from_digest(&c.finish()))
        .collect();
    Ok((Sha256::from_digest(&whole.finish()), pos, parts))
}

/// Checks the structure of a manifest: plain names, partitions inside the
/// image and disjoint, verity names known. Used on writing and on reading.
fn check_structure(m: &Manifest) -> std::result::Result<(), String> {
    if m.format_version != FORMAT_VERSION {
        return Err(format!(
            "format_version {} is not supported (this image-builder reads {FORMAT_VERSION})",
            m.format_version
        ));
    }
    check_plain_name(&m.image.path)?;
    for f in &m.files {
        check_plain_name(&f.path)?;
        if f.path == MANIFEST_FILE || f.path == SIGNATURE_FILE || f.path == m.image.path {
            return Err(format!("{} cannot be listed in files", f.path));
        }
    }
    let mut sorted: Vec<&Partition> = m.partitions.iter().collect();
    sorted.sort_by_key(|p| p.offset);
    let mut prev_end = 0u64;
    let mut names = std::collections::BTreeSet::new();
    for p in sorted {
        if !names.insert(p.name.as_str()) {
            return Err(format!("partition {} is listed twice", p.name));
        }
        let end = p
            .offset
            .checked_add(p.size)
            .ok_or_else(|| format!("partition {} overflows", p.name))?;
        if p.size == 0 || end > m.image.size {
            return Err(format!(
                "partition {} ({}+{}) is empty or outside the {}-byte image",
                p.name, p.offset, p.size, m.image.size
            ));
        }
        if p.offset < prev_end {
            return Err(format!("partition {} overlaps the one before it", p.name));
        }
        prev_end = end;
    }
    if let Some(v) = &m.verity {
        for name in [&v.data_partition, &v.hash_partition] {
            if !names.contains(name.as_str()) {
                return Err(format!(
                    "verity names partition {name}, which is not listed"
                ));
            }
        }
        if unhex(&v.root_hash).is_none_or(|h| h.is_empty()) {
            return Err("verity root_hash is not hex".into());
        }
        if unhex(&v.salt).is_none() {
            return Err("verity salt is not hex".into());
        }
    }
    if let Some(path) = &m.sbom.path
        && !m.files.iter().any(|f| &f.path == path)
    {
        return Err(format!("the SBOM {path} is not listed in files"));
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp-write");
    let mut f = File::create(&tmp).map_err(io_err("cannot create", &tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_err("cannot write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("cannot rename into place", path))
}

/// The result of writing or verifying a manifest.
#[derive(Debug, Clone)]
pub struct SignedManifest {
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json`'s bytes: the image's identity.
    pub digest: Sha256,
    pub key_id: String,
}

/// Hashes the image and the listed files in `dir`, writes `manifest.json` and
/// its signature `manifest.json.sig` (each atomically), and returns them.
pub fn write_signed_manifest(
    dir: &Path,
    inputs: &ManifestInputs,
    key: &SigningKey,
) -> Result<SignedManifest> {
    let bad = |e: String| ManifestError::Inputs(e);
    check_plain_name(&inputs.image_file).map_err(bad)?;
    let image_path = dir.join(&inputs.image_file);
    let ranges: Vec<(u64, u64)> = inputs
        .partitions
        .iter()
        .map(|p| (p.offset, p.size))
        .collect();
    let (image_sha, image_size, part_sha) = hash_image(&image_path, &ranges)?;
    let mut partitions: Vec<Partition> = inputs
        .partitions
        .iter()
        .zip(part_sha)
        .map(|(p, sha256)| Partition {
            name: p.name.clone(),
            label: p.label.clone(),
            offset: p.offset,
            size: p.size,
            sha256,
        })
        .collect();
    partitions.sort_by_key(|p| p.offset);
    let mut names: Vec<&String> = inputs.files.iter().collect();
    if let Some((_, sbom)) = &inputs.sbom
        && !names.contains(&sbom)
    {
        names.push(sbom);
    }
    names.sort();
    let mut files = Vec::new();
    for name in names {
        check_plain_name(name).map_err(bad)?;
        let (sha256, size) = Sha256::of_file(&dir.join(name))?;
        files.push(FileEntry {
            path: name.clone(),
            size,
            sha256,
        });
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: inputs.name.clone(),
        version: inputs.version.clone(),
        image: FileEntry {
            path: inputs.image_file.clone(),
            size: image_size,
            sha256: image_sha,
        },
        partitions,
        verity: inputs.verity.clone(),
        sbom: match &inputs.sbom {
            Some((format, path)) => SbomRef {
                format: format.clone(),
                path: Some(path.clone()),
            },
            None => SbomRef {
                format: "none".into(),
                path: None,
            },
        },
        files,
        build: inputs.build.clone(),
    };
    check_structure(&manifest).map_err(bad)?;
    let mut bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ManifestError::Inputs(format!("cannot serialise the manifest: {e}")))?;
    bytes.push(b'\n');
    let public = key.public_key();
    let sig = SignatureFile {
        algorithm: "ed25519".into(),
        key_id: public.key_id(),
        signature: B64.encode(key.sign(&bytes)),
    };
    let mut sig_bytes = serde_json::to_vec_pretty(&sig)
        .map_err(|e| ManifestError::Inputs(format!("cannot serialise the signature: {e}")))?;
    sig_bytes.push(b'\n');
    // Manifest first, then signature: an interruption in between leaves a
    // pair that does not verify, never a stale pair that does.
    write_atomic(&dir.join(MANIFEST_FILE), &bytes)?;
    write_atomic(&dir.join(SIGNATURE_FILE), &sig_bytes)?;
    Ok(SignedManifest {
        manifest,
        digest: Sha256::of(&bytes),
        key_id: public.key_id(),
    })
}

/// Proof that an image directory's manifest is signed by the expected key and
/// that every digest it records matched when checked. Only [`verify_image`]
/// makes one; publishing demands one.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    dir: PathBuf,
    signed: SignedManifest,
}

impl VerifiedImage {
    /// The image directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.signed.manifest
    }
    /// SHA-256 of `manifest.json`: the image's identity.
    pub fn digest(&self) -> Sha256 {
        self.signed.digest
    }
    /// The signer's key id.
    pub fn key_id(&self) -> &str {
        &self.signed.key_id
    }
    /// Path of the raw disk image.
    pub fn image_path(&self) -> PathBuf {
        self.dir.join(&self.signed.manifest.image.path)
    }
}

/// Reads `manifest.json` and its signature from `dir`, checks the signature
/// against `key` over the exact bytes read, then checks the size and SHA-256
/// of the image, of every partition and of every listed file.
pub fn verify_image(dir: &Path, key: &PublicKey) -> Result<VerifiedImage> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let sig_path = dir.join(SIGNATURE_FILE);
    let bytes = fs::read(&manifest_path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            ManifestError::Unsigned {
                path: manifest_path.clone(),
            }
        } else {
            io_err("cannot read", &manifest_path)(e)
        }
    })?;
    let sig_raw = fs::read(&sig_path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            ManifestError::Unsigned {
                path: sig_path.clone(),
            }
        } else {
            io_err("cannot read", &sig_path)(e)
        }
    })?;
    let sig_err = |reason: String| ManifestError::SignatureFormat {
        path: sig_path.clone(),
        reason,
    };
    let sig: SignatureFile =
        serde_json::from_slice(&sig_raw).map_err(|e| sig_err(e.to_string()))?;
    if sig.algorithm != "ed25519" {
        return Err(sig_err(format!(
            "algorithm {} is not ed25519",
            sig.algorithm
        )));
    }
    if sig.key_id != key.key_id() {
        return Err(ManifestError::WrongKey {
            signed_by: sig.key_id,
            given: key.key_id(),
        });
    }
    let sig_bytes = B64
        .decode(sig.signature.as_bytes())
        .map_err(|_| sig_err("signature is not base64".into()))?;
    if !key.verify(&bytes, &sig_bytes) {
        return Err(ManifestError::BadSignature {
            path: manifest_path,
        });
    }
    // Signed: now the content is trusted to be what the builder wrote.
    let invalid = |reason: String| ManifestError::Invalid {
        path: manifest_path.clone(),
        reason,
    };
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    check_structure(&manifest).map_err(invalid)?;

    let image_path = dir.join(&manifest.image.path);
    let ranges: Vec<(u64, u64)> = manifest
        .partitions
        .iter()
        .map(|p| (p.offset, p.size))
        .collect();
    let (image_sha, image_size, part_sha) = hash_image(&image_path, &ranges)?;
    if image_size != manifest.image.size {
        return Err(ManifestError::SizeMismatch {
            what: image_path.display().to_string(),
            expected: manifest.image.size,
            actual: image_size,
        });
    }
    // Partitions first: a mismatch there says where the image was changed.
    for (p, actual) in manifest.partitions.iter().zip(part_sha) {
        if actual != p.sha256 {
            return Err(ManifestError::DigestMismatch {
                what: format!("partition {} of {}", p.name, image_path.display()),
                expected: p.sha256,
                actual,
            });
        }
    }
    if image_sha != manifest.image.sha256 {
        return Err(ManifestError::DigestMismatch {
            what: image_path.display().to_string(),
            expected: manifest.image.sha256,
            actual: image_sha,
        });
    }
    for f in &manifest.files {
        let path = dir.join(&f.path);
        let (actual, size) = Sha256::of_file(&path)?;
        if size != f.size {
            return Err(ManifestError::SizeMismatch {
                what: path.display().to_string(),
                expected: f.size,
                actual: size,
            });
        }
        if actual != f.sha256 {
            return Err(ManifestError::DigestMismatch {
                what: path.display().to_string(),
                expected: f.sha256,
                actual,
            });
        }
    }
    Ok(VerifiedImage {
        dir: dir.to_path_buf(),
        signed: SignedManifest {
            manifest,
            digest: Sha256::of(&bytes),
            key_id: sig.key_id,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A 3 MiB image with two "partitions", an SBOM, and a fresh key.
    fn fixture() -> (tempfile::TempDir, SigningKey, PublicKey, ManifestInputs) {
        let dir = tempfile::tempdir().unwrap();
        let mut img = vec![0u8; 3 << 20];
        for (i, b) in img[4096..(1 << 20)].iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        img[(2 << 20) + 17] = 0xaa;
        fs::write(dir.path().join("disk.raw"), &img).unwrap();
        fs::write(
            dir.path().join("sbom.cdx.json"),
            b"{\"bomFormat\":\"CycloneDX\"}",
        )
        .unwrap();
        let priv_path = dir.path().join("key.pem");
        let pub_path = dir.path().join("key.pub");
        let public = generate_key_files(&priv_path, &pub_path).unwrap();
        let key = SigningKey::load(&priv_path).unwrap();
        assert_eq!(PublicKey::load(&pub_path).unwrap(), public);
        let inputs = ManifestInputs {
            name: "test".into(),
            version: "0.0.1".into(),
            image_file: "disk.raw".into(),
            partitions: vec![
                PartitionSpec {
                    name: "esp".into(),
                    label: None,
                    offset: 1 << 20,
                    size: 1 << 20,
                },
                PartitionSpec {
                    name: "root".into(),
                    label: Some("ROOT".into()),
                    offset: 2 << 20,
                    size: (1 << 20) - 4096,
                },
            ],
            verity: Some(Verity {
                root_hash: "ab".repeat(32),
                salt: "cd".repeat(32),
                hash_algorithm: "sha256".into(),
                data_block_size: 4096,
                hash_block_size: 4096,
                data_partition: "root".into(),
                hash_partition: "root".into(),
                hash_offset: 0,
            }),
            sbom: Some(("CycloneDX-1.5-json".into(), "sbom.cdx.json".into())),
            files: vec![],
            build: BuildInputs {
                source_commit: "0123abc".into(),
                source_date_epoch: 1_700_000_000,
                profile: "appliance".into(),
                profile_sha256: Sha256::of(b"profile"),
                package_lock_sha256: None,
                builder_version: "0.1.0".into(),
                extra: BTreeMap::new(),
            },
        };
        (dir, key, public, inputs)
    }

    #[test]
    fn signed_manifest_verifies_and_records_the_right_digests() {
        let (dir, key, public, inputs) = fixture();
        let written = write_signed_manifest(dir.path(), &inputs, &key).unwrap();
        let img = fs::read(dir.path().join("disk.raw")).unwrap();
        assert_eq!(written.manifest.image.sha256, Sha256::of(&img));
        assert_eq!(
            written.manifest.partitions[1].sha256,
            Sha256::of(&img[(2 << 20)..(3 << 20) - 4096])
        );
        let verified = verify_image(dir.path(), &public).unwrap();
        assert_eq!(verified.digest(), written.digest);
        assert_eq!(
            verified.digest(),
            Sha256::of(&fs::read(dir.path().join(MANIFEST_FILE)).unwrap())
        );
        assert_eq!(verified.manifest(), &written.manifest);
    }

    #[test]
    fn a_changed_byte_in_a_partition_is_named() {
        let (dir, key, public, inputs) = fixture();
        write_signed_manifest(dir.path(), &inputs, &key).unwrap();
        let path = dir.path().join("disk.raw");
        let mut img = fs::read(&path).unwrap();
        img[(2 << 20) + 5] ^= 1;
        fs::write(&path, &img).unwrap();
        let err = verify_image(dir.path(), &public).unwrap_err();
        assert!(
            matches!(&err, ManifestError::DigestMismatch { what, .. } if what.contains("partition root")),
            "{err}"
        );
    }

    #[test]
    fn a_changed_byte_outside_partitions_is_caught_by_the_image_digest() {
        let (dir, key, public, inputs) = fixture();
        write_signed_manifest(dir.path(), &inputs, &key).unwrap();
        let path = dir.path().join("disk.raw");
        let mut img = fs::read(&path).unwrap();
        img[100] ^= 1;
        fs::write(&path, &img).unwrap();
        let err = verify_image(dir.path(), &public).unwrap_err();
        assert!(
            matches!(&err, ManifestError::DigestMismatch { what, .. } if what.ends_with("disk.raw")),
            "{err}"
        );
    }

    #[test]
    fn an_edited_manifest_or_sbom_or_missing_signature_is_refused() {
        let (dir, key, public, inputs) = fixture();
        write_signed_manifest(dir.path(), &inputs, &key).unwrap();
        // SBOM changed.
        fs::write(dir.path().join("sbom.cdx.json"), b"{}").unwrap();
        assert!(matches!(
            verify_image(dir.path(), &public).unwrap_err(),
            ManifestError::SizeMismatch { .. } | ManifestError::DigestMismatch { .. }
        ));
        write_signed_manifest(dir.path(), &inputs, &key).unwrap();
        // Manifest edited (e.g. a digest replaced to match a tampered image).
        let mpath = dir.path().join(MANIFEST_FILE);
        let text = fs::read_to_string(&mpath).unwrap();
        fs::write(&mpath, text.replace("0123abc", "0123abd")).unwrap();
        assert!(matches!(
            verify_image(dir.path(), &public).unwrap_err(),
            ManifestError::BadSignature { .. }
        ));
        // Unsigned.
        fs::remove_file(dir.path().join(SIGNATURE_FILE)).unwrap();
        assert!(matches!(
            verify_image(dir.path(), &public).unwrap_err(),
            ManifestError::Unsigned { .. }
        ));
    }

    #[test]
    fn another_key_is_refused() {
        let (dir, key, _public, inputs) = fixture();
        write_signed_manifest(dir.path(), &inputs, &key).unwrap();
        let other =
            generate_key_files(&dir.path().join("o.pem"), &dir.path().join("o.pub")).unwrap();
        assert!(matches!(
            verify_image(dir.path(), &other).unwrap_err(),
            ManifestError::WrongKey { .. }
        ));
    }

    #[test]
    fn overlapping_or_out_of_range_partitions_are_rejected() {
        let (dir, key, _public, mut inputs) = fixture();
        inputs.partitions[1].offset = (1 << 20) + 10;
        assert!(matches!(
            write_signed_manifest(dir.path(), &inputs, &key).unwrap_err(),
            ManifestError::Inputs(_)
        ));
        let (dir, key, _public, mut inputs) = fixture();
        inputs.partitions[1].size = 2 << 20;
        assert!(matches!(
            write_signed_manifest(dir.path(), &inputs, &key).unwrap_err(),
            ManifestError::Inputs(_)
        ));
        let (dir, key, _public, mut inputs) = fixture();
        inputs.files.push("../etc/passwd".into());
        assert!(matches!(
            write_signed_manifest(dir.path(), &inputs, &key).unwrap_err(),
            ManifestError::Inputs(_)
        ));
    }

    #[test]
    fn openssl_made_keys_sign_and_verify() {
        // `openssl genpkey -algorithm ed25519` writes PKCS#8 v1 PEM; its
        // `pkey -pubout` a SubjectPublicKeyInfo PEM. Skipped without openssl.
        let (dir, _key, _public, inputs) = fixture();
        let priv_path = dir.path().join("ossl.pem");
        let pub_path = dir.path().join("ossl.pub");
        let gen_ok = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&priv_path)
            .status()
            .is_ok_and(|s| s.success());
        if !gen_ok {
            eprintln!("openssl not available: skipped");
            return;
        }
        let st = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&priv_path)
            .arg("-out")
            .arg(&pub_path)
            .status()
            .unwrap();
        assert!(st.success());
        let key = SigningKey::load(&priv_path).unwrap();
        let public = PublicKey::load(&pub_path).unwrap();
        assert_eq!(key.public_key(), public);
        write_signed_manifest(dir.path(), &inputs, &key).unwrap();
        verify_image(dir.path(), &public).unwrap();
    }

    #[test]
    fn key_debug_never_shows_key_material_and_keyfile_is_private() {
        let (dir, key, public, _inputs) = fixture();
        let shown = format!("{key:?}");
        assert!(shown.contains(&public.key_id()), "{shown}");
        let pem = fs::read_to_string(dir.path().join("key.pem")).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!shown.contains(&body[20..40]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "private key must not be group/world readable"
            );
        }
        // Never overwrites an existing key.
        assert!(
            generate_key_files(&dir.path().join("key.pem"), &dir.path().join("x.pub")).is_err()
        );
    }
}
