//! Credentials from a real Secrets Manager emulator (moto_server on loopback).
#![cfg(feature = "appliance")]

use assessor::secrets::{DbCredentials, SecretError};
use testbed::moto::{MotoServer, REGION};

async fn client(moto: &MotoServer) -> aws_sdk_secretsmanager::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "t", "t", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_secretsmanager::Client::new(&config)
}

#[tokio::test]
async fn fetches_by_name_and_by_arn_and_reports_each_fault_by_secret_id() {
    let moto = MotoServer::start().unwrap();
    let sm = client(&moto).await;
    let created = sm
        .create_secret()
        .name("prod/sqlserver")
        .secret_string(
            r#"{"username":"assessor","password":"canary-pw-7f3a","host":"10.0.0.5","port":1433}"#,
        )
        .send()
        .await
        .unwrap();

    let by_name = DbCredentials::fetch(&sm, "prod/sqlserver").await.unwrap();
    assert_eq!(by_name.username, "assessor");
    assert_eq!(by_name.password.expose(), "canary-pw-7f3a");
    let by_arn = DbCredentials::fetch(&sm, created.arn().unwrap())
        .await
        .unwrap();
    assert_eq!(by_arn.port, Some(1433));

    let missing = DbCredentials::fetch(&sm, "prod/nope").await.unwrap_err();
    assert!(matches!(missing, SecretError::NotFound { .. }), "{missing}");
    assert!(missing.to_string().contains("prod/nope"));

    sm.create_secret()
        .name("prod/binary")
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(
            b"\x00\x01".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    let binary = DbCredentials::fetch(&sm, "prod/binary").await.unwrap_err();
    assert!(matches!(binary, SecretError::Binary { .. }), "{binary}");

    sm.create_secret()
        .name("prod/text")
        .secret_string("canary-pw-7f3a")
        .send()
        .await
        .unwrap();
    let not_json = DbCredentials::fetch(&sm, "prod/text").await.unwrap_err();
    assert!(
        matches!(not_json, SecretError::NotJson { .. }),
        "{not_json}"
    );
    assert!(!not_json.to_string().contains("canary-pw-7f3a"));
}
