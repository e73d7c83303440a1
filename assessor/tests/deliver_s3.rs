//! Report delivery against a real S3 emulator (moto_server on loopback).
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use assessor::deliver::{self, DeliverError, S3Location};
use testbed::moto::{MotoServer, REGION};

async fn clients(moto: &MotoServer) -> (aws_sdk_s3::Client, aws_sdk_kms::Client) {
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
    (s3, aws_sdk_kms::Client::new(&config))
}

#[tokio::test]
async fn bundle_goes_up_encrypted_and_comes_back_verified() {
    let moto = MotoServer::start().unwrap();
    let (s3, kms) = clients(&moto).await;
    let key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    s3.create_bucket().bucket("reports").send().await.unwrap();

    let location = S3Location::new("reports", "assessments").join("run-7");
    let files = vec![
        ("report.html".to_owned(), b"<html>ok</html>".to_vec()),
        ("report.json".to_owned(), br#"{"findings":[]}"#.to_vec()),
    ];
    let manifest = deliver::upload(&s3, &location, &key, "run-7", &files)
        .await
        .unwrap();
    assert_eq!(manifest.files.len(), 2);

    // Every object is SSE-KMS under the customer key.
    for name in ["report.html", "report.json", "manifest.json"] {
        let head = s3
            .head_object()
            .bucket("reports")
            .key(format!("assessments/run-7/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms),
            "{name}"
        );
        assert_eq!(head.ssekms_key_id(), Some(key.as_str()), "{name}");
    }

    let runs = deliver::list_runs(&s3, &S3Location::new("reports", "assessments"))
        .await
        .unwrap();
    assert_eq!(runs, vec![location.clone()]);

    let out = tempfile::tempdir().unwrap();
    let (_, written) = deliver::download(&s3, &location, out.path()).await.unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(
        std::fs::read(out.path().join("report.html")).unwrap(),
        b"<html>ok</html>"
    );

    let url = deliver::presign(&s3, &location, "report.html", Duration::from_secs(600))
        .await
        .unwrap();
    assert!(
        url.contains("X-Amz-Expires=600") && url.contains("report.html"),
        "{url}"
    );

    // A report is written once: a second delivery to the same location
    // (a reused run id) is refused and leaves the first one as it was.
    let again = vec![("report.html".to_owned(), b"<html>second</html>".to_vec())];
    let err = deliver::upload(&s3, &location, &key, "run-7", &again)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliverError::Exists { ref name, .. } if name == "report.html"),
        "{err}"
    );
    assert!(err.to_string().contains("already exists"), "{err}");
    let kept = deliver::download(&s3, &location, tempfile::tempdir().unwrap().path())
        .await
        .unwrap();
    assert_eq!(kept.1.len(), 2);

    // A file altered in the bucket is caught by its checksum.
    s3.put_object()
        .bucket("reports")
        .key("assessments/run-7/report.html")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"<html>evil</html>",
        ))
        .send()
        .await
        .unwrap();
    let err = deliver::download(&s3, &location, tempfile::tempdir().unwrap().path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliverError::Checksum { ref name, .. } if name == "report.html"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_bucket_fails_with_a_message_naming_it() {
    let moto = MotoServer::start().unwrap();
    let (s3, _) = clients(&moto).await;
    let location = S3Location::new("no-such-bucket", "x");
    let err = deliver::upload(
        &s3,
        &location,
        "alias/k",
        "r",
        &[("report.json".into(), b"{}".to_vec())],
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("s3://no-such-bucket/x/") && text.contains("NoSuchBucket"),
        "{text}"
    );
    let missing = deliver::download(
        &s3,
        &S3Location::new("no-such-bucket", "y"),
        tempfile::tempdir().unwrap().path(),
    )
    .await;
    assert!(missing.is_err());
}
