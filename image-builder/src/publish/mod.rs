//! Publishing: a verified image directory into a private, encrypted AMI.
//!
//! The steps, each idempotent:
//!
//! 1. [`publish`] takes a [`VerifiedImage`] (the manifest's signature and
//!    every digest already checked), so an unsigned or tampered image never
//!    reaches the network. [`plan::scan`] re-reads the image, re-checks its
//!    digest, and lists the 512 KiB blocks holding data.
//! 2. If an AMI tagged with the manifest digest exists, it is the answer
//!    (`already_published`).
//! 3. A snapshot tagged with the digest is reused when complete, resumed from
//!    ListSnapshotBlocks when some blocks are missing, or deleted and started
//!    over when it cannot be resumed; the outcome says which.
//! 4. Otherwise StartSnapshot (always encrypted, under `--kms-key` or the
//!    account's default EBS key), PutSnapshotBlock for data blocks only, in
//!    parallel, each with its SHA-256; CompleteSnapshot with the block count
//!    and the aggregate checksum; wait for `completed`.
//! 5. RegisterImage (x86_64, UEFI, ENA, SR-IOV, IMDSv2 only, gp3 root deleted
//!    on termination), tagged at creation; wait for `available`; refuse a
//!    public image. Then share with named accounts and copy to other regions.
//!
//! Throttling and 5xx answers are retried by the SDK with exponential backoff
//! ([`retry_config`]); a block the service rejects for its checksum is sent
//! again [`snapshot::CHECKSUM_ATTEMPTS`] times, then publishing fails.

pub mod ami;
mod error;
pub mod plan;
pub mod snapshot;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use serde::Serialize;

pub use self::error::PublishError;
use self::plan::UploadPlan;
use crate::manifest::{PublicKey, VerifiedImage, verify_image};

/// Tag: the SHA-256 of `manifest.json`, the image's identity.
pub const TAG_DIGEST: &str = "sqlassess:manifest-sha256";
/// Tag: the dm-verity root hash of the root file system.
pub const TAG_VERITY: &str = "sqlassess:verity-root-hash";
/// Tag: the image version.
pub const TAG_VERSION: &str = "sqlassess:version";
/// Tag: the source commit the image was built from.
pub const TAG_COMMIT: &str = "sqlassess:source-commit";

/// The retry policy for every AWS call: standard mode (throttling, 5xx,
/// timeouts), 8 attempts, exponential backoff with jitter from 200 ms up to
/// 20 s. EBS throttles PutSnapshotBlock per snapshot; eight attempts ride
/// out a burst without hiding an outage for long.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20))
}

/// The SDK clients publishing uses, built from one shared config.
#[derive(Debug, Clone)]
pub struct Clients {
    sdk: aws_config::SdkConfig,
    retry: RetryConfig,
    pub ebs: aws_sdk_ebs::Client,
    pub ec2: aws_sdk_ec2::Client,
}

impl Clients {
    /// Clients with [`retry_config`].
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        Clients::with_retry(sdk, retry_config())
    }

    /// Clients with another retry policy (tests shorten the backoff).
    pub fn with_retry(sdk: &aws_config::SdkConfig, retry: RetryConfig) -> Clients {
        let ebs = aws_sdk_ebs::config::Builder::from(sdk)
            .retry_config(retry.clone())
            .build();
        let ec2 = aws_sdk_ec2::config::Builder::from(sdk)
            .retry_config(retry.clone())
            .build();
        Clients {
            sdk: sdk.clone(),
            retry,
            ebs: aws_sdk_ebs::Client::from_conf(ebs),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
        }
    }

    /// The region these clients talk to.
    pub fn region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default()
    }

    /// An EC2 client for another region (same credentials, same endpoint override).
    pub fn ec2_in(&self, region: &str) -> aws_sdk_ec2::Client {
        let conf = aws_sdk_ec2::config::Builder::from(&self.sdk)
            .region(aws_config::Region::new(region.to_owned()))
            .retry_config(self.retry.clone())
            .build();
        aws_sdk_ec2::Client::from_conf(conf)
    }
}

/// A copy of the AMI to another region, re-encrypted under that region's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyTarget {
    pub region: String,
    pub kms_key: String,
}

