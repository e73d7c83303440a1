//! The boot test: the image under qemu (TCG, OVMF), its serial console read
//! line by line, and what the appliance reports there.
//!
//! The image reports on its serial console (`console=ttyS0` is the last
//! console argument):
//! - the initramfs: `sqlassess-verity: root <hash> status: verified`;
//! - the assessor unit: `sqlassess-assessor: started ...` (the placeholder) or
//!   the assessor's own start line;
//! - `sqlassess-boot-status.service`, once systemd has finished booting:
//!   `state=`, `failed=`, `listening=`, `modules_disabled=`, one
//!   `sysctl KEY=VALUE` (or `sysctl KEY unreadable`) per key of the image's
//!   sysctl drop-in, `lockdown=` (`/sys/kernel/security/lockdown`, or
//!   `absent`), then `done`.
//!
//! The live sysctls are compared with the profile's `[sysctl]` table and the
//! lockdown mode with the kernel command line's `lockdown=`, both as the
//! build recorded them in `build-info.json` ([`Expected`]).
//!
//! With Secure Boot ([`BootOptions::with_secure_boot`]) the firmware is
//! OVMF's Secure Boot build with SMM, and the variable store one that
//! [`crate::secure_boot::enroll_ovmf_vars`] made: the kernel's
//! `secureboot: Secure boot enabled` line is recorded, and so is the
//! firmware's refusal of an image it does not trust (`BdsDxe: failed to load
//! ... Access Denied`), which ends the boot at once.
//!
//! The tamper test flips bytes of the root partition and expects the boot to
//! stop before any of that: dm-verity reports the corruption and the
//! initramfs or the kernel panics and reboots, which `-no-reboot` turns into
//! qemu's exit.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::path_error::{PathError, io_err};
use crate::tool::{self, ToolError};

/// Why the boot test could not run (a boot that fails its checks is an
/// [`BootOutcome`] that does not pass, not an error).
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Io(#[from] PathError),
    #[error("OVMF firmware {path} is missing: install the Debian package ovmf")]
    NoFirmware { path: PathBuf },
}

/// How to boot.
#[derive(Debug, Clone)]
pub struct BootOptions {
    /// The raw disk image (booted with `snapshot=on`: never modified).
    pub image: PathBuf,
    /// Folder for the firmware variables and the console log.
    pub work: PathBuf,
    pub timeout: Duration,
    pub memory_mib: u32,
    pub ovmf_code: PathBuf,
    pub ovmf_vars: PathBuf,
    /// `-nic` arguments, one per network card. The default is one card on
    /// a restricted user-mode network (DHCP only, nothing reachable).
    pub nics: Vec<String>,
    /// Boot with `snapshot=on` (the image file is never modified). Off when
    /// the test wants to inspect what the guest wrote.
    pub snapshot: bool,
    /// Keep reading the console after the boot report, until the guest
    /// powers off (qemu exits) or the timeout: for a boot that runs the job.
    pub until_power_off: bool,
    /// Secure Boot firmware: SMM on and the variable flash secure, so the
    /// guest cannot write the enrolled keys around the firmware.
    pub secure_boot: bool,
}

impl BootOptions {
    /// Defaults for this machine: Debian's 4 MiB OVMF, 1.5 GiB, 7 minutes
    /// (a boot takes about 2 minutes under TCG on 2 shared cores).
    pub fn new(image: PathBuf, work: PathBuf) -> BootOptions {
        BootOptions {
            image,
            work,
            timeout: Duration::from_secs(420),
            memory_mib: 1536,
            ovmf_code: PathBuf::from("/usr/share/OVMF/OVMF_CODE_4M.fd"),
            ovmf_vars: PathBuf::from("/usr/share/OVMF/OVMF_VARS_4M.fd"),
            nics: vec!["user,model=virtio-net-pci,restrict=on".into()],
            snapshot: true,
            until_power_off: false,
            secure_boot: false,
        }
    }

