//! `image-builder`: the command-line edge.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use image_builder::profile::Profile;

/// Build, verify and publish the assessment appliance image.
#[derive(Debug, Parser)]
#[command(name = "image-builder", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check an image profile and print what it contains.
    CheckProfile {
        /// The profile file, e.g. image-builder/profiles/appliance.toml.
        #[arg(long)]
        profile: PathBuf,
    },
    /// Build the appliance disk image (raw, qcow2, VMDK) from a profile. Needs root.
    Build {
        /// The profile file, e.g. image-builder/profiles/appliance.toml.
        #[arg(long)]
        profile: PathBuf,
        /// Output folder (disk.raw, disk.qcow2, disk.vmdk, build-info.json,
        /// packages.lock, sbom.cdx.json, offline-gates.json).
        #[arg(long)]
        out: PathBuf,
        /// The release `assessor` binary to install; a placeholder unit body otherwise.
        #[arg(long)]
        assessor: Option<PathBuf>,
        /// Take the mirror's current package versions and rewrite the lock.
        #[arg(long)]
        update_lock: bool,
        /// The package lock (default: the profile's path with `.lock`).
        #[arg(long)]
        lock: Option<PathBuf>,
        /// Downloaded packages kept between builds.
        #[arg(long, default_value = image_builder::build::DEFAULT_APT_CACHE)]
        apt_cache: PathBuf,
        /// ed25519 private key (PKCS#8) to sign manifest.json with.
        #[arg(long)]
        signing_key: Option<PathBuf>,
        /// Source commit to record in the manifest instead of the git
        /// checkout's (builds from a tarball); default: $SOURCE_COMMIT if set.
        #[arg(long)]
        source_commit: Option<String>,
        /// UEFI Secure Boot db private key (PEM) to sign the UKI with
        /// (sbsign); needs --secure-boot-cert.
        #[arg(long, requires = "secure_boot_cert", value_name = "KEY.pem")]
        secure_boot_key: Option<PathBuf>,
        /// The db key's X.509 certificate (PEM): the signed UKI must verify
        /// against it, and it is copied next to the disk.
        #[arg(long, requires = "secure_boot_key", value_name = "CERT.pem")]
        secure_boot_cert: Option<PathBuf>,
        /// Print one JSON document on stdout at the end (steps and their
        /// seconds, output files with size and SHA-256, root hash) instead
        /// of a summary line.
        #[arg(long)]
        json: bool,
    },
    /// Boot a built image under qemu (TCG) and check what it reports; with
    /// --tamper, also check that a copy with a modified root does not boot.
    Verify {
        /// The folder `build` wrote.
        #[arg(long)]
        out: PathBuf,
        /// Also boot a tampered copy and require the boot to be refused.
        #[arg(long)]
        tamper: bool,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check an image folder's manifest signature and every digest it records.
    VerifyManifest {
        /// The image folder (holds manifest.json, manifest.json.sig, disk.raw).
        #[arg(long)]
        image: PathBuf,
        /// The publisher's ed25519 public key (PEM, as `keygen` writes it).
        #[arg(long)]
        public_key: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish a signed image folder as a private, encrypted AMI (EBS direct APIs).
    Publish {
        /// The image folder (manifest.json, manifest.json.sig, disk.raw).
        #[arg(long)]
        image: PathBuf,
        /// The publisher's ed25519 public key: the image is refused unless it verifies.
        #[arg(long)]
        public_key: PathBuf,
        /// AWS region (default: from the environment / profile).
        #[arg(long)]
        region: Option<String>,
        /// KMS key ARN for the snapshot (default: the account's EBS default key).
        #[arg(long)]
        kms_key: Option<String>,
        /// AMI name (default: NAME-VERSION-DIGEST12).
        #[arg(long)]
        name: Option<String>,
        /// Give this account (12 digits) launch permission; repeatable. Needs --kms-key.
        #[arg(long = "share-with", value_name = "ACCOUNT")]
        share_with: Vec<String>,
        /// Copy to REGION, re-encrypted under KMS_KEY_ARN; repeatable.
        #[arg(long = "copy-to", value_name = "REGION=KMS_KEY_ARN")]
        copy_to: Vec<String>,
        /// Parallel block uploads.
        #[arg(long, default_value_t = 32)]
        workers: usize,
        /// Root volume size in GiB (default: the image size, rounded up).
        #[arg(long)]
        root_volume_gib: Option<u64>,
        /// Print the result as JSON on stdout (the AMI id is `image_id`).
        #[arg(long)]
        json: bool,
        /// No progress line even on a terminal.
        #[arg(long)]
        no_progress: bool,
    },
    /// Create a self-signed UEFI Secure Boot db key pair: DIR/db.key (RSA
    /// 3072, PEM, mode 0600) and DIR/db.crt. Never overwrites.
    SecureBootKeygen {
        /// Folder for db.key and db.crt.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The certificate's common name.
        #[arg(long, default_value = "sqlassess-appliance Secure Boot db")]
        common_name: String,
    },
    /// Create an ed25519 signing key (PKCS#8 PEM, mode 0600) and its public key.
    Keygen {
        /// Private key file to create; never overwritten.
        #[arg(long)]
        private_key: PathBuf,
        /// Public key file to write (PEM SubjectPublicKeyInfo).
        #[arg(long)]
        public_key: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build {
            profile,
            out,
            assessor,
            update_lock,
            lock,
            apt_cache,
            signing_key,
            source_commit,
            secure_boot_key,
            secure_boot_cert,
            json,
        } => {
            let source_commit = source_commit.or_else(|| {
                std::env::var("SOURCE_COMMIT")
                    .ok()
                    .filter(|v| !v.is_empty())
            });
            let opts = image_builder::build::BuildOptions {
                profile,
                out,
                assessor,
                update_lock,
                apt_cache,
                lock,
                signing_key,
                source_commit,
                // clap's `requires` makes it both or neither.
                secure_boot: secure_boot_key
                    .zip(secure_boot_cert)
                    .map(|(key, cert)| image_builder::secure_boot::DbKey { key, cert }),
            };
            exit_with(build_image(&opts, json))
        }
        Command::Verify { out, tamper, json } => exit_with(verify_image(&out, tamper, json)),
        Command::VerifyManifest {
            image,
            public_key,
            json,
        } => exit_with(verify_manifest(&image, &public_key, json)),
        Command::SecureBootKeygen { out, common_name } => {
            exit_with(secure_boot_keygen(&out, &common_name))
        }
        Command::Keygen {
            private_key,
            public_key,
        } => exit_with(keygen(&private_key, &public_key)),
        Command::Publish {
            image,
            public_key,
            region,
            kms_key,
            name,
            share_with,
            copy_to,
            workers,
            root_volume_gib,
            json,
            no_progress,
        } => {
            let args = PublishArgs {
                image,
                public_key,
                region,
                kms_key,
                name,
                share_with,
                copy_to,
                workers,
                root_volume_gib,
                json,
                no_progress,
            };
            exit_with(publish_image(args))
        }
        Command::CheckProfile { profile } => match Profile::load(&profile) {
            Ok(p) => {
                println!(
                    "{}: {} packages, ssh {}",
                    p.name,
                    p.packages.len(),
                    if p.ssh { "on" } else { "off" }
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("image-builder: error: {err}");
                ExitCode::from(2)
            }
        },
    }
}

/// 0: done and passed; 1: checks ran and failed; 2: could not run.
fn exit_with(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("image-builder: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `build`: progress on stderr (one line per step, completed in place on a
/// terminal), then a summary line or, with `--json`, one JSON document on
/// stdout. Exit 1 when the offline gates fail, 2 when the build could not run.
fn build_image(opts: &image_builder::build::BuildOptions, json: bool) -> anyhow::Result<bool> {
    use image_builder::build::{self, BuildError, StepEvent};
    use std::io::IsTerminal as _;

    std::fs::create_dir_all(&opts.out)?;
    let tty = std::io::stderr().is_terminal();
    let mut progress = |ev: &StepEvent| eprint!("{}", ev.render(tty));
    let info = match build::build(opts, &mut progress) {
        Ok(info) => info,
        Err(BuildError::Gates { report, failures }) => {
            eprintln!(
                "image-builder: the offline gates failed (report: {}):",
                report.display()
            );
            for f in &failures {
                eprintln!("  {f}");
            }
            if json {
                let out = serde_json::json!({
                    "passed": false,
                    "gate_failures": failures,
                    "report": report,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        let report = build::report(&opts.out, &info)?;
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} built in {:.0} s from {}: {} ({} MiB raw, qcow2 {} MiB, {} packages, {} crates), root hash {}",
            info.name,
            info.total_seconds,
            info.source_commit,
            opts.out.join("disk.raw").display(),
            info.image.size >> 20,
            info.qcow2.size >> 20,
            info.packages,
            info.crates,
            info.verity.root_hash
        );
        if let Some(sb) = &info.secure_boot {
            println!(
                "UKI signed for Secure Boot: the firmware's db must hold {} (sha256 {}); AWS variable store: {}",
                sb.db_cert_subject,
                sb.db_cert_sha256,
                opts.out.join(&sb.aws_uefi_data).display()
            );
        }
    }
    Ok(true)
}

fn secure_boot_keygen(dir: &std::path::Path, common_name: &str) -> anyhow::Result<bool> {
    use image_builder::secure_boot;
    let key = secure_boot::keygen(dir, common_name)?;
    println!(
        "Secure Boot db key {} (keep it offline, mode 0600), certificate {} (sha256 {})",
        key.key.display(),
        key.cert.display(),
        secure_boot::cert_fingerprint(&key.cert)?
    );
    Ok(true)
}

fn verify_image(out: &std::path::Path, tamper: bool, json: bool) -> anyhow::Result<bool> {
    eprintln!(
        "==> booting {} under qemu (TCG)",
        out.join("disk.raw").display()
    );
    let verdict = image_builder::boot::verify_dir(out, tamper)?;
    let path = out.join("verify-report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&verdict)? + "\n")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&verdict)?);
    } else {
        let b = &verdict.boot;
        println!(
            "boot: {:.0} s, verity verified {}, assessor started {}, state {:?}, failed units {:?}",
            b.seconds, b.verity_verified, b.assessor_started, b.state, b.failed_units
        );
        println!(
            "sysctl: {} of the profile's {} keys reported, {} differ; lockdown {:?}",
            b.sysctl.len(),
            verdict.expected.sysctl.len(),
            verdict.sysctl_mismatches.len(),
            b.lockdown
        );
        for f in &verdict.boot_failures {
            println!("  FAIL {f}");
        }
        if let Some(t) = &verdict.tamper {
            println!(
                "tampered root: refused {}, stopped {}, {:.0} s",
                t.refused, t.qemu_exited, t.seconds
            );
            for f in &verdict.tamper_failures {
                println!("  FAIL {f}");
            }
        }
        println!("report: {}", path.display());
    }
    Ok(verdict.passed())
}

/// `verify-manifest`: a failed check is exit 1 with the reason; an unreadable
/// key or folder is exit 2.
fn verify_manifest(
    dir: &std::path::Path,
    public_key: &std::path::Path,
    json: bool,
) -> anyhow::Result<bool> {
    use image_builder::manifest::{ManifestError, PublicKey, verify_image};
    let key = PublicKey::load(public_key)?;
    match verify_image(dir, &key) {
        Ok(v) => {
            if json {
                let out = serde_json::json!({
                    "verified": true,
                    "manifest_sha256": v.digest().to_hex(),
                    "key_id": v.key_id(),
                    "manifest": v.manifest(),
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                let m = v.manifest();
                println!(
                    "{} {}: signature by {} valid; image and {} partitions and {} files match; manifest sha256 {}",
                    m.name,
                    m.version,
                    v.key_id(),
                    m.partitions.len(),
                    m.files.len(),
                    v.digest()
                );
                if let Some(cert) = m.build.extra.get("secure_boot_db_cert_sha256") {
                    println!(
                        "UKI signed for Secure Boot: needs the db certificate with sha256 {cert}"
                    );
                }
            }
            Ok(true)
        }
        Err(e @ ManifestError::Io { .. }) | Err(e @ ManifestError::KeyFile { .. }) => Err(e.into()),
        Err(e) => {
            if json {
                let out = serde_json::json!({ "verified": false, "error": e.to_string() });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                eprintln!("image-builder: REFUSED: {e}");
            }
            Ok(false)
        }
    }
}

fn keygen(private_key: &std::path::Path, public_key: &std::path::Path) -> anyhow::Result<bool> {
    let key = image_builder::manifest::generate_key_files(private_key, public_key)?;
    println!(
        "{}: private key {} (keep it secret), public key {}",
        key.key_id(),
        private_key.display(),
        public_key.display()
    );
    Ok(true)
}

#[derive(Debug)]
struct PublishArgs {
    image: PathBuf,
    public_key: PathBuf,
    region: Option<String>,
    kms_key: Option<String>,
    name: Option<String>,
    share_with: Vec<String>,
    copy_to: Vec<String>,
    workers: usize,
    root_volume_gib: Option<u64>,
    json: bool,
    no_progress: bool,
}

/// `publish`: exit 1 when the image is refused (unsigned, tampered), 2 when
/// publishing could not be done.
fn publish_image(args: PublishArgs) -> anyhow::Result<bool> {
    use image_builder::manifest::PublicKey;
    use image_builder::publish::{self, Clients, PublishDirError, PublishOptions};
    use std::io::IsTerminal as _;

    let copy_to = args
        .copy_to
        .iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<publish::CopyTarget>, _>>()?;
    let opts = PublishOptions {
        kms_key_arn: args.kms_key,
        name: args.name,
        share_with: args.share_with,
        copy_to,
        workers: args.workers,
        root_volume_gib: args.root_volume_gib,
        ..PublishOptions::default()
    };
    opts.validate()?;
    let key = PublicKey::load(&args.public_key)?;
    let tty = std::io::stderr().is_terminal() && !args.no_progress;
    let progress: publish::Progress = std::sync::Arc::new(move |ev| render_progress(ev, tty));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &args.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            anyhow::bail!("no AWS region: pass --region or set AWS_REGION");
        }
        let clients = Clients::new(&sdk);
        Ok(publish::publish_dir(&clients, &args.image, &key, &opts, Some(progress)).await)
    })?;
    let out = match result {
        Ok(out) => out,
        Err(PublishDirError::Refused(e)) => {
            eprintln!("image-builder: REFUSED, nothing was uploaded: {e}");
            return Ok(false);
        }
        Err(PublishDirError::Publish(e)) => return Err(e.into()),
    };
    for w in &out.warnings {
        eprintln!("image-builder: warning: {w}");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let how = if out.already_published {
            "already published".to_owned()
        } else {
            format!(
                "{} MiB sent in {:.1} s ({:.1} MB/s), {} zero blocks skipped, snapshot {:?}",
                out.uploaded_bytes >> 20,
                out.upload_seconds,
                out.upload_mb_per_s,
                out.zero_blocks_skipped,
                out.snapshot
            )
        };
        println!("{} in {}: {} ({how})", out.image_id, out.region, out.name);
        for c in &out.copies {
            println!("{} in {}", c.image_id, c.region);
        }
    }
    Ok(true)
}

fn render_progress(ev: image_builder::publish::ProgressEvent, tty: bool) {
    use image_builder::publish::ProgressEvent;
    match ev {
        ProgressEvent::Step(s) => eprintln!("==> {s}"),
        ProgressEvent::Planned {
            to_upload,
            zero_skipped,
            present_skipped,
        } => eprintln!(
            "    {to_upload} blocks to send ({} MiB), {zero_skipped} zero blocks skipped, {present_skipped} already in the snapshot",
            to_upload / 2
        ),
        ProgressEvent::Uploaded {
            blocks,
            of,
            bytes,
            elapsed,
        } if tty => {
            let secs = elapsed.as_secs_f64().max(1e-3);
            eprint!(
                "\r    {blocks}/{of} blocks, {} MiB, {:.1} MB/s   ",
                bytes >> 20,
                bytes as f64 / 1e6 / secs
            );
            if blocks == of {
                eprintln!();
            }
        }
        ProgressEvent::Uploaded { .. } => {}
    }
}
