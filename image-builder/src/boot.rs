//! The boot test: the image under qemu (TCG, OVMF), its serial console read
//! line by line, and what the appliance reports there.
//!
//! The image reports on its serial console (`console=ttyS0` is the last
//! console argument):
//! - the initramfs: `sqlassess-verity: root <hash> status: verified`;
//! - the assessor unit: `sqlassess-assessor: started ...` (the placeholder) or
//!   the assessor's own start line;
//! - `sqlassess-boot-status.service`, once systemd has finished booting:
//!   `state=`, `failed=`, `listening=`, `modules_disabled=`, then `done`.
//!
//! The tamper test flips bytes of the root partition and expects the boot to
//! stop before any of that: dm-verity reports the corruption and the
//! initramfs or the kernel panics and reboots, which `-no-reboot` turns into
//! qemu's exit.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::tool::{self, ToolError};

/// Why the boot test could not run (a boot that fails its checks is an
/// [`BootOutcome`] that does not pass, not an error).
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("OVMF firmware {path} is missing: install the Debian package ovmf")]
    NoFirmware { path: PathBuf },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BootError {
    let path = path.to_owned();
    move |source| BootError::Io {
        action,
        path,
        source,
    }
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
        }
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
    /// dm-verity or the initramfs refused the root.
    pub refused: bool,
    /// qemu exited by itself (a reboot or power-off).
    pub qemu_exited: bool,
    pub timed_out: bool,
    /// The console log file.
    pub console_log: PathBuf,
}

impl BootOutcome {
    /// Whether a bound socket (`proto:hexaddr:hexport` from /proc/net) is
    /// allowed: only the DHCP client's UDP port 68, on any address.
    pub fn allowed_listening(socket: &str) -> bool {
        socket.starts_with("udp:") && socket.ends_with(":0044")
    }

    /// Everything the boot test asserts, as failures in words.
    pub fn failures(&self) -> Vec<String> {
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
            .filter(|s| !Self::allowed_listening(s))
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
        f
    }
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
    cmd.args([
        "-machine",
        "q35",
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
        "if=none,id=disk0,format=raw,snapshot=on,file={}",
        opts.image.display()
    ))
    // NVMe, as on Nitro instances.
    .args(["-device", "nvme,serial=sqlassess0,drive=disk0"])
    // User networking, restricted: DHCP from qemu, nothing reaches the host's network.
    .args(["-nic", "user,model=virtio-net-pci,restrict=on"])
    .stdin(Stdio::null())
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
                if observe(&mut outcome, &line) {
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
    if outcome.qemu_exited && !err.trim().is_empty() && !outcome.refused && outcome.state.is_none()
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
    f.sync_all().map_err(io_err("cannot sync", out))
}

/// The result of booting a built image and a tampered copy of it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageVerdict {
    pub boot: BootOutcome,
    pub boot_failures: Vec<String>,
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
        })
}

/// Boots `dir/disk.raw`; with `tamper`, also a copy whose root partition has
/// its file system superblock inverted, which must not boot.
pub fn verify_dir(dir: &Path, tamper: bool) -> Result<ImageVerdict, BootError> {
    let work = dir.join("work").join("boot-test");
    let image = dir.join("disk.raw");
    let outcome = boot(&BootOptions::new(image.clone(), work.join("good")))?;
    let boot_failures = outcome.failures();
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
        boot: outcome,
        boot_failures,
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
        ] {
            assert!(!observe(&mut o, l));
        }
        assert!(observe(&mut o, "sqlassess-boot-status: done"));
        assert!(o.failures().is_empty(), "{:?}", o.failures());

        let mut o = BootOutcome::default();
        observe(&mut o, "sqlassess-boot-status: state=degraded");
        observe(&mut o, "sqlassess-boot-status: failed=a.service b.service ");
        observe(
            &mut o,
            "sqlassess-boot-status: listening= tcp:00000000:1538",
        );
        let f = o.failures().join("; ");
        assert!(
            f.contains("a.service b.service") && f.contains("degraded") && f.contains("1538"),
            "{f}"
        );
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
