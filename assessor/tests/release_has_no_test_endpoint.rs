//! The shipped assessor has no AWS endpoint override: the `testing-endpoint`
//! feature, the only code that honours `[testing] aws_endpoint_url`, is
//! enabled neither by `default` nor by anything else that
//! `cargo build --release --locked -p assessor` (the image's build, README
//! "The appliance image") resolves.
//!
//! Asked of cargo's feature resolution, not of `cfg!`: the workspace test run
//! builds this very binary with the feature (the job's tests against
//! emulators need it), so a `cfg` check here would prove nothing. The image
//! tests check the release binary itself (`release_assessor` in
//! `image-builder/tests/whole_image/mod.rs`: it must refuse `[testing]`).
// Test code: a panic is a failed test with its location.
#![allow(clippy::expect_used)]

use std::process::Command;

/// `cargo tree -p assessor -i assessor -e features,normal EXTRA`: which of
/// the assessor's own features a build of it enables, and through what.
fn assessor_features(extra: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            "assessor",
            "-i",
            "assessor",
            "-e",
            "features,normal",
            "--prefix",
            "none",
            "--locked",
            "--offline",
        ])
        .args(extra)
        .output()
        .expect("run cargo tree");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "cargo tree {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_release_build_resolves_without_the_testing_endpoint_feature() {
    let shipped = assessor_features(&[]);
    assert!(
        shipped.contains("assessor feature \"appliance\""),
        "the probe lists the features a release build enables:\n{shipped}"
    );
    assert!(
        !shipped.contains("testing-endpoint"),
        "`cargo build --release -p assessor` would honour [testing] aws_endpoint_url:\n{shipped}"
    );
    // The probe sees the feature when it is on.
    let testing = assessor_features(&["--features", "testing-endpoint"]);
    assert!(
        testing.contains("assessor feature \"testing-endpoint\""),
        "{testing}"
    );
}
