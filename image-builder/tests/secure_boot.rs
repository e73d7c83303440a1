//! UEFI Secure Boot, for real: a fresh db key from `image-builder
//! secure-boot-keygen`, the image built with `build --secure-boot-key
//! --secure-boot-cert`, then booted under qemu (TCG) with OVMF's Secure Boot
//! firmware and a variable store that enrols only that key. The signed image
//! must boot to the assessor with the kernel reporting Secure Boot on; the
//! same disk with the unsigned UKI, and with the UKI signed by another key,
//! must be refused by the firmware before anything of the image runs.
//!
//! One build serves every assertion (the refused variants only swap
//! `BOOTX64.EFI` on a copy of the ESP). Slow (a build and three boots, about
//! 5 minutes on 2 cores), needs root, `scripts/dev-env`'s tools (sbsigntool,
//! faketime, ovmf, virt-firmware) and the Debian mirror. Nothing is skipped.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use image_builder::boot::{self, BootOptions, BootOutcome};
use image_builder::secure_boot::{self, DbKey};
use serde_json::Value;

mod whole_image;

fn base() -> PathBuf {
    whole_image::work_dir("secure_boot", "IMAGE_BUILDER_SECURE_BOOT_TEST_DIR")
}

fn profile() -> PathBuf {
    whole_image::profile("appliance.toml")
}

fn image_builder(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_image-builder"))
        .args(args)
        .env_remove("SOURCE_COMMIT")
        .output()
        .unwrap_or_else(|e| panic!("cannot run image-builder: {e}"))
}

/// `openssl x509 -fingerprint -sha256`, as lowercase hex without colons.
fn openssl_fingerprint(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .replace(':', "")
        .to_lowercase()
}

