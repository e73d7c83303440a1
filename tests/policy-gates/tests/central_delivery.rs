//! Central delivery (docs/deploy.md, "Many accounts"; SECURITY.md, C39): the
//! appliance stack with `ReportKmsKeyArn` set writes its reports to the
//! central bucket, under `ACCOUNT-ID/ReportPrefix/` and SSE-KMS under the
//! central key. Without it, the role, the S3 endpoint and the boundary admit
//! this account's resources only, as before the parameter existed; with it,
//! exactly the central bucket (this account's prefix) and key are added.
//!
//! The template's policies are rendered both ways (the `CentralDelivery`
//! condition false, then true) and the rendered role and the boundary are
//! evaluated for the appliance's own requests.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use policy_gates::evaluator::{Decision, Request, evaluate};
use policy_gates::placeholders::{self, example, render_for, substitute};
use policy_gates::template::{Template, as_list};
use serde_json::{Value, json};

fn ex(name: &str) -> &'static str {
    example(name).unwrap()
}

/// A template policy rendered with `CentralDelivery` as given, placeholders kept.
fn rendered(logical_id: &str, central: bool) -> Value {
    let t = Template::appliance().unwrap();
    render_for(&t.properties(logical_id)["PolicyDocument"], central).unwrap()
}

/// The same with the placeholders' example values, for the evaluator.
fn resolved(value: &Value) -> Value {
    serde_json::from_str(&substitute(&value.to_string()).unwrap()).unwrap()
}

