//! SECURITY.md C37: `assessor run` confines itself with Landlock, and the
//! kernel then denies what the Unix permissions (and systemd's read-only
//! sandbox) would allow: reading a world-readable file outside the
//! allow-list, writing outside the session directory, a child process
//! doing either, binding a TCP port. The same accesses succeed unconfined.
//!
//! Landlock applies to the calling thread and what it creates, so the
//! confined part runs in a child: this test binary again, with
//! [`PROBE_ENV`] naming the scratch directory.
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use assessor::config::JobConfig;

const PROBE_ENV: &str = "ASSESSOR_CONFINEMENT_PROBE";
const MARK: &str = "PROBE ";

/// The scratch layout both sides agree on.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn session(&self) -> PathBuf {
        self.root.join("session")
    }
    /// World-readable, outside the allow-list.
    fn outside(&self) -> PathBuf {
        self.root.join("outside/notes.txt")
    }
    /// Named by the config as a CA bundle: on the allow-list.
    fn bundle(&self) -> PathBuf {
        self.root.join("ca.pem")
    }
    fn config(&self) -> PathBuf {
        self.root.join("job.toml")
    }
}

fn job_toml(scratch: &Scratch) -> String {
    format!(
        "[job]\nregion = \"eu-west-1\"\nkms_key_id = \"k\"\nsession_dir = \"{}\"\n\
         confinement = \"required\"\n\
         [report]\nbucket = \"reports\"\n\
         [[targets]]\nname = \"a\"\nsecret_id = \"s\"\n\
         [targets.tls]\nca_bundle = \"{}\"\n",
        scratch.session().display(),
        scratch.bundle().display()
    )
}

/// What an access did: `ok`, `denied` (EACCES) or another error.
fn verdict<T>(result: std::io::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => "denied".into(),
        Err(e) => format!("error: {e}"),
    }
}

fn cat(path: &Path) -> String {
    match Command::new("cat").arg(path).output() {
        Ok(out) if out.status.success() => "ok".into(),
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("Permission denied") => {
            "denied".into()
        }
        Ok(out) => format!("error: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => format!("error: {e}"),
    }
}

/// Every access the test judges, in a fixed order.
fn probe(scratch: &Scratch) -> Vec<(&'static str, String)> {
    vec![
        (
            "read outside",
            verdict(std::fs::read_to_string(scratch.outside())),
        ),
        (
            "read bundle",
            verdict(std::fs::read_to_string(scratch.bundle())),
        ),
        (
            "write session",
            verdict(std::fs::write(scratch.session().join("ok.txt"), b"x")),
        ),
        (
            "write outside",
            verdict(std::fs::write(scratch.root.join("outside/new.txt"), b"x")),
        ),
        // The session's parent allows deleting an empty directory (the
        // wipe's last step), not creating anything.
        (
            "create beside the session",
            verdict(std::fs::create_dir(scratch.root.join("beside"))),
        ),
        ("child reads outside", cat(&scratch.outside())),
        ("child reads bundle", cat(&scratch.bundle())),
        (
            "bind tcp",
            verdict(std::net::TcpListener::bind("127.0.0.1:0")),
        ),
    ]
}

/// The child's side: confine as `assessor run` does, then probe. Does
/// nothing unless the parent asked (so it passes as an ordinary test).
#[test]
fn probe_when_the_parent_asks() {
    let Some(root) = std::env::var_os(PROBE_ENV) else {
        return;
    };
    let scratch = Scratch { root: root.into() };
    let config = JobConfig::load(&scratch.config()).unwrap();
    assessor::wipe::create(&config.job.session_dir).unwrap();
    let outcome = assessor::confinement::confine(&config).unwrap();
    println!("{MARK}outcome {}", serde_json::to_string(&outcome).unwrap());
    for (access, verdict) in probe(&scratch) {
        println!("{MARK}{access}: {verdict}");
    }
}

fn scratch() -> (tempfile::TempDir, Scratch) {
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch {
        root: dir.path().to_owned(),
    };
    std::fs::create_dir(scratch.root.join("outside")).unwrap();
    std::fs::write(scratch.outside(), b"readable by everyone\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    for path in [scratch.root.clone(), scratch.root.join("outside")] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(scratch.outside(), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(scratch.bundle(), b"-----BEGIN CERTIFICATE-----\n").unwrap();
    std::fs::write(scratch.config(), job_toml(&scratch)).unwrap();
    (dir, scratch)
}

#[test]
fn landlock_denies_what_the_permissions_allow_outside_the_allow_list() {
    let (_dir, scratch) = scratch();
    std::fs::create_dir(scratch.session()).unwrap();

    // Unconfined (this process), every access succeeds: the permissions,
    // as systemd's read-only sandbox would, allow them all.
    let unconfined = probe(&scratch);
    for (access, verdict) in &unconfined {
        assert_eq!(verdict, "ok", "{access} failed unconfined");
    }
    std::fs::remove_file(scratch.root.join("outside/new.txt")).unwrap();
    std::fs::remove_dir(scratch.root.join("beside")).unwrap();

    let child = Command::new(std::env::current_exe().unwrap())
        .args(["probe_when_the_parent_asks", "--exact", "--nocapture"])
        .env(PROBE_ENV, &scratch.root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&child.stderr));
    assert!(child.status.success(), "{all}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(MARK))
        .collect();
    let outcome = lines
        .iter()
        .find_map(|l| l.strip_prefix("outcome "))
        .unwrap_or_else(|| panic!("no outcome: {all}"));
    let outcome: serde_json::Value = serde_json::from_str(outcome).unwrap();
    assert_eq!(
        outcome["enforced"], true,
        "this kernel does not enforce Landlock: {outcome}"
    );
    let verdict = |access: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{access}: ")))
            .unwrap_or_else(|| panic!("no {access} in {all}"))
            .to_owned()
    };
    assert_eq!(verdict("read outside"), "denied", "{all}");
    assert_eq!(verdict("write outside"), "denied", "{all}");
    assert_eq!(verdict("create beside the session"), "denied", "{all}");
    assert_eq!(verdict("child reads outside"), "denied", "{all}");
    assert_eq!(verdict("read bundle"), "ok", "{all}");
    assert_eq!(verdict("write session"), "ok", "{all}");
    assert_eq!(verdict("child reads bundle"), "ok", "{all}");
    // TCP bind rules need Landlock ABI 4 (Linux 6.7); older kernels enforce
    // the file system part only.
    if outcome["landlock_abi"].as_i64() >= Some(4) {
        assert_eq!(verdict("bind tcp"), "denied", "{all}");
    }
    assert!(!scratch.root.join("outside/new.txt").exists());
    assert!(!scratch.root.join("beside").exists());
    assert!(scratch.session().join("ok.txt").exists());
}
