//! The disk: root file system (erofs) with its dm-verity hash tree, the
//! writable /var (ext4), the EFI system partition holding a unified kernel
//! image, all assembled into a GPT disk without loop devices or mounts.
//!
//! Everything is deterministic: fixed UUIDs, fixed timestamps
//! (SOURCE_DATE_EPOCH), a salt derived from the image name. The root and
//! verity partitions' unique GUIDs are the two halves of the root hash, as in
//! systemd's Discoverable Partitions Specification; the initramfs finds them
//! from the hash on the kernel command line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::harden::BootFiles;
use crate::path_error::{PathError, io_err};
use crate::tool::{self, ToolError};

/// GPT disk GUID.
pub const DISK_GUID: &str = "a18f8271-ae36-49e6-9202-4c2e24d2d351";
/// The ESP's unique partition GUID.
pub const ESP_PARTUUID: &str = "3a29f4b1-df56-40d3-ac67-f62ac40c2a45";
/// File system UUIDs.
pub const ROOT_FS_UUID: &str = "ab82a8ba-437e-4e60-b922-b2e5f6764328";
pub const VAR_FS_UUID: &str = "b8bfad63-97e3-427f-a35e-29dab686feb1";
pub const VERITY_UUID: &str = "00bd2cf2-00f7-466c-855a-e88b7e3d72f8";
/// FAT volume id of the ESP.
pub const ESP_VOLUME_ID: &str = "5A5E0001";

/// GPT partition type GUIDs (UEFI; Discoverable Partitions Specification).
pub const TYPE_ESP: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
pub const TYPE_ROOT_X86_64: &str = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
pub const TYPE_ROOT_VERITY_X86_64: &str = "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5";
pub const TYPE_VAR: &str = "4D21B016-B534-45C2-A9FB-5C16E091FD2D";
/// Generic Linux data: the session volume (blank, encrypted at boot).
pub const TYPE_LINUX_DATA: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
/// The session partition's fixed unique GUID (reproducible images).
pub const SESSION_PARTUUID: &str = "5e55a0a1-7c3e-4d1b-9a6f-2f0b8d3c9e11";

const MIB: u64 = 1024 * 1024;
const SECTOR: u64 = 512;

/// Why a disk step failed.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Io(#[from] PathError),
    #[error("veritysetup format printed no root hash:\n{output}")]
    NoRootHash { output: String },
    #[error("{path} is not a PE/COFF EFI stub this builder understands: {problem}")]
    BadStub { path: PathBuf, problem: String },
    #[error(
        "the unified kernel image ({size} bytes) does not fit the ESP of {esp_mib} MiB; raise [disk] esp_mib in the profile"
    )]
    EspTooSmall { size: u64, esp_mib: u64 },
}

/// The dm-verity parameters of the root file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerityInfo {
    pub root_hash: String,
    pub salt: String,
    pub hash_algorithm: String,
    pub data_block_size: u32,
    pub hash_block_size: u32,
}

/// `8-4-4-4-12` form of 32 hex digits.
pub fn uuid_from_hex(hex32: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex32[0..8],
        &hex32[8..12],
        &hex32[12..16],
        &hex32[16..20],
        &hex32[20..32]
    )
}

/// The root and verity partitions' GUIDs: the halves of the root hash.
pub fn partuuids_from_root_hash(root_hash: &str) -> Option<(String, String)> {
    if root_hash.len() != 64 || !root_hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = root_hash.to_ascii_lowercase();
    Some((uuid_from_hex(&h[..32]), uuid_from_hex(&h[32..])))
}

/// Rounds up to a whole MiB.
pub fn round_mib(bytes: u64) -> u64 {
    bytes.div_ceil(MIB) * MIB
}

