//! Turns the bootstrapped tree into the appliance's root: takes the boot files
//! out, removes build-only packages, applies the profile's hardening (overlay
//! files, sysctls, units, users, mounts), and removes what must not ship or
//! would make the image differ between builds.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::profile::Profile;
use crate::rootfs::{RootfsError, io_err};
use crate::tool;

/// GPT partition UUID of the writable /var partition; constant so that the
/// root file system's fstab (and so the root hash) does not depend on it.
pub const VAR_PARTUUID: &str = "9cfbe505-a64b-44f3-8da1-c76fe78f9eb7";

/// The files the boot partition is made from, copied out of the tree.
#[derive(Debug, Clone)]
pub struct BootFiles {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// systemd's EFI stub, the base of the unified kernel image.
    pub stub: PathBuf,
    pub os_release: PathBuf,
    /// Kernel release, e.g. `6.12.118+deb13-cloud-amd64`.
    pub kernel_release: String,
}

/// Copies kernel, initrd, EFI stub and os-release out of `root` into `work`.
pub fn extract_boot_files(root: &Path, work: &Path) -> Result<BootFiles, RootfsError> {
    let boot = root.join("boot");
    let mut releases: Vec<String> = fs::read_dir(&boot)
        .map_err(io_err("cannot list", &boot))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("vmlinuz-"))
                .map(str::to_owned)
        })
        .collect();
    releases.sort();
    let release = match releases.as_slice() {
        [one] => one.clone(),
        _ => {
            return Err(RootfsError::Missing {
                what: "exactly one kernel (boot/vmlinuz-*)",
                path: boot,
            });
        }
    };
    fs::create_dir_all(work).map_err(io_err("cannot create", work))?;
    let copy = |from: PathBuf, name: &str| -> Result<PathBuf, RootfsError> {
        let to = work.join(name);
        fs::copy(&from, &to).map_err(io_err("cannot copy", &from))?;
        Ok(to)
    };
    Ok(BootFiles {
        kernel: copy(boot.join(format!("vmlinuz-{release}")), "vmlinuz")?,
        initrd: copy(boot.join(format!("initrd.img-{release}")), "initrd.img")?,
        stub: copy(
            root.join("usr/lib/systemd/boot/efi/linuxx64.efi.stub"),
            "linuxx64.efi.stub",
        )?,
        os_release: copy(root.join("usr/lib/os-release"), "os-release")?,
        kernel_release: release,
    })
}

/// Purges build-only packages from the tree.
pub fn purge_packages(root: &Path, packages: &[String]) -> Result<(), RootfsError> {
    if packages.is_empty() {
        return Ok(());
    }
    let mut cmd = tool::command("chroot", [root.as_os_str()]);
    cmd.args(["dpkg", "--purge"]).args(packages);
    tool::run(&mut cmd)?;
    Ok(())
}

/// Where the assessor binary comes from.
#[derive(Debug, Clone)]
pub enum Assessor {
    /// A release build of the workspace's `assessor`.
    Binary(PathBuf),
    /// No binary given: a stand-in that only reports that it started, so the
    /// boot test still proves the unit runs under its sandbox.
    Placeholder,
}

const PLACEHOLDER: &str = "#!/bin/sh\n\
# Stand-in: this image was built without an assessor binary (image-builder build --assessor).\n\
echo \"sqlassess-assessor: started (placeholder, no assessor binary in this image)\"\n";

/// The fstab of the appliance: read-only verity root, writable /var, /tmp in memory.
pub fn fstab() -> String {
    format!(
        "# Written by image-builder. The root is the dm-verity device opened by the initramfs.\n\
         /dev/mapper/root / erofs ro 0 0\n\
         PARTUUID={VAR_PARTUUID} /var ext4 rw,nodev,nosuid,noexec,x-systemd.growfs 0 2\n\
         tmpfs /tmp tmpfs rw,nodev,nosuid,noexec,mode=1777,size=25% 0 0\n"
    )
}

/// The sysctl drop-in for the profile's kernel parameters.
pub fn sysctl_conf(profile: &Profile) -> String {
    let mut s =
        String::from("# Written by image-builder from the image profile's [sysctl] table.\n");
    for (k, v) in &profile.sysctl {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

/// Locks an account in `/etc/shadow` text: `!*` password; returns the new text.
pub fn lock_shadow(shadow: &str, user: &str) -> String {
    shadow
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(':').collect();
            if fields.first() == Some(&user) && fields.len() > 1 {
                fields[1] = "!*";
            }
            fields.join(":")
        })
        .map(|l| l + "\n")
        .collect()
}

