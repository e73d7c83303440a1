//! The whole image, for real: build it from the shipped profile with
//! mmdebstrap from deb.debian.org, boot it under qemu (TCG, OVMF), read its
//! serial console (live sysctls and lockdown included), boot a tampered copy
//! and require the boot to be refused, then rebuild from the same lock with
//! the `image-builder build --json` command and another source commit, and
//! compare digests: the commit is in the manifest, not in the image.
//!
//! Slow (several minutes on 2 cores) and needs root, the tools of
//! `scripts/dev-env` and the Debian mirror. A missing prerequisite fails the
//! test with what to do; nothing here is skipped.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use image_builder::boot;
use image_builder::build::{BuildOptions, Step, StepEvent, build};
use image_builder::disk;
use image_builder::manifest;
use image_builder::profile::Profile;
use serde_json::Value;

mod whole_image;

fn profile() -> PathBuf {
    whole_image::profile("appliance.toml")
}

fn work_dir() -> PathBuf {
    whole_image::work_dir("test", "IMAGE_BUILDER_TEST_DIR")
}

fn options(out: PathBuf) -> BuildOptions {
    whole_image::options("appliance.toml", out)
}

fn quiet(_: &StepEvent) {}

fn git(args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// What `source::git_commit` should find, computed independently.
fn workspace_commit() -> String {
    let head = git(&["rev-parse", "HEAD"]);
    if git(&["status", "--porcelain"]).is_empty() {
        head
    } else {
        format!("{head}-dirty")
    }
}

#[test]
fn image_builds_boots_verified_refuses_tampering_and_rebuilds_identically() {
    let base = work_dir();
    fs::create_dir_all(&base).expect("create the test folder");

    // 1. Build.
    let profile_data = Profile::load(&profile()).expect("load the profile");
    let started = Instant::now();
    let out_a = base.join("a");
    let commit_before = workspace_commit();
    let info =
        build(&options(out_a.clone()), &mut quiet).unwrap_or_else(|e| panic!("build failed: {e}"));
    let build_seconds = started.elapsed().as_secs_f64();
    // The workspace's commit (the tree may change while the build runs:
    // another engineer's edits only ever make it dirty).
    assert!(
        [commit_before, workspace_commit()].contains(&info.source_commit),
        "source commit {}",
        info.source_commit
    );
    assert_ne!(info.source_commit, "unknown");
    let names: Vec<&str> = info.steps.iter().map(|s| s.step.as_str()).collect();
    let want: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names, want);
    assert_eq!(
        info.sysctl, profile_data.sysctl,
        "build-info records the profile's sysctls"
    );
    // The placeholder assessor: Debian packages in the SBOM, no crates.
    assert_eq!(info.crates, 0);
    let sbom: Value =
        serde_json::from_slice(&fs::read(out_a.join("sbom.cdx.json")).expect("read the SBOM"))
            .expect("parse the SBOM");
    let purls: Vec<&str> = sbom["components"]
        .as_array()
        .expect("SBOM components")
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(
        purls.iter().all(|p| p.starts_with("pkg:deb/debian/")),
        "{purls:?}"
    );
    // Build-only and pruned packages are not shipped, so not in the SBOM.
    assert_eq!(
        purls.len(),
        info.packages - profile_data.build_packages.len() - profile_data.prune_packages.len()
    );
    for pruned in &profile_data.prune_packages {
        let prefix = format!("pkg:deb/debian/{pruned}@");
        assert!(
            !purls.iter().any(|p| p.starts_with(&prefix)),
            "{pruned} is pruned but in the SBOM"
        );
    }
    assert!(
        info.offline_gates.passed(),
        "{:?}",
        info.offline_gates.failures
    );
    assert!(info.offline_gates.exposure["assessor.service"] <= 1.0);
    // OpenSCAP ran the profile's rules on the tree: real verdicts (not all
    // "notapplicable"), and every failure is one the profile explains.
    let scap = info
        .offline_gates
        .openscap
        .as_ref()
        .expect("the OpenSCAP gate ran");
    assert!(
        scap.counts.get("pass").is_some_and(|&n| n >= 20),
        "{scap:?}"
    );
    assert!(scap.unexpected.is_empty(), "{scap:?}");
    assert_eq!(scap.retargeted.as_deref(), Some("12 -> 13"));
    eprintln!(
        "OpenSCAP {}: {:?} ({} accepted, stale: {:?})",
        scap.profile,
        scap.counts,
        scap.accepted.len(),
        scap.stale
    );
    let names: Vec<&str> = info.partitions.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["esp", "root", "root-verity", "var", "session"]);
    let (root_uuid, verity_uuid) = disk::partuuids_from_root_hash(&info.verity.root_hash).unwrap();
    assert_eq!(info.partitions[1].partuuid, root_uuid);
    assert_eq!(info.partitions[2].partuuid, verity_uuid);
    assert!(info.cmdline.ends_with("console=ttyS0,115200"));
    for f in [
        "disk.raw",
        "disk.qcow2",
        "disk.vmdk",
        "build-info.json",
        "packages.lock",
    ] {
        assert!(out_a.join(f).is_file(), "{f} missing");
    }
    // The partition table on disk is the one recorded (sfdisk reads it back).
    let dump = std::process::Command::new("sfdisk")
        .arg("--dump")
        .arg(out_a.join("disk.raw"))
        .output()
        .expect("run sfdisk --dump");
    let dump = String::from_utf8_lossy(&dump.stdout).to_lowercase();
    for p in &info.partitions {
        assert!(
            dump.contains(&format!("start={:>12}", p.offset / 512)),
            "{dump}"
        );
        assert!(dump.contains(&p.partuuid), "{} not in {dump}", p.partuuid);
    }

    // 2. Boot it, and a copy with a tampered root.
    let verdict =
        boot::verify_dir(&out_a, true).unwrap_or_else(|e| panic!("boot test could not run: {e}"));
    let b = &verdict.boot;
    assert!(
        verdict.boot_failures.is_empty(),
        "boot: {:?}; console: {}",
        verdict.boot_failures,
        b.console_log.display()
    );
    assert!(b.verity_verified && b.assessor_started);
    assert_eq!(b.state.as_deref(), Some("running"));
    // Every sysctl of the profile was read back live and matched.
    assert!(
        verdict.sysctl_mismatches.is_empty(),
        "{:?}",
        verdict.sysctl_mismatches
    );
    assert_eq!(b.sysctl.len(), profile_data.sysctl.len(), "{:?}", b.sysctl);
    // Including the BPF JIT keys only CAP_SYS_ADMIN can read.
    assert_eq!(
        b.sysctl.get("net.core.bpf_jit_harden"),
        Some(&Some("2".to_owned()))
    );
    assert_eq!(
        b.lockdown.as_deref().and_then(boot::active_lockdown),
        Some("confidentiality"),
        "{:?}",
        b.lockdown
    );
    let t = verdict.tamper.as_ref().expect("tamper test ran");
    assert!(
        verdict.tamper_failures.is_empty(),
        "tamper: {:?}; console: {}",
        verdict.tamper_failures,
        t.console_log.display()
    );

    // 3. Rebuild from the same lock with the command CI runs, signing the
    // manifest and recording another source commit: the same disk, bit for
    // bit, so the commit is not inside the image.
    let out_b = base.join("b");
    fs::create_dir_all(&out_b).expect("create the rebuild folder");
    let (private, public) = (base.join("signing.key"), base.join("signing.pub"));
    // A fresh key each run (key files are never overwritten).
    let _ = fs::remove_file(&private);
    let _ = fs::remove_file(&public);
    let public_key =
        manifest::generate_key_files(&private, &public).expect("generate a signing key");
    let run = Command::new(env!("CARGO_BIN_EXE_image-builder"))
        .arg("build")
        .arg("--profile")
        .arg(profile())
        .arg("--out")
        .arg(&out_b)
        .arg("--signing-key")
        .arg(&private)
        .args(["--source-commit", "rebuild-from-tarball-1.0"])
        .arg("--json")
        .env_remove("SOURCE_COMMIT")
        .output()
        .expect("run image-builder build");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "rebuild failed: {stderr}");
    // Not a terminal: whole numbered lines, start and end of each step.
    assert!(stderr.contains("[1/10] rootfs (mmdebstrap)\n"), "{stderr}");
    assert!(stderr.contains("[10/10] SBOM and manifest: "), "{stderr}");
    let report: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("--json printed no single JSON document ({e}): {stderr}"));
    assert_eq!(report["passed"], true);
    assert_eq!(report["signed"], true);
    assert_eq!(report["source_commit"], "rebuild-from-tarball-1.0");
    assert_eq!(report["root_hash"], info.verity.root_hash.as_str());
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), Step::ALL.len());
    assert!(steps.iter().all(|s| s["seconds"].as_f64().is_some()));
    let file = |name: &str| {
        report["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["path"] == name)
            .unwrap_or_else(|| panic!("{name} not in the report: {report}"))
            .clone()
    };
    for name in [
        "manifest.json",
        "manifest.json.sig",
        "build-info.json",
        "sbom.cdx.json",
    ] {
        assert!(file(name)["size"].as_u64().is_some_and(|s| s > 0), "{name}");
    }
    let raw = file("disk.raw");
    assert_eq!(raw["sha256"], info.image.sha256.as_str());

    let verified = manifest::verify_image(&out_b, &public_key)
        .unwrap_or_else(|e| panic!("the signed manifest does not verify: {e}"));
    let m = verified.manifest();
    assert_eq!(m.build.source_commit, "rebuild-from-tarball-1.0");
    assert_eq!(m.sbom.path.as_deref(), Some("sbom.cdx.json"));
    assert_eq!(
        m.verity.as_ref().map(|v| v.root_hash.as_str()),
        Some(info.verity.root_hash.as_str()),
        "root hash differs between builds"
    );
    assert_eq!(
        m.image.sha256.to_hex(),
        info.image.sha256,
        "disk.raw differs between builds"
    );
    let again: Value = serde_json::from_slice(
        &fs::read(out_b.join("build-info.json")).expect("read the rebuild's build-info.json"),
    )
    .expect("parse build-info.json");
    for (x, y) in info
        .partitions
        .iter()
        .zip(again["partitions"].as_array().expect("partitions"))
    {
        assert_eq!(
            y["sha256"],
            x.sha256.as_str(),
            "partition {} differs between builds",
            x.name
        );
    }

    eprintln!(
        "first build {build_seconds:.0} s, rebuild {:.0} s, boot {:.0} s, tampered boot stopped after {:.0} s, qcow2 {} MiB; steps of the rebuild: {}",
        report["total_seconds"].as_f64().unwrap_or_default(),
        b.seconds,
        t.seconds,
        info.qcow2.size >> 20,
        steps
            .iter()
            .map(|s| format!(
                "{} {:.1} s",
                s["step"].as_str().unwrap_or("?"),
                s["seconds"].as_f64().unwrap_or_default()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