/// Makes the erofs root file system from `tree` (lz4hc, fixed UUID and time).
pub fn make_erofs(tree: &Path, out: &Path, epoch: u64) -> Result<(), DiskError> {
    let _ = fs::remove_file(out);
    tool::run(
        tool::command(
            "mkfs.erofs",
            [
                "-zlz4hc".to_owned(),
                format!("-T{epoch}"),
                format!("-U{ROOT_FS_UUID}"),
                "--quiet".to_owned(),
            ],
        )
        .arg(out)
        .arg(tree),
    )?;
    pad_to_mib(out)
}

fn pad_to_mib(path: &Path) -> Result<(), DiskError> {
    let len = fs::metadata(path)
        .map_err(io_err("cannot stat", path))?
        .len();
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("cannot open", path))?;
    Ok(f.set_len(round_mib(len))
        .map_err(io_err("cannot pad", path))?)
}

/// Writes the dm-verity hash tree of `data` to `hash` and returns the parameters.
pub fn make_verity(data: &Path, hash: &Path, salt: &str) -> Result<VerityInfo, DiskError> {
    let _ = fs::remove_file(hash);
    let out = tool::stdout(
        tool::command(
            "veritysetup",
            [
                "format".to_owned(),
                "--hash=sha256".to_owned(),
                "--data-block-size=4096".to_owned(),
                "--hash-block-size=4096".to_owned(),
                format!("--salt={salt}"),
                format!("--uuid={VERITY_UUID}"),
            ],
        )
        .arg(data)
        .arg(hash),
    )?;
    let root_hash = out
        .lines()
        .find_map(|l| l.strip_prefix("Root hash:"))
        .map(|h| h.trim().to_owned())
        .filter(|h| h.len() == 64)
        .ok_or(DiskError::NoRootHash {
            output: out.clone(),
        })?;
    pad_to_mib(hash)?;
    Ok(VerityInfo {
        root_hash,
        salt: salt.to_owned(),
        hash_algorithm: "sha256".into(),
        data_block_size: 4096,
        hash_block_size: 4096,
    })
}

/// Makes the ext4 /var file system of `size_mib` from `tree`.
pub fn make_var(tree: &Path, out: &Path, size_mib: u64, epoch: u64) -> Result<(), DiskError> {
    let _ = fs::remove_file(out);
    // Every modification time in the tree becomes SOURCE_DATE_EPOCH.
    tool::run(
        tool::command("find", [tree])
            .args(["-exec", "touch", "--no-dereference"])
            .arg(format!("--date=@{epoch}"))
            .args(["{}", "+"]),
    )?;
    let mut cmd = tool::command(
        "mkfs.ext4",
        [
            "-q".to_owned(),
            "-F".to_owned(),
            "-L".to_owned(),
            "var".to_owned(),
            "-U".to_owned(),
            VAR_FS_UUID.to_owned(),
            "-E".to_owned(),
            format!("hash_seed={VAR_FS_UUID},lazy_itable_init=0,lazy_journal_init=0"),
            "-d".to_owned(),
        ],
    );
    cmd.arg(tree).arg(out).arg(format!("{size_mib}M"));
    cmd.env("E2FSPROGS_FAKE_TIME", epoch.to_string());
    tool::run(&mut cmd)?;
    // mke2fs 1.47.0 -d copies each file's ctime and atime, which touch
    // cannot set: rewrite them with debugfs so the partition is reproducible.
    let script = out.with_extension("debugfs");
    let mut cmds = String::new();
    let mut paths = vec!["/".to_owned()];
    for (path, _) in crate::harden::walk(tree)
        .map_err(|e| io_err("cannot list", tree)(io::Error::other(e.to_string())))?
    {
        if let Ok(rel) = path.strip_prefix(tree) {
            paths.push(format!("/{}", rel.display()));
        }
    }
    for p in &paths {
        if p.contains('"') {
            continue;
        }
        cmds.push_str(&format!(
            "sif \"{p}\" ctime @{epoch}\nsif \"{p}\" atime @{epoch}\n"
        ));
    }
    fs::write(&script, cmds).map_err(io_err("cannot write", &script))?;
    let mut dbg = tool::command("debugfs", ["-w", "-f"]);
    dbg.arg(&script).arg(out);
    dbg.env("E2FSPROGS_FAKE_TIME", epoch.to_string());
    tool::run(&mut dbg)?;
    Ok(())
}

