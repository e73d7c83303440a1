//! Clearing the build's work folder before a build.
//!
//! mmdebstrap (root mode) mounts `proc`, `sys`, `devpts` and a `tmpfs` inside
//! the tree it builds and unmounts them when it finishes. A build that is
//! killed (Ctrl-C twice, a CI timeout, a machine restart) leaves those mounts
//! behind, and a plain `remove_dir_all` of the old tree then walks into them:
//! it fails on the read-only `sys` ("Read-only file system"), and through a
//! bind mount it would delete files that are not the build's.
//!
//! Guarantee: [`clear`] detaches every mount at or below the folder, deepest
//! first, checks that none is left, and only then removes the folder. If a
//! mount cannot be detached it removes nothing and names the mount.

use std::fs;
use std::path::{Path, PathBuf};

use crate::path_error::{PathError, io_err};
use crate::tool::{self, ToolError};

/// Why the work folder could not be cleared.
#[derive(Debug, thiserror::Error)]
pub enum WorkDirError {
    #[error(transparent)]
    Io(#[from] PathError),
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(
        "{mount} is still mounted inside the work folder after detaching it; \
         nothing was removed. Unmount it (umount --recursive --lazy {mount}) and build again",
        mount = .0.display()
    )]
    StillMounted(PathBuf),
}

/// Removes `work` and everything below it, detaching any mount left there by
/// an interrupted build first. A missing folder is not an error.
pub fn clear(work: &Path) -> Result<(), WorkDirError> {
    let work = match fs::canonicalize(work) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("cannot resolve", work)(e).into()),
    };
    let stale = mounts_under(&read_mountinfo()?, &work);
    if !stale.is_empty() {
        tracing::warn!(
            count = stale.len(),
            folder = %work.display(),
            "detaching mounts an interrupted build left in the work folder"
        );
    }
    for mount in &stale {
        // Lazy: a process still holding a file there (a stray chroot shell)
        // must not keep the new build from starting.
        tool::run(&mut tool::command(
            "umount",
            ["--lazy".as_ref(), mount.as_os_str()],
        ))?;
    }
    if let Some(left) = mounts_under(&read_mountinfo()?, &work).into_iter().next() {
        return Err(WorkDirError::StillMounted(left));
    }
    fs::remove_dir_all(&work).map_err(io_err("cannot clear", &work))?;
    Ok(())
}

fn read_mountinfo() -> Result<String, PathError> {
    let path = Path::new("/proc/self/mountinfo");
    fs::read_to_string(path).map_err(io_err("cannot read", path))
}

/// The mount points at or below `dir` in a `/proc/self/mountinfo` text,
/// deepest first (so a mount is detached before the one it sits on). A
/// point mounted twice (one mount stacked on another) is listed twice: each
/// detach takes one layer off.
pub fn mounts_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = mountinfo
        .lines()
        // Fields: id, parent id, major:minor, root, mount point, ...
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .filter(|point| point.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// mountinfo writes space, tab, newline and backslash in a path as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let value = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw
90 22 0:5 / /var/tmp/b/out/work/rootfs/proc ro,relatime - proc proc ro
95 90 0:33 / /var/tmp/b/out/work/rootfs/proc ro,relatime - proc proc ro
91 22 0:21 / /var/tmp/b/out/work/rootfs/sys ro,nosuid - sysfs sys ro
92 91 0:30 / /var/tmp/b/out/work/rootfs/sys/fs/cgroup ro - cgroup2 cgroup2 ro
93 22 0:31 / /var/tmp/b/out/work2 rw - tmpfs tmpfs rw
94 22 0:32 / /var/tmp/b/out/work/with\\040space rw - tmpfs tmpfs rw
";

    #[test]
    fn mounts_below_the_folder_are_found_deepest_first_and_siblings_are_not() {
        let found = mounts_under(MOUNTINFO, Path::new("/var/tmp/b/out/work"));
        assert_eq!(
            found.first().map(PathBuf::as_path),
            Some(Path::new("/var/tmp/b/out/work/rootfs/sys/fs/cgroup")),
            "a nested mount comes before the one it sits on"
        );
        assert_eq!(found.len(), 5, "{found:?}");
        let proc = Path::new("/var/tmp/b/out/work/rootfs/proc");
        assert_eq!(
            found.iter().filter(|p| *p == proc).count(),
            2,
            "a stacked mount needs one detach per layer"
        );
        assert!(found.contains(&PathBuf::from("/var/tmp/b/out/work/with space")));
        assert!(
            !found.contains(&PathBuf::from("/var/tmp/b/out/work2")),
            "a folder whose name only starts with the work folder's is not inside it"
        );
    }

    #[test]
    fn octal_escapes_decode_and_a_lone_backslash_stays() {
        assert_eq!(unescape("/a\\040b\\011c\\134d"), "/a b\tc\\d");
        assert_eq!(unescape("/a\\x"), "/a\\x");
        assert_eq!(unescape("/a\\04"), "/a\\04");
    }
}
