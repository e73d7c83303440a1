//! The `keygen`, `verify-manifest` and `publish` commands, run as a user
//! would, against moto_server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};

use testbed::moto::{MotoServer, REGION};

fn image_builder(args: &[&str], endpoint: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_image-builder"));
    cmd.args(args)
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    if let Some(e) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", e);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn keygen_then_verify_manifest_accepts_a_signed_image_and_refuses_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _) = support::make_image(dir.path(), 8);
    let key = dir.path().join("keys/signing.pub");
    let image = dir.path().to_str().unwrap();

    let out = image_builder(
        &[
            "verify-manifest",
            "--image",
            image,
            "--public-key",
            key.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("valid"),
        "{}",
        text(&out)
    );

    // A key made by `keygen` is another key: refused, exit 1.
    let other_priv = dir.path().join("other.pem");
    let other_pub = dir.path().join("other.pub");
    let out = image_builder(
        &[
            "keygen",
            "--private-key",
            other_priv.to_str().unwrap(),
            "--public-key",
            other_pub.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PRIVATE"),
        "keygen never prints key material"
    );
    let out = image_builder(
        &[
            "verify-manifest",
            "--image",
            image,
            "--public-key",
            other_pub.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // One byte changed: refused, exit 1, and the JSON says why.
    let path = dir.path().join("disk.raw");
    let mut img = std::fs::read(&path).unwrap();
    img[support::MIB + 3] ^= 1;
    std::fs::write(&path, &img).unwrap();
    let out = image_builder(
        &[
            "verify-manifest",
            "--image",
            image,
            "--public-key",
            key.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert!(
        v["error"].as_str().unwrap().contains("partition esp"),
        "{v}"
    );
}

#[test]
fn publish_prints_the_ami_as_json_and_is_idempotent() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = support::make_image(dir.path(), 8);
    let key = dir.path().join("keys/signing.pub");
    let args = [
        "publish",
        "--image",
        dir.path().to_str().unwrap(),
        "--public-key",
        key.to_str().unwrap(),
        "--region",
        REGION,
        "--kms-key",
        "arn:aws:kms:us-east-1:123456789012:key/cli",
        "--json",
    ];
    let out = image_builder(&args, Some(&moto.endpoint_url()));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        first["image_id"].as_str().unwrap().starts_with("ami-"),
        "{first}"
    );
    assert_eq!(first["manifest_sha256"], image.digest().to_hex());
    assert_eq!(first["already_published"], false);

    let out = image_builder(&args, Some(&moto.endpoint_url()));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["image_id"], first["image_id"]);
    assert_eq!(again["already_published"], true);

    // Unsigned: refused with exit 1 before any AWS call.
    std::fs::remove_file(dir.path().join("manifest.json.sig")).unwrap();
    let out = image_builder(&args, Some(&moto.endpoint_url()));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("REFUSED"),
        "{}",
        text(&out)
    );
}
