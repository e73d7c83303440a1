//! The session volume: where the session PostgreSQL and every temporary file
//! of a run live, on a partition encrypted with dm-crypt under a key that
//! exists only in the kernel, for one boot.
//!
//! Decisions (and why):
//! - **The key is random and never leaves the kernel.** `cryptsetup open
//!   --type plain --key-file /dev/urandom` reads 64 random bytes straight into
//!   the dm-crypt mapping; no copy is in user space or on disk. Closing the
//!   mapping (or powering off) destroys it, so the volume's contents are
//!   unrecoverable afterwards, by anyone, with any key. A KMS-wrapped volume
//!   key would add a blob that could be unwrapped later; the run's KMS data
//!   key already seals every row inside (see `crate::envelope`), so the two
//!   layers are independent.
//! - **A fresh file system every boot** (`mkfs.ext4` on the mapping): nothing
//!   from an earlier boot can be read, since its key is gone.
//! - Mounted `nosuid,nodev,noexec`, owned by the assessor's user, mode 0700.
//!
//! Runs as root (`assessor appliance open-session` / `finish`), calls the
//! tools directly with arguments, never through a shell.

use std::path::{Path, PathBuf};

/// The dm-crypt mapping's name (`/dev/mapper/sqlassess-session`).
pub const MAPPING: &str = "sqlassess-session";
/// The image's session partition's GPT name.
pub const PARTITION: &str = "session";
/// Where the volume is mounted; the job's `session_dir` must be inside.
pub const MOUNT: &str = "/var/lib/sqlassess/volume";

/// A step of opening or closing the volume that failed.
#[derive(Debug, thiserror::Error)]
#[error("session volume: {step} failed: {detail}")]
pub struct VolumeError {
    pub step: &'static str,
    pub detail: String,
}

/// The block device of the GPT partition named `name`, from the kernel's
/// own view (`/sys/class/block/*/uevent`, `PARTNAME=`), so that nothing
/// depends on udev having created its symlinks yet.
pub fn find_partition(sys_block: &Path, name: &str) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(sys_block)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries.into_iter().find_map(|dir| {
        let uevent = std::fs::read_to_string(dir.join("uevent")).ok()?;
        let field = |key: &str| {
            uevent
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::to_owned)
        };
        (field("PARTNAME=").as_deref() == Some(name))
            .then(|| field("DEVNAME=").map(|d| Path::new("/dev").join(d)))
            .flatten()
    })
}

fn mapper() -> PathBuf {
    Path::new("/dev/mapper").join(MAPPING)
}

fn run<S: AsRef<std::ffi::OsStr>>(
    step: &'static str,
    program: &str,
    args: &[S],
) -> Result<(), VolumeError> {
    super::run_tool(program, args).map_err(|detail| VolumeError { step, detail })
}

/// The commands that open, format and mount the volume, in order.
pub fn open_commands(
    device: &str,
    mount: &str,
    owner: &str,
) -> Vec<(&'static str, String, Vec<String>)> {
    let mapped = mapper().display().to_string();
    let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        (
            "cryptsetup open",
            "cryptsetup".into(),
            owned(&[
                "open",
                "--type",
                "plain",
                "--cipher",
                "aes-xts-plain64",
                "--key-size",
                "512",
                "--key-file",
                "/dev/urandom",
                "--keyfile-size",
                "64",
                device,
                MAPPING,
            ]),
        ),
        (
            "mkfs.ext4",
            "mkfs.ext4".into(),
            owned(&["-q", "-F", "-m", "0", "-L", "session", &mapped]),
        ),
        ("mkdir", "mkdir".into(), owned(&["-p", mount])),
        (
            "mount",
            "mount".into(),
            owned(&["-o", "nosuid,nodev,noexec", &mapped, mount]),
        ),
        ("chown", "chown".into(), owned(&[owner, mount])),
        ("chmod", "chmod".into(), owned(&["0700", mount])),
    ]
}

/// Opens the volume under a fresh random key and mounts it for `owner`
/// (`user:group`). Needs root.
pub fn open(device: &str, mount: &str, owner: &str) -> Result<(), VolumeError> {
    for (step, program, args) in open_commands(device, mount, owner) {
        run(step, &program, &args)?;
    }
    Ok(())
}

/// Unmounts the volume and closes the mapping: its key is gone. Each part
/// is skipped when already done, so closing twice is harmless.
pub fn close(mount: &str) -> Result<(), VolumeError> {
    let mounted = std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(mount));
    if mounted {
        run("umount", "umount", &[mount])?;
    }
    if mapper().exists() {
        run("cryptsetup close", "cryptsetup", &["close", MAPPING])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_from_the_kernel_rng_and_the_mount_is_locked_down() {
        let cmds = open_commands("/dev/nvme0n1p5", MOUNT, "assessor:assessor");
        let (_, program, args) = &cmds[0];
        assert_eq!(program, "cryptsetup");
        let joined = args.join(" ");
        assert!(joined.contains("--type plain"), "{joined}");
        assert!(
            joined.contains("--key-file /dev/urandom --keyfile-size 64"),
            "{joined}"
        );
        assert!(
            joined.ends_with(&format!("/dev/nvme0n1p5 {MAPPING}")),
            "{joined}"
        );
        let mount = cmds.iter().find(|c| c.0 == "mount").unwrap();
        assert_eq!(mount.2[1], "nosuid,nodev,noexec");
        let chmod = cmds.iter().find(|c| c.0 == "chmod").unwrap();
        assert_eq!(chmod.2, ["0700", MOUNT]);
    }

    #[test]
    fn the_partition_is_found_by_its_gpt_name() {
        let sys = tempfile::tempdir().unwrap();
        for (dev, uevent) in [
            ("nvme0n1", "MAJOR=259\nDEVNAME=nvme0n1\nDEVTYPE=disk\n"),
            (
                "nvme0n1p4",
                "DEVNAME=nvme0n1p4\nDEVTYPE=partition\nPARTN=4\nPARTNAME=var\n",
            ),
            (
                "nvme0n1p5",
                "DEVNAME=nvme0n1p5\nDEVTYPE=partition\nPARTN=5\nPARTNAME=session\n",
            ),
        ] {
            std::fs::create_dir(sys.path().join(dev)).unwrap();
            std::fs::write(sys.path().join(dev).join("uevent"), uevent).unwrap();
        }
        assert_eq!(
            find_partition(sys.path(), PARTITION),
            Some(PathBuf::from("/dev/nvme0n1p5"))
        );
        assert_eq!(find_partition(sys.path(), "missing"), None);
    }

    #[test]
    fn closing_what_is_not_open_is_harmless() {
        close("/nonexistent/sqlassess-volume").unwrap();
    }
}