/// Gives `user` a non-login shell in `/etc/passwd` text.
pub fn nologin_passwd(passwd: &str, user: &str) -> String {
    passwd
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(':').collect();
            if fields.first() == Some(&user) && fields.len() == 7 {
                fields[6] = "/usr/sbin/nologin";
            }
            fields.join(":")
        })
        .map(|l| l + "\n")
        .collect()
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), RootfsError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err("cannot create", dir))?;
    }
    fs::write(path, text).map_err(io_err("cannot write", path))?;
    Ok(fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_err("cannot set permissions on", path))?)
}

fn systemctl(root: &Path, verb: &str, units: &[String]) -> Result<(), RootfsError> {
    if units.is_empty() {
        return Ok(());
    }
    let mut cmd = tool::command("systemctl", [format!("--root={}", root.display())]);
    cmd.arg(verb).args(units);
    tool::run(&mut cmd)?;
    Ok(())
}

/// Applies the profile's hardening to the tree.
pub fn apply(
    root: &Path,
    profile: &Profile,
    overlays: &[PathBuf],
    assessor: &Assessor,
) -> Result<(), RootfsError> {
    // The overlay's regular /etc/resolv.conf must not be written through a
    // symlink left by the packages.
    let resolv = root.join("etc/resolv.conf");
    match fs::remove_file(&resolv) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("cannot remove", &resolv)(e).into()),
    }
    for overlay in overlays {
        // cp -a keeps modes; the overlay is reviewed data in the repository.
        let mut from = overlay.as_os_str().to_owned();
        from.push("/.");
        tool::run(
            tool::command("cp", ["-a", "--no-preserve=ownership"])
                .arg(from)
                .arg(root),
        )?;
    }
    let bin = root.join("usr/lib/sqlassess/assessor");
    match assessor {
        Assessor::Binary(path) => {
            if let Some(dir) = bin.parent() {
                fs::create_dir_all(dir).map_err(io_err("cannot create", dir))?;
            }
            fs::copy(path, &bin).map_err(io_err("cannot copy the assessor binary", path))?;
            fs::set_permissions(&bin, fs::Permissions::from_mode(0o755))
                .map_err(io_err("cannot set permissions on", &bin))?;
        }
        Assessor::Placeholder => write(&bin, PLACEHOLDER, 0o755)?,
    }
    write(
        &root.join("etc/sysctl.d/90-sqlassess.conf"),
        &sysctl_conf(profile),
        0o644,
    )?;
    write(&root.join("etc/fstab"), &fstab(), 0o644)?;
    // systemd's users (the assessor's among them) exist before the root is
    // sealed: /etc is read-only at run time.
    tool::run(&mut tool::command(
        "systemd-sysusers",
        [format!("--root={}", root.display())],
    ))?;
    systemctl(root, "enable", &profile.units.enable)?;
    systemctl(root, "disable", &profile.units.disable)?;
    systemctl(root, "mask", &profile.units.mask)?;

    // Root: locked password, no shell. No interactive user exists.
    let shadow = root.join("etc/shadow");
    let text = fs::read_to_string(&shadow).map_err(io_err("cannot read", &shadow))?;
    write(&shadow, &lock_shadow(&text, "root"), 0o640)?;
    let passwd = root.join("etc/passwd");
    let text = fs::read_to_string(&passwd).map_err(io_err("cannot read", &passwd))?;
    write(&passwd, &nologin_passwd(&text, "root"), 0o644)?;

    // First boot semantics on a read-only /etc: an empty machine-id makes
    // systemd generate one in memory at every boot.
    write(&root.join("etc/machine-id"), "", 0o444)?;

    strip_setuid(root, &profile.verify.setuid_allow)?;
    remove_build_leftovers(root)?;
    Ok(())
}

/// Removes setuid/setgid bits from every file not on the allow-list.
pub fn strip_setuid(root: &Path, allow: &[String]) -> Result<Vec<String>, RootfsError> {
    let mut stripped = Vec::new();
    for (path, meta) in walk(root)? {
        let mode = meta.mode();
        if meta.is_file() && mode & 0o6000 != 0 {
            let rel = format!("/{}", path.strip_prefix(root).unwrap_or(&path).display());
            if allow.contains(&rel) {
                continue;
            }
            fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o1777))
                .map_err(io_err("cannot clear setuid on", &path))?;
            stripped.push(rel);
        }
    }
    Ok(stripped)
}