/// mcopy on the ESP inside a disk image (`-o`: overwrite).
fn mcopy(disk: &Path, esp_offset: u64, from: &str, to: &str) {
    let img = format!("{}@@{esp_offset}", disk.display());
    let out = Command::new("mcopy")
        .args(["-o", "-i", &img, from, to])
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run mcopy: {e}"));
    assert!(
        out.status.success(),
        "mcopy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sbverify(uki: &Path, cert: &Path) -> bool {
    Command::new("sbverify")
        .arg("--cert")
        .arg(cert)
        .arg(uki)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sbverify: {e}"))
        .status
        .success()
}

fn secure_boot(image: &Path, vars: &Path, work: PathBuf, timeout: u64) -> BootOutcome {
    let mut opts = BootOptions::new(image.to_owned(), work).with_secure_boot(vars.to_owned());
    opts.timeout = Duration::from_secs(timeout);
    boot::boot(&opts).unwrap_or_else(|e| panic!("the Secure Boot boot could not run: {e}"))
}

/// The firmware refused the image: nothing of it ran.
fn assert_refused(o: &BootOutcome, what: &str) {
    let log = fs::read_to_string(&o.console_log).unwrap_or_default();
    assert!(
        o.firmware_refused,
        "{what}: the firmware did not refuse it; console: {}",
        o.console_log.display()
    );
    assert!(
        !log.contains("EFI stub") && !log.contains("Linux version"),
        "{what}: the kernel ran: {}",
        o.console_log.display()
    );
    assert!(!o.verity_verified && !o.assessor_started && o.state.is_none());
}

#[test]
fn a_signed_image_boots_under_secure_boot_and_unsigned_or_foreign_ukis_are_refused() {
    let base = base();
    fs::create_dir_all(&base).expect("create the test folder");

    // 1. A fresh db key pair, with the command an operator runs.
    let keys = base.join("keys");
    let _ = fs::remove_dir_all(&keys);
    let arg = |s: &Path| s.as_os_str().to_owned();
    let run = image_builder(&[
        "secure-boot-keygen".as_ref(),
        "--out".as_ref(),
        &arg(&keys),
        "--common-name".as_ref(),
        "sqlassess-appliance test db".as_ref(),
    ]);
    assert!(
        run.status.success(),
        "keygen: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let key = DbKey {
        key: keys.join(secure_boot::KEY_FILE),
        cert: keys.join(secure_boot::KEYGEN_CERT_FILE),
    };
    let mode = fs::metadata(&key.key).expect("db.key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is readable by others");
    let fingerprint = openssl_fingerprint(&key.cert);
    assert!(String::from_utf8_lossy(&run.stdout).contains(&fingerprint));
    let key_bytes = fs::read(&key.key).expect("read db.key");
    let again = image_builder(&["secure-boot-keygen".as_ref(), "--out".as_ref(), &arg(&keys)]);
    assert_eq!(again.status.code(), Some(2), "keygen overwrote a key");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(fs::read(&key.key).expect("read db.key"), key_bytes);

    // 2. Build with the key, as CI would (manifest signed too).
    let out = base.join("out");
    fs::create_dir_all(&out).expect("create the output folder");
    let (signing, public) = (base.join("signing.key"), base.join("signing.pub"));
    let _ = fs::remove_file(&signing);
    let _ = fs::remove_file(&public);
    let public_key =
        image_builder::manifest::generate_key_files(&signing, &public).expect("signing key");
    let started = Instant::now();
    let run = image_builder(&[
        "build".as_ref(),
        "--profile".as_ref(),
        &arg(&profile()),
        "--out".as_ref(),
        &arg(&out),
        "--secure-boot-key".as_ref(),
        &arg(&key.key),
        "--secure-boot-cert".as_ref(),
        &arg(&key.cert),
        "--signing-key".as_ref(),
        &arg(&signing),
        "--json".as_ref(),
    ]);
    let build_seconds = started.elapsed().as_secs_f64();
    assert!(
        run.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&run.stdout).expect("build --json");
    let files: Vec<&str> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        files.contains(&secure_boot::CERT_FILE) && files.contains(&secure_boot::AWS_UEFI_DATA_FILE),
        "{files:?}"
    );
    let info: Value = serde_json::from_slice(
        &fs::read(out.join("build-info.json")).expect("read build-info.json"),
    )
    .expect("parse build-info.json");
    let sb = &info["secure_boot"];
    assert_eq!(sb["uki_signed"], true);
    assert_eq!(sb["db_cert_sha256"], fingerprint.as_str());
    assert_eq!(sb["db_cert_subject"], "CN=sqlassess-appliance test db");
    assert_eq!(
        openssl_fingerprint(&out.join(secure_boot::CERT_FILE)),
        fingerprint
    );
    // The signed manifest tells its readers which db certificate the image
    // needs, and covers the certificate and the AWS store by digest.
    let verified = image_builder::manifest::verify_image(&out, &public_key)
        .unwrap_or_else(|e| panic!("the manifest does not verify: {e}"));
    let m = verified.manifest();
    assert_eq!(m.build.extra["uki"], "signed");
    assert_eq!(m.build.extra["secure_boot_db_cert_sha256"], fingerprint);
    let listed: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    for f in [secure_boot::CERT_FILE, secure_boot::AWS_UEFI_DATA_FILE] {
        assert!(listed.contains(&f), "{f} not in {listed:?}");
    }

    // The AWS variable store holds our db and Secure Boot on (virt-fw-vars
    // reads AWS's format back).
    let dump = Command::new(secure_boot::virt_fw_vars_program())
        .arg("--input")
        .arg(out.join(secure_boot::AWS_UEFI_DATA_FILE))
        .arg("--print")
        .output()
        .expect("run virt-fw-vars");
    let dump =
        String::from_utf8_lossy(&dump.stdout).into_owned() + &String::from_utf8_lossy(&dump.stderr);
    for var in ["PK ", "KEK ", "db ", "SecureBootEnable"] {
        assert!(
            dump.contains(var),
            "{var} missing from the AWS store: {dump}"
        );
    }
    assert!(dump.contains("bool: ON"), "{dump}");

    // 3. The UKI on the disk is the signed one, and signing is reproducible:
    // the unsigned UKI the build kept, signed again, gives the same bytes.
    let esp_offset = info["partitions"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "esp"))
        .and_then(|p| p["offset"].as_u64())
        .expect("esp offset");
    let disk = out.join("disk.raw");
    let on_disk = base.join("BOOTX64.on-disk.EFI");
    let _ = fs::remove_file(&on_disk);
    mcopy(
        &disk,
        esp_offset,
        "::/EFI/BOOT/BOOTX64.EFI",
        &on_disk.display().to_string(),
    );
    assert!(
        sbverify(&on_disk, &key.cert),
        "the UKI on the ESP is not signed"
    );
    let unsigned = out.join("work/BOOTX64.EFI.unsigned");
    assert!(!sbverify(&unsigned, &key.cert));
    let epoch = info["source_date_epoch"].as_u64().expect("epoch");
    let resigned = base.join("BOOTX64.resigned.EFI");
    secure_boot::sign_uki(&key, &unsigned, &resigned, epoch).expect("sign again");
    assert!(
        fs::read(&resigned).expect("read") == fs::read(&on_disk).expect("read"),
        "signing the same UKI with the same key gave other bytes"
    );

    // 4. Boot it with Secure Boot enforced and only our key enrolled.
    let vars = base.join("OVMF_VARS.enrolled.fd");
    secure_boot::enroll_ovmf_vars(Path::new(secure_boot::OVMF_VARS_TEMPLATE), &key.cert, &vars)
        .expect("enrol the db certificate");
    let expected =
        boot::Expected::from_build_info(&out.join("build-info.json")).expect("expectations");
    let good = secure_boot(&disk, &vars, base.join("boot-signed"), 420);
    assert!(
        good.failures(&expected).is_empty(),
        "signed image under Secure Boot: {:?}; console: {}",
        good.failures(&expected),
        good.console_log.display()
    );
    assert_eq!(
        good.secure_boot,
        Some(true),
        "the kernel did not report Secure Boot on; console: {}",
        good.console_log.display()
    );
    assert!(!good.firmware_refused);
    let log = fs::read_to_string(&good.console_log).expect("console log");
    assert!(
        log.contains("EFI stub: UEFI Secure Boot is enabled."),
        "{log}"
    );

    // 5. The same disk with the unsigned UKI, then with one signed by another
    // key: the firmware refuses both.
    let bad = base.join("refused.raw");
    fs::copy(&disk, &bad).expect("copy the disk");
    mcopy(
        &bad,
        esp_offset,
        &unsigned.display().to_string(),
        "::/EFI/BOOT/BOOTX64.EFI",
    );
    let unsigned_boot = secure_boot(&bad, &vars, base.join("boot-unsigned"), 240);
    assert_refused(&unsigned_boot, "unsigned UKI");

    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = secure_boot::keygen(other_dir.path(), "someone else's db").expect("other key");
    let foreign = base.join("BOOTX64.foreign.EFI");
    secure_boot::sign_uki(&other, &unsigned, &foreign, epoch).expect("sign with the other key");
    assert!(!sbverify(&foreign, &key.cert));
    mcopy(
        &bad,
        esp_offset,
        &foreign.display().to_string(),
        "::/EFI/BOOT/BOOTX64.EFI",
    );
    let foreign_boot = secure_boot(&bad, &vars, base.join("boot-foreign"), 240);
    assert_refused(&foreign_boot, "UKI signed with another key");
    let _ = fs::remove_file(&bad);

    eprintln!(
        "Secure Boot: build {build_seconds:.0} s; signed boot to the boot report {:.0} s; unsigned refused after {:.0} s, foreign key refused after {:.0} s",
        good.seconds, unsigned_boot.seconds, foreign_boot.seconds
    );
}
