//! UEFI Secure Boot: the UKI signed with the publisher's db key, and the
//! firmware variables that make a machine enforce it.
//!
//! Guarantees:
//! - [`sign_uki`] hands back a signed UKI only after `sbverify --cert`
//!   accepted it with the given db certificate (so the key and the
//!   certificate are a pair, and the signature covers the whole image).
//! - The signature's signing time is `SOURCE_DATE_EPOCH` (sbsign runs under
//!   `faketime`), and RSA PKCS#1 v1.5 signatures are deterministic: with the
//!   same key, a rebuild gives the same signed UKI and the same disk, bit for
//!   bit. Without faketime sbsign stamps the wall clock into the PKCS#7
//!   `signingTime`, and each build would differ.
//! - The private key is read only by `sbsign` and `openssl`; this crate
//!   never copies it. [`keygen`] creates it with mode 0600 and never
//!   overwrites a file.
//! - The variable stores of [`enroll_ovmf_vars`] and [`aws_uefi_data`] hold
//!   the db certificate as PK, KEK and db, no Microsoft keys, and Secure Boot
//!   on: that firmware runs only EFI binaries signed with the db key.
//!
//! Not covered: dbx (revocation) is empty; one key serves as PK, KEK and
//! db, so whoever holds it can also re-enrol the store; the firmware does
//! not check certificate expiry (it has no trusted clock). Secure Boot
//! authenticates the UKI (kernel, initrd, command line with the root hash),
//! and dm-verity the root from there: nothing here checks `/var`.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::manifest::Sha256;
use crate::path_error::{PathError, io_err};
use crate::tool::{self, ToolError};

/// Owner GUID of the enrolled certificates (UUIDv5 of "sqlassess-appliance"
/// in the DNS namespace): fixed, so the variable stores are reproducible.
pub const OWNER_GUID: &str = "97eefb91-9a6d-5a6d-8785-db99dbac0684";

/// The build's copy of the db certificate, next to the disk.
pub const CERT_FILE: &str = "secure-boot-db.crt";

/// The AWS UEFI variable store (`aws ec2 register-image --uefi-data`).
pub const AWS_UEFI_DATA_FILE: &str = "uefi-data.aws";

/// Debian's OVMF with Secure Boot support and SMM (needs `-machine smm=on`).
pub const OVMF_CODE_SECBOOT: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";

/// The empty variable store the enrolled stores start from.
pub const OVMF_VARS_TEMPLATE: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// File names [`keygen`] writes in its folder.
pub const KEY_FILE: &str = "db.key";
pub const KEYGEN_CERT_FILE: &str = "db.crt";

/// Why signing, key generation or enrolment failed.
#[derive(Debug, thiserror::Error)]
pub enum SecureBootError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Io(#[from] PathError),
    #[error(
        "{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the db certificate that `image-builder secure-boot-keygen` wrote, or one from your PKI"
    )]
    NotACertificate { path: PathBuf },
    #[error(
        "the signed UKI {uki} does not verify against {cert}: check that the key and the certificate are a pair\n{output}"
    )]
    NotVerified {
        uki: PathBuf,
        cert: PathBuf,
        output: String,
    },
    #[error(
        "{path} already exists: secure-boot-keygen never overwrites a key; choose another folder, or move the old key away deliberately"
    )]
    Exists { path: PathBuf },
}

/// The db signing key pair: a PEM private key and its PEM X.509 certificate.
/// Only paths: the key itself never enters this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbKey {
    pub key: PathBuf,
    pub cert: PathBuf,
}

/// What `build-info.json` (and the manifest) record of a signed UKI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecureBootInfo {
    /// Always true when present: `BOOTX64.EFI` carries an Authenticode
    /// signature that verified against the certificate.
    pub uki_signed: bool,
    /// SHA-256 of the db certificate's DER (`openssl x509 -fingerprint
    /// -sha256`): the certificate the firmware's db must hold.
    pub db_cert_sha256: String,
    /// The certificate's subject, as openssl prints it.
    pub db_cert_subject: String,
    /// The certificate, copied next to the disk ([`CERT_FILE`]).
    pub db_cert_file: String,
    /// The AWS UEFI variable store with the certificate enrolled
    /// ([`AWS_UEFI_DATA_FILE`]).
    pub aws_uefi_data: String,
}

