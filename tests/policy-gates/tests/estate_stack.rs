//! Gate: the estate stack (cloudformation/estate.yaml: Glue tables over the
//! runs' query tables, an Athena workgroup, the named queries) is checked
//! like the appliance's: cfn-lint reports nothing, checkov fails nothing,
//! and every rule of policies/guard-estate passes on it and fails on a
//! template with one targeted breakage. That its named queries give the
//! estate's numbers is proven in assessor/tests/report_merge.rs (DuckDB over
//! delivered runs).

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use policy_gates::checkers::Checker;
use policy_gates::guard::{self, Breakage};
use serde_json::json;

const ESTATE: &str = "cloudformation/estate.yaml";
const RULES: &str = "policies/guard-estate";

#[test]
fn cfn_lint_and_checkov_find_nothing_in_the_estate_stack() {
    let out = Checker::CfnLint
        .run(["--format", "parseable", "--", ESTATE], None)
        .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    assert!(out.stdout.trim().is_empty(), "{}", out.transcript());

    let report = policy_gates::checkers::checkov_report(ESTATE).unwrap();
    assert_eq!(report["summary"]["failed"], 0, "{report}");
    assert_eq!(report["summary"]["parsing_errors"], 0, "{report}");
    assert!(report["summary"]["resource_count"].as_u64().unwrap() >= 8);
}

#[test]
fn every_estate_rule_passes_and_catches_its_breakage() {
    let rules = guard::defined_rules_in(RULES).unwrap();
    assert_eq!(rules.len(), 2, "{rules:?}");
    let tmp = tempfile::tempdir().unwrap();
    let wg = "/Resources/WorkGroup/Properties/WorkGroupConfiguration";
    let breakages = vec![
        Breakage::new(
            "athena_workgroup_enforced_and_encrypted",
            "WorkGroup",
            move |d| {
                *d.pointer_mut(&format!("{wg}/EnforceWorkGroupConfiguration"))
                    .unwrap() = json!(false)
            },
        ),
        Breakage::new(
            "athena_workgroup_enforced_and_encrypted",
            "WorkGroup",
            move |d| {
                *d.pointer_mut(&format!("{wg}/ResultConfiguration/EncryptionConfiguration"))
                    .unwrap() = json!({ "EncryptionOption": "SSE_S3" })
            },
        ),
        Breakage::new(
            "athena_workgroup_enforced_and_encrypted",
            "WorkGroup",
            move |d| {
                d.pointer_mut(wg)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove("BytesScannedCutoffPerQuery");
            },
        ),
        Breakage::new(
            "glue_tables_read_the_query_layer_only",
            "FindingsTable",
            |d| {
                *d.pointer_mut(
                    "/Resources/FindingsTable/Properties/TableInput/StorageDescriptor/Location",
                )
                .unwrap() = json!({ "Fn::Sub": "s3://${ReportBucketName}/${ReportPrefix}/" })
            },
        ),
        Breakage::new(
            "glue_tables_read_the_query_layer_only",
            "ObjectsTable",
            |d| {
                *d.pointer_mut("/Resources/ObjectsTable/Properties/TableInput/StorageDescriptor/SerdeInfo/SerializationLibrary")
                .unwrap() = json!("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")
            },
        ),
    ];
    let problems = guard::breakages_caught(RULES, ESTATE, tmp.path(), breakages).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}
