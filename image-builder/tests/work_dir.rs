//! Clearing a work folder that an interrupted build left with mounts inside,
//! for real: the mounts mmdebstrap makes (a read-only `sys`, a `tmpfs`, a
//! nested mount) and a bind mount of a folder outside the build.
//!
//! Needs root (it mounts), as the image build does; without it the test
//! fails saying so, nothing is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use image_builder::work_dir;

fn mount(args: &[&str], target: &Path) {
    fs::create_dir_all(target).unwrap();
    let status = Command::new("mount")
        .args(args)
        .arg(target)
        .status()
        .expect("run mount");
    assert!(
        status.success(),
        "mount {args:?} {} failed: this test needs root",
        target.display()
    );
}

/// Whatever happens, the test leaves no mount behind.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .args(["--recursive", "--lazy"])
            .arg(&self.0)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn mounted_under(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    work_dir::mounts_under(&info, dir)
}

#[test]
fn stale_mounts_are_detached_and_nothing_outside_the_folder_is_deleted() {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("keep"), "not the build's").unwrap();

    let work = base.path().join("out/work");
    let rootfs = work.join("rootfs");
    let _guard = Unmount(work.clone());
    // What a killed mmdebstrap leaves, and worse: a bind mount of a folder
    // that is not the build's, and a mount with a space in its name.
    mount(&["-t", "tmpfs", "-o", "ro", "sys"], &rootfs.join("sys"));
    mount(&["-t", "tmpfs", "tmpfs"], &rootfs.join("dev/shm"));
    fs::write(rootfs.join("dev/shm/x"), "x").unwrap();
    mount(&["-t", "tmpfs", "tmpfs"], &rootfs.join("run"));
    mount(&["-t", "tmpfs", "tmpfs"], &rootfs.join("run/lock"));
    mount(
        &["--bind", outside.to_str().unwrap()],
        &rootfs.join("dev/host dir"),
    );
    fs::write(rootfs.join("etc-file"), "tree").unwrap();
    assert_eq!(mounted_under(&work).len(), 5, "the setup mounted");

    work_dir::clear(&work).unwrap_or_else(|e| panic!("clear failed: {e}"));

    assert!(!work.exists(), "the work folder is gone");
    assert!(mounted_under(&work).is_empty(), "no mount is left");
    assert_eq!(
        fs::read_to_string(outside.join("keep")).unwrap(),
        "not the build's",
        "a folder bind-mounted into the tree is untouched"
    );
    // A missing folder is nothing to clear.
    work_dir::clear(&work).unwrap();
}