/// The DER bytes of the first certificate in a PEM file.
pub fn cert_der(cert: &Path) -> Result<Vec<u8>, SecureBootError> {
    let text = fs::read_to_string(cert).map_err(io_err("cannot read", cert))?;
    let not_cert = || SecureBootError::NotACertificate {
        path: cert.to_owned(),
    };
    let body = text
        .split_once("-----BEGIN CERTIFICATE-----")
        .and_then(|(_, rest)| rest.split_once("-----END CERTIFICATE-----"))
        .map(|(body, _)| body)
        .ok_or_else(not_cert)?;
    let b64: String = body.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| not_cert())
}

/// The certificate's SHA-256 fingerprint (of its DER), lowercase hex.
pub fn cert_fingerprint(cert: &Path) -> Result<String, SecureBootError> {
    Ok(Sha256::of(&cert_der(cert)?).to_hex())
}

fn cert_subject(cert: &Path) -> Result<String, SecureBootError> {
    let out = tool::stdout(
        tool::command(
            "openssl",
            ["x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        )
        .arg("-in")
        .arg(cert),
    )?;
    Ok(out
        .trim()
        .strip_prefix("subject=")
        .unwrap_or(out.trim())
        .to_owned())
}

/// Signs `unsigned` with the db key into `signed` (signing time
/// `epoch`), then requires `sbverify --cert` to accept it.
pub fn sign_uki(
    key: &DbKey,
    unsigned: &Path,
    signed: &Path,
    epoch: u64,
) -> Result<(), SecureBootError> {
    for p in [key.key.as_path(), key.cert.as_path(), unsigned] {
        fs::metadata(p).map_err(io_err("cannot read", p))?;
    }
    // A certificate that is not PEM fails here with a clear message rather
    // than in sbsign's OpenSSL error queue.
    cert_der(&key.cert)?;
    let _ = fs::remove_file(signed);
    // A frozen clock at the epoch (FAKETIME_FMT=%s reads it as seconds; no
    // '@', which would let it run on): the PKCS#7 signingTime is the epoch.
    tool::run(
        tool::command("faketime", ["-f", &epoch.to_string(), "sbsign"])
            .env("FAKETIME_FMT", "%s")
            .arg("--key")
            .arg(&key.key)
            .arg("--cert")
            .arg(&key.cert)
            .arg("--output")
            .arg(signed)
            .arg(unsigned),
    )?;
    verify_uki(signed, &key.cert)
}

/// `sbverify --cert`: the UKI carries a signature that chains to `cert`.
pub fn verify_uki(uki: &Path, cert: &Path) -> Result<(), SecureBootError> {
    match tool::run(tool::command("sbverify", ["--cert"]).arg(cert).arg(uki)) {
        Ok(_) => Ok(()),
        Err(ToolError::Failed { stderr, .. }) => Err(SecureBootError::NotVerified {
            uki: uki.to_owned(),
            cert: cert.to_owned(),
            output: stderr,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Signs the build's UKI in place and writes, into `out`, the certificate
/// ([`CERT_FILE`]) and the AWS variable store ([`AWS_UEFI_DATA_FILE`]).
/// The unsigned UKI is kept as `<uki>.unsigned` (the test re-signs it).
pub fn sign_build(
    key: &DbKey,
    uki: &Path,
    out: &Path,
    epoch: u64,
) -> Result<SecureBootInfo, SecureBootError> {
    let unsigned = uki.with_extension("EFI.unsigned");
    fs::rename(uki, &unsigned).map_err(io_err("cannot rename", uki))?;
    sign_uki(key, &unsigned, uki, epoch)?;
    let cert_copy = out.join(CERT_FILE);
    fs::copy(&key.cert, &cert_copy).map_err(io_err("cannot copy", &key.cert))?;
    aws_uefi_data(
        Path::new(OVMF_VARS_TEMPLATE),
        &key.cert,
        &out.join(AWS_UEFI_DATA_FILE),
    )?;
    Ok(SecureBootInfo {
        uki_signed: true,
        db_cert_sha256: cert_fingerprint(&key.cert)?,
        db_cert_subject: cert_subject(&key.cert)?,
        db_cert_file: CERT_FILE.to_owned(),
        aws_uefi_data: AWS_UEFI_DATA_FILE.to_owned(),
    })
}

/// Creates `dir/db.key` (RSA 3072, PEM, mode 0600) and `dir/db.crt`
/// (self-signed, CN `common_name`, code signing, 10 years). Refuses when
/// either exists.
pub fn keygen(dir: &Path, common_name: &str) -> Result<DbKey, SecureBootError> {
    fs::create_dir_all(dir).map_err(io_err("cannot create", dir))?;
    let key = DbKey {
        key: dir.join(KEY_FILE),
        cert: dir.join(KEYGEN_CERT_FILE),
    };
    for p in [&key.key, &key.cert] {
        if p.symlink_metadata().is_ok() {
            return Err(SecureBootError::Exists { path: p.clone() });
        }
    }
    // RSA: what UEFI firmware verifies everywhere; 3072 bits for 128-bit
    // strength (OVMF and AWS accept it).
    let pem = Zeroizing::new(
        tool::run(&mut tool::command(
            "openssl",
            [
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:3072",
            ],
        ))?
        .stdout,
    );
    write_new(&key.key, &pem, 0o600)?;
    let subject = format!("/CN={}/", common_name.replace('/', "\\/"));
    let cert = tool::run(
        tool::command(
            "openssl",
            [
                "req",
                "-new",
                "-x509",
                "-sha256",
                "-days",
                "3650",
                "-subj",
                &subject,
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-addext",
                "keyUsage=critical,digitalSignature",
                "-addext",
                "extendedKeyUsage=codeSigning",
                "-key",
            ],
        )
        .arg(&key.key),
    );
    let cert = match cert {
        Ok(out) => out.stdout,
        Err(e) => {
            // No half pair left behind.
            let _ = fs::remove_file(&key.key);
            return Err(e.into());
        }
    };
    write_new(&key.cert, &cert, 0o644)?;
    Ok(key)
}

fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), SecureBootError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => SecureBootError::Exists {
                path: path.to_owned(),
            },
            _ => io_err("cannot create", path)(e).into(),
        })?;
    Ok(f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(io_err("cannot write", path))?)
}

/// `virt-fw-vars` of the `virt-firmware` PyPI package: `$ASSESSOR_VIRT_FW_VARS`,
/// else the test-peers venv of `scripts/dev-env`, else the PATH.
pub fn virt_fw_vars_program() -> PathBuf {
    if let Some(p) = std::env::var_os("ASSESSOR_VIRT_FW_VARS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("ASSESSOR_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/sqlassess")));
    cache
        .map(|c| c.join("venv-peers/bin/virt-fw-vars"))
        .filter(|venv| venv.is_file())
        .unwrap_or_else(|| PathBuf::from("virt-fw-vars"))
}

fn virt_fw_vars(
    template: &Path,
    cert: &Path,
    output_flag: &str,
    out: &Path,
) -> Result<(), SecureBootError> {
    cert_der(cert)?;
    let program = virt_fw_vars_program();
    let mut cmd = std::process::Command::new(&program);
    cmd.arg("--input").arg(template);
    for flag in ["--set-pk", "--add-kek", "--add-db"] {
        cmd.args([flag, OWNER_GUID]).arg(cert);
    }
    cmd.arg("--secure-boot").arg(output_flag).arg(out);
    let _ = fs::remove_file(out);
    tool::run(&mut cmd)?;
    Ok(())
}

/// An OVMF variable store (from `template`, e.g. [`OVMF_VARS_TEMPLATE`])
/// with `cert` as PK, KEK and db and Secure Boot on, for
/// [`OVMF_CODE_SECBOOT`].
pub fn enroll_ovmf_vars(template: &Path, cert: &Path, out: &Path) -> Result<(), SecureBootError> {
    virt_fw_vars(template, cert, "--output", out)
}

/// The same store in AWS's format (base64 text), for `register-image
/// --uefi-data`.
pub fn aws_uefi_data(template: &Path, cert: &Path, out: &Path) -> Result<(), SecureBootError> {
    virt_fw_vars(template, cert, "--output-aws", out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_certificate_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pem");
        fs::write(
            &p,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = cert_fingerprint(&p).unwrap_err().to_string();
        assert!(
            err.contains("x.pem") && err.contains("no PEM certificate"),
            "{err}"
        );
    }

    /// Real openssl: the key is 0600, the fingerprint is openssl's, and a
    /// second run refuses to overwrite.
    #[test]
    fn keygen_writes_a_private_key_0600_and_never_overwrites() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path(), "test-image Secure Boot db").unwrap();
        let mode = fs::metadata(&key.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let out = tool::stdout(
            tool::command(
                "openssl",
                ["x509", "-noout", "-fingerprint", "-sha256", "-in"],
            )
            .arg(&key.cert),
        )
        .unwrap();
        let theirs: String = out
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .replace(':', "")
            .to_lowercase();
        assert_eq!(cert_fingerprint(&key.cert).unwrap(), theirs);
        assert_eq!(
            cert_subject(&key.cert).unwrap(),
            "CN=test-image Secure Boot db"
        );
        let before = fs::read(&key.key).unwrap();
        let err = keygen(dir.path(), "again").unwrap_err();
        assert!(matches!(err, SecureBootError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&key.key).unwrap(), before);
    }
}
