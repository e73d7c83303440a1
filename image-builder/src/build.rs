//! `image-builder build`: the steps from a profile to a bootable, verified disk.
//!
//! ```text
//! mmdebstrap (packages, initramfs with the verity hook)
//!   -> lock check / lock write -> boot files out, build packages purged
//!   -> harden (overlay, sysctl, units, users, fstab) -> offline gates
//!   -> /var split off -> erofs root -> dm-verity tree -> ext4 /var
//!   -> UKI (root hash on the command line) -> FAT ESP -> GPT disk.raw
//!   -> qcow2 + VMDK -> build-info.json (+ signed manifest with a key)
//! ```
//!
//! The output folder holds `disk.raw`, `disk.qcow2`, `disk.vmdk`,
//! `build-info.json`, `packages.lock`, `sbom.cdx.json` (and, with a signing
//! key, `manifest.json` and its signature); `work/` keeps the intermediate
//! trees and partition images (the offline gates read `work/rootfs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::disk::{self, DiskError, PartitionInfo, VerityInfo};
use crate::harden::{self, Assessor, VAR_PARTUUID};
use crate::manifest::{self, Sha256};
use crate::profile::Profile;
use crate::rootfs::{self, PackageLock, RootfsError};
use crate::sbom;
use crate::verify::{self, OfflineReport, VerifyError};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error("the offline gates failed (see {report}):\n  {}", failures.join("\n  "))]
    Gates {
        report: PathBuf,
        failures: Vec<String>,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the build must run as root (mmdebstrap root mode keeps file ownership); run it with sudo"
    )]
    NotRoot,
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_owned();
    move |source| BuildError::Io {
        action,
        path,
        source,
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub profile: PathBuf,
    pub out: PathBuf,
    /// The release `assessor` binary; a placeholder when `None`.
    pub assessor: Option<PathBuf>,
    /// Take the mirror's current versions and rewrite the lock.
    pub update_lock: bool,
    /// Downloaded packages kept between builds.
    pub apt_cache: PathBuf,
    /// Where the package lock lives (default: next to the profile).
    pub lock: Option<PathBuf>,
    /// ed25519 key to sign the manifest with.
    pub signing_key: Option<PathBuf>,
}

/// One timed step.
#[derive(Debug, Clone, Serialize)]
pub struct StepTime {
    pub step: String,
    pub seconds: f64,
}

/// `build-info.json`.
#[derive(Debug, Clone, Serialize)]
pub struct BuildInfo {
    pub name: String,
    pub suite: String,
    pub kernel_release: String,
    pub source_date_epoch: u64,
    pub cmdline: String,
    pub verity: VerityInfo,
    pub partitions: Vec<PartitionInfo>,
    pub image: FileDigest,
    pub qcow2: FileDigest,
    pub vmdk: FileDigest,
    /// CycloneDX SBOM of the Debian packages in the image.
    pub sbom: FileDigest,
    pub packages: usize,
    pub lock: String,
    pub lock_sha256: String,
    pub offline_gates: OfflineReport,
    pub steps: Vec<StepTime>,
    pub total_seconds: f64,
}

/// A file of the output folder.
#[derive(Debug, Clone, Serialize)]
pub struct FileDigest {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

fn digest(dir: &Path, name: &str) -> Result<FileDigest, BuildError> {
    let (sha, size) = Sha256::of_file(&dir.join(name))?;
    Ok(FileDigest {
        path: name.to_owned(),
        size,
        sha256: sha.to_hex(),
    })
}

struct Timer<'a> {
    steps: Vec<StepTime>,
    progress: &'a mut dyn FnMut(&str, Option<f64>),
}

impl Timer<'_> {
    fn step<T, E>(&mut self, name: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        (self.progress)(name, None);
        let start = Instant::now();
        let r = f();
        let seconds = start.elapsed().as_secs_f64();
        if r.is_ok() {
            (self.progress)(name, Some(seconds));
            self.steps.push(StepTime {
                step: name.to_owned(),
                seconds,
            });
        }
        r
    }
}

