//! Data keys against a real KMS emulator (moto_server on loopback).
#![cfg(feature = "appliance")]

use assessor::envelope::{Binding, DataKey, EnvelopeError};
use testbed::moto::{MotoServer, REGION};

async fn kms(moto: &MotoServer) -> aws_sdk_kms::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "t", "t", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_kms::Client::new(&config)
}

#[tokio::test]
async fn data_key_from_kms_seals_and_is_recovered_only_with_its_run_context() {
    let moto = MotoServer::start().unwrap();
    let kms = kms(&moto).await;
    let key_id = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();

    let key = DataKey::generate(&kms, &key_id, "run-42").await.unwrap();
    assert!(!key.encrypted_blob().is_empty());
    // moto's wrapped key starts with the key's id: what job_e2e scans the
    // session directory for to prove no wrapped key is ever written there.
    assert!(key.encrypted_blob().starts_with(key_id.as_bytes()));
    let binding = Binding::new("run-42", "modules", "1", "definition");
    let sealed = key.sealer().unwrap().seal(&binding, b"SELECT 1").unwrap();

    // The same run recovers the key from the blob and opens the value.
    let again = DataKey::decrypt(&kms, &key_id, "run-42", key.encrypted_blob().to_vec())
        .await
        .unwrap();
    assert_eq!(
        again
            .sealer()
            .unwrap()
            .open(&binding, &sealed)
            .unwrap()
            .as_slice(),
        b"SELECT 1"
    );

    // Another run's context cannot decrypt the blob.
    let other = DataKey::decrypt(&kms, &key_id, "run-43", key.encrypted_blob().to_vec()).await;
    assert!(
        matches!(
            other,
            Err(EnvelopeError::Kms {
                action: "Decrypt",
                ..
            })
        ),
        "{other:?}"
    );
}

#[tokio::test]
async fn disabled_or_missing_key_fails_with_a_clear_error() {
    let moto = MotoServer::start().unwrap();
    let kms = kms(&moto).await;
    let key_id = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    kms.disable_key().key_id(&key_id).send().await.unwrap();

    let err = DataKey::generate(&kms, &key_id, "run-1").await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, EnvelopeError::KeyNotUsable { .. }), "{text}");
    assert!(
        text.contains(&key_id) && text.contains("Disabled"),
        "{text}"
    );

    let missing = DataKey::generate(&kms, "alias/does-not-exist", "run-1")
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("alias/does-not-exist"),
        "{missing}"
    );
}