/// Where the stub's image ends and how its sections are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeLayout {
    pub image_base: u64,
    pub section_alignment: u64,
    pub size_of_image: u64,
}

/// Reads the PE32+ optional header fields the UKI layout needs.
pub fn pe_layout(bytes: &[u8]) -> Result<PeLayout, String> {
    let u16_at = |o: usize| -> Result<u16, String> {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| format!("truncated at {o}"))
    };
    let u32_at = |o: usize| -> Result<u32, String> {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("truncated at {o}"))
    };
    if bytes.get(0..2) != Some(b"MZ") {
        return Err("no MZ header".into());
    }
    let pe = u32_at(0x3c)? as usize;
    if bytes.get(pe..pe + 4) != Some(b"PE\0\0") {
        return Err("no PE signature".into());
    }
    let opt = pe + 24;
    if u16_at(opt)? != 0x20b {
        return Err("not PE32+ (64-bit)".into());
    }
    let image_base = bytes
        .get(opt + 24..opt + 32)
        .map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
        .ok_or("truncated optional header")?;
    Ok(PeLayout {
        image_base,
        section_alignment: u64::from(u32_at(opt + 32)?),
        size_of_image: u64::from(u32_at(opt + 56)?),
    })
}

/// Virtual addresses for sections of `sizes` appended after the stub's image.
pub fn uki_section_vmas(layout: PeLayout, sizes: &[u64]) -> Vec<u64> {
    let align = |v: u64| v.div_ceil(layout.section_alignment) * layout.section_alignment;
    let mut offset = align(layout.size_of_image);
    sizes
        .iter()
        .map(|size| {
            let vma = layout.image_base + offset;
            offset += align(*size);
            vma
        })
        .collect()
}