    /// Boots with Secure Boot enforced: [`OVMF_CODE_SECBOOT`] and `vars`, a
    /// variable store with the db certificate enrolled and Secure Boot on
    /// ([`crate::secure_boot::enroll_ovmf_vars`]).
    ///
    /// [`OVMF_CODE_SECBOOT`]: crate::secure_boot::OVMF_CODE_SECBOOT
    pub fn with_secure_boot(mut self, vars: PathBuf) -> BootOptions {
        self.ovmf_code = PathBuf::from(crate::secure_boot::OVMF_CODE_SECBOOT);
        self.ovmf_vars = vars;
        self.secure_boot = true;
        self
    }
}

/// What the console showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BootOutcome {
    /// Seconds from qemu's start to the boot-status report (or the end).
    pub seconds: f64,
    /// The initramfs opened the root with dm-verity and it reported `verified`.
    pub verity_verified: bool,
    /// The assessor unit printed its start line.
    pub assessor_started: bool,
    /// `systemctl is-system-running --wait` inside the guest.
    pub state: Option<String>,
    pub failed_units: Vec<String>,
    pub listening: Vec<String>,
    pub modules_disabled: Option<String>,
    /// Live values of the image's sysctls, whitespace collapsed; `None`: the
    /// guest could not read the key.
    pub sysctl: BTreeMap<String, Option<String>>,
    /// `/sys/kernel/security/lockdown`, e.g. `none integrity
    /// [confidentiality]`, or `absent`; `None` when not reported.
    pub lockdown: Option<String>,
    /// dm-verity or the initramfs refused the root.
    pub refused: bool,
    /// The kernel's `secureboot:` line: `Some(true)` for "Secure boot
    /// enabled", `Some(false)` for disabled, `None` when not seen.
    pub secure_boot: Option<bool>,
    /// The firmware refused to run the boot loader (Secure Boot: the UKI is
    /// unsigned or signed by a key the db does not hold).
    pub firmware_refused: bool,
    /// qemu exited by itself (a reboot or power-off).
    pub qemu_exited: bool,
    pub timed_out: bool,
    /// The console log file.
    pub console_log: PathBuf,
}

impl BootOutcome {
    /// Whether a bound socket (`proto:hexaddr:hexport` from /proc/net) is
    /// allowed: the DHCP client's UDP port 68, and the profile's `[verify]
    /// listening_allow` entries (`tcp:22`), on any IPv4 address. IPv6
    /// sockets never are: the appliance's network is IPv4 only.
    pub fn allowed_listening(socket: &str, allow: &[String]) -> bool {
        let Some((proto, rest)) = socket.split_once(':') else {
            return false;
        };
        let Some(port) = rest
            .rsplit_once(':')
            .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
        else {
            return false;
        };
        (proto == "udp" && port == 68)
            || allow
                .iter()
                .filter_map(|a| crate::profile::listening_port(a))
                .any(|(p, n)| p == proto && n == port)
    }

    /// The profile's sysctls whose live value differs or is missing.
    pub fn sysctl_mismatches(&self, expected: &Expected) -> Vec<SysctlMismatch> {
        sysctl_mismatches(&expected.sysctl, &self.sysctl)
    }

    /// Everything the boot test asserts, as failures in words.
    pub fn failures(&self, expected: &Expected) -> Vec<String> {
        let mut f = Vec::new();
        if !self.verity_verified {
            f.push("dm-verity did not report the root verified".to_owned());
        }
        if !self.assessor_started {
            f.push("assessor.service did not start".to_owned());
        }
        match self.state.as_deref() {
            Some("running") => {}
            other => f.push(format!("system state is {other:?}, not \"running\"")),
        }
        if !self.failed_units.is_empty() {
            f.push(format!("failed units: {}", self.failed_units.join(" ")));
        }
        let unexpected: Vec<&String> = self
            .listening
            .iter()
            .filter(|s| !Self::allowed_listening(s, &expected.listening_allow))
            .collect();
        if !unexpected.is_empty() {
            f.push(format!("listening sockets: {unexpected:?}"));
        }
        if self.modules_disabled.as_deref() != Some("1") {
            f.push(format!(
                "module loading not disabled (modules_disabled={:?})",
                self.modules_disabled
            ));
        }
        let mismatches = self.sysctl_mismatches(expected);
        if !mismatches.is_empty() {
            let keys: Vec<String> = mismatches.iter().map(|m| m.to_string()).collect();
            f.push(format!(
                "sysctls differ from the profile: {}",
                keys.join("; ")
            ));
        }
        if let Some(want) = &expected.lockdown {
            let live = self.lockdown.as_deref();
            if live.and_then(active_lockdown) != Some(want.as_str()) {
                f.push(format!(
                    "kernel lockdown is {live:?}, the command line asks for lockdown={want}"
                ));
            }
        }
        f
    }
}

