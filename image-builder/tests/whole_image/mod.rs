//! What the whole-image tests share (`image`, `appliance_vm`,
//! `secure_boot`, `break_glass_ssh`, `lynis_audit`): where the repository and
//! the profiles are, the release assessor, and build options for a profile.
// Each test binary uses some of these helpers, never all of them; a failed
// expectation here is a failed test, with its message.
#![allow(dead_code, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use image_builder::build::BuildOptions;
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is inside the workspace")
        .to_owned()
}

/// A shipped profile, e.g. `appliance.toml`.
pub fn profile(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("profiles")
        .join(file)
}

/// `/var/tmp/image-build/NAME` unless `env_override` names another folder:
/// outside the repository, and stable between runs so caches stay warm.
pub fn work_dir(name: &str, env_override: &str) -> PathBuf {
    std::env::var_os(env_override)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("/var/tmp/image-build").join(name))
}

/// Options to build `profile` into `out` with the placeholder assessor.
pub fn options(profile_file: &str, out: impl Into<PathBuf>) -> BuildOptions {
    BuildOptions::new(profile(profile_file), out)
}

/// `cargo build --release --locked -p assessor`, returning the binary
/// (cargo's cache makes every call after the first quick).
pub fn release_assessor() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "assessor",
            "--message-format=json",
        ])
        .output()
        .expect("run cargo build for the release assessor");
    assert!(
        out.status.success(),
        "cargo build --release -p assessor failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["target"]["name"] == "assessor" && m["executable"].is_string())
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the assessor executable")
}
