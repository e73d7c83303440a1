//! The image into an encrypted EBS snapshot through the EBS direct APIs:
//! StartSnapshot, PutSnapshotBlock in parallel (data blocks only, each with
//! its SHA-256), CompleteSnapshot with the block count and the aggregate
//! checksum; resume from ListSnapshotBlocks.

use std::collections::BTreeSet;
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_ebs::primitives::ByteStream;
use aws_sdk_ebs::types::{ChecksumAggregationMethod, ChecksumAlgorithm, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::error::aws_error;
use super::plan::{BLOCK_SIZE, UploadPlan, read_block};
use super::{Progress, ProgressEvent, PublishError};
use crate::manifest::Sha256;

/// How long EBS keeps a pending snapshot open for a resumed upload (minutes).
/// A day: long enough to refresh credentials and re-run, short enough that
/// an abandoned upload does not linger (EBS allows up to 4320).
pub const PENDING_TIMEOUT_MINUTES: i32 = 24 * 60;

/// How many times a block rejected for its checksum is sent again. A
/// mismatch means bytes were corrupted on the way; one retry covers a
/// transient fault, more would hide a persistent one.
pub const CHECKSUM_ATTEMPTS: u32 = 3;

/// The StartSnapshot request, as sent (tests assert on it: emulators ignore
/// the encryption flags).
pub fn start_snapshot_request(
    ebs: &aws_sdk_ebs::Client,
    plan: &UploadPlan,
    kms_key_arn: Option<&str>,
    description: &str,
    tags: &[(String, String)],
) -> aws_sdk_ebs::operation::start_snapshot::builders::StartSnapshotFluentBuilder {
    let mut req = ebs
        .start_snapshot()
        .volume_size(i64::try_from(plan.volume_size_gib).unwrap_or(i64::MAX))
        // Always encrypted: under the given key, or the account's default EBS key.
        .encrypted(true)
        .timeout(PENDING_TIMEOUT_MINUTES)
        .description(description);
    if let Some(arn) = kms_key_arn {
        req = req.kms_key_arn(arn);
    }
    for (k, v) in tags {
        req = req.tags(Tag::builder().key(k).value(v).build());
    }
    req
}

/// Starts an encrypted snapshot; returns its id.
pub async fn start_snapshot(
    ebs: &aws_sdk_ebs::Client,
    plan: &UploadPlan,
    kms_key_arn: Option<&str>,
    description: &str,
    tags: &[(String, String)],
) -> Result<String, PublishError> {
    let out = start_snapshot_request(ebs, plan, kms_key_arn, description, tags)
        .send()
        .await
        .map_err(|e| aws_error("StartSnapshot", e))?;
    out.snapshot_id()
        .map(str::to_owned)
        .ok_or_else(|| PublishError::Aws {
            operation: "StartSnapshot",
            code: "NoSnapshotId".into(),
            message: "the answer carried no snapshot id".into(),
        })
}

/// Block indexes already written to a snapshot (all pages of ListSnapshotBlocks).
pub async fn list_blocks(
    ebs: &aws_sdk_ebs::Client,
    snapshot_id: &str,
) -> Result<BTreeSet<i32>, PublishError> {
    let mut out = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let page = ebs
            .list_snapshot_blocks()
            .snapshot_id(snapshot_id)
            .max_results(10_000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("ListSnapshotBlocks", e))?;
        out.extend(page.blocks().iter().filter_map(|b| b.block_index()));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// Counters for one upload run.
#[derive(Debug, Default)]
pub struct UploadCounters {
    pub uploaded_blocks: AtomicU64,
    pub uploaded_bytes: AtomicU64,
    /// PutSnapshotBlock attempts repeated after a checksum rejection.
    pub checksum_retries: AtomicU64,
}

/// Whether an error from PutSnapshotBlock is the service rejecting the
/// block's checksum. EBS answers a ValidationException; its reason enum has
/// no checksum value, so the message is what identifies it.
fn is_checksum_rejection(code: &str, message: &str) -> bool {
    code == "ValidationException" && message.to_ascii_lowercase().contains("checksum")
}

/// Uploads the plan's data blocks that are not in `present`, `workers` at a
/// time. Each block is re-read from the image and re-hashed; a block whose
/// bytes differ from the plan stops the upload ([`PublishError::ImageChanged`]).
#[allow(clippy::too_many_arguments)]
pub async fn upload_blocks(
    ebs: &aws_sdk_ebs::Client,
    snapshot_id: &str,
    image: &std::path::Path,
    plan: &UploadPlan,
    present: &BTreeSet<i32>,
    workers: usize,
    counters: Arc<UploadCounters>,
    progress: Option<Progress>,
) -> Result<(), PublishError> {
    let file = Arc::new(File::open(image).map_err(|source| PublishError::Io {
        path: image.to_path_buf(),
        source,
    })?);
    let todo: Vec<_> = plan
        .data_blocks
        .iter()
        .filter(|b| !present.contains(&b.index))
        .copied()
        .collect();
    let total = todo.len() as u64;
    let started = Instant::now();
    let sem = Arc::new(Semaphore::new(workers.max(1)));
    let mut tasks = JoinSet::new();
    for block in todo {
        let permit = Arc::clone(&sem)
            .acquire_owned()
            .await
            .map_err(|e| PublishError::Task(e.to_string()))?;
        // Reap finished uploads so an error stops the run early.
        while let Some(done) = tasks.try_join_next() {
            done.map_err(|e| PublishError::Task(e.to_string()))??;
        }
        let ebs = ebs.clone();
        let file = Arc::clone(&file);
        let snapshot_id = snapshot_id.to_owned();
        let image = image.to_path_buf();
        let counters = Arc::clone(&counters);
        let progress = progress.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let data = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; BLOCK_SIZE as usize];
                read_block(&file, block.index, &mut buf).map(|()| buf)
            })
            .await
            .map_err(|e| PublishError::Task(e.to_string()))?
            .map_err(|source| PublishError::Io {
                path: image.clone(),
                source,
            })?;
            let actual = Sha256::of(&data);
            if actual != block.sha256 {
                return Err(PublishError::ImageChanged {
                    path: image,
                    detail: format!(
                        "block {} hashes to {actual}, the scan found {}",
                        block.index, block.sha256
                    ),
                });
            }
            put_block(
                &ebs,
                &snapshot_id,
                block.index,
                data,
                &block.sha256,
                &counters,
            )
            .await?;
            let blocks = counters.uploaded_blocks.fetch_add(1, Ordering::Relaxed) + 1;
            let bytes = counters
                .uploaded_bytes
                .fetch_add(BLOCK_SIZE, Ordering::Relaxed)
                + BLOCK_SIZE;
            if let Some(p) = &progress {
                p(ProgressEvent::Uploaded {
                    blocks,
                    of: total,
                    bytes,
                    elapsed: started.elapsed(),
                });
            }
            Ok::<(), PublishError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| PublishError::Task(e.to_string()))??;
    }
    Ok(())
}