/// What the booted image must show, from its build's `build-info.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// The profile's `[sysctl]` table.
    pub sysctl: BTreeMap<String, String>,
    /// The mode the kernel command line's `lockdown=` asks for, if any.
    pub lockdown: Option<String>,
    /// The profile's `[verify] listening_allow` (empty when the build
    /// recorded none).
    pub listening_allow: Vec<String>,
}

impl Expected {
    /// Reads the expectations from a build's `build-info.json`.
    pub fn from_build_info(path: &Path) -> Result<Expected, BootError> {
        let text = fs::read_to_string(path).map_err(io_err("cannot read", path))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| io_err("cannot parse", path)(std::io::Error::other(e)))?;
        let old = |what: &str| {
            io_err("cannot read the expected", path)(std::io::Error::other(format!(
                "no {what}: rebuild the image with this image-builder"
            )))
        };
        let table = v["sysctl"].as_object().ok_or_else(|| old("sysctl table"))?;
        let mut sysctl = BTreeMap::new();
        for (k, val) in table {
            let val = val.as_str().ok_or_else(|| old("string sysctl values"))?;
            sysctl.insert(k.clone(), val.to_owned());
        }
        let cmdline = v["cmdline"]
            .as_str()
            .ok_or_else(|| old("kernel command line"))?;
        let listening_allow = v["listening_allow"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Expected {
            sysctl,
            lockdown: cmdline_lockdown(cmdline),
            listening_allow,
        })
    }
}

/// The last `lockdown=` of a kernel command line.
pub fn cmdline_lockdown(cmdline: &str) -> Option<String> {
    cmdline
        .split_whitespace()
        .filter_map(|a| a.strip_prefix("lockdown="))
        .next_back()
        .map(str::to_owned)
}

/// The active mode of `/sys/kernel/security/lockdown` (`none integrity
/// [confidentiality]` -> `confidentiality`).
pub fn active_lockdown(modes: &str) -> Option<&str> {
    modes
        .split_whitespace()
        .find_map(|m| m.strip_prefix('[').and_then(|m| m.strip_suffix(']')))
}

/// A sysctl of the profile that the guest does not have as the profile says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlMismatch {
    pub key: String,
    /// The profile's value.
    pub expected: String,
    /// The live value; `None` when the guest could not read it or did not
    /// report it (`reported` tells which).
    pub live: Option<String>,
    pub reported: bool,
}

impl fmt::Display for SysctlMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.live, self.reported) {
            (Some(live), _) => write!(
                f,
                "{} is {live}, the profile says {}",
                self.key, self.expected
            ),
            (None, true) => write!(
                f,
                "{} is unreadable in the guest, the profile says {}",
                self.key, self.expected
            ),
            (None, false) => write!(
                f,
                "{} was not reported by the guest, the profile says {}",
                self.key, self.expected
            ),
        }
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Compares the profile's sysctls with the live ones (whitespace-insensitive,
/// as multi-value keys are tab-separated in /proc/sys). Every key is
/// checked: the reporter reads the BPF JIT keys, which the kernel shows to
/// CAP_SYS_ADMIN alone, in a privileged pre-step of its unit.
pub fn sysctl_mismatches(
    expected: &BTreeMap<String, String>,
    live: &BTreeMap<String, Option<String>>,
) -> Vec<SysctlMismatch> {
    expected
        .iter()
        .filter_map(|(key, want)| {
            let got = live.get(key);
            let same = matches!(got, Some(Some(v)) if collapse(v) == collapse(want));
            (!same).then(|| SysctlMismatch {
                key: key.clone(),
                expected: want.clone(),
                live: got.cloned().flatten(),
                reported: got.is_some(),
            })
        })
        .collect()
}

