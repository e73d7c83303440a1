//! Gate: checkov (offline: `--skip-download`) fails no check on the appliance
//! stack; every skipped check is skipped inline in the template with a
//! written reason; and checkov does fail the deliberately bad template on the
//! checks that matter here, so a clean run is not a run that checked nothing.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use policy_gates::template::{APPLIANCE, BAD, Template};
use serde_json::Value;

fn checkov(file: &str) -> Value {
    policy_gates::checkers::checkov_report(file).unwrap()
}

fn check_ids(report: &Value, kind: &str) -> Vec<(String, String)> {
    report["results"][kind]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["check_id"].as_str().unwrap_or_default().to_owned(),
                c["resource"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn checkov_fails_no_check_on_the_appliance_stack() {
    let report = checkov(APPLIANCE);
    let summary = &report["summary"];
    assert_eq!(
        summary["failed"],
        0,
        "failed: {:?}",
        check_ids(&report, "failed_checks")
    );
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    // The resources really were checked (the count moves with the template;
    // a handful would mean checkov parsed almost nothing).
    assert!(summary["passed"].as_u64().unwrap_or(0) >= 40, "{summary}");
    assert!(
        summary["resource_count"].as_u64().unwrap_or(0) >= 15,
        "{summary}"
    );
}

#[test]
fn every_checkov_skip_is_inline_with_a_reason() {
    let report = checkov(APPLIANCE);
    let skipped = report["results"]["skipped_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let template = Template::appliance().unwrap();
    let mut inline = Vec::new();
    for (id, resource) in template.resources() {
        for skip in resource["Metadata"]["checkov"]["skip"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let check = skip["id"].as_str().unwrap_or_default();
            let comment = skip["comment"].as_str().unwrap_or_default();
            assert!(
                comment.split_whitespace().count() >= 8,
                "{id}: the skip of {check} needs a reason, got {comment:?}"
            );
            inline.push((check.to_owned(), id.to_owned()));
        }
    }
    assert_eq!(skipped.len(), inline.len(), "checkov skipped {skipped:?}");
    for skip in &skipped {
        let check = skip["check_id"].as_str().unwrap_or_default();
        let resource = skip["resource"].as_str().unwrap_or_default();
        assert!(
            inline
                .iter()
                .any(|(c, id)| c == check && resource.ends_with(&format!(".{id}"))),
            "{check} on {resource} is skipped but not written in the template"
        );
        assert!(
            !skip["check_result"]["suppress_comment"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{check} on {resource}: checkov saw no comment"
        );
    }
}

#[test]
fn checkov_fails_the_bad_template_where_it_should() {
    let report = checkov(BAD);
    let failed = check_ids(&report, "failed_checks");
    for (check, resource) in [
        (
            "CKV_AWS_79",
            "AWS::EC2::LaunchTemplate.ViolatesEc2Imdsv2Required",
        ),
        (
            "CKV_AWS_3",
            "AWS::EC2::Volume.ViolatesEbsEncryptedWithCustomerKey",
        ),
        (
            "CKV_AWS_24",
            "AWS::EC2::SecurityGroup.ViolatesSgNoIngressFromAnywhere",
        ),
        (
            "CKV_AWS_158",
            "AWS::Logs::LogGroup.ViolatesLogGroupEncrypted",
        ),
        ("CKV_AWS_53", "AWS::S3::Bucket.ViolatesS3BucketPrivate"),
        (
            "CKV_AWS_111",
            "AWS::IAM::Policy.ViolatesIamNoWildcardResourceOnMutatingActions",
        ),
    ] {
        assert!(
            failed.iter().any(|(c, r)| c == check && r == resource),
            "checkov did not fail {check} on {resource}; it failed {failed:?}"
        );
    }
}