/// One PutSnapshotBlock, re-sent after a checksum rejection up to
/// [`CHECKSUM_ATTEMPTS`] times. Throttling and 5xx answers are retried with
/// backoff by the SDK's retry policy (see [`super::retry_config`]).
async fn put_block(
    ebs: &aws_sdk_ebs::Client,
    snapshot_id: &str,
    index: i32,
    data: Vec<u8>,
    sha: &Sha256,
    counters: &UploadCounters,
) -> Result<(), PublishError> {
    let checksum = B64.encode(sha.0);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = ebs
            .put_snapshot_block()
            .snapshot_id(snapshot_id)
            .block_index(index)
            .block_data(ByteStream::from(data.clone()))
            .data_length(BLOCK_SIZE as i32)
            .checksum(&checksum)
            .checksum_algorithm(ChecksumAlgorithm::ChecksumAlgorithmSha256)
            .send()
            .await;
        match res {
            Ok(_) => return Ok(()),
            Err(e) => {
                use aws_sdk_ebs::error::ProvideErrorMetadata as _;
                let code = e.code().unwrap_or("").to_owned();
                let message = e.message().unwrap_or("").to_owned();
                if is_checksum_rejection(&code, &message) {
                    if attempt >= CHECKSUM_ATTEMPTS {
                        return Err(PublishError::ChecksumMismatch {
                            snapshot_id: snapshot_id.to_owned(),
                            block: index,
                            attempts: attempt,
                        });
                    }
                    counters.checksum_retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    continue;
                }
                return Err(aws_error("PutSnapshotBlock", e));
            }
        }
    }
}

/// CompleteSnapshot with the number of data blocks and the LINEAR aggregate
/// checksum, so EBS checks that it holds exactly the blocks we meant.
pub async fn complete_snapshot(
    ebs: &aws_sdk_ebs::Client,
    snapshot_id: &str,
    plan: &UploadPlan,
) -> Result<(), PublishError> {
    ebs.complete_snapshot()
        .snapshot_id(snapshot_id)
        .changed_blocks_count(i32::try_from(plan.data_blocks.len()).unwrap_or(i32::MAX))
        .checksum(B64.encode(plan.aggregate_checksum().0))
        .checksum_algorithm(ChecksumAlgorithm::ChecksumAlgorithmSha256)
        .checksum_aggregation_method(ChecksumAggregationMethod::ChecksumAggregationLinear)
        .send()
        .await
        .map_err(|e| aws_error("CompleteSnapshot", e))?;
    Ok(())
}