impl std::str::FromStr for CopyTarget {
    type Err = PublishError;
    /// `REGION=KMS_KEY_ARN`.
    fn from_str(s: &str) -> Result<CopyTarget, PublishError> {
        match s.split_once('=') {
            Some((region, key)) if !region.is_empty() && key.starts_with("arn:") => {
                Ok(CopyTarget {
                    region: region.to_owned(),
                    kms_key: key.to_owned(),
                })
            }
            _ => Err(PublishError::InvalidOption(format!(
                "--copy-to {s:?}: expected REGION=KMS_KEY_ARN (each copy is re-encrypted under a key of its region)"
            ))),
        }
    }
}

/// Options of one publish run.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// KMS key (ARN) the snapshot is encrypted under; the account's default
    /// EBS key when `None` (cannot be shared with other accounts).
    pub kms_key_arn: Option<String>,
    /// AMI name; default `NAME-VERSION-DIGEST12`.
    pub name: Option<String>,
    /// Accounts (12 digits) given launch permission.
    pub share_with: Vec<String>,
    pub copy_to: Vec<CopyTarget>,
    /// Parallel PutSnapshotBlock requests.
    pub workers: usize,
    /// Root volume size; at least the image size.
    pub root_volume_gib: Option<u64>,
    /// How long to wait for the snapshot and the AMI.
    pub wait_timeout: Duration,
    /// Poll interval while waiting.
    pub poll: Duration,
}

impl Default for PublishOptions {
    fn default() -> PublishOptions {
        PublishOptions {
            kms_key_arn: None,
            name: None,
            share_with: Vec::new(),
            copy_to: Vec::new(),
            // EBS accepts up to 1,000 PutSnapshotBlock requests per second
            // per snapshot; 32 in flight keeps a fast link busy without
            // holding more than 16 MiB of blocks in memory.
            workers: 32,
            root_volume_gib: None,
            wait_timeout: Duration::from_secs(3600),
            poll: Duration::from_secs(5),
        }
    }
}

impl PublishOptions {
    /// Checks option values before anything is sent.
    pub fn validate(&self) -> Result<(), PublishError> {
        for a in &self.share_with {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PublishError::InvalidOption(format!(
                    "--share-with {a:?}: an AWS account id is 12 digits (sharing with groups such as `all` is never done)"
                )));
            }
        }
        if !self.share_with.is_empty() && self.kms_key_arn.is_none() {
            return Err(PublishError::InvalidOption(
                "--share-with needs --kms-key: an AMI encrypted under the default EBS key cannot be shared with other accounts".into(),
            ));
        }
        if let Some(k) = &self.kms_key_arn
            && !k.starts_with("arn:")
        {
            return Err(PublishError::InvalidOption(format!(
                "--kms-key {k:?}: give the key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"
            )));
        }
        Ok(())
    }
}

/// Progress reports, for a progress bar.
#[derive(Debug, Clone)]
pub enum ProgressEvent {
    /// A step begins.
    Step(String),
    /// The plan: blocks to send and blocks skipped.
    Planned {
        to_upload: u64,
        zero_skipped: u64,
        present_skipped: u64,
    },
    /// A block was written.
    Uploaded {
        blocks: u64,
        of: u64,
        bytes: u64,
        elapsed: Duration,
    },
}

/// A progress callback.
pub type Progress = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// What happened to the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SnapshotOutcome {
    /// A new snapshot was uploaded.
    Uploaded,
    /// A pending upload was resumed; `present` blocks were already there.
    Resumed { present: u64 },
    /// A previous snapshot could not be resumed and was deleted.
    Restarted { deleted: String, reason: String },
    /// A complete snapshot with every block was found and used.
    Reused,
    /// The AMI already existed; nothing was uploaded.
    NotNeeded,
}

/// The result, printed as JSON with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct PublishOutcome {
    pub image_id: String,
    pub region: String,
    pub name: String,
    pub snapshot_id: Option<String>,
    pub manifest_sha256: String,
    pub verity_root_hash: Option<String>,
    pub already_published: bool,
    pub snapshot: SnapshotOutcome,
    pub image_bytes: u64,
    pub used_bytes: u64,
    pub uploaded_blocks: u64,
    pub uploaded_bytes: u64,
    pub zero_blocks_skipped: u64,
    pub present_blocks_skipped: u64,
    pub checksum_retries: u64,
    pub upload_seconds: f64,
    pub upload_mb_per_s: f64,
    pub shared_with: Vec<String>,
    pub copies: Vec<CopyOutcome>,
    /// Whether the AMI was registered with the image's Secure Boot variable
    /// store (`false` also when an existing AMI was found).
    pub secure_boot: bool,
    pub warnings: Vec<String>,
}

