//! Gate: cfn-lint reports nothing at all (no error, no warning, no
//! informational finding) on the appliance stack, and does report the
//! problems in a deliberately broken template, so a silent run means a clean
//! template and not a checker that looked at nothing.
//!
//! Also: the parameters whose values end up in the instance role's policy or
//! in the security group refuse wildcards and the whole internet. cfn-lint
//! checks a parameter's `Default` against its `AllowedPattern` (E2015), so
//! each parameter definition, copied from the template, is linted with the
//! value under test as its default.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use policy_gates::checkers::Checker;
use policy_gates::placeholders::example;
use policy_gates::template::{APPLIANCE, Template};
use serde_json::{Value, json};

#[test]
fn cfn_lint_finds_nothing_in_the_appliance_stack() {
    let out = Checker::CfnLint
        .run(["--format", "parseable", "--", APPLIANCE], None)
        .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    assert!(out.stdout.trim().is_empty(), "{}", out.transcript());
}

#[test]
fn cfn_lint_reports_the_broken_fixture() {
    let out = Checker::CfnLint
        .run(
            [
                "--format",
                "parseable",
                "--",
                "tests/policy/lint-broken.yaml",
            ],
            None,
        )
        .unwrap();
    // cfn-lint's exit code is a bit mask; 2 is "errors found".
    assert_eq!(out.code.map(|c| c & 2), Some(2), "{}", out.transcript());
    assert!(out.stdout.contains("E3002"), "{}", out.transcript());
    assert!(out.stdout.contains("NotAProperty"), "{}", out.transcript());
}

/// For each (parameter, value), whether the value satisfies the appliance's
/// definition of that parameter, as cfn-lint judges it. One cfn-lint run:
/// each case is a parameter of a probe template, `P<i>`, with the
/// appliance's definition and the value as its default.
fn accepted(cases: &[(&str, &str)]) -> Vec<bool> {
    let appliance = Template::appliance().unwrap();
    let mut parameters = serde_json::Map::new();
    let mut outputs = serde_json::Map::new();
    for (i, (parameter, value)) in cases.iter().enumerate() {
        let mut definition = appliance.doc["Parameters"][*parameter].clone();
        assert!(
            definition.get("AllowedPattern").is_some(),
            "{parameter} has no AllowedPattern"
        );
        definition["Default"] = Value::String((*value).to_owned());
        parameters.insert(format!("P{i}"), definition);
        // Used in an output only, where cfn-lint validates nothing else.
        outputs.insert(
            format!("O{i}"),
            json!({ "Value": { "Ref": format!("P{i}") } }),
        );
    }
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": parameters,
        "Resources": { "Topic": { "Type": "AWS::SNS::Topic" } },
        "Outputs": outputs,
    });
    let out = Checker::CfnLint
        .run(["--format", "json"], Some(template.to_string().as_bytes()))
        .unwrap();
    let findings: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("cfn-lint's JSON: {e}\n{}", out.transcript()));
    let mut refused = vec![false; cases.len()];
    for finding in findings.as_array().into_iter().flatten() {
        let path = &finding["Location"]["Path"];
        // Anything but E2015 on a default would mean the probe is wrong.
        assert_eq!(finding["Rule"]["Id"], "E2015", "{finding}");
        assert_eq!(path[2], "Default", "{finding}");
        let i: usize = path[1]
            .as_str()
            .and_then(|p| p.strip_prefix('P'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{finding}"));
        refused[i] = true;
    }
    refused.into_iter().map(|r| !r).collect()
}

#[test]
fn parameters_that_reach_policies_and_egress_refuse_wildcards_and_the_world() {
    let secret = example("SecretArn").unwrap();
    let key = example("KeyArn").unwrap();
    let mut cases: Vec<(&str, &str, bool)> = Vec::new();
    for (parameter, good, bad) in [
        (
            "SqlServerCidr",
            &["", "10.20.1.15/32", "10.20.0.0/16", "10.0.0.0/8"][..],
            &[
                "0.0.0.0/0",
                "10.0.0.0/0",
                "0.0.0.0/1",
                "10.0.0.0/4",
                "::/0",
                "10.0.0.0",
            ][..],
        ),
        (
            "DbSecretArn",
            &[secret][..],
            &[
                "*",
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:*",
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/*",
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/sql-??",
            ][..],
        ),
        (
            "KmsKeyArn",
            &["", key][..],
            &[
                "*",
                "arn:aws:kms:eu-west-1:111122223333:key/*",
                "alias/aws/ebs",
            ][..],
        ),
        (
            "ReportBucketName",
            &["", "example-assessment-reports"][..],
            &["*", "reports*", "example/assessments"][..],
        ),
        (
            "ReportPrefix",
            &["assessments", "estate-a"][..],
            // Empty would let the role write anywhere in the bucket.
            &["", "*", "a/*", "a/b", "../x"][..],
        ),
    ] {
        cases.extend(good.iter().map(|v| (parameter, *v, true)));
        cases.extend(bad.iter().map(|v| (parameter, *v, false)));
    }
    let probes: Vec<(&str, &str)> = cases.iter().map(|(p, v, _)| (*p, *v)).collect();
    let verdicts = accepted(&probes);
    for ((parameter, value, expected), accepted) in cases.iter().zip(verdicts) {
        assert_eq!(
            accepted, *expected,
            "{parameter}={value:?}: accepted {accepted}, expected {expected}"
        );
    }
}