/// Strips terminal escapes and carriage returns from a console line.
pub fn clean_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// Updates the outcome from one console line; true when the report is complete.
pub fn observe(outcome: &mut BootOutcome, line: &str) -> bool {
    if line.contains("sqlassess-verity: root") && line.trim_end().ends_with("status: verified") {
        outcome.verity_verified = true;
    }
    if line.contains("sqlassess-assessor: started") {
        outcome.assessor_started = true;
    }
    if line.contains("refusing to boot")
        || line.contains("is corrupted")
        || line.contains("dm-verity device corrupted")
    {
        outcome.refused = true;
    }
    if line.contains("secureboot: Secure boot enabled") {
        outcome.secure_boot = Some(true);
    } else if line.contains("secureboot: Secure boot disabled") {
        outcome.secure_boot = Some(false);
    }
    if line.contains("BdsDxe: failed to load")
        && (line.contains("Access Denied") || line.contains("Security Violation"))
    {
        // Nothing of the image will run: the rest is network boot attempts.
        outcome.firmware_refused = true;
        return true;
    }
    if let Some((_, rest)) = line.split_once("sqlassess-boot-status: ") {
        let rest = rest.trim();
        if let Some(v) = rest.strip_prefix("state=") {
            outcome.state = Some(v.to_owned());
        } else if let Some(v) = rest.strip_prefix("failed=") {
            if v != "none" {
                outcome.failed_units = v.split_whitespace().map(str::to_owned).collect();
            }
        } else if let Some(v) = rest.strip_prefix("listening=") {
            if v.trim() != "none" {
                outcome.listening = v.split_whitespace().map(str::to_owned).collect();
            }
        } else if let Some(v) = rest.strip_prefix("modules_disabled=") {
            outcome.modules_disabled = Some(v.to_owned());
        } else if let Some(v) = rest.strip_prefix("sysctl ") {
            if let Some((key, value)) = v.split_once('=') {
                outcome
                    .sysctl
                    .insert(key.trim().to_owned(), Some(collapse(value)));
            } else if let Some(key) = v.strip_suffix(" unreadable") {
                outcome.sysctl.insert(key.trim().to_owned(), None);
            }
        } else if let Some(v) = rest.strip_prefix("lockdown=") {
            outcome.lockdown = Some(collapse(v));
        } else if rest == "done" {
            return true;
        }
    }
    false
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots the image and reads the console until the boot report, qemu's exit
/// or the timeout.
pub fn boot(opts: &BootOptions) -> Result<BootOutcome, BootError> {
    for fw in [&opts.ovmf_code, &opts.ovmf_vars] {
        if !fw.exists() {
            return Err(BootError::NoFirmware { path: fw.clone() });
        }
    }
    fs::create_dir_all(&opts.work).map_err(io_err("cannot create", &opts.work))?;
    let vars = opts.work.join("OVMF_VARS.fd");
    fs::copy(&opts.ovmf_vars, &vars).map_err(io_err("cannot copy", &opts.ovmf_vars))?;
    let log_path = opts.work.join("console.log");
    let mut log = fs::File::create(&log_path).map_err(io_err("cannot create", &log_path))?;

    let mut cmd = Command::new("qemu-system-x86_64");
    if opts.secure_boot {
        // The Secure Boot OVMF protects its variables in SMM: without
        // smm=on it does not start; with the flash not marked secure the
        // guest OS could rewrite PK/KEK/db directly. S3 off, as the SMM
        // build asks (its S3 resume path is not protected).
        cmd.args([
            "-machine",
            "q35,smm=on",
            "-global",
            "driver=cfi.pflash01,property=secure,value=on",
            "-global",
            "ICH9-LPC.disable_s3=1",
        ]);
    } else {
        cmd.args(["-machine", "q35"]);
    }
    cmd.args([
        "-accel",
        "tcg",
        "-cpu",
        "max",
        "-smp",
        "2",
        "-nodefaults",
        "-no-reboot",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
    ])
    .arg("-m")
    .arg(opts.memory_mib.to_string())
    .arg("-drive")
    .arg(format!(
        "if=pflash,format=raw,unit=0,readonly=on,file={}",
        opts.ovmf_code.display()
    ))
    .arg("-drive")
    .arg(format!(
        "if=pflash,format=raw,unit=1,file={}",
        vars.display()
    ))
    .arg("-drive")
    .arg(format!(
        "if=none,id=disk0,format=raw,snapshot={},file={}",
        if opts.snapshot { "on" } else { "off" },
        opts.image.display()
    ))
    // NVMe, as on Nitro instances.
    .args(["-device", "nvme,serial=sqlassess0,drive=disk0"]);
    // User networking, restricted: DHCP from qemu, nothing reaches the
    // host's network except what a card explicitly forwards.
    for nic in &opts.nics {
        cmd.arg("-nic").arg(nic);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| ToolError::Spawn {
        program: "qemu-system-x86_64".into(),
        package: tool::package_of("qemu-system-x86_64"),
        source,
    })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut child = KillOnDrop(child);
    let (tx, rx) = mpsc::channel::<Option<String>>();
    if let Some(stdout) = stdout {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            // Lines are split on '\n' only; the console is not always UTF-8.
            while reader
                .read_until(b'\n', &mut buf)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                let _ = tx.send(Some(String::from_utf8_lossy(&buf).into_owned()));
                buf.clear();
            }
            let _ = tx.send(None);
        });
    }
    let stderr_text = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut outcome = BootOutcome {
        console_log: log_path.clone(),
        ..BootOutcome::default()
    };
    loop {
        let left = opts.timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            outcome.timed_out = true;
            break;
        }
        match rx.recv_timeout(left) {
            Ok(Some(raw)) => {
                let line = clean_line(&raw);
                let _ = log.write_all(line.as_bytes());
                if observe(&mut outcome, &line) && !opts.until_power_off {
                    break;
                }
            }
            Ok(None) => {
                outcome.qemu_exited = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                outcome.timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                outcome.qemu_exited = true;
                break;
            }
        }
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    let _ = child.0.kill();
    let status = child
        .0
        .wait()
        .map_err(io_err("cannot wait for qemu", &opts.image))?;
    let err = stderr_text.join().unwrap_or_default();
    if outcome.qemu_exited
        && !err.trim().is_empty()
        && !outcome.refused
        && !outcome.firmware_refused
        && outcome.state.is_none()
    {
        // qemu itself failed (bad arguments, missing firmware): not a boot result.
        return Err(ToolError::Failed {
            command: "qemu-system-x86_64".into(),
            status: status.to_string(),
            stderr: err,
        }
        .into());
    }
    Ok(outcome)
}