/// Every entry under `root` (not following symlinks), depth first, sorted.
pub fn walk(root: &Path) -> Result<Vec<(PathBuf, fs::Metadata)>, RootfsError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io_err("cannot list", &dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let meta = fs::symlink_metadata(&path).map_err(io_err("cannot stat", &path))?;
            if meta.is_dir() {
                stack.push(path.clone());
            }
            out.push((path, meta));
        }
    }
    Ok(out)
}

/// Files that are caches, logs or backups of the build: not shipped, and
/// they differ between builds.
const LEFTOVERS: &[&str] = &[
    // ssl-cert's "snakeoil" pair, generated at installation: a private key
    // that would be shared by every copy of the image (and differ per build).
    "etc/ssl/certs/ssl-cert-snakeoil.pem",
    "etc/ssl/private/ssl-cert-snakeoil.key",
    // openssh-server's host keys (break-glass image), generated at
    // installation: the same reason. Its sshd makes a key at every boot.
    "etc/ssh/ssh_host_ed25519_key",
    "etc/ssh/ssh_host_ed25519_key.pub",
    "etc/ssh/ssh_host_ecdsa_key",
    "etc/ssh/ssh_host_ecdsa_key.pub",
    "etc/ssh/ssh_host_rsa_key",
    "etc/ssh/ssh_host_rsa_key.pub",
    "var/cache/ldconfig/aux-cache",
    "etc/passwd-",
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/subuid-",
    "etc/subgid-",
    "var/cache/debconf/config.dat-old",
    "var/cache/debconf/templates.dat-old",
    "var/lib/dpkg/status-old",
    "var/lib/dpkg/diversions-old",
    "var/lib/dbus/machine-id",
    "var/lib/systemd/random-seed",
];

/// Folders whose contents are removed (the folders stay).
const EMPTIED: &[&str] = &[
    "boot",
    // Device nodes mmdebstrap made for the chroot; the kernel's devtmpfs
    // provides /dev at run time.
    "dev",
    "var/log",
    "var/cache/apt",
    "var/lib/apt/lists",
    "tmp",
    "var/tmp",
];

fn remove_build_leftovers(root: &Path) -> Result<(), RootfsError> {
    for rel in LEFTOVERS {
        let path = root.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("cannot remove", &path)(e).into()),
        }
    }
    for rel in EMPTIED {
        let dir = root.join(rel);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let res = if is_dir {
                // Keep the folder skeleton of /var/log (journal, postgresql...),
                // drop the files.
                if *rel == "var/log" {
                    remove_files_below(&path)
                } else {
                    fs::remove_dir_all(&path)
                }
            } else {
                fs::remove_file(&path)
            };
            res.map_err(io_err("cannot remove", &path))?;
        }
    }
    Ok(())
}

fn remove_files_below(dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            remove_files_below(&entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_locked_and_others_untouched() {
        let shadow = "root:$y$hash:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n";
        assert_eq!(
            lock_shadow(shadow, "root"),
            "root:!*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n"
        );
        let passwd = "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n";
        assert_eq!(
            nologin_passwd(passwd, "root"),
            "root:x:0:0:root:/root:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
        );
    }

    #[test]
    fn fstab_mounts_tmp_and_var_without_exec_devices_or_setuid() {
        let f = fstab();
        let tmp = f.lines().find(|l| l.starts_with("tmpfs /tmp")).unwrap();
        let var = f.lines().find(|l| l.contains(" /var ")).unwrap();
        for opt in ["nodev", "nosuid", "noexec"] {
            assert!(tmp.contains(opt) && var.contains(opt), "{opt}");
        }
        assert!(f.contains("/dev/mapper/root / erofs ro"));
    }

    #[test]
    fn sysctl_file_lists_every_profile_entry() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml");
        let profile = Profile::load(&path).unwrap();
        let conf = sysctl_conf(&profile);
        assert!(conf.contains("kernel.kptr_restrict = 2\n"));
        assert_eq!(
            conf.lines().filter(|l| l.contains(" = ")).count(),
            profile.sysctl.len()
        );
    }

    #[test]
    fn setuid_bits_are_stripped_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, "").unwrap();
        fs::write(&b, "").unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o4755)).unwrap();
        fs::set_permissions(&b, fs::Permissions::from_mode(0o2755)).unwrap();
        let stripped = strip_setuid(dir.path(), &["/b".to_owned()]).unwrap();
        assert_eq!(stripped, vec!["/a".to_owned()]);
        assert_eq!(fs::metadata(&a).unwrap().mode() & 0o7777, 0o755);
        assert_eq!(fs::metadata(&b).unwrap().mode() & 0o7777, 0o2755);
    }
}