/// Sets a PE image's COFF TimeDateStamp (which objcopy sets to the current
/// time) to `epoch` and recomputes the optional header's checksum, so that
/// the UKI is reproducible.
pub fn pe_set_timestamp(bytes: &mut [u8], epoch: u32) -> Result<(), String> {
    let pe = bytes
        .get(0x3c..0x40)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("truncated DOS header")?;
    if bytes.get(pe..pe + 4) != Some(b"PE\0\0") {
        return Err("no PE signature".into());
    }
    let stamp = pe + 8;
    let checksum = pe + 24 + 64;
    if bytes.len() < checksum + 4 {
        return Err("truncated optional header".into());
    }
    bytes[stamp..stamp + 4].copy_from_slice(&epoch.to_le_bytes());
    bytes[checksum..checksum + 4].copy_from_slice(&[0; 4]);
    // The PE checksum: 16-bit one's-complement-style sum of the file (the
    // checksum field taken as zero), folded, plus the file length.
    let mut sum: u64 = 0;
    for chunk in bytes.chunks(2) {
        let word = u64::from(chunk[0]) | (u64::from(*chunk.get(1).unwrap_or(&0)) << 8);
        sum += word;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    let total = (sum as u32).wrapping_add(bytes.len() as u32);
    bytes[checksum..checksum + 4].copy_from_slice(&total.to_le_bytes());
    Ok(())
}

/// Builds the unified kernel image: stub + os-release + command line + initrd
/// + kernel (the kernel last, as ukify does).
pub fn make_uki(
    boot: &BootFiles,
    cmdline: &str,
    work: &Path,
    out: &Path,
    epoch: u64,
) -> Result<(), DiskError> {
    let stub = fs::read(&boot.stub).map_err(io_err("cannot read", &boot.stub))?;
    let layout = pe_layout(&stub).map_err(|problem| DiskError::BadStub {
        path: boot.stub.clone(),
        problem,
    })?;
    let cmdline_file = work.join("cmdline.txt");
    fs::write(&cmdline_file, cmdline).map_err(io_err("cannot write", &cmdline_file))?;
    let sections: [(&str, &Path); 4] = [
        (".osrel", &boot.os_release),
        (".cmdline", &cmdline_file),
        (".initrd", &boot.initrd),
        (".linux", &boot.kernel),
    ];
    let mut sizes = Vec::new();
    for (_, path) in &sections {
        sizes.push(
            fs::metadata(path)
                .map_err(io_err("cannot stat", path))?
                .len(),
        );
    }
    let vmas = uki_section_vmas(layout, &sizes);
    let mut cmd = tool::command("objcopy", Vec::<String>::new());
    for ((name, path), vma) in sections.iter().zip(vmas) {
        cmd.arg("--add-section")
            .arg(format!("{name}={}", path.display()))
            .arg("--change-section-vma")
            .arg(format!("{name}={vma:#x}"));
    }
    let _ = fs::remove_file(out);
    cmd.arg(&boot.stub).arg(out);
    tool::run(&mut cmd)?;
    let mut uki = fs::read(out).map_err(io_err("cannot read", out))?;
    // PE timestamps are 32-bit; SOURCE_DATE_EPOCH fits until 2106.
    let stamp = u32::try_from(epoch).unwrap_or(u32::MAX);
    pe_set_timestamp(&mut uki, stamp).map_err(|problem| DiskError::BadStub {
        path: out.to_owned(),
        problem,
    })?;
    fs::write(out, uki).map_err(io_err("cannot write", out))?;
    Ok(())
}

/// Makes the FAT32 ESP image with the UKI as the removable-media boot path.
pub fn make_esp(uki: &Path, out: &Path, esp_mib: u64, epoch: u64) -> Result<(), DiskError> {
    let size = fs::metadata(uki).map_err(io_err("cannot stat", uki))?.len();
    if size + 4 * MIB > esp_mib * MIB {
        return Err(DiskError::EspTooSmall { size, esp_mib });
    }
    let _ = fs::remove_file(out);
    tool::run(
        tool::command(
            "mkfs.vfat",
            [
                "-F".to_owned(),
                "32".to_owned(),
                "-n".to_owned(),
                "ESP".to_owned(),
                "-i".to_owned(),
                ESP_VOLUME_ID.to_owned(),
                "--invariant".to_owned(),
                "-C".to_owned(),
            ],
        )
        .arg(out)
        .arg((esp_mib * 1024).to_string()),
    )?;
    tool::run(tool::command("touch", [format!("--date=@{epoch}")]).arg(uki))?;
    let img = out.display().to_string();
    let env = [
        ("SOURCE_DATE_EPOCH", epoch.to_string()),
        ("MTOOLS_SKIP_CHECK", "1".to_owned()),
    ];
    tool::run(tool::command("mmd", ["-i", &img, "::/EFI", "::/EFI/BOOT"]).envs(env.clone()))?;
    tool::run(
        tool::command("mcopy", ["-m", "-i", &img])
            .arg(uki)
            .arg("::/EFI/BOOT/BOOTX64.EFI")
            .envs(env),
    )?;
    Ok(())
}

/// One partition of the assembled disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionInfo {
    /// Role: `esp`, `root`, `root-verity`, `var`.
    pub name: String,
    pub type_guid: String,
    pub partuuid: String,
    /// Byte offset in the image.
    pub offset: u64,
    pub size: u64,
    /// SHA-256 of the partition's bytes (filled after assembly).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// The image file that fills it.
    #[serde(skip)]
    pub source: PathBuf,
}