fn by_sid(policy: &Value) -> BTreeMap<String, Value> {
    as_list(&policy["Statement"])
        .into_iter()
        .map(|s| (s["Sid"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

/// The boundary as an administrator creates it: for one account,
/// `${ReportAccountId}` is the account itself (docs/deploy.md).
fn boundary(central: bool) -> Value {
    let text = placeholders::document("appliance-boundary.json")
        .unwrap()
        .to_string();
    let text = if central {
        text
    } else {
        text.replace("${ReportAccountId}", "${AccountId}")
    };
    serde_json::from_str(&substitute(&text).unwrap()).unwrap()
}

#[test]
fn without_central_delivery_nothing_names_another_account() {
    let role = rendered("InstanceRolePolicy", false).to_string();
    let endpoint = rendered("S3Endpoint", false);
    for placeholder in ["${ReportKeyArn}", "${ReportAccountId}"] {
        assert!(!role.contains(placeholder), "{role}");
        assert!(!endpoint.to_string().contains(placeholder), "{endpoint}");
    }
    // The one statement of every endpoint: this account's principals and
    // resources.
    let statements = as_list(&endpoint["Statement"]);
    assert_eq!(statements.len(), 1, "{endpoint}");
    assert_eq!(
        statements[0]["Condition"]["StringEquals"],
        json!({ "aws:PrincipalAccount": "${AccountId}", "aws:ResourceAccount": "${AccountId}" })
    );
}

#[test]
fn central_delivery_changes_only_the_uploads_key_and_prefix() {
    let local = by_sid(&rendered("InstanceRolePolicy", false));
    let central = by_sid(&rendered("InstanceRolePolicy", true));
    assert_eq!(
        local.keys().collect::<Vec<_>>(),
        central.keys().collect::<Vec<_>>()
    );
    let changed: Vec<&str> = local
        .iter()
        .filter(|(sid, s)| central[*sid] != **s)
        .map(|(sid, _)| sid.as_str())
        .collect();
    assert_eq!(
        changed,
        [
            "CheckTheReportBucketExists",
            "ReportUploadsThroughS3Only",
            "WriteReportsUnderThePrefixWithSseKms",
        ]
    );
    let path = "${AccountId}/${ReportPrefix}";
    let uploads = &central["ReportUploadsThroughS3Only"];
    assert_eq!(uploads["Resource"], "${ReportKeyArn}");
    assert_eq!(
        uploads["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"],
        json!([
            "arn:${Partition}:s3:::${BucketName}",
            format!("arn:${{Partition}}:s3:::${{BucketName}}/{path}/*")
        ])
    );
    let write = &central["WriteReportsUnderThePrefixWithSseKms"];
    assert_eq!(
        write["Resource"],
        format!("arn:${{Partition}}:s3:::${{BucketName}}/{path}/*")
    );
    assert_eq!(
        write["Condition"]["ArnEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"],
        "${ReportKeyArn}"
    );
    assert_eq!(
        central["CheckTheReportBucketExists"]["Condition"]["StringLikeIfExists"]["s3:prefix"],
        json!([format!("{path}/"), format!("{path}/*")])
    );
    // The session's data keys and the secret stay under this account's key.
    assert_eq!(
        central["SessionDataKeysBoundToTheJob"]["Resource"],
        "${KeyArn}"
    );

    // The S3 endpoint gains one statement: the central bucket, this
    // account's prefix, the appliance's two actions.
    let endpoint = rendered("S3Endpoint", true);
    let statements = as_list(&endpoint["Statement"]);
    assert_eq!(statements.len(), 2, "{endpoint}");
    assert_eq!(
        statements[0],
        &as_list(&rendered("S3Endpoint", false)["Statement"])[0].clone()
    );
    assert_eq!(
        statements[1]["Action"],
        json!(["s3:ListBucket", "s3:PutObject"])
    );
    assert_eq!(
        statements[1]["Resource"],
        json!([
            "arn:${Partition}:s3:::${BucketName}",
            "arn:${Partition}:s3:::${BucketName}/${AccountId}/*"
        ])
    );
    assert_eq!(
        statements[1]["Condition"]["StringEquals"],
        json!({ "aws:PrincipalAccount": "${AccountId}", "aws:ResourceAccount": "${ReportAccountId}" })
    );
}

/// What every request of the appliance carries: from its instance, in its VPC.
fn from_the_appliance(action: &str, resource: &str, resource_account: &str) -> Request {
    Request::new(action, resource)
        .with("aws:ResourceAccount", &[resource_account])
        .with("aws:ec2InstanceSourceVPC", &[ex("VpcId")])
        .with("aws:ec2InstanceSourcePrivateIPv4", &["10.20.1.10"])
        .with("aws:VpcSourceIp", &["10.20.1.10"])
        .with("aws:ViaAWSService", &["false"])
}

fn object(path: &str) -> String {
    format!("arn:aws:s3:::{}/{path}", ex("BucketName"))
}

/// A report upload to the central bucket under `path`, SSE-KMS under `key`.
fn upload(path: &str, key: &str) -> Request {
    from_the_appliance("s3:PutObject", &object(path), ex("ReportAccountId"))
        .with("s3:x-amz-server-side-encryption", &["aws:kms"])
        .with("s3:x-amz-server-side-encryption-aws-kms-key-id", &[key])
}

/// S3 asking the central key for the upload's data key, on the appliance's
/// behalf (no VPC or address of the instance then).
fn data_key_for(path: &str) -> Request {
    let mut request = from_the_appliance(
        "kms:GenerateDataKey",
        ex("ReportKeyArn"),
        ex("ReportAccountId"),
    )
    .with("aws:ViaAWSService", &["true"])
    .with("kms:ViaService", &["s3.eu-west-1.amazonaws.com"])
    .with("kms:EncryptionContext:aws:s3:arn", &[&object(path)]);
    request.context.remove("aws:VpcSourceIp");
    request.context.remove("aws:ec2InstanceSourceVPC");
    request
}

fn decision(policy: &Value, request: &Request) -> Decision {
    evaluate(policy, request).unwrap()
}

#[test]
fn the_role_and_boundary_allow_a_central_upload_only_when_configured() {
    let own = format!(
        "{}/{}/run-1/report.json",
        ex("AccountId"),
        ex("ReportPrefix")
    );
    let central_role = resolved(&rendered("InstanceRolePolicy", true));
    let local_role = resolved(&rendered("InstanceRolePolicy", false));
    let central_boundary = boundary(true);
    let single_boundary = boundary(false);
    let requests = [
        ("the upload", upload(&own, ex("ReportKeyArn"))),
        ("its data key", data_key_for(&own)),
    ];
    for (what, request) in &requests {
        assert_eq!(
            decision(&central_role, request),
            Decision::Allowed,
            "{what}"
        );
        assert_eq!(
            decision(&central_boundary, request),
            Decision::Allowed,
            "{what}"
        );
        // Not configured: neither the role nor a one-account boundary admits it.
        assert_eq!(
            decision(&local_role, request),
            Decision::NotAllowed,
            "{what}"
        );
        assert_eq!(
            decision(&single_boundary, request),
            Decision::NotAllowed,
            "{what}"
        );
    }
    // Configured, still only this account's prefix and the central key.
    let other = format!("444455556666/{}/run-1/report.json", ex("ReportPrefix"));
    for (what, request) in [
        (
            "another account's prefix",
            upload(&other, ex("ReportKeyArn")),
        ),
        (
            "the bucket's top level",
            upload("report.json", ex("ReportKeyArn")),
        ),
        ("this account's key", upload(&own, ex("KeyArn"))),
        ("a data key for another prefix", data_key_for(&other)),
    ] {
        assert_ne!(
            decision(&central_role, &request),
            Decision::Allowed,
            "{what}"
        );
    }
    // The boundary's second account is the central one only.
    let elsewhere = upload(&own, ex("ReportKeyArn")).with("aws:ResourceAccount", &["444455556666"]);
    assert_ne!(decision(&central_boundary, &elsewhere), Decision::Allowed);
}
