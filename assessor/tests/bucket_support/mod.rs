//! Shared fixture for the tests of `report` commands against a bucket:
//! moto_server on loopback, a client for it, bundles written as the job
//! writes them (or by hand, to make them hostile), and the CLI run against
//! it.

#![allow(dead_code)] // Each test binary uses a different part.

use std::process::{Command, Output};

use assessor::deliver;
use aws_sdk_s3::primitives::ByteStream;
use testbed::moto::{MotoServer, REGION};

pub const BUCKET: &str = "reports";

pub async fn s3(moto: &MotoServer) -> aws_sdk_s3::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "t", "t", None, None, "test",
        ))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3
}

pub async fn put(s3: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

/// A bundle as the job writes it: `report.html` and `report.json`, then a
/// manifest (written by hand, so tests can make it hostile).
pub async fn put_bundle(s3: &aws_sdk_s3::Client, run: &str, run_id: &str, extra: &[(&str, &[u8])]) {
    let mut files = vec![
        ("report.html", b"<html>ok</html>".as_slice()),
        ("report.json", br#"{"findings":[]}"#.as_slice()),
    ];
    files.extend_from_slice(extra);
    let mut entries = Vec::new();
    for (name, content) in &files {
        if !name.contains("..") {
            put(s3, &format!("p/{run}/{name}"), content.to_vec()).await;
        }
        entries.push(serde_json::json!({
            "name": name,
            "sha256": deliver::sha256_hex(content),
            "size": content.len(),
        }));
    }
    let manifest = serde_json::json!({
        "schema_version": 1,
        "run_id": run_id,
        "files": entries,
    });
    put(
        s3,
        &format!("p/{run}/manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .await;
}

/// The CLI with AWS pointed at `moto` (fake credentials, no IMDS).
pub fn assessor_command(moto: &MotoServer, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assessor"));
    command
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", moto.endpoint_url());
    command
}

pub fn assessor(moto: &MotoServer, args: &[&str]) -> Output {
    assessor_command(moto, args).output().unwrap()
}

pub fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