/// Copies `image` to `out` and inverts `len` bytes at `offset` (e.g. inside
/// the root partition).
pub fn tamper_copy(image: &Path, out: &Path, offset: u64, len: usize) -> Result<(), BootError> {
    fs::copy(image, out).map_err(io_err("cannot copy", image))?;
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(out)
        .map_err(io_err("cannot open", out))?;
    let mut buf = vec![0u8; len];
    f.seek(SeekFrom::Start(offset))
        .map_err(io_err("cannot seek in", out))?;
    f.read_exact(&mut buf).map_err(io_err("cannot read", out))?;
    for b in &mut buf {
        *b = !*b;
    }
    f.seek(SeekFrom::Start(offset))
        .map_err(io_err("cannot seek in", out))?;
    f.write_all(&buf).map_err(io_err("cannot write", out))?;
    Ok(f.sync_all().map_err(io_err("cannot sync", out))?)
}

/// The result of booting a built image and a tampered copy of it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageVerdict {
    /// What the build recorded and the boot was checked against.
    pub expected: Expected,
    pub boot: BootOutcome,
    pub boot_failures: Vec<String>,
    /// The profile's sysctls the booted guest does not have (also in
    /// `boot_failures`, in words).
    pub sysctl_mismatches: Vec<SysctlMismatch>,
    /// `None` when the tamper test was not asked for.
    pub tamper: Option<BootOutcome>,
    pub tamper_failures: Vec<String>,
}

