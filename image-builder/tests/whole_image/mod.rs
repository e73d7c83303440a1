//! What the whole-image tests share (`image`, `appliance_vm`,
//! `secure_boot`, `break_glass_ssh`, `lynis_audit`): where the repository and
//! the profiles are, the release assessor (and the VM test's variant with the
//! `testing-endpoint` feature), and build options for a profile.
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

/// The shipped assessor: `cargo build --release --locked -p assessor`, the
/// README's command, without the `testing-endpoint` feature (cargo's cache
/// makes every call after the first quick). Returns a private copy (see
/// [`copy_aside`]) that has been checked to refuse a `[testing]` table.
pub fn release_assessor() -> PathBuf {
    let binary = copy_aside(&cargo_build_assessor(&[]), "assessor-release");
    assert_refuses_testing_table(&binary);
    binary
}

/// The appliance VM test's guest assessor: the same release build with the
/// `testing-endpoint` feature, so that its job reaches moto_server at
/// 10.0.2.10 through `[testing] aws_endpoint_url`. Never shipped: only
/// `appliance_vm` uses it; every other image gets [`release_assessor`].
pub fn testing_endpoint_assessor() -> PathBuf {
    copy_aside(
        &cargo_build_assessor(&["--features", "testing-endpoint"]),
        "assessor-testing-endpoint",
    )
}

/// `cargo build --release --locked -p assessor EXTRA`, returning the path
/// cargo reports for the executable.
fn cargo_build_assessor(extra: &[&str]) -> PathBuf {
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
        .args(extra)
        .output()
        .expect("run cargo build for the release assessor");
    assert!(
        out.status.success(),
        "cargo build --release -p assessor {} failed:\n{}",
        extra.join(" "),
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

/// Copies `built` to `NAME` beside it (through a temporary file and a
/// rename). Both builds land on the same `target/release/assessor`, so a
/// build with other features (the VM test's, `scripts/demo`'s) would
/// otherwise replace the binary between its check and the image build.
fn copy_aside(built: &Path, name: &str) -> PathBuf {
    let dest = built.with_file_name(name);
    let partial = built.with_file_name(format!("{name}.partial-{}", std::process::id()));
    std::fs::copy(built, &partial)
        .and_then(|_| std::fs::rename(&partial, &dest))
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", built.display(), dest.display()));
    dest
}

/// The proof that the shipped build compiles the endpoint override out: the
/// binary that goes into the image must refuse, as a bad config (exit 2), a
/// valid job config whose only addition is a loopback `[testing]` endpoint.
/// Built with `testing-endpoint` it would accept the table and run the
/// preflight against the endpoint instead (exit 4), so this fails whenever
/// the feature reaches the shipped build, by `default`, by another feature
/// or by a changed build command. A check of the binary itself rather than
/// of a unit test: the workspace's test run enables the feature.
fn assert_refuses_testing_table(assessor: &Path) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let example = repo_root().join("assessor/examples/job.toml");
    let mut config = std::fs::read_to_string(&example).expect("read the example job config");
    config.push_str("\n[testing]\naws_endpoint_url = \"http://127.0.0.1:9/\"\n");
    let path = dir.path().join("job.toml");
    std::fs::write(&path, config).expect("write the job config");
    let (code, stderr) = check(assessor, &path, "AWS_ENDPOINT_URL");
    assert!(
        code == Some(2)
            && stderr.contains(
                "[testing] is only accepted by a build with the testing-endpoint feature; \
                 the appliance never honours it"
            ),
        "the release assessor {} did not refuse [testing] (it must be built without the \
         testing-endpoint feature): {code:?}\nstderr:\n{stderr}",
        assessor.display(),
    );
    // Without the table, the SDK's own override is refused too, before any
    // AWS call (nothing listens at port 9: a call would fail differently).
    let (code, stderr) = check(assessor, &example, "AWS_ENDPOINT_URL_S3");
    assert!(
        code == Some(2)
            && stderr.contains(
                "the environment sets AWS_ENDPOINT_URL_S3, which would send every AWS call"
            ),
        "the release assessor {} honoured AWS_ENDPOINT_URL_S3: {code:?}\nstderr:\n{stderr}",
        assessor.display(),
    );
}

/// `assessor check --config CONFIG` with `endpoint_variable` pointing at a
/// closed loopback port: the exit code and stderr.
fn check(assessor: &Path, config: &Path, endpoint_variable: &str) -> (Option<i32>, String) {
    let out = Command::new(assessor)
        .arg("check")
        .arg("--config")
        .arg(config)
        // Should the check fail, the preflight must fail fast, not wait for
        // instance metadata or reach AWS.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env(endpoint_variable, "http://127.0.0.1:9/")
        .output()
        .expect("run the release assessor");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