/// Places partitions of the given sizes 1 MiB-aligned after a 1 MiB gap and
/// returns them with the disk size (which leaves 1 MiB for the backup GPT).
pub fn layout(parts: Vec<(String, String, String, PathBuf, u64)>) -> (Vec<PartitionInfo>, u64) {
    let mut offset = MIB;
    let mut out = Vec::new();
    for (name, type_guid, partuuid, source, size) in parts {
        let size = round_mib(size);
        out.push(PartitionInfo {
            name,
            type_guid,
            partuuid,
            offset,
            size,
            sha256: String::new(),
            source,
        });
        offset += size;
    }
    (out, offset + MIB)
}

/// The sfdisk script for a layout.
pub fn sfdisk_script(parts: &[PartitionInfo]) -> String {
    let mut s = format!(
        "label: gpt\nlabel-id: {DISK_GUID}\nunit: sectors\nfirst-lba: 2048\nsector-size: 512\n\n"
    );
    for p in parts {
        // GUID:60 is the read-only attribute of the Discoverable Partitions Specification.
        let attrs = if p.name.starts_with("root") {
            ", attrs=\"GUID:60\""
        } else {
            ""
        };
        s.push_str(&format!(
            "start={}, size={}, type={}, uuid={}, name=\"{}\"{attrs}\n",
            p.offset / SECTOR,
            p.size / SECTOR,
            p.type_guid,
            p.partuuid,
            p.name
        ));
    }
    s
}