impl ImageVerdict {
    pub fn passed(&self) -> bool {
        self.boot_failures.is_empty() && self.tamper_failures.is_empty()
    }
}

/// Reads the root partition's offset from `build-info.json`.
pub fn root_partition_offset(build_info: &Path) -> Result<u64, BootError> {
    let text = fs::read_to_string(build_info).map_err(io_err("cannot read", build_info))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| io_err("cannot parse", build_info)(std::io::Error::other(e)))?;
    v["partitions"]
        .as_array()
        .and_then(|parts| parts.iter().find(|p| p["name"] == "root"))
        .and_then(|p| p["offset"].as_u64())
        .ok_or_else(|| {
            io_err("no root partition offset in", build_info)(std::io::Error::other(
                "rebuild the image with this image-builder",
            ))
            .into()
        })
}

/// Boots `dir/disk.raw`; with `tamper`, also a copy whose root partition has
/// its file system superblock inverted, which must not boot.
pub fn verify_dir(dir: &Path, tamper: bool) -> Result<ImageVerdict, BootError> {
    let expected = Expected::from_build_info(&dir.join("build-info.json"))?;
    let work = dir.join("work").join("boot-test");
    let image = dir.join("disk.raw");
    let outcome = boot(&BootOptions::new(image.clone(), work.join("good")))?;
    let boot_failures = outcome.failures(&expected);
    let sysctl_mismatches = outcome.sysctl_mismatches(&expected);
    let (tampered, tamper_failures) = if tamper {
        let offset = root_partition_offset(&dir.join("build-info.json"))?;
        let bad = work.join("tampered.raw");
        fs::create_dir_all(&work).map_err(io_err("cannot create", &work))?;
        // erofs keeps its superblock at byte 1024 of the partition.
        tamper_copy(&image, &bad, offset + 1024, 16)?;
        let mut opts = BootOptions::new(bad.clone(), work.join("tampered"));
        opts.timeout = Duration::from_secs(300);
        let o = boot(&opts)?;
        let _ = fs::remove_file(&bad);
        let mut f = Vec::new();
        if !o.refused {
            f.push("the tampered image did not report a verity failure".to_owned());
        }
        if o.state.is_some() || o.assessor_started {
            f.push("the tampered image booted to user space".to_owned());
        }
        if !o.qemu_exited {
            f.push("the tampered image did not stop (no panic and reboot)".to_owned());
        }
        (Some(o), f)
    } else {
        (None, Vec::new())
    };
    Ok(ImageVerdict {
        expected,
        boot: outcome,
        boot_failures,
        sysctl_mismatches,
        tamper: tampered,
        tamper_failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_cleaned_of_escapes() {
        assert_eq!(
            clean_line("[\u{1b}[0;32m  OK  \u{1b}[0m] Reached target x.\r\n"),
            "[  OK  ] Reached target x.\n"
        );
    }

    fn expected() -> Expected {
        Expected {
            sysctl: [
                ("kernel.kptr_restrict", "2"),
                ("fs.protected_regular", "2"),
                ("net.ipv4.ip_local_port_range", "32768 60999"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            lockdown: Some("confidentiality".into()),
            listening_allow: Vec::new(),
        }
    }

    #[test]
    fn only_dhcp_and_the_profiles_listening_allow_may_listen() {
        let ssh = ["tcp:22".to_owned()];
        for (socket, allow, ok) in [
            ("udp:00000000:0044", &[][..], true),
            ("tcp:00000000:0016", &[][..], false),
            ("tcp:00000000:0016", &ssh[..], true),
            ("tcp:0F02000A:0016", &ssh[..], true),
            ("udp:00000000:0016", &ssh[..], false),
            (
                "tcp6:00000000000000000000000000000000:0016",
                &ssh[..],
                false,
            ),
            ("tcp:00000000:0017", &ssh[..], false),
            ("tcp:garbage", &ssh[..], false),
        ] {
            assert_eq!(
                BootOutcome::allowed_listening(socket, allow),
                ok,
                "{socket}"
            );
        }
        let mut o = BootOutcome::default();
        observe(
            &mut o,
            "sqlassess-boot-status: listening= udp:00000000:0044 tcp:00000000:0016",
        );
        let mut e = expected();
        assert!(o.failures(&e).iter().any(|f| f.contains("0016")));
        e.listening_allow = ssh.to_vec();
        assert!(!o.failures(&e).iter().any(|f| f.contains("listening")));
    }

    const SYSCTL_LINES: [&str; 4] = [
        "sqlassess-boot-status: sysctl kernel.kptr_restrict=2",
        "sqlassess-boot-status: sysctl fs.protected_regular=2",
        // /proc/sys separates multiple values with a tab.
        "sqlassess-boot-status: sysctl net.ipv4.ip_local_port_range=32768\t60999 ",
        "sqlassess-boot-status: lockdown=none integrity [confidentiality]",
    ];

    #[test]
    fn a_complete_report_passes_and_a_degraded_one_names_its_units() {
        let mut o = BootOutcome::default();
        for l in [
            "sqlassess-verity: root abcd status: verified",
            "sqlassess-assessor: started (placeholder)",
            "sqlassess-boot-status: state=running",
            "sqlassess-boot-status: failed=none",
            "sqlassess-boot-status: listening= none",
            "sqlassess-boot-status: modules_disabled=1",
        ]
        .into_iter()
        .chain(SYSCTL_LINES)
        {
            assert!(!observe(&mut o, l));
        }
        assert!(observe(&mut o, "sqlassess-boot-status: done"));
        assert!(
            o.failures(&expected()).is_empty(),
            "{:?}",
            o.failures(&expected())
        );

        let mut o = BootOutcome::default();
        observe(&mut o, "sqlassess-boot-status: state=degraded");
        observe(&mut o, "sqlassess-boot-status: failed=a.service b.service ");
        observe(
            &mut o,
            "sqlassess-boot-status: listening= tcp:00000000:1538",
        );
        let f = o.failures(&Expected::default()).join("; ");
        assert!(
            f.contains("a.service b.service") && f.contains("degraded") && f.contains("1538"),
            "{f}"
        );
    }

    #[test]
    fn sysctl_and_lockdown_lines_are_parsed() {
        let mut o = BootOutcome::default();
        for l in SYSCTL_LINES {
            observe(&mut o, l);
        }
        observe(
            &mut o,
            "sqlassess-boot-status: sysctl kernel.yama.ptrace_scope unreadable",
        );
        assert_eq!(o.sysctl["kernel.kptr_restrict"].as_deref(), Some("2"));
        assert_eq!(
            o.sysctl["net.ipv4.ip_local_port_range"].as_deref(),
            Some("32768 60999")
        );
        assert_eq!(o.sysctl["kernel.yama.ptrace_scope"], None);
        assert_eq!(
            o.lockdown.as_deref(),
            Some("none integrity [confidentiality]")
        );
        assert_eq!(
            active_lockdown("none integrity [confidentiality]"),
            Some("confidentiality")
        );
        assert_eq!(active_lockdown("absent"), None);
    }

    #[test]
    fn a_sysctl_that_differs_is_missing_or_unreadable_fails_naming_the_key() {
        let mut o = BootOutcome::default();
        observe(
            &mut o,
            "sqlassess-boot-status: sysctl kernel.kptr_restrict=1",
        );
        observe(
            &mut o,
            "sqlassess-boot-status: sysctl fs.protected_regular unreadable",
        );
        // net.ipv4.ip_local_port_range: not reported at all.
        observe(
            &mut o,
            "sqlassess-boot-status: lockdown=[none] integrity confidentiality",
        );
        let m = o.sysctl_mismatches(&expected());
        let keys: Vec<&str> = m.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "fs.protected_regular",
                "kernel.kptr_restrict",
                "net.ipv4.ip_local_port_range"
            ]
        );
        assert_eq!(m[1].live.as_deref(), Some("1"));
        let f = o.failures(&expected()).join("\n");
        assert!(
            f.contains("kernel.kptr_restrict is 1, the profile says 2"),
            "{f}"
        );
        assert!(f.contains("fs.protected_regular is unreadable"), "{f}");
        assert!(
            f.contains("net.ipv4.ip_local_port_range was not reported"),
            "{f}"
        );
        assert!(f.contains("lockdown=confidentiality"), "{f}");

        let mut absent = BootOutcome::default();
        observe(&mut absent, "sqlassess-boot-status: lockdown=absent");
        assert!(
            absent
                .failures(&expected())
                .iter()
                .any(|f| f.contains("\"absent\"")),
        );
    }

    #[test]
    fn an_unreadable_bpf_sysctl_fails_and_its_value_is_compared() {
        let mut e = expected();
        e.sysctl
            .insert("net.core.bpf_jit_harden".into(), "2".into());
        let mut o = BootOutcome::default();
        for l in SYSCTL_LINES {
            observe(&mut o, l);
        }
        observe(
            &mut o,
            "sqlassess-boot-status: sysctl net.core.bpf_jit_harden unreadable",
        );
        assert_eq!(o.sysctl_mismatches(&e)[0].key, "net.core.bpf_jit_harden");
        observe(
            &mut o,
            "sqlassess-boot-status: sysctl net.core.bpf_jit_harden=2",
        );
        assert!(o.sysctl_mismatches(&e).is_empty());
        observe(
            &mut o,
            "sqlassess-boot-status: sysctl net.core.bpf_jit_harden=0",
        );
        assert_eq!(o.sysctl_mismatches(&e)[0].key, "net.core.bpf_jit_harden");
    }

    #[test]
    fn expectations_come_from_build_info() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build-info.json");
        fs::write(
            &path,
            r#"{"cmdline": "root=/dev/mapper/root ro lockdown=integrity panic=10 console=ttyS0",
                "sysctl": {"kernel.sysrq": "0"}}"#,
        )
        .unwrap();
        let e = Expected::from_build_info(&path).unwrap();
        assert_eq!(e.lockdown.as_deref(), Some("integrity"));
        assert_eq!(e.sysctl["kernel.sysrq"], "0");
        fs::write(&path, r#"{"cmdline": "ro"}"#).unwrap();
        let err = Expected::from_build_info(&path).unwrap_err().to_string();
        assert!(err.contains("rebuild the image"), "{err}");
    }

    #[test]
    fn secure_boot_state_and_firmware_refusal_are_read_from_the_console() {
        let mut o = BootOutcome::default();
        assert!(!observe(
            &mut o,
            "[    0.000000] secureboot: Secure boot enabled"
        ));
        assert_eq!(o.secure_boot, Some(true));
        observe(&mut o, "[    0.000000] secureboot: Secure boot disabled");
        assert_eq!(o.secure_boot, Some(false));
        // The boot ends at the firmware's refusal.
        let mut o = BootOutcome::default();
        assert!(observe(
            &mut o,
            "BdsDxe: failed to load Boot0001 \"UEFI QEMU NVMe Ctrl sqlassess0 1\" from PciRoot(0x0)/Pci(0x2,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00): Access Denied"
        ));
        assert!(o.firmware_refused);
        // A missing boot option is not a refusal.
        let mut o = BootOutcome::default();
        observe(
            &mut o,
            "BdsDxe: failed to load Boot0002 \"UEFI PXEv4 (MAC:525400123456)\" from PciRoot(0x0)/Pci(0x1,0x0)/MAC(525400123456,0x1): Not Found",
        );
        assert!(!o.firmware_refused);
    }

    #[test]
    fn verity_corruption_counts_as_refusal() {
        let mut o = BootOutcome::default();
        observe(
            &mut o,
            "[    3.1] device-mapper: verity: 252:0: data block 0 is corrupted",
        );
        assert!(o.refused);
    }

    #[test]
    fn tamper_inverts_exactly_the_bytes_asked() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, [0u8, 1, 2, 3, 4]).unwrap();
        tamper_copy(&a, &b, 1, 2).unwrap();
        assert_eq!(fs::read(&b).unwrap(), vec![0u8, 0xfe, 0xfd, 3, 4]);
    }
}