/// The image's AWS UEFI variable store, when its signed manifest lists one
/// (a Secure Boot build), read back and checked against the manifest's
/// digest, since the file is read after the manifest was verified.
pub fn uefi_data(image: &VerifiedImage) -> Result<Option<String>, PublishError> {
    let name = crate::secure_boot::AWS_UEFI_DATA_FILE;
    let Some(entry) = image.manifest().files.iter().find(|f| f.path == name) else {
        return Ok(None);
    };
    let path = image.dir().join(name);
    let bytes = std::fs::read(&path).map_err(|source| PublishError::Io {
        path: path.clone(),
        source,
    })?;
    if crate::manifest::Sha256::of(&bytes) != entry.sha256 {
        return Err(PublishError::ImageChanged {
            path,
            detail: "its SHA-256 differs from the signed manifest's".into(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| PublishError::ImageChanged {
        path: path.clone(),
        detail: "it is not the base64 text virt-fw-vars --output-aws writes".into(),
    })?;
    Ok(Some(text.trim().to_owned()))
}

/// One regional copy.
#[derive(Debug, Clone, Serialize)]
pub struct CopyOutcome {
    pub region: String,
    pub image_id: String,
    pub already_there: bool,
}

/// The tags on the snapshot and the AMI.
pub fn tags(image: &VerifiedImage, name: &str) -> Vec<(String, String)> {
    let m = image.manifest();
    let mut t = vec![
        ("Name".to_owned(), name.to_owned()),
        (TAG_VERSION.to_owned(), m.version.clone()),
        (TAG_DIGEST.to_owned(), image.digest().to_hex()),
        (TAG_COMMIT.to_owned(), m.build.source_commit.clone()),
    ];
    if let Some(v) = &m.verity {
        t.push((TAG_VERITY.to_owned(), v.root_hash.clone()));
    }
    t
}

/// The default AMI name: `NAME-VERSION-DIGEST12`.
pub fn default_name(image: &VerifiedImage) -> String {
    let m = image.manifest();
    format!(
        "{}-{}-{}",
        m.name,
        m.version,
        &image.digest().to_hex()[..12]
    )
}

/// Verifies the image directory against `public_key`, then publishes it.
/// Nothing is sent to AWS unless the verification passes.
pub async fn publish_dir(
    clients: &Clients,
    dir: &Path,
    public_key: &PublicKey,
    opts: &PublishOptions,
    progress: Option<Progress>,
) -> Result<PublishOutcome, PublishDirError> {
    let image = verify_image(dir, public_key).map_err(PublishDirError::Refused)?;
    publish(clients, &image, opts, progress)
        .await
        .map_err(PublishDirError::Publish)
}

/// [`publish_dir`]'s error: refused before any AWS call, or failed publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishDirError {
    #[error("refusing to publish: {0}")]
    Refused(#[source] crate::manifest::ManifestError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Publishes a verified image. See the module docs for the steps.
pub async fn publish(
    clients: &Clients,
    image: &VerifiedImage,
    opts: &PublishOptions,
    progress: Option<Progress>,
) -> Result<PublishOutcome, PublishError> {
    opts.validate()?;
    let step = |s: &str| {
        if let Some(p) = &progress {
            p(ProgressEvent::Step(s.to_owned()));
        }
    };
    let digest = image.digest().to_hex();
    let name = opts.name.clone().unwrap_or_else(|| default_name(image));
    let tags = tags(image, &name);
    let region = clients.region();
    let mut warnings = Vec::new();

    match ami::block_public_access_state(&clients.ec2).await {
        Ok(state) if state == "block-new-sharing" => {}
        Ok(state) => warnings.push(format!(
            "image block public access is {state:?} in {region}: the AMI stays private either way, but turn it on (aws ec2 enable-image-block-public-access --image-block-public-access-state block-new-sharing) so no one can make it public later"
        )),
        Err(e) => warnings.push(format!(
            "could not read the image block public access state in {region} ({e}); check it with `aws ec2 get-image-block-public-access-state`"
        )),
    }

    step("scanning the image");
    let plan = plan::scan(image)?;
    let root_gib = opts
        .root_volume_gib
        .unwrap_or(plan.volume_size_gib)
        .max(plan.volume_size_gib);

    let mut outcome = PublishOutcome {
        image_id: String::new(),
        region: region.clone(),
        name: name.clone(),
        snapshot_id: None,
        manifest_sha256: digest.clone(),
        verity_root_hash: image
            .manifest()
            .verity
            .as_ref()
            .map(|v| v.root_hash.clone()),
        already_published: false,
        snapshot: SnapshotOutcome::NotNeeded,
        image_bytes: plan.image_size,
        used_bytes: plan.used_bytes,
        uploaded_blocks: 0,
        uploaded_bytes: 0,
        zero_blocks_skipped: plan.zero_blocks(),
        present_blocks_skipped: 0,
        checksum_retries: 0,
        upload_seconds: 0.0,
        upload_mb_per_s: 0.0,
        shared_with: Vec::new(),
        copies: Vec::new(),
        secure_boot: false,
        warnings: Vec::new(),
    };

    step("looking for an AMI with this manifest digest");
    let existing = ami::find_images(&clients.ec2, &digest).await?;
    if let Some(found) = existing.iter().find(|i| i.state != "deregistered") {
        if found.public {
            return Err(PublishError::PublicImage {
                image_id: found.image_id.clone(),
            });
        }
        outcome.image_id = found.image_id.clone();
        outcome.already_published = true;
    } else {
        let snapshot_id =
            snapshot_for(clients, image, &plan, opts, &tags, &mut outcome, &progress).await?;
        step("waiting for the snapshot to complete");
        ami::wait_snapshot_completed(&clients.ec2, &snapshot_id, opts.wait_timeout, opts.poll)
            .await?;
        step("registering the AMI");
        let uefi_data = uefi_data(image)?;
        if uefi_data.is_none() {
            warnings.push(
                "the image's UKI is not signed for Secure Boot (build with --secure-boot-key and --secure-boot-cert): the AMI boots with Secure Boot off".to_owned(),
            );
        }
        outcome.secure_boot = uefi_data.is_some();
        let params = ami::RegisterParams {
            name: name.clone(),
            description: format!(
                "{} {} (manifest sha256 {digest})",
                image.manifest().name,
                image.manifest().version
            ),
            snapshot_id: snapshot_id.clone(),
            root_volume_gib: i32::try_from(root_gib).unwrap_or(i32::MAX),
            tags: tags.clone(),
            uefi_data,
        };
        let image_id = ami::register_image(&clients.ec2, &params).await?;
        ami::ensure_tags(&clients.ec2, &image_id, &tags).await?;
        outcome.image_id = image_id;
        outcome.snapshot_id = Some(snapshot_id);
    }
    step("waiting for the AMI to be available");
    ami::wait_available(
        &clients.ec2,
        &outcome.image_id,
        opts.wait_timeout,
        opts.poll,
    )
    .await?;

    if !opts.share_with.is_empty() {
        step("sharing with the named accounts");
        ami::share_request(&clients.ec2, &outcome.image_id, &opts.share_with)
            .send()
            .await
            .map_err(|e| error::aws_error("ModifyImageAttribute", e))?;
        outcome.shared_with = opts.share_with.clone();
        // Sharing must never have made it public.
        ami::wait_available(
            &clients.ec2,
            &outcome.image_id,
            opts.wait_timeout,
            opts.poll,
        )
        .await?;
    }
    for target in &opts.copy_to {
        step(&format!("copying to {}", target.region));
        let dest = clients.ec2_in(&target.region);
        let copy = match ami::find_images(&dest, &digest).await?.first() {
            Some(found) => CopyOutcome {
                region: target.region.clone(),
                image_id: found.image_id.clone(),
                already_there: true,
            },
            None => {
                let out = ami::copy_request(
                    &dest,
                    &region,
                    &outcome.image_id,
                    &name,
                    &target.kms_key,
                    &tags,
                )
                .send()
                .await
                .map_err(|e| error::aws_error("CopyImage", e))?;
                let id = out.image_id().unwrap_or_default().to_owned();
                ami::ensure_tags(&dest, &id, &tags).await?;
                CopyOutcome {
                    region: target.region.clone(),
                    image_id: id,
                    already_there: false,
                }
            }
        };
        outcome.copies.push(copy);
    }
    outcome.warnings = warnings;
    Ok(outcome)
}

/// Finds, resumes or creates the snapshot holding the image; returns its id
/// once every data block is in it and it is completed (or completing).
async fn snapshot_for(
    clients: &Clients,
    image: &VerifiedImage,
    plan: &UploadPlan,
    opts: &PublishOptions,
    tags: &[(String, String)],
    outcome: &mut PublishOutcome,
    progress: &Option<Progress>,
) -> Result<String, PublishError> {
    let digest = image.digest().to_hex();
    let wanted: BTreeSet<i32> = plan.data_blocks.iter().map(|b| b.index).collect();
    let mut restarted: Option<(String, String)> = None;

    for (snapshot_id, state) in ami::find_snapshots(&clients.ec2, &digest).await? {
        if state == "error" {
            ami::delete_snapshot(&clients.ec2, &snapshot_id).await?;
            restarted = Some((snapshot_id, "the snapshot is in the error state".into()));
            continue;
        }
        let present = snapshot::list_blocks(&clients.ebs, &snapshot_id).await?;
        if !present.is_subset(&wanted) {
            ami::delete_snapshot(&clients.ec2, &snapshot_id).await?;
            restarted = Some((
                snapshot_id,
                "it holds blocks this image does not have".into(),
            ));
            continue;
        }
        if present == wanted && state == "completed" {
            outcome.snapshot = SnapshotOutcome::Reused;
            outcome.present_blocks_skipped = present.len() as u64;
            return Ok(snapshot_id);
        }
        // Pending (or reported completed by an emulator before
        // CompleteSnapshot): send what is missing, then complete.
        match upload_and_complete(
            clients,
            image,
            plan,
            opts,
            &snapshot_id,
            &present,
            outcome,
            progress,
        )
        .await
        {
            Ok(()) => {
                outcome.snapshot = SnapshotOutcome::Resumed {
                    present: present.len() as u64,
                };
                return Ok(snapshot_id);
            }
            Err(PublishError::Aws {
                operation,
                code,
                message,
            }) if operation == "PutSnapshotBlock" || operation == "CompleteSnapshot" => {
                ami::delete_snapshot(&clients.ec2, &snapshot_id).await?;
                restarted = Some((
                    snapshot_id,
                    format!("it could not be resumed ({operation}: {code}: {message})"),
                ));
            }
            Err(e) => return Err(e),
        }
    }

    if let Some(p) = progress {
        p(ProgressEvent::Step("starting an encrypted snapshot".into()));
    }
    let description = format!(
        "{} {} disk, manifest sha256 {digest}",
        image.manifest().name,
        image.manifest().version
    );
    let snapshot_id = snapshot::start_snapshot(
        &clients.ebs,
        plan,
        opts.kms_key_arn.as_deref(),
        &description,
        tags,
    )
    .await?;
    upload_and_complete(
        clients,
        image,
        plan,
        opts,
        &snapshot_id,
        &BTreeSet::new(),
        outcome,
        progress,
    )
    .await?;
    outcome.snapshot = match restarted {
        Some((deleted, reason)) => SnapshotOutcome::Restarted { deleted, reason },
        None => SnapshotOutcome::Uploaded,
    };
    Ok(snapshot_id)
}

#[allow(clippy::too_many_arguments)]
async fn upload_and_complete(
    clients: &Clients,
    image: &VerifiedImage,
    plan: &UploadPlan,
    opts: &PublishOptions,
    snapshot_id: &str,
    present: &BTreeSet<i32>,
    outcome: &mut PublishOutcome,
    progress: &Option<Progress>,
) -> Result<(), PublishError> {
    let to_upload = plan
        .data_blocks
        .iter()
        .filter(|b| !present.contains(&b.index))
        .count() as u64;
    if let Some(p) = progress {
        p(ProgressEvent::Planned {
            to_upload,
            zero_skipped: plan.zero_blocks(),
            present_skipped: present.len() as u64,
        });
    }
    let counters = Arc::new(snapshot::UploadCounters::default());
    let started = Instant::now();
    let result = snapshot::upload_blocks(
        &clients.ebs,
        snapshot_id,
        &image.image_path(),
        plan,
        present,
        opts.workers,
        Arc::clone(&counters),
        progress.clone(),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    outcome.snapshot_id = Some(snapshot_id.to_owned());
    outcome.uploaded_blocks += counters.uploaded_blocks.load(Ordering::Relaxed);
    outcome.uploaded_bytes += counters.uploaded_bytes.load(Ordering::Relaxed);
    outcome.checksum_retries += counters.checksum_retries.load(Ordering::Relaxed);
    outcome.present_blocks_skipped = present.len() as u64;
    outcome.upload_seconds = seconds;
    outcome.upload_mb_per_s = if seconds > 0.0 {
        outcome.uploaded_bytes as f64 / 1e6 / seconds
    } else {
        0.0
    };
    result?;
    snapshot::complete_snapshot(&clients.ebs, snapshot_id, plan).await
}
