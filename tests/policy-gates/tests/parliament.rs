//! Gate: parliament (every auditor, down to INFO) has no finding on any policy
//! document in policies/, each fed on stdin with its placeholders replaced by
//! realistic values. And it does report a deliberately over-broad policy, so
//! silence means a clean document, not an auditor that read nothing.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use policy_gates::checkers::{Checker, Output};
use policy_gates::placeholders::{self, example};
use serde_json::Value;

/// Per-document settings: only the deployer's has any (see that file).
fn config_for(document: &str) -> Option<&'static str> {
    (document == "deployer.json").then_some("policies/parliament-deployer.yaml")
}

fn parliament(policy: &str, config: Option<&str>) -> Output {
    run_parliament(policy, config, false)
}

fn run_parliament(policy: &str, config: Option<&str>, community: bool) -> Output {
    let mut args = vec!["--json", "--minimum_severity", "INFO"];
    if let Some(config) = config {
        args.extend(["--config", config]);
    }
    if community {
        args.push("--include-community-auditors");
    }
    Checker::Parliament
        .run(args, Some(policy.as_bytes()))
        .unwrap()
}

/// The issues parliament reported (one JSON object per line).
fn issues(out: &Output) -> std::collections::BTreeSet<String> {
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|f| f["issue"].as_str().map(String::from))
        .collect()
}

fn substituted(name: &str) -> String {
    placeholders::substitute(&placeholders::document(name).unwrap().to_string()).unwrap()
}

/// In a key policy "Resource": "*" means "this key". Parliament reads every
/// document as an identity policy, so it is given the key's ARN instead,
/// which is what "*" denotes there.
fn as_identity_policy(document: &str, mut policy: Value) -> Value {
    if document == "kms-key-policy.json" {
        for statement in policy["Statement"].as_array_mut().into_iter().flatten() {
            assert_eq!(
                statement["Resource"], "*",
                "a key policy's Resource is always \"*\""
            );
            statement["Resource"] = Value::String("${KeyArn}".into());
        }
    }
    policy
}

#[test]
fn parliament_finds_nothing_in_any_policy_document() {
    let names = placeholders::document_names().unwrap();
    for expected in [
        "appliance-boundary.json",
        "bucket-policy.json",
        "deployer.json",
        "image-publisher.json",
        "instance-role.json",
        "kms-key-policy.json",
        "report-reader.json",
        "estate-reader.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "policies/{expected} is missing"
        );
    }
    for name in &names {
        let policy = as_identity_policy(name, placeholders::document(name).unwrap());
        let text = placeholders::substitute(&policy.to_string()).unwrap();
        // Only IAM's own policy variables may be left.
        assert!(
            !text.replace("${aws:", "").contains("${"),
            "{name}: a placeholder was left"
        );
        let out = parliament(&text, config_for(name));
        assert_eq!(out.code, Some(0), "policies/{name}:\n{}", out.transcript());
        assert!(
            out.stdout.trim().is_empty(),
            "policies/{name}:\n{}",
            out.transcript()
        );
    }
}

#[test]
fn parliament_reports_an_over_broad_policy() {
    let broad = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{}","Condition":{{"StringEquals":{{"s3:prefix":"x"}}}}}}]}}"#,
        example("KeyArn").unwrap()
    );
    let out = parliament(&broad, None);
    assert_ne!(out.code, Some(0), "{}", out.transcript());
    assert!(out.stdout.contains("RESOURCE_STAR"), "{}", out.transcript());
    assert!(
        out.stdout.contains("UNKNOWN_CONDITION_FOR_ACTION"),
        "{}",
        out.transcript()
    );
}

#[test]
fn the_deployer_settings_mute_one_issue_only() {
    let settings = policy_gates::read_repo_file("policies/parliament-deployer.yaml").unwrap();
    let muted: Vec<&str> = settings
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    assert_eq!(muted, ["RESOURCE_POLICY_PRIVILEGE_ESCALATION:"]);
    // Without them, parliament reports exactly that issue on the deployer.
    let out = parliament(&substituted("deployer.json"), None);
    assert_eq!(
        issues(&out),
        std::collections::BTreeSet::from(["RESOURCE_POLICY_PRIVILEGE_ESCALATION".to_owned()]),
        "{}",
        out.transcript()
    );
}

#[test]
fn the_appliance_reader_and_bucket_policies_pass_the_community_auditors_too() {
    // The community auditors flag permissions management (IAM, key and bucket
    // policies, grants) and known privilege-escalation combinations. The
    // deployer must have some (it creates a role and passes it to EC2); the
    // appliance's role, the report reader and the bucket policy have none.
    for name in [
        "instance-role.json",
        "report-reader.json",
        "estate-reader.json",
        "bucket-policy.json",
    ] {
        let out = run_parliament(&substituted(name), None, true);
        assert_eq!(out.code, Some(0), "policies/{name}:\n{}", out.transcript());
        assert!(
            issues(&out).is_empty(),
            "policies/{name}:\n{}",
            out.transcript()
        );
    }
    // The auditors are really on: they report the deployer's role creation.
    let deployer = run_parliament(
        &substituted("deployer.json"),
        Some("policies/parliament-deployer.yaml"),
        true,
    );
    let reported = issues(&deployer);
    for expected in ["PERMISSIONS_MANAGEMENT_ACTIONS", "PRIVILEGE_ESCALATION"] {
        assert!(reported.contains(expected), "{}", deployer.transcript());
    }
}
