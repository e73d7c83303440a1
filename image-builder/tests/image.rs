//! The whole image, for real: build it from the shipped profile with
//! mmdebstrap from deb.debian.org, boot it under qemu (TCG, OVMF), read its
//! serial console, boot a tampered copy and require the boot to be refused,
//! then rebuild from the same lock and compare digests.
//!
//! Slow (several minutes on 2 cores) and needs root, the tools of
//! `scripts/dev-env` and the Debian mirror. A missing prerequisite fails the
//! test with what to do; nothing here is skipped.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image_builder::boot;
use image_builder::build::{BuildOptions, build};
use image_builder::disk;
use image_builder::manifest;

fn profile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml")
}

fn work_dir() -> PathBuf {
    // Outside the repository, stable between runs so the apt cache is warm.
    PathBuf::from(
        std::env::var("IMAGE_BUILDER_TEST_DIR")
            .unwrap_or_else(|_| "/var/tmp/image-build/test".into()),
    )
}

fn options(out: PathBuf) -> BuildOptions {
    BuildOptions {
        profile: profile(),
        out,
        assessor: None,
        update_lock: false,
        apt_cache: PathBuf::from("/var/tmp/image-build/apt-cache"),
        lock: None,
        signing_key: None,
    }
}

fn quiet(_: &str, _: Option<f64>) {}

#[test]
fn image_builds_boots_verified_refuses_tampering_and_rebuilds_identically() {
    let base = work_dir();
    fs::create_dir_all(&base).expect("create the test folder");

    // 1. Build.
    let started = Instant::now();
    let out_a = base.join("a");
    let info =
        build(&options(out_a.clone()), &mut quiet).unwrap_or_else(|e| panic!("build failed: {e}"));
    let build_seconds = started.elapsed().as_secs_f64();
    assert!(
        info.offline_gates.passed(),
        "{:?}",
        info.offline_gates.failures
    );
    assert!(info.offline_gates.exposure["assessor.service"] <= 1.0);
    let names: Vec<&str> = info.partitions.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["esp", "root", "root-verity", "var"]);
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
    let t = verdict.tamper.as_ref().expect("tamper test ran");
    assert!(
        verdict.tamper_failures.is_empty(),
        "tamper: {:?}; console: {}",
        verdict.tamper_failures,
        t.console_log.display()
    );

    // 3. Rebuild from the same lock: the same root file system, bit for bit.
    // The rebuild also signs its manifest, which must then verify.
    let out_b = base.join("b");
    fs::create_dir_all(&out_b).expect("create the rebuild folder");
    let (private, public) = (base.join("signing.key"), base.join("signing.pub"));
    // A fresh key each run (key files are never overwritten).
    let _ = fs::remove_file(&private);
    let _ = fs::remove_file(&public);
    let public_key =
        manifest::generate_key_files(&private, &public).expect("generate a signing key");
    let mut opts = options(out_b.clone());
    opts.signing_key = Some(private);
    let again = build(&opts, &mut quiet).unwrap_or_else(|e| panic!("rebuild failed: {e}"));
    let verified = manifest::verify_image(&out_b, &public_key)
        .unwrap_or_else(|e| panic!("the signed manifest does not verify: {e}"));
    let m = verified.manifest();
    assert_eq!(
        m.verity.as_ref().map(|v| v.root_hash.as_str()),
        Some(again.verity.root_hash.as_str())
    );
    assert_eq!(m.image.sha256.to_hex(), again.image.sha256);
    assert_eq!(
        again.verity.root_hash, info.verity.root_hash,
        "root hash differs between builds"
    );
    for (x, y) in info.partitions.iter().zip(&again.partitions) {
        assert_eq!(
            x.sha256, y.sha256,
            "partition {} differs between builds",
            x.name
        );
    }
    assert_eq!(
        again.image.sha256, info.image.sha256,
        "disk.raw differs between builds"
    );

    eprintln!(
        "first build {build_seconds:.0} s, rebuild {:.0} s, boot {:.0} s, tampered boot stopped after {:.0} s, qcow2 {} MiB",
        again.total_seconds,
        b.seconds,
        t.seconds,
        info.qcow2.size >> 20
    );
}
