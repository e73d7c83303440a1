//! `image-builder build`: the steps from a profile to a bootable, verified disk.
//!
//! ```text
//! source commit (git), crate list (cargo metadata, with an assessor binary)
//! [1] mmdebstrap (packages, initramfs with the verity hook)
//!       -> lock check / lock write
//! [2] boot files out, build packages purged, harden (overlay, sysctl,
//!     units, users, fstab), /var split off
//! [3] offline gates
//! [4] erofs root  [5] dm-verity tree  [6] ext4 /var
//! [7] UKI (root hash on the command line) -> FAT ESP
//! [8] GPT disk.raw  [9] qcow2 + VMDK
//! [10] SBOM, digests, build-info.json (+ signed manifest with a key)
//! ```
//!
//! Each numbered [`Step`] is reported to the caller's progress callback
//! ([`StepEvent`]) and timed in `build-info.json`.
//!
//! The output folder holds `disk.raw`, `disk.qcow2`, `disk.vmdk`,
//! `build-info.json`, `packages.lock`, `offline-gates.json`,
//! `sbom.cdx.json` (and, with a signing key, `manifest.json` and its
//! signature); `work/` keeps the intermediate trees and partition images
//! (the offline gates read `work/rootfs`). [`report`] lists them for
//! `build --json`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::crates::{self, CratesError};
use crate::disk::{self, DiskError, PartitionInfo, VerityInfo};
use crate::harden::{self, Assessor, VAR_PARTUUID};
use crate::manifest::{self, Sha256};
use crate::path_error::{PathError, io_err};
use crate::profile::Profile;
use crate::prune;
use crate::rootfs::{self, PackageLock, RootfsError};
use crate::sbom;
use crate::secure_boot::{self, DbKey, SecureBootError, SecureBootInfo};
use crate::source::{self, SourceError};
use crate::verify::{self, OfflineReport, VerifyError};
use crate::work_dir;

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
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Crates(#[from] CratesError),
    #[error(transparent)]
    SecureBoot(#[from] SecureBootError),
    #[error(transparent)]
    Prune(#[from] crate::prune::PruneError),
    #[error("the offline gates failed (see {report}):\n  {}", failures.join("\n  "))]
    Gates {
        report: PathBuf,
        failures: Vec<String>,
    },
    #[error(transparent)]
    WorkDir(#[from] work_dir::WorkDirError),
    #[error(transparent)]
    Io(#[from] PathError),
    #[error(
        "the build must run as root (mmdebstrap root mode keeps file ownership); run it with sudo"
    )]
    NotRoot,
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
    /// The source commit to record instead of the git checkout's (builds
    /// from a tarball); see [`crate::source`].
    pub source_commit: Option<String>,
    /// The db key that signs the UKI for UEFI Secure Boot
    /// ([`crate::secure_boot`]); unsigned when `None`.
    pub secure_boot: Option<DbKey>,
}

/// Where downloaded packages are kept between builds unless told otherwise.
pub const DEFAULT_APT_CACHE: &str = "/var/tmp/image-build/apt-cache";

impl BuildOptions {
    /// A build of `profile` into `out` with the placeholder assessor, the
    /// profile's lock, the default apt cache, and nothing signed.
    pub fn new(profile: impl Into<PathBuf>, out: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            profile: profile.into(),
            out: out.into(),
            assessor: None,
            update_lock: false,
            apt_cache: PathBuf::from(DEFAULT_APT_CACHE),
            lock: None,
            signing_key: None,
            source_commit: None,
            secure_boot: None,
        }
    }
}

/// The build's steps, in order. Every build runs all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Rootfs,
    Harden,
    Gates,
    Erofs,
    Verity,
    Var,
    Esp,
    Assemble,
    Convert,
    Manifest,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::Rootfs,
        Step::Harden,
        Step::Gates,
        Step::Erofs,
        Step::Verity,
        Step::Var,
        Step::Esp,
        Step::Assemble,
        Step::Convert,
        Step::Manifest,
    ];

    /// The step's name in progress lines and `build-info.json`.
    pub fn name(self) -> &'static str {
        match self {
            Step::Rootfs => "rootfs (mmdebstrap)",
            Step::Harden => "harden",
            Step::Gates => "offline gates",
            Step::Erofs => "erofs root",
            Step::Verity => "dm-verity",
            Step::Var => "/var (ext4)",
            Step::Esp => "UKI and ESP",
            Step::Assemble => "assemble GPT disk",
            Step::Convert => "qcow2 and VMDK",
            Step::Manifest => "SBOM and manifest",
        }
    }

    /// 1-based position in [`Step::ALL`].
    pub fn number(self) -> usize {
        Step::ALL
            .iter()
            .position(|s| *s == self)
            .map_or(0, |i| i + 1)
    }
}

