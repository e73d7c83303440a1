//! Publishing benchmark (issue 7): bytes uploaded versus bytes used in the
//! image (target ≤ 1.1×), and upload throughput against moto_server.
//!
//! `cargo bench -p image-builder --bench publish`. Uses a synthetic signed
//! image; set `IB_BENCH_IMAGE=/path/to/disk.raw` to also measure a real built
//! image (read in place, never modified: the bench signs a manifest in a
//! temporary folder that links to it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use image_builder::manifest::{
    BuildInputs, ManifestInputs, Sha256, SigningKey, generate_key_files, verify_image,
    write_signed_manifest,
};
use image_builder::publish::{self, Clients, PublishOptions, plan};
use testbed::moto::MotoServer;

fn report_ratio(label: &str, path: &Path) {
    let t = Instant::now();
    let p = plan::scan_path(path, None).unwrap();
    println!(
        "{label}: image {} MiB, used (non-zero 4 KiB pages) {:.1} MiB, uploaded {:.1} MiB in {} of {} blocks: uploaded/used = {:.3}x (scan {:.2} s)",
        p.image_size >> 20,
        p.used_bytes as f64 / 1048576.0,
        p.upload_bytes() as f64 / 1048576.0,
        p.data_blocks.len(),
        p.total_blocks,
        p.upload_bytes() as f64 / p.used_bytes.max(1) as f64,
        t.elapsed().as_secs_f64()
    );
}

fn sign_in_place(dir: &Path, image: &Path) -> image_builder::manifest::VerifiedImage {
    std::os::unix::fs::symlink(image, dir.join("disk.raw")).unwrap();
    let public = generate_key_files(&dir.join("k.pem"), &dir.join("k.pub")).unwrap();
    let key = SigningKey::load(&dir.join("k.pem")).unwrap();
    let inputs = ManifestInputs {
        name: "bench".into(),
        version: "0".into(),
        image_file: "disk.raw".into(),
        partitions: vec![],
        verity: None,
        sbom: None,
        files: vec![],
        build: BuildInputs {
            source_commit: "bench".into(),
            source_date_epoch: 0,
            profile: "bench".into(),
            profile_sha256: Sha256::of(b""),
            package_lock_sha256: None,
            builder_version: "bench".into(),
            extra: BTreeMap::new(),
        },
    };
    write_signed_manifest(dir, &inputs, &key).unwrap();
    verify_image(dir, &public).unwrap()
}

fn main() {
    // cargo bench passes `--bench`; nextest/cargo test may list benches: do nothing then.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let moto = MotoServer::start().unwrap();
    let sdk = rt.block_on(support::sdk_config(&moto.endpoint_url()));
    let clients = Clients::new(&sdk);

    let dir = tempfile::tempdir().unwrap();
    let (synthetic, _) = support::make_image(dir.path(), 64);
    report_ratio("synthetic 64 MiB", &synthetic.image_path());
    let real = std::env::var_os("IB_BENCH_IMAGE");
    if let Some(path) = &real {
        report_ratio("real image", Path::new(path));
    }

    let mut runs = vec![("synthetic 64 MiB", synthetic, 8)];
    let real_dir = tempfile::tempdir().unwrap();
    if let Some(path) = &real {
        let image = sign_in_place(real_dir.path(), Path::new(path));
        runs.push(("real image", image, 32));
    }
    for (label, image, workers) in runs {
        for w in [workers, workers * 4] {
            moto.reset().unwrap();
            let opts = PublishOptions {
                kms_key_arn: Some("arn:aws:kms:us-east-1:123456789012:key/bench".into()),
                workers: w,
                poll: Duration::from_millis(100),
                ..PublishOptions::default()
            };
            let t = Instant::now();
            let out = rt
                .block_on(publish::publish(&clients, &image, &opts, None))
                .unwrap();
            println!(
                "{label}, {w} workers: {} blocks / {:.1} MiB uploaded in {:.2} s = {:.1} MB/s to moto; {} zero blocks skipped; whole publish {:.2} s",
                out.uploaded_blocks,
                out.uploaded_bytes as f64 / 1048576.0,
                out.upload_seconds,
                out.upload_mb_per_s,
                out.zero_blocks_skipped,
                t.elapsed().as_secs_f64()
            );
        }
    }
}