/// Writes the GPT and copies each partition image into place.
pub fn assemble(parts: &[PartitionInfo], disk_size: u64, out: &Path) -> Result<(), DiskError> {
    let _ = fs::remove_file(out);
    let f = File::create(out).map_err(io_err("cannot create", out))?;
    f.set_len(disk_size).map_err(io_err("cannot size", out))?;
    drop(f);
    let script = sfdisk_script(parts);
    let mut child = std::process::Command::new("sfdisk")
        .args([
            "--quiet",
            "--no-reread",
            "--no-tell-kernel",
            "--wipe=always",
        ])
        .arg(out)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| ToolError::Spawn {
            program: "sfdisk".into(),
            package: tool::package_of("sfdisk"),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(io_err("cannot write the partition table of", out))?;
    }
    let output = child
        .wait_with_output()
        .map_err(io_err("cannot wait for sfdisk on", out))?;
    if !output.status.success() {
        return Err(ToolError::Failed {
            command: format!("sfdisk {}", out.display()),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
        .into());
    }
    let mut disk = OpenOptions::new()
        .write(true)
        .open(out)
        .map_err(io_err("cannot open", out))?;
    for p in parts {
        let mut src = File::open(&p.source).map_err(io_err("cannot open", &p.source))?;
        let len = src
            .metadata()
            .map_err(io_err("cannot stat", &p.source))?
            .len();
        if len > p.size {
            return Err(
                io_err("partition image is larger than its partition", &p.source)(
                    io::Error::other(format!("{len} > {}", p.size)),
                )
                .into(),
            );
        }
        disk.seek(SeekFrom::Start(p.offset))
            .map_err(io_err("cannot seek in", out))?;
        io::copy(&mut (&mut src).take(len), &mut disk).map_err(io_err("cannot copy into", out))?;
    }
    disk.sync_all().map_err(io_err("cannot sync", out))?;
    Ok(())
}

/// Converts the raw disk to a compressed qcow2 (zstd clusters) and a
/// stream-optimized VMDK, both at once (each conversion is single-threaded).
pub fn convert(raw: &Path, qcow2: &Path, vmdk: &Path) -> Result<(), DiskError> {
    let mut q = tool::command(
        "qemu-img",
        [
            "convert",
            "-f",
            "raw",
            "-O",
            "qcow2",
            "-c",
            "-o",
            "compression_type=zstd",
        ],
    );
    q.arg(raw).arg(qcow2);
    let mut v = tool::command(
        "qemu-img",
        [
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ],
    );
    v.arg(raw).arg(vmdk);
    let (rq, rv) = std::thread::scope(|s| {
        let hq = s.spawn(move || tool::run(&mut q).map(drop));
        let rv = tool::run(&mut v).map(drop);
        (hq.join(), rv)
    });
    match rq {
        Ok(r) => r?,
        Err(_) => {
            return Err(
                io_err("qemu-img convert to qcow2 panicked for", raw)(io::Error::other(
                    "thread panicked",
                ))
                .into(),
            );
        }
    }
    rv?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_guids_are_the_root_hash_halves() {
        let h = "0123456789abcdef0123456789ABCDEFfedcba9876543210fedcba9876543210";
        let (root, verity) = partuuids_from_root_hash(h).unwrap();
        assert_eq!(root, "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(verity, "fedcba98-7654-3210-fedc-ba9876543210");
        assert!(partuuids_from_root_hash("abc").is_none());
    }

    #[test]
    fn layout_aligns_to_mib_and_leaves_room_for_the_backup_gpt() {
        let (parts, size) = layout(vec![
            (
                "esp".into(),
                TYPE_ESP.into(),
                ESP_PARTUUID.into(),
                PathBuf::new(),
                64 * MIB,
            ),
            (
                "root".into(),
                TYPE_ROOT_X86_64.into(),
                "r".into(),
                PathBuf::new(),
                10 * MIB + 1,
            ),
        ]);
        assert_eq!(parts[0].offset, MIB);
        assert_eq!(parts[1].offset, 65 * MIB);
        assert_eq!(parts[1].size, 11 * MIB);
        assert_eq!(size, 77 * MIB);
        let script = sfdisk_script(&parts);
        assert!(script.contains("start=2048, size=131072, type=C12A7328"));
        assert!(script.contains("name=\"root\", attrs=\"GUID:60\""));
        assert!(script.contains(&format!("label-id: {DISK_GUID}")));
    }

    #[test]
    fn uki_sections_follow_the_stub_image_aligned() {
        let layout = PeLayout {
            image_base: 0x14df90000,
            section_alignment: 0x1000,
            size_of_image: 0x1b000,
        };
        let vmas = uki_section_vmas(layout, &[0x10, 0x1001, 5]);
        assert_eq!(vmas, vec![0x14dfab000, 0x14dfac000, 0x14dfae000]);
    }

    #[test]
    fn pe_timestamp_is_set_and_checksum_depends_only_on_content() {
        let mut a = vec![0u8; 0x200];
        a[0x3c] = 0x80;
        a[0x80..0x84].copy_from_slice(b"PE\0\0");
        a[0x88..0x8c].copy_from_slice(&123u32.to_le_bytes());
        let mut b = a.clone();
        b[0x88..0x8c].copy_from_slice(&456u32.to_le_bytes());
        pe_set_timestamp(&mut a, 7).unwrap();
        pe_set_timestamp(&mut b, 7).unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[0x88..0x8c], &7u32.to_le_bytes());
        assert_ne!(&a[0xd8..0xdc], &[0u8; 4]);
        assert!(pe_set_timestamp(&mut [0u8; 8], 1).is_err());
    }

    #[test]
    fn pe_layout_rejects_non_pe_input() {
        assert!(pe_layout(b"not a stub").is_err());
        let mut pe = vec![0u8; 0x200];
        pe[0..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        pe[0x98..0x9a].copy_from_slice(&0x20bu16.to_le_bytes());
        pe[0x98 + 24..0x98 + 32].copy_from_slice(&0x1_4000_0000u64.to_le_bytes());
        pe[0x98 + 32..0x98 + 36].copy_from_slice(&0x1000u32.to_le_bytes());
        pe[0x98 + 56..0x98 + 60].copy_from_slice(&0x2000u32.to_le_bytes());
        assert_eq!(
            pe_layout(&pe).unwrap(),
            PeLayout {
                image_base: 0x1_4000_0000,
                section_alignment: 0x1000,
                size_of_image: 0x2000
            }
        );
    }
}