/// What the build tells its caller as it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepEvent {
    Started(Step),
    /// The step succeeded after so many seconds.
    Finished(Step, f64),
    /// The step failed after so many seconds (the error follows).
    Failed(Step, f64),
}

impl StepEvent {
    /// The text to write to stderr. On a terminal a step is one line,
    /// `[4/10] erofs root ... ` when it starts, completed with `12.4 s` when
    /// it ends; in a log (not a terminal) each event is a whole line.
    pub fn render(&self, tty: bool) -> String {
        let head = |s: Step| format!("[{}/{}] {}", s.number(), Step::ALL.len(), s.name());
        match (*self, tty) {
            (StepEvent::Started(s), true) => format!("{} ... ", head(s)),
            (StepEvent::Finished(_, secs), true) => format!("{secs:.1} s\n"),
            (StepEvent::Failed(_, secs), true) => format!("failed after {secs:.1} s\n"),
            (StepEvent::Started(s), false) => format!("{}\n", head(s)),
            (StepEvent::Finished(s, secs), false) => format!("{}: {secs:.1} s\n", head(s)),
            (StepEvent::Failed(s, secs), false) => {
                format!("{}: failed after {secs:.1} s\n", head(s))
            }
        }
    }
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
    /// The source tree's commit ([`crate::source`]); not in the image.
    pub source_commit: String,
    pub suite: String,
    pub kernel_release: String,
    pub source_date_epoch: u64,
    pub cmdline: String,
    pub verity: VerityInfo,
    pub partitions: Vec<PartitionInfo>,
    pub image: FileDigest,
    pub qcow2: FileDigest,
    pub vmdk: FileDigest,
    /// CycloneDX SBOM: the Debian packages in the image and the Rust crates
    /// in the assessor binary.
    pub sbom: FileDigest,
    pub packages: usize,
    /// Rust crates listed in the SBOM (0 with the placeholder assessor).
    pub crates: usize,
    /// The profile's `[sysctl]` table as applied; the boot test compares
    /// the guest's live values with it.
    pub sysctl: BTreeMap<String, String>,
    /// The profile's `[verify] listening_allow`: sockets the boot test lets
    /// the guest have besides DHCP (the break-glass image's `tcp:22`).
    pub listening_allow: Vec<String>,
    pub lock: String,
    pub lock_sha256: String,
    pub offline_gates: OfflineReport,
    /// The UKI's Secure Boot signature and the db certificate it needs;
    /// `null`: the UKI is unsigned (boots only with Secure Boot off).
    pub secure_boot: Option<SecureBootInfo>,
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
    progress: &'a mut dyn FnMut(&StepEvent),
}

impl Timer<'_> {
    fn step<T, E>(&mut self, step: Step, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        (self.progress)(&StepEvent::Started(step));
        let start = Instant::now();
        let r = f();
        let seconds = start.elapsed().as_secs_f64();
        if r.is_ok() {
            (self.progress)(&StepEvent::Finished(step, seconds));
            self.steps.push(StepTime {
                step: step.name().to_owned(),
                seconds,
            });
        } else {
            (self.progress)(&StepEvent::Failed(step, seconds));
        }
        r
    }
}

