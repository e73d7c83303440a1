//! Gate: the estate stack (cloudformation/estate.yaml: Glue tables over the
//! runs' query tables, an Athena workgroup, the named queries) is checked
//! like the appliance's: cfn-lint reports nothing, checkov fails nothing,
//! and every rule of policies/guard-estate passes on it and fails on a
//! template with one targeted breakage. That its named queries give the
//! estate's numbers is proven in assessor/tests/report_merge.rs (DuckDB over
//! delivered runs).

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use policy_gates::checkers::Checker;
use policy_gates::guard::{self, Status};
use policy_gates::template::Template;
use serde_json::{Value, json};

const ESTATE: &str = "cloudformation/estate.yaml";
const RULES: &str = "policies/guard-estate";

fn guard_on(data: &str) -> BTreeMap<String, Status> {
    guard::validate(RULES, data).unwrap().1
}

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

/// The estate stack with `change` applied, written as JSON for cfn-guard.
fn changed(dir: &std::path::Path, change: impl FnOnce(&mut Value)) -> String {
    let mut doc = Template::load(ESTATE).unwrap().doc;
    change(&mut doc);
    let path = dir.join("estate-changed.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

/// `(rule, the resource it must name, the change that breaks it)`.
type Breakage = (&'static str, &'static str, Box<dyn FnOnce(&mut Value)>);

#[test]
fn every_estate_rule_passes_and_catches_its_breakage() {
    let rules = guard::defined_rules_in(RULES).unwrap();
    assert_eq!(rules.len(), 2, "{rules:?}");
    let clean = guard_on(ESTATE);
    for rule in &rules {
        assert_eq!(clean.get(rule), Some(&Status::Pass), "{rule}: {clean:?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let wg = "/Resources/WorkGroup/Properties/WorkGroupConfiguration";
    let breakages: [Breakage; 5] = [
        (
            "athena_workgroup_enforced_and_encrypted",
            "WorkGroup",
            Box::new(move |d| {
                *d.pointer_mut(&format!("{wg}/EnforceWorkGroupConfiguration"))
                    .unwrap() = json!(false)
            }),
        ),
        (
            "athena_workgroup_enforced_and_encrypted",
            "WorkGroup",
            Box::new(move |d| {
                *d.pointer_mut(&format!("{wg}/ResultConfiguration/EncryptionConfiguration"))
                    .unwrap() = json!({ "EncryptionOption": "SSE_S3" })
            }),
        ),
        (
            "athena_workgroup_enforced_and_encrypted",
            "WorkGroup",
            Box::new(move |d| {
                d.pointer_mut(wg)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove("BytesScannedCutoffPerQuery");
            }),
        ),
        (
            "glue_tables_read_the_query_layer_only",
            "FindingsTable",
            Box::new(|d| {
                *d.pointer_mut(
                    "/Resources/FindingsTable/Properties/TableInput/StorageDescriptor/Location",
                )
                .unwrap() = json!({ "Fn::Sub": "s3://${ReportBucketName}/${ReportPrefix}/" })
            }),
        ),
        (
            "glue_tables_read_the_query_layer_only",
            "ObjectsTable",
            Box::new(|d| {
                *d.pointer_mut("/Resources/ObjectsTable/Properties/TableInput/StorageDescriptor/SerdeInfo/SerializationLibrary")
                    .unwrap() = json!("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")
            }),
        ),
    ];
    for (rule, resource, change) in breakages {
        let data = changed(tmp.path(), change);
        let outcome = guard_on(&data);
        match outcome.get(rule) {
            Some(Status::Fail { resources }) => {
                assert!(resources.contains(resource), "{rule}: {resources:?}")
            }
            other => panic!("{rule} did not fail on its breakage of {resource}: {other:?}"),
        }
        for other in rules.iter().filter(|r| *r != rule) {
            assert_eq!(
                outcome.get(other),
                Some(&Status::Pass),
                "{other} on {rule}'s breakage"
            );
        }
    }
}