/// The kernel command line: root and verity first, profile options, consoles last.
pub fn kernel_cmdline(profile: &Profile, root_hash: &str) -> String {
    let mut args = vec![
        "root=/dev/mapper/root".to_owned(),
        "rootfstype=erofs".to_owned(),
        "ro".to_owned(),
        format!("sqlassess.roothash={root_hash}"),
    ];
    args.extend(profile.kernel.cmdline.iter().cloned());
    args.push("console=tty0".to_owned());
    args.push("console=ttyS0,115200".to_owned());
    args.join(" ")
}

/// The verity salt: fixed per image name, so rebuilds give the same tree.
pub fn verity_salt(name: &str) -> String {
    Sha256::of(format!("sqlassess verity salt v1 {name}").as_bytes()).to_hex()
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|rest| rest.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Builds the image; `progress(step, None)` at the start of each step and
/// `progress(step, Some(seconds))` at its end.
pub fn build(
    opts: &BuildOptions,
    progress: &mut dyn FnMut(&str, Option<f64>),
) -> Result<BuildInfo, BuildError> {
    if !is_root() {
        return Err(BuildError::NotRoot);
    }
    let started = Instant::now();
    let profile = Profile::load(&opts.profile)?;
    let lock_path = opts
        .lock
        .clone()
        .unwrap_or_else(|| PackageLock::path_for(&opts.profile));
    let lock = if opts.update_lock {
        None
    } else {
        PackageLock::load(&lock_path)?
    };
    let epoch = match &lock {
        Some(l) => l.source_date_epoch,
        None => {
            // A new lock starts at today's midnight UTC.
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            now - now % 86_400
        }
    };
    let out = &opts.out;
    let work = out.join("work");
    if work.exists() {
        fs::remove_dir_all(&work).map_err(io_err("cannot clear", &work))?;
    }
    fs::create_dir_all(&work).map_err(io_err("cannot create", &work))?;
    let tree = work.join("rootfs");
    let mut t = Timer {
        steps: Vec::new(),
        progress,
    };
    let resolve = |p: &Option<PathBuf>| p.as_ref().map(|p| Profile::resolve(&opts.profile, p));

    t.step("bootstrap (mmdebstrap)", || {
        rootfs::bootstrap(&rootfs::Bootstrap {
            profile: &profile,
            pre_install: resolve(&profile.pre_install),
            target: tree.clone(),
            apt_cache: opts.apt_cache.clone(),
            pins: lock.as_ref(),
            source_date_epoch: epoch,
        })
    })?;
    let installed = rootfs::installed_packages(&tree)?;
    let lock = match lock {
        Some(lock) => {
            rootfs::check_against_lock(&installed, &lock, &lock_path)?;
            lock
        }
        None => {
            let lock = PackageLock {
                source_date_epoch: epoch,
                packages: installed.clone(),
            };
            lock.store(&lock_path)?;
            lock
        }
    };
    lock.store(&out.join("packages.lock"))?;

    let boot = t.step("harden", || -> Result<_, BuildError> {
        let boot = harden::extract_boot_files(&tree, &work.join("boot"))?;
        harden::purge_packages(&tree, &profile.build_packages)?;
        let assessor = match &opts.assessor {
            Some(p) => Assessor::Binary(p.clone()),
            None => Assessor::Placeholder,
        };
        harden::apply(
            &tree,
            &profile,
            resolve(&profile.overlay).as_deref(),
            &assessor,
        )?;
        Ok(boot)
    })?;

    // /var becomes its own partition; the root keeps an empty mount point.
    let var_tree = work.join("var");
    fs::rename(tree.join("var"), &var_tree).map_err(io_err("cannot move /var out of", &tree))?;
    fs::create_dir(tree.join("var")).map_err(io_err("cannot create /var in", &tree))?;

    let gates = t.step("offline gates", || {
        verify::offline(&tree, &[(var_tree.clone(), "/var")], &profile)
    })?;
    let gates_path = out.join("offline-gates.json");
    write_json(&gates_path, &gates)?;
    if !gates.passed() {
        return Err(BuildError::Gates {
            report: gates_path,
            failures: gates.failures,
        });
    }

    let root_img = work.join("root.erofs");
    let verity_img = work.join("root.verity");
    let var_img = work.join("var.ext4");
    let verity = t.step(
        "root file system (erofs + dm-verity)",
        || -> Result<_, BuildError> {
            disk::make_erofs(&tree, &root_img, epoch)?;
            Ok(disk::make_verity(
                &root_img,
                &verity_img,
                &verity_salt(&profile.name),
            )?)
        },
    )?;
    t.step("/var (ext4)", || {
        disk::make_var(&var_tree, &var_img, profile.disk.var_mib, epoch)
    })?;
    let cmdline = kernel_cmdline(&profile, &verity.root_hash);
    let esp_img = work.join("esp.vfat");
    t.step(
        "unified kernel image and ESP",
        || -> Result<(), BuildError> {
            let uki = work.join("BOOTX64.EFI");
            disk::make_uki(&boot, &cmdline, &work, &uki, epoch)?;
            disk::make_esp(&uki, &esp_img, profile.disk.esp_mib, epoch)?;
            Ok(())
        },
    )?;

    let (root_uuid, verity_uuid) =
        disk::partuuids_from_root_hash(&verity.root_hash).ok_or_else(|| DiskError::NoRootHash {
            output: verity.root_hash.clone(),
        })?;
    let size = |p: &Path| {
        fs::metadata(p)
            .map(|m| m.len())
            .map_err(io_err("cannot stat", p))
    };
    let (mut parts, disk_size) = disk::layout(vec![
        (
            "esp".into(),
            disk::TYPE_ESP.into(),
            disk::ESP_PARTUUID.into(),
            esp_img.clone(),
            size(&esp_img)?,
        ),
        (
            "root".into(),
            disk::TYPE_ROOT_X86_64.into(),
            root_uuid,
            root_img.clone(),
            size(&root_img)?,
        ),
        (
            "root-verity".into(),
            disk::TYPE_ROOT_VERITY_X86_64.into(),
            verity_uuid,
            verity_img.clone(),
            size(&verity_img)?,
        ),
        (
            "var".into(),
            disk::TYPE_VAR.into(),
            VAR_PARTUUID.into(),
            var_img.clone(),
            size(&var_img)?,
        ),
    ]);
    let raw = out.join("disk.raw");
    t.step("GPT disk", || disk::assemble(&parts, disk_size, &raw))?;
    for p in &mut parts {
        // Each partition image is exactly its partition (sizes are whole MiB).
        p.sha256 = Sha256::of_file(&p.source)?.0.to_hex();
    }
    t.step("qcow2 and VMDK", || {
        disk::convert(&raw, &out.join("disk.qcow2"), &out.join("disk.vmdk"))
    })?;

    // The SBOM lists what ships: the lock minus the build-only packages.
    let components: Vec<sbom::Component> = lock
        .packages
        .iter()
        .filter_map(|pin| pin.split_once('='))
        .filter(|(name, _)| !profile.build_packages.iter().any(|b| b == name))
        .map(|(name, version)| sbom::Component::Deb {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: profile.architecture.clone(),
        })
        .collect();
    let doc = sbom::cyclonedx(&profile.name, env!("CARGO_PKG_VERSION"), epoch, &components);
    let sbom_path = out.join(sbom::FILE_NAME);
    fs::write(&sbom_path, sbom::to_bytes(&doc)).map_err(io_err("cannot write", &sbom_path))?;

    let lock_text = fs::read(out.join("packages.lock")).map_err(io_err("cannot read", out))?;
    let mut info = BuildInfo {
        name: profile.name.clone(),
        suite: profile.suite.clone(),
        kernel_release: boot.kernel_release.clone(),
        source_date_epoch: epoch,
        cmdline,
        verity,
        partitions: parts,
        image: digest(out, "disk.raw")?,
        qcow2: digest(out, "disk.qcow2")?,
        vmdk: digest(out, "disk.vmdk")?,
        sbom: digest(out, sbom::FILE_NAME)?,
        packages: lock.packages.len(),
        lock: lock_path.display().to_string(),
        lock_sha256: Sha256::of(&lock_text).to_hex(),
        offline_gates: gates,
        steps: Vec::new(),
        total_seconds: 0.0,
    };
    if let Some(key) = &opts.signing_key {
        t.step("signed manifest", || -> Result<(), BuildError> {
            write_manifest(out, &info, &opts.profile, key)?;
            Ok(())
        })?;
    }
    info.steps = t.steps;
    info.total_seconds = started.elapsed().as_secs_f64();
    write_json(&out.join("build-info.json"), &info)?;
    Ok(info)
}

fn write_manifest(
    out: &Path,
    info: &BuildInfo,
    profile: &Path,
    key: &Path,
) -> Result<(), BuildError> {
    let key = manifest::SigningKey::load(key)?;
    let profile_bytes = fs::read(profile).map_err(io_err("cannot read", profile))?;
    let inputs = manifest::ManifestInputs {
        name: info.name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        image_file: "disk.raw".into(),
        partitions: info
            .partitions
            .iter()
            .map(|p| manifest::PartitionSpec {
                name: p.name.clone(),
                label: None,
                offset: p.offset,
                size: p.size,
            })
            .collect(),
        verity: Some(manifest::Verity {
            root_hash: info.verity.root_hash.clone(),
            salt: info.verity.salt.clone(),
            hash_algorithm: info.verity.hash_algorithm.clone(),
            data_block_size: info.verity.data_block_size,
            hash_block_size: info.verity.hash_block_size,
            data_partition: "root".into(),
            hash_partition: "root-verity".into(),
            hash_offset: 0,
        }),
        sbom: None,
        files: vec![
            "packages.lock".into(),
            "disk.qcow2".into(),
            "disk.vmdk".into(),
        ],
        build: manifest::BuildInputs {
            source_commit: "unknown".into(),
            source_date_epoch: info.source_date_epoch,
            profile: info.name.clone(),
            profile_sha256: Sha256::of(&profile_bytes),
            package_lock_sha256: Sha256::from_hex(&info.lock_sha256),
            builder_version: env!("CARGO_PKG_VERSION").to_owned(),
            extra: [
                ("kernel".to_owned(), info.kernel_release.clone()),
                ("suite".to_owned(), info.suite.clone()),
            ]
            .into_iter()
            .collect(),
        },
    };
    manifest::write_signed_manifest(out, &inputs, &key)?;
    Ok(())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), BuildError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| BuildError::Io {
        action: "cannot serialise",
        path: path.to_owned(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    fs::write(path, text).map_err(io_err("cannot write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_ttys0_is_the_last_console_and_root_comes_first() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml");
        let profile = Profile::load(&path).unwrap();
        let cmd = kernel_cmdline(&profile, &"ab".repeat(32));
        assert!(
            cmd.starts_with("root=/dev/mapper/root rootfstype=erofs ro sqlassess.roothash=abab")
        );
        let last_console = cmd.split(' ').rfind(|a| a.starts_with("console="));
        assert_eq!(last_console, Some("console=ttyS0,115200"));
        assert!(cmd.contains("lockdown=confidentiality"));
    }

    #[test]
    fn salt_is_stable_per_name() {
        assert_eq!(verity_salt("a"), verity_salt("a"));
        assert_ne!(verity_salt("a"), verity_salt("b"));
        assert_eq!(verity_salt("a").len(), 64);
    }
}