/// The folder the build's source questions are asked in (git, cargo): the
/// profile's, which lives in the workspace.
fn profile_dir(profile: &Path) -> PathBuf {
    match profile.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The Rust crates to list in the SBOM: those compiled into the assessor
/// (`cargo metadata` of the workspace holding `dir`), none for the
/// placeholder. Assumes the binary was built from this workspace with its
/// default features (`cargo build --release --locked -p assessor`).
pub fn assessor_crates(
    assessor: &Assessor,
    dir: &Path,
    debian_arch: &str,
) -> Result<Vec<crates::Crate>, BuildError> {
    match assessor {
        Assessor::Placeholder => Ok(Vec::new()),
        Assessor::Binary(_) => Ok(crates::from_workspace(
            dir,
            "assessor",
            crates::target_for(debian_arch)?,
            false,
        )?),
    }
}

/// The SBOM's components: what ships from the lock (build-only packages
/// left out) and the assessor's crates.
pub fn sbom_components(
    lock: &PackageLock,
    profile: &Profile,
    crates: &[crates::Crate],
) -> Vec<sbom::Component> {
    lock.packages
        .iter()
        .filter_map(|pin| pin.split_once('='))
        .filter(|(name, _)| {
            !profile
                .build_packages
                .iter()
                .chain(&profile.prune_packages)
                .any(|b| b == name)
        })
        .map(|(name, version)| sbom::Component::Deb {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: profile.architecture.clone(),
        })
        .chain(crates.iter().cloned().map(sbom::Component::from))
        .collect()
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

/// Builds the image, calling `progress` at the start and end of each [`Step`].
pub fn build(
    opts: &BuildOptions,
    progress: &mut dyn FnMut(&StepEvent),
) -> Result<BuildInfo, BuildError> {
    if !is_root() {
        return Err(BuildError::NotRoot);
    }
    let started = Instant::now();
    let profile = Profile::load(&opts.profile)?;
    // The questions about the source first: they are quick and fail fast.
    let source_dir = profile_dir(&opts.profile);
    let source_commit = source::resolve(opts.source_commit.as_deref(), &source_dir)?;
    let assessor = match &opts.assessor {
        Some(p) => Assessor::Binary(p.clone()),
        None => Assessor::Placeholder,
    };
    let assessor_crates = assessor_crates(&assessor, &source_dir, &profile.architecture)?;
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
    // A signature (or a Secure Boot certificate) left by an earlier build
    // must never sit next to this image.
    for stale in [
        manifest::MANIFEST_FILE,
        manifest::SIGNATURE_FILE,
        secure_boot::CERT_FILE,
        secure_boot::AWS_UEFI_DATA_FILE,
    ] {
        let path = out.join(stale);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("cannot remove the stale", &path)(e).into()),
        }
    }
    let work = out.join("work");
    work_dir::clear(&work)?;
    fs::create_dir_all(&work).map_err(io_err("cannot create", &work))?;
    let tree = work.join("rootfs");
    let mut t = Timer {
        steps: Vec::new(),
        progress,
    };
    let resolve = |p: &Option<PathBuf>| p.as_ref().map(|p| Profile::resolve(&opts.profile, p));

    let lock = t.step(Step::Rootfs, || -> Result<_, BuildError> {
        rootfs::bootstrap(&rootfs::Bootstrap {
            profile: &profile,
            pre_install: resolve(&profile.pre_install),
            target: tree.clone(),
            apt_cache: opts.apt_cache.clone(),
            pins: lock.as_ref(),
            source_date_epoch: epoch,
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
        Ok(lock)
    })?;

    // /var becomes its own partition; the root keeps an empty mount point.
    let var_tree = work.join("var");
    let boot = t.step(Step::Harden, || -> Result<_, BuildError> {
        let boot = harden::extract_boot_files(&tree, &work.join("boot"))?;
        harden::purge_packages(&tree, &profile.build_packages)?;
        harden::apply(
            &tree,
            &profile,
            &profile
                .overlay
                .iter()
                .map(|p| Profile::resolve(&opts.profile, p))
                .collect::<Vec<_>>(),
            &assessor,
        )?;
        prune::prune(&tree, &profile.prune_packages, &profile.prune_paths)?;
        fs::rename(tree.join("var"), &var_tree)
            .map_err(io_err("cannot move /var out of", &tree))?;
        fs::create_dir(tree.join("var")).map_err(io_err("cannot create /var in", &tree))?;
        Ok(boot)
    })?;

    let gates = t.step(Step::Gates, || {
        verify::offline(&tree, &[(var_tree.clone(), "/var")], &profile, &work)
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
    t.step(Step::Erofs, || disk::make_erofs(&tree, &root_img, epoch))?;
    let verity = t.step(Step::Verity, || {
        disk::make_verity(&root_img, &verity_img, &verity_salt(&profile.name))
    })?;
    t.step(Step::Var, || {
        disk::make_var(&var_tree, &var_img, profile.disk.var_mib, epoch)
    })?;
    let cmdline = kernel_cmdline(&profile, &verity.root_hash);
    let esp_img = work.join("esp.vfat");
    let secure_boot = t.step(Step::Esp, || -> Result<_, BuildError> {
        let uki = work.join("BOOTX64.EFI");
        disk::make_uki(&boot, &cmdline, &work, &uki, epoch)?;
        // Signed (and verified) before the ESP is written.
        let signed = match &opts.secure_boot {
            Some(key) => Some(secure_boot::sign_build(key, &uki, out, epoch)?),
            None => None,
        };
        disk::make_esp(&uki, &esp_img, profile.disk.esp_mib, epoch)?;
        Ok(signed)
    })?;

    let (root_uuid, verity_uuid) =
        disk::partuuids_from_root_hash(&verity.root_hash).ok_or_else(|| DiskError::NoRootHash {
            output: verity.root_hash.clone(),
        })?;
    let size = |p: &Path| {
        fs::metadata(p)
            .map(|m| m.len())
            .map_err(io_err("cannot stat", p))
    };
    let mut partitions = vec![
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
    ];
    if profile.disk.session_mib > 0 {
        // Blank: the appliance formats it under a per-boot dm-crypt key.
        let session_img = work.join("session.blank");
        let bytes = profile.disk.session_mib * 1024 * 1024;
        fs::File::create(&session_img)
            .and_then(|f| f.set_len(bytes))
            .map_err(io_err("cannot create", &session_img))?;
        partitions.push((
            "session".into(),
            disk::TYPE_LINUX_DATA.into(),
            disk::SESSION_PARTUUID.into(),
            session_img,
            bytes,
        ));
    }
    let (mut parts, disk_size) = disk::layout(partitions);
    let raw = out.join("disk.raw");
    t.step(Step::Assemble, || -> Result<(), BuildError> {
        disk::assemble(&parts, disk_size, &raw)?;
        for p in &mut parts {
            // Each partition image is exactly its partition (sizes are whole MiB).
            p.sha256 = Sha256::of_file(&p.source)?.0.to_hex();
        }
        Ok(())
    })?;
    t.step(Step::Convert, || {
        disk::convert(&raw, &out.join("disk.qcow2"), &out.join("disk.vmdk"))
    })?;

    let mut info = t.step(Step::Manifest, || -> Result<BuildInfo, BuildError> {
        let components = sbom_components(&lock, &profile, &assessor_crates);
        let doc = sbom::cyclonedx(&profile.name, env!("CARGO_PKG_VERSION"), epoch, &components);
        let sbom_path = out.join(sbom::FILE_NAME);
        fs::write(&sbom_path, sbom::to_bytes(&doc)).map_err(io_err("cannot write", &sbom_path))?;

        let lock_text = fs::read(out.join("packages.lock")).map_err(io_err("cannot read", out))?;
        let info = BuildInfo {
            name: profile.name.clone(),
            source_commit: source_commit.clone(),
            suite: profile.suite.clone(),
            kernel_release: boot.kernel_release.clone(),
            source_date_epoch: epoch,
            cmdline: cmdline.clone(),
            verity: verity.clone(),
            partitions: parts.clone(),
            image: digest(out, "disk.raw")?,
            qcow2: digest(out, "disk.qcow2")?,
            vmdk: digest(out, "disk.vmdk")?,
            sbom: digest(out, sbom::FILE_NAME)?,
            packages: lock.packages.len(),
            crates: assessor_crates.len(),
            sysctl: profile.sysctl.clone(),
            listening_allow: profile.verify.listening_allow.clone(),
            lock: lock_path.display().to_string(),
            lock_sha256: Sha256::of(&lock_text).to_hex(),
            offline_gates: gates.clone(),
            secure_boot: secure_boot.clone(),
            steps: Vec::new(),
            total_seconds: 0.0,
        };
        if let Some(key) = &opts.signing_key {
            write_manifest(out, &info, &opts.profile, key)?;
        }
        Ok(info)
    })?;
    info.steps = t.steps;
    info.total_seconds = started.elapsed().as_secs_f64();
    write_json(&out.join("build-info.json"), &info)?;
    Ok(info)
}

/// What `image-builder build --json` prints: one document for CI.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// Always true here; a failed gate prints `passed: false` and the failures.
    pub passed: bool,
    pub name: String,
    /// The output folder.
    pub out: PathBuf,
    pub source_commit: String,
    /// The dm-verity root hash (also on the kernel command line).
    pub root_hash: String,
    /// Whether `manifest.json` and its signature were written.
    pub signed: bool,
    pub steps: Vec<StepTime>,
    pub total_seconds: f64,
    /// Every file the build wrote to the output folder, by name.
    pub files: Vec<FileDigest>,
}

/// The files a build leaves in `out` besides the digests `info` holds.
const SIDE_FILES: [&str; 3] = ["packages.lock", "offline-gates.json", "build-info.json"];

/// The report of a finished build in `out`.
pub fn report(out: &Path, info: &BuildInfo) -> Result<BuildReport, BuildError> {
    let signed = out.join(manifest::SIGNATURE_FILE).is_file();
    let mut names: Vec<&str> = SIDE_FILES.to_vec();
    if signed {
        names.extend([manifest::MANIFEST_FILE, manifest::SIGNATURE_FILE]);
    }
    if let Some(sb) = &info.secure_boot {
        names.extend([sb.db_cert_file.as_str(), sb.aws_uefi_data.as_str()]);
    }
    let known = [&info.image, &info.qcow2, &info.vmdk, &info.sbom];
    Ok(BuildReport {
        passed: true,
        name: info.name.clone(),
        out: out.to_owned(),
        source_commit: info.source_commit.clone(),
        root_hash: info.verity.root_hash.clone(),
        signed,
        steps: info.steps.clone(),
        total_seconds: info.total_seconds,
        files: output_files(out, &known, &names)?,
    })
}

/// `known` digests as they are, plus the digests of the files `names` in
/// `dir`, sorted by name.
fn output_files(
    dir: &Path,
    known: &[&FileDigest],
    names: &[&str],
) -> Result<Vec<FileDigest>, BuildError> {
    let mut files: Vec<FileDigest> = known.iter().map(|f| (*f).clone()).collect();
    for name in names {
        files.push(digest(dir, name)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// What the signed manifest records for a build.
fn manifest_inputs(info: &BuildInfo, profile_bytes: &[u8]) -> manifest::ManifestInputs {
    manifest::ManifestInputs {
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
        sbom: Some((sbom::FORMAT.into(), sbom::FILE_NAME.into())),
        files: [
            "packages.lock".to_owned(),
            "disk.qcow2".to_owned(),
            "disk.vmdk".to_owned(),
        ]
        .into_iter()
        .chain(
            info.secure_boot
                .iter()
                .flat_map(|sb| [sb.db_cert_file.clone(), sb.aws_uefi_data.clone()]),
        )
        .collect(),
        build: manifest::BuildInputs {
            source_commit: info.source_commit.clone(),
            source_date_epoch: info.source_date_epoch,
            profile: info.name.clone(),
            profile_sha256: Sha256::of(profile_bytes),
            package_lock_sha256: Sha256::from_hex(&info.lock_sha256),
            builder_version: env!("CARGO_PKG_VERSION").to_owned(),
            extra: [
                ("kernel".to_owned(), info.kernel_release.clone()),
                ("suite".to_owned(), info.suite.clone()),
                // Which db certificate the firmware must hold to boot it.
                (
                    "uki".to_owned(),
                    if info.secure_boot.is_some() {
                        "signed"
                    } else {
                        "unsigned"
                    }
                    .to_owned(),
                ),
            ]
            .into_iter()
            .chain(info.secure_boot.iter().map(|sb| {
                (
                    "secure_boot_db_cert_sha256".to_owned(),
                    sb.db_cert_sha256.clone(),
                )
            }))
            .collect(),
        },
    }
}

fn write_manifest(
    out: &Path,
    info: &BuildInfo,
    profile: &Path,
    key: &Path,
) -> Result<(), BuildError> {
    let key = manifest::SigningKey::load(key)?;
    // A variant's inputs are its base and itself.
    let mut profile_bytes = Vec::new();
    for file in Profile::load(profile)?
        .base
        .iter()
        .map(PathBuf::as_path)
        .chain([profile])
    {
        profile_bytes.extend(fs::read(file).map_err(io_err("cannot read", file))?);
    }
    manifest::write_signed_manifest(out, &manifest_inputs(info, &profile_bytes), &key)?;
    Ok(())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), BuildError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| io_err("cannot serialise", path)(std::io::Error::other(e)))?;
    text.push('\n');
    Ok(fs::write(path, text).map_err(io_err("cannot write", path))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_ttys0_is_the_last_console_and_root_comes_first() {
        let profile = appliance();
        let cmd = kernel_cmdline(&profile, &"ab".repeat(32));
        assert!(
            cmd.starts_with("root=/dev/mapper/root rootfstype=erofs ro sqlassess.roothash=abab")
        );
        let last_console = cmd.split(' ').rfind(|a| a.starts_with("console="));
        assert_eq!(last_console, Some("console=ttyS0,115200"));
        assert!(cmd.contains("lockdown=confidentiality"));
    }

    fn appliance() -> Profile {
        Profile::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml"))
            .unwrap()
    }

    fn file(path: &str, size: u64) -> FileDigest {
        FileDigest {
            path: path.into(),
            size,
            sha256: "00".repeat(32),
        }
    }

    fn info(source_commit: &str) -> BuildInfo {
        BuildInfo {
            name: "sqlassess-appliance".into(),
            source_commit: source_commit.into(),
            suite: "trixie".into(),
            kernel_release: "6.12.0-cloud-amd64".into(),
            source_date_epoch: 1_700_000_000,
            cmdline: "root=/dev/mapper/root".into(),
            verity: VerityInfo {
                root_hash: "ab".repeat(32),
                salt: "cd".repeat(32),
                hash_algorithm: "sha256".into(),
                data_block_size: 4096,
                hash_block_size: 4096,
            },
            partitions: Vec::new(),
            image: file("disk.raw", 3 << 20),
            qcow2: file("disk.qcow2", 2 << 20),
            vmdk: file("disk.vmdk", 2 << 20),
            sbom: file("sbom.cdx.json", 100),
            packages: 2,
            crates: 0,
            sysctl: BTreeMap::new(),
            listening_allow: Vec::new(),
            lock: "appliance.lock".into(),
            lock_sha256: "ef".repeat(32),
            offline_gates: OfflineReport::default(),
            secure_boot: None,
            steps: vec![StepTime {
                step: Step::Erofs.name().into(),
                seconds: 12.4,
            }],
            total_seconds: 90.0,
        }
    }

    #[test]
    fn steps_are_numbered_and_timed_on_a_terminal_and_in_a_log() {
        assert_eq!(Step::Rootfs.number(), 1);
        assert_eq!(Step::Manifest.number(), Step::ALL.len());
        let start = StepEvent::Started(Step::Erofs);
        let end = StepEvent::Finished(Step::Erofs, 12.44);
        // A terminal: one line per step, completed in place.
        assert_eq!(
            start.render(true) + &end.render(true),
            "[4/10] erofs root ... 12.4 s\n"
        );
        // A log: whole lines, so that a hung step shows which one.
        assert_eq!(start.render(false), "[4/10] erofs root\n");
        assert_eq!(end.render(false), "[4/10] erofs root: 12.4 s\n");
        assert_eq!(
            StepEvent::Failed(Step::Gates, 3.0).render(true),
            "failed after 3.0 s\n"
        );
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique);
    }

    #[test]
    fn the_manifest_records_the_source_commit_and_the_sbom() {
        let inputs = manifest_inputs(&info("0123abcd-dirty"), b"name = 'x'");
        assert_eq!(inputs.build.source_commit, "0123abcd-dirty");
        assert_eq!(
            inputs.sbom,
            Some(("CycloneDX-1.5-json".into(), "sbom.cdx.json".into()))
        );
    }

    #[test]
    fn a_secure_boot_build_names_its_db_certificate_in_the_manifest() {
        let unsigned = manifest_inputs(&info("abc"), b"");
        assert_eq!(unsigned.build.extra["uki"], "unsigned");
        assert!(
            !unsigned
                .build
                .extra
                .contains_key("secure_boot_db_cert_sha256")
        );
        let mut signed = info("abc");
        signed.secure_boot = Some(SecureBootInfo {
            uki_signed: true,
            db_cert_sha256: "12".repeat(32),
            db_cert_subject: "CN=x".into(),
            db_cert_file: secure_boot::CERT_FILE.into(),
            aws_uefi_data: secure_boot::AWS_UEFI_DATA_FILE.into(),
        });
        let inputs = manifest_inputs(&signed, b"");
        assert_eq!(inputs.build.extra["uki"], "signed");
        assert_eq!(
            inputs.build.extra["secure_boot_db_cert_sha256"],
            "12".repeat(32)
        );
        assert!(inputs.files.iter().any(|f| f == "secure-boot-db.crt"));
        assert!(inputs.files.iter().any(|f| f == "uefi-data.aws"));
    }

    #[test]
    fn the_json_report_lists_steps_files_with_digests_and_the_root_hash() {
        let dir = tempfile::tempdir().unwrap();
        for name in SIDE_FILES {
            fs::write(dir.path().join(name), name).unwrap();
        }
        let r = report(dir.path(), &info("abc")).unwrap();
        assert!(!r.signed);
        assert_eq!(r.root_hash, "ab".repeat(32));
        assert_eq!(r.source_commit, "abc");
        assert_eq!(r.steps[0].step, "erofs root");
        let names: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            names,
            [
                "build-info.json",
                "disk.qcow2",
                "disk.raw",
                "disk.vmdk",
                "offline-gates.json",
                "packages.lock",
                "sbom.cdx.json"
            ]
        );
        let lock = r.files.iter().find(|f| f.path == "packages.lock").unwrap();
        assert_eq!(lock.size, "packages.lock".len() as u64);
        assert_eq!(lock.sha256, Sha256::of(b"packages.lock").to_hex());

        fs::write(dir.path().join(manifest::MANIFEST_FILE), "{}").unwrap();
        fs::write(dir.path().join(manifest::SIGNATURE_FILE), "{}").unwrap();
        let r = report(dir.path(), &info("abc")).unwrap();
        assert!(r.signed);
        assert!(r.files.iter().any(|f| f.path == "manifest.json.sig"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["steps"][0]["seconds"], 12.4);
    }

    #[test]
    fn the_sbom_lists_shipped_packages_and_crates_and_no_crates_for_the_placeholder() {
        let profile = appliance();
        let lock = PackageLock {
            source_date_epoch: 0,
            packages: vec!["libc6=2.41-12".into(), "systemd-boot-efi=257.9-1".into()],
        };
        // The placeholder never asks cargo (the folder does not even exist).
        let none =
            assessor_crates(&Assessor::Placeholder, Path::new("/nonexistent"), "amd64").unwrap();
        assert!(none.is_empty());
        let comps = sbom_components(&lock, &profile, &none);
        assert_eq!(
            comps.len(),
            1,
            "build-only packages are left out: {comps:?}"
        );

        let tokio = crates::Crate {
            name: "tokio".into(),
            version: "1.0.0".into(),
            license: Some("MIT".into()),
            source: None,
        };
        let comps = sbom_components(&lock, &profile, std::slice::from_ref(&tokio));
        assert_eq!(comps.len(), 2);
        assert_eq!(comps[1], sbom::Component::from(tokio));
    }

    #[test]
    fn salt_is_stable_per_name() {
        assert_eq!(verity_salt("a"), verity_salt("a"));
        assert_ne!(verity_salt("a"), verity_salt("b"));
        assert_eq!(verity_salt("a").len(), 64);
    }
}
