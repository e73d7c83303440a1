//! The upload plan: which 512 KiB blocks of the image hold data, and their
//! digests, from one sequential pass that also re-checks the image digest
//! against the verified manifest.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use aws_lc_rs::digest::{Context, SHA256};

use super::PublishError;
use crate::manifest::{Sha256, VerifiedImage};

/// The EBS direct APIs' block size: every PutSnapshotBlock carries exactly this.
pub const BLOCK_SIZE: u64 = 512 * 1024;
/// What "used" means for the upload-efficiency figure: a 4 KiB page that is not all zeros.
pub const PAGE_SIZE: u64 = 4096;
const GIB: u64 = 1 << 30;
/// EBS direct API snapshots hold at most 64 TiB.
const MAX_SIZE: u64 = 64 << 40;

/// One block that holds data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataBlock {
    pub index: i32,
    pub sha256: Sha256,
}

/// The image, seen as EBS blocks.
#[derive(Debug, Clone)]
pub struct UploadPlan {
    /// Bytes in the image file.
    pub image_size: u64,
    /// Snapshot (and root volume) size, whole GiB.
    pub volume_size_gib: u64,
    /// Blocks that cover the image, data or zero.
    pub total_blocks: u64,
    /// Blocks with data, in index order; the only ones uploaded.
    pub data_blocks: Vec<DataBlock>,
    /// Bytes in 4 KiB pages that are not all zeros: what the image really uses.
    pub used_bytes: u64,
}

impl UploadPlan {
    /// All-zero blocks, never sent.
    pub fn zero_blocks(&self) -> u64 {
        self.total_blocks - self.data_blocks.len() as u64
    }

    /// Bytes the upload sends (data blocks × 512 KiB).
    pub fn upload_bytes(&self) -> u64 {
        self.data_blocks.len() as u64 * BLOCK_SIZE
    }

    /// The checksum CompleteSnapshot expects with the LINEAR aggregation: the
    /// SHA-256 of the concatenated per-block SHA-256 digests, in block order.
    pub fn aggregate_checksum(&self) -> Sha256 {
        let mut ctx = Context::new(&SHA256);
        for b in &self.data_blocks {
            ctx.update(&b.sha256.0);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        Sha256(out)
    }
}

/// Reads block `index` of the image into `buf` (zero-padded past the end).
pub(crate) fn read_block(file: &File, index: i32, buf: &mut [u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    let mut offset = u64::try_from(index).unwrap_or(0) * BLOCK_SIZE;
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read_at(&mut buf[filled..], offset)?;
        if n == 0 {
            break;
        }
        filled += n;
        offset += n as u64;
    }
    buf[filled..].fill(0);
    Ok(())
}

/// Scans the verified image. Fails if its bytes no longer hash to the digest
/// in the manifest, so every block digest in the plan is proven signed content.
pub fn scan(image: &VerifiedImage) -> Result<UploadPlan, PublishError> {
    let path = image.image_path();
    let expected = image.manifest().image.sha256;
    scan_path(&path, Some(expected))
}

/// [`scan`] on any file; with `expected`, checks the whole-file digest.
pub fn scan_path(path: &Path, expected: Option<Sha256>) -> Result<UploadPlan, PublishError> {
    let io = |source| PublishError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut whole = Context::new(&SHA256);
    let block_len = usize::try_from(BLOCK_SIZE).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; block_len];
    let mut data_blocks = Vec::new();
    let mut image_size = 0u64;
    let mut used_bytes = 0u64;
    let mut index: i32 = 0;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..]).map_err(io)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        whole.update(&buf[..filled]);
        image_size += filled as u64;
        if image_size > MAX_SIZE {
            return Err(PublishError::TooLarge { size: image_size });
        }
        buf[filled..].fill(0);
        let pages_used = buf
            .chunks(PAGE_SIZE as usize)
            .filter(|p| p.iter().any(|&b| b != 0))
            .count() as u64;
        if pages_used > 0 {
            used_bytes += pages_used * PAGE_SIZE;
            data_blocks.push(DataBlock {
                index,
                sha256: Sha256::of(&buf),
            });
        }
        index += 1;
        if filled < buf.len() {
            break;
        }
    }
    let mut digest = [0u8; 32];
    digest.copy_from_slice(whole.finish().as_ref());
    if let Some(expected) = expected
        && Sha256(digest) != expected
    {
        return Err(PublishError::ImageChanged {
            path: path.to_path_buf(),
            detail: format!(
                "SHA-256 is now {}, the verified manifest says {expected}",
                Sha256(digest)
            ),
        });
    }
    let volume_size_gib = image_size.div_ceil(GIB).max(1);
    Ok(UploadPlan {
        image_size,
        volume_size_gib,
        total_blocks: image_size.div_ceil(BLOCK_SIZE),
        data_blocks,
        used_bytes,
    })
}
