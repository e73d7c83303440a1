//! Gate: every cfn-guard rule in policies/guard passes on the appliance stack
//! (passes, not "not applicable"), and each rule is proven to catch what it
//! claims, twice:
//!
//! - on the deliberately bad template, it fails because of exactly the one
//!   resource written to break it (`Violates<RuleName>`), and nothing else;
//! - on the appliance stack with one targeted change that breaks that rule
//!   (an IMDSv1 launch template, a volume under the AWS-managed key, ...), it
//!   fails on the changed resource while every other rule still passes. So
//!   the rules understand the real template's shapes (`Fn::If` keys, inline
//!   and standalone egress rules), not only the fixture's.
//!
//! Each rule has its own module of tests below.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use policy_gates::guard::{self, DOCUMENT_RULES_DIR, RULES_DIR, Status};
use policy_gates::template::{APPLIANCE, BAD, Template};
use serde_json::{Value, json};

/// Runs every rule on `data` (a path below the repository root, or an
/// absolute path) and returns the exit code and each rule's outcome.
fn guard(data: &str) -> (Option<i32>, BTreeMap<String, Status>) {
    guard_with(RULES_DIR, data)
}

/// Runs the rules of `rules` (a file or directory) on `data`.
fn guard_with(rules: &str, data: &str) -> (Option<i32>, BTreeMap<String, Status>) {
    guard::validate(rules, data).unwrap()
}

fn fail_on(resource: &str) -> Status {
    Status::Fail {
        resources: BTreeSet::from([resource.to_owned()]),
    }
}

#[test]
fn the_rule_files_define_the_expected_rules() {
    let rules = guard::defined_rules().unwrap();
    let expected: BTreeSet<String> = [
        "sg_no_ingress_from_anywhere",
        "sg_egress_on_allow_list",
        "ec2_imdsv2_required",
        "ebs_encrypted_with_customer_key",
        "s3_bucket_private",
        "s3_bucket_tls_only",
        "s3_bucket_sse_kms",
        "iam_no_wildcard_resource_on_mutating_actions",
        "log_group_encrypted",
        "iam_role_under_the_shipped_boundary",
        "iam_role_trusts_ec2_only",
        "stack_tag_on_what_the_deployer_may_change",
        "vpc_endpoint_interface_with_private_dns",
        "vpc_endpoint_policy_this_account_only",
        "appliance_denied_outside_its_vpc",
        "s3_report_versions_kept",
        "kms_report_decrypt_by_named_reader",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(rules, expected);
}

#[test]
fn every_rule_passes_on_the_appliance_stack() {
    let (code, rules) = guard(APPLIANCE);
    let defined = guard::defined_rules().unwrap();
    assert_eq!(rules.keys().cloned().collect::<BTreeSet<_>>(), defined);
    for (rule, status) in &rules {
        assert_eq!(status, &Status::Pass, "{rule} on {APPLIANCE}");
    }
    assert_eq!(code, Some(0));
}

#[test]
fn the_bad_template_breaks_every_rule_and_cfn_guard_says_so() {
    let (code, rules) = guard(BAD);
    let defined = guard::defined_rules().unwrap();
    assert_eq!(rules.keys().cloned().collect::<BTreeSet<_>>(), defined);
    assert!(
        rules.values().all(|s| matches!(s, Status::Fail { .. })),
        "{rules:?}"
    );
    // cfn-guard exits 19 when a rule fails.
    assert_eq!(code, Some(19));
}

/// The rule fails on the bad template because of its own resource only.
fn fails_on_the_bad_template(rule: &str) {
    let (_, rules) = guard(BAD);
    let culprit = guard::violating_resource(rule);
    let bad = Template::load(BAD).unwrap();
    assert!(
        bad.resource(&culprit).is_some(),
        "{BAD} has no {culprit} to break {rule}"
    );
    assert_eq!(
        rules.get(rule),
        Some(&fail_on(&culprit)),
        "{rule} must fail on {culprit} and nothing else; all outcomes: {rules:?}"
    );
}

/// A change to the appliance template that must break one rule.
type Mutation = fn(&mut Value);

/// Applies `mutation` to the appliance stack and checks that `rule` fails
/// on `culprit` and every other rule still passes.
fn catches(rule: &str, variant: usize, culprit: &str, mutation: Mutation) {
    let original = Template::appliance().unwrap().doc;
    let mut doc = original.clone();
    mutation(&mut doc);
    assert_ne!(doc, original, "the mutation changed nothing");
    let path: PathBuf = [
        env!("CARGO_TARGET_TMPDIR"),
        &format!("appliance-breaking-{rule}-{variant}.json"),
    ]
    .iter()
    .collect();
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let (code, rules) = guard(path.to_str().unwrap());
    assert_eq!(code, Some(19), "{rules:?}");
    for (name, status) in &rules {
        if name == rule {
            assert_eq!(status, &fail_on(culprit), "{rule}, variant {variant}");
        } else {
            assert_eq!(
                status,
                &Status::Pass,
                "variant {variant} of the {rule} mutation also broke {name}"
            );
        }
    }
    assert!(rules.contains_key(rule), "{rule} was not evaluated");
}

/// The value at a JSON pointer into the template, which must exist.
fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("the appliance template has nothing at {pointer}"))
}

/// Removes a key from the object at `pointer`; it must have been there.
fn remove(doc: &mut Value, pointer: &str, key: &str) {
    let removed = at(doc, pointer).as_object_mut().and_then(|m| m.remove(key));
    assert!(removed.is_some(), "no {key} at {pointer}");
}

/// Adds `item` to the list at `pointer`.
fn push(doc: &mut Value, pointer: &str, item: Value) {
    at(doc, pointer)
        .as_array_mut()
        .unwrap_or_else(|| panic!("{pointer} is not a list"))
        .push(item);
}

/// One module per rule: its failure on the bad template, and on each
/// mutation of the appliance stack, as separate tests.
macro_rules! rule_is_proven {
    ($rule:ident, $(($culprit:literal, $mutation:expr)),+ $(,)?) => {
        mod $rule {
            // The mutations are written where the macro is called.
            use super::*;

            #[test]
            fn fails_on_the_bad_template_because_of_its_own_resource() {
                super::fails_on_the_bad_template(stringify!($rule));
            }

            #[test]
            fn catches_its_violation_in_the_appliance_stack() {
                let mutations: &[(&str, super::Mutation)] = &[$(($culprit, $mutation)),+];
                for (variant, (culprit, mutation)) in mutations.iter().enumerate() {
                    super::catches(stringify!($rule), variant, culprit, *mutation);
                }
            }
        }
    };
}

const SG: &str = "/Resources/InstanceSecurityGroup/Properties";
const LT: &str = "/Resources/LaunchTemplate/Properties/LaunchTemplateData";
const BUCKET: &str = "/Resources/ReportBucket/Properties";
const ROLE_POLICY: &str = "/Resources/InstanceRolePolicy/Properties/PolicyDocument/Statement";

rule_is_proven!(
    sg_no_ingress_from_anywhere,
    ("InstanceSecurityGroup", |t| {
        at(t, SG).as_object_mut().unwrap().insert(
            "SecurityGroupIngress".into(),
            json!([{ "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0" }]),
        );
    }),
    ("InstanceSecurityGroup", |t| {
        at(t, SG).as_object_mut().unwrap().insert(
            "SecurityGroupIngress".into(),
            json!([{ "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0" }]),
        );
    })
);

rule_is_proven!(
    sg_egress_on_allow_list,
    ("InstanceSecurityGroup", |t| {
        push(
            t,
            &format!("{SG}/SecurityGroupEgress"),
            json!({ "IpProtocol": "-1", "CidrIp": "0.0.0.0/0" }),
        );
    }),
    ("SqlServerEgressToCidr", |t| {
        // The SQL Server rule widened to every port.
        *at(t, "/Resources/SqlServerEgressToCidr/Properties/FromPort") = json!(0);
        *at(t, "/Resources/SqlServerEgressToCidr/Properties/ToPort") = json!(65535);
    }),
    ("InstanceSecurityGroup", |t| {
        // HTTPS, but to the whole internet rather than the endpoints.
        let egress = at(t, &format!("{SG}/SecurityGroupEgress/0"));
        egress
            .as_object_mut()
            .unwrap()
            .remove("DestinationSecurityGroupId");
        egress["CidrIp"] = json!("0.0.0.0/0");
    }),
    ("InstanceSecurityGroup", |t| {
        // S3 through a gateway's prefix list: public addresses again.
        push(
            t,
            &format!("{SG}/SecurityGroupEgress"),
            json!({ "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                    "DestinationPrefixListId": { "Ref": "AWS::NoValue" } }),
        );
    })
);

rule_is_proven!(
    ec2_imdsv2_required,
    ("LaunchTemplate", |t| {
        *at(t, &format!("{LT}/MetadataOptions/HttpTokens")) = json!("optional");
    }),
    ("LaunchTemplate", |t| {
        *at(t, &format!("{LT}/MetadataOptions/HttpPutResponseHopLimit")) = json!(2);
    }),
    ("Instance", |t| {
        remove(t, "/Resources/Instance/Properties", "LaunchTemplate");
    })
);

rule_is_proven!(
    ebs_encrypted_with_customer_key,
    ("LaunchTemplate", |t| {
        // Encrypted, but under the AWS-managed key.
        remove(t, &format!("{LT}/BlockDeviceMappings/0/Ebs"), "KmsKeyId");
    }),
    ("LaunchTemplate", |t| {
        *at(t, &format!("{LT}/BlockDeviceMappings/0/Ebs/Encrypted")) = json!(false);
    }),
    ("LaunchTemplate", |t| {
        *at(t, &format!("{LT}/BlockDeviceMappings/0/Ebs/KmsKeyId")) = json!("alias/aws/ebs");
    })
);

rule_is_proven!(
    s3_bucket_private,
    ("ReportBucket", |t| {
        *at(
            t,
            &format!("{BUCKET}/PublicAccessBlockConfiguration/RestrictPublicBuckets"),
        ) = json!(false);
    }),
    ("ReportBucket", |t| {
        at(t, BUCKET)
            .as_object_mut()
            .unwrap()
            .insert("AccessControl".into(), json!("PublicRead"));
    })
);

rule_is_proven!(
    s3_bucket_tls_only,
    ("ReportBucket", |t| {
        let statements = at(
            t,
            "/Resources/ReportBucketPolicy/Properties/PolicyDocument/Statement",
        );
        let list = statements.as_array_mut().unwrap();
        let before = list.len();
        list.retain(|s| s["Sid"] != "DenyInsecureTransport");
        assert_eq!(list.len(), before - 1);
    })
);

rule_is_proven!(
    s3_bucket_sse_kms,
    ("ReportBucket", |t| {
        let sse = at(
            t,
            &format!("{BUCKET}/BucketEncryption/ServerSideEncryptionConfiguration/0"),
        );
        *sse = json!({ "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } });
    }),
    ("ReportBucket", |t| {
        *at(
            t,
            &format!(
                "{BUCKET}/BucketEncryption/ServerSideEncryptionConfiguration/0/BucketKeyEnabled"
            ),
        ) = json!(false);
    }),
    ("ReportBucket", |t| {
        let statements = at(
            t,
            "/Resources/ReportBucketPolicy/Properties/PolicyDocument/Statement",
        );
        let list = statements.as_array_mut().unwrap();
        let before = list.len();
        list.retain(|s| s["Sid"] != "DenyUploadsWithoutSseKms");
        assert_eq!(list.len(), before - 1);
    })
);

rule_is_proven!(
    iam_no_wildcard_resource_on_mutating_actions,
    ("InstanceRolePolicy", |t| {
        // A read of data on "*" is caught too: every secret of the account.
        let statement = at(t, &format!("{ROLE_POLICY}/0"));
        assert_eq!(statement["Action"], "secretsmanager:GetSecretValue");
        statement["Resource"] = json!("*");
    }),
    ("InstanceRolePolicy", |t| {
        // "*" hidden in a list of resources.
        let statement = at(t, &format!("{ROLE_POLICY}/5"));
        assert_eq!(statement["Action"], "s3:PutObject");
        let arn = statement["Resource"].clone();
        statement["Resource"] = json!([arn, "*"]);
    }),
    ("InstanceRolePolicy", |t| {
        push(
            t,
            ROLE_POLICY,
            json!({ "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b" }),
        );
    }),
    ("InstanceRole", |t| {
        at(t, "/Resources/InstanceRole/Properties")
            .as_object_mut()
            .unwrap()
            .insert(
                "Policies".into(),
                json!([{ "PolicyName": "inline", "PolicyDocument": { "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": "kms:*", "Resource": "*" }] } }]),
            );
    })
);

rule_is_proven!(
    log_group_encrypted,
    ("LogGroup", |t| {
        remove(t, "/Resources/LogGroup/Properties", "KmsKeyId");
    }),
    ("LogGroup", |t| {
        remove(t, "/Resources/LogGroup/Properties", "RetentionInDays");
    })
);

const KEY_POLICY: &str = "/Resources/Key/Properties/KeyPolicy/Statement";

/// The statement with `sid` in the list at `pointer`.
fn statement<'a>(doc: &'a mut Value, pointer: &str, sid: &str) -> &'a mut Value {
    at(doc, pointer)
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid} at {pointer}"))
}

/// Removes the statement with `sid` from the list at `pointer`.
fn drop_statement(doc: &mut Value, pointer: &str, sid: &str) {
    let list = at(doc, pointer).as_array_mut().unwrap();
    let before = list.len();
    list.retain(|s| s["Sid"] != sid);
    assert_eq!(list.len(), before - 1, "no statement {sid} at {pointer}");
}

rule_is_proven!(
    iam_role_under_the_shipped_boundary,
    ("InstanceRole", |t| {
        remove(
            t,
            "/Resources/InstanceRole/Properties",
            "PermissionsBoundary",
        );
    }),
    ("InstanceRole", |t| {
        // A boundary, but not the shipped one.
        *at(t, "/Resources/InstanceRole/Properties/PermissionsBoundary") =
            json!("arn:aws:iam::aws:policy/AdministratorAccess");
    })
);

rule_is_proven!(
    iam_role_trusts_ec2_only,
    ("InstanceRole", |t| {
        let trust = "/Resources/InstanceRole/Properties/AssumeRolePolicyDocument/Statement/0";
        at(t, trust)["Principal"] = json!({ "AWS": "arn:aws:iam::444455556666:root" });
    }),
    ("InstanceRole", |t| {
        // EC2, and another account beside it.
        let trust = "/Resources/InstanceRole/Properties/AssumeRolePolicyDocument/Statement/0";
        at(t, trust)["Principal"]["AWS"] = json!("*");
    })
);

rule_is_proven!(
    stack_tag_on_what_the_deployer_may_change,
    ("InstanceSecurityGroup", |t| {
        let tags = at(t, &format!("{SG}/Tags")).as_array_mut().unwrap();
        tags.retain(|tag| tag["Key"] != "sqlassess:stack");
    }),
    ("KmsEndpoint", |t| {
        remove(t, "/Resources/KmsEndpoint/Properties", "Tags");
    }),
    ("LaunchTemplate", |t| {
        remove(
            t,
            "/Resources/LaunchTemplate/Properties",
            "TagSpecifications",
        );
    })
);

rule_is_proven!(
    vpc_endpoint_interface_with_private_dns,
    ("S3Endpoint", |t| {
        // Back to a gateway endpoint.
        let p = at(t, "/Resources/S3Endpoint/Properties");
        p["VpcEndpointType"] = json!("Gateway");
    }),
    ("S3Endpoint", |t| {
        // Private DNS for inbound resolvers only: the VPC would resolve S3
        // to public addresses.
        *at(
            t,
            "/Resources/S3Endpoint/Properties/DnsOptions/PrivateDnsOnlyForInboundResolverEndpoint",
        ) = json!("OnlyInboundResolver");
    }),
    ("SecretsManagerEndpoint", |t| {
        *at(
            t,
            "/Resources/SecretsManagerEndpoint/Properties/PrivateDnsEnabled",
        ) = json!(false);
    })
);

rule_is_proven!(
    vpc_endpoint_policy_this_account_only,
    ("StsEndpoint", |t| {
        remove(t, "/Resources/StsEndpoint/Properties", "PolicyDocument");
    }),
    ("S3Endpoint", |t| {
        // Principals of any account, on this account's resources.
        let statement = "/Resources/S3Endpoint/Properties/PolicyDocument/Statement/0";
        remove(
            t,
            &format!("{statement}/Condition/StringEquals"),
            "aws:PrincipalAccount",
        );
    }),
    ("S3Endpoint", |t| {
        // The central-delivery statement opened to every resource account.
        let statement = "/Resources/S3Endpoint/Properties/PolicyDocument/Statement/1/Fn::If/1";
        at(t, &format!("{statement}/Condition/StringEquals"))["aws:ResourceAccount"] = json!("*");
    }),
    ("S3Endpoint", |t| {
        // The central-delivery statement granting every action.
        let statement = "/Resources/S3Endpoint/Properties/PolicyDocument/Statement/1/Fn::If/1";
        at(t, statement)["Action"] = json!("*");
    })
);

rule_is_proven!(
    appliance_denied_outside_its_vpc,
    ("Key", |t| {
        drop_statement(t, KEY_POLICY, "DenyTheApplianceOutsideItsVpc");
    }),
    ("ReportBucketPolicy", |t| {
        let bucket_policy = "/Resources/ReportBucketPolicy/Properties/PolicyDocument/Statement";
        drop_statement(t, bucket_policy, "DenyTheApplianceOutsideItsVpc");
    })
);

rule_is_proven!(
    s3_report_versions_kept,
    ("ReportBucket", |t| {
        // The old lifecycle: an overwritten report's version gone in a day.
        *at(
            t,
            &format!("{BUCKET}/LifecycleConfiguration/Rules/0/NoncurrentVersionExpiration"),
        ) = json!({ "NoncurrentDays": 1 });
    }),
    ("ReportBucket", |t| {
        *at(t, &format!("{BUCKET}/VersioningConfiguration/Status")) = json!("Suspended");
    })
);

rule_is_proven!(
    kms_report_decrypt_by_named_reader,
    ("Key", |t| {
        // The old key policy: the whole account decrypts through S3.
        statement(t, KEY_POLICY, "ReportReaderThroughS3")["Principal"] =
            json!({ "AWS": { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" } });
    }),
    ("Key", |t| {
        statement(t, KEY_POLICY, "ReportReaderThroughS3")["Principal"] = json!({ "AWS": "*" });
    })
);

// ------------------------------------------------ standalone policy documents

/// Each document and the rules that must hold on it.
const DOCUMENTS: &[(&str, &[&str])] = &[
    (
        "deployer",
        &[
            "deployer_roles_only_under_the_boundary",
            "deployer_changes_only_what_the_stack_created",
        ],
    ),
    (
        "image-publisher",
        &[
            "publisher_never_public",
            "publisher_tags_only_its_own_uploads",
        ],
    ),
];

fn document_rules(document: &str) -> String {
    format!("{DOCUMENT_RULES_DIR}/{document}.guard")
}

#[test]
fn the_document_rules_are_the_expected_ones_and_pass_on_the_documents() {
    let defined = guard::defined_rules_in(DOCUMENT_RULES_DIR).unwrap();
    let expected: BTreeSet<String> = DOCUMENTS
        .iter()
        .flat_map(|(_, rules)| rules.iter().map(|r| (*r).to_owned()))
        .collect();
    assert_eq!(defined, expected);
    for (document, rules) in DOCUMENTS {
        let (code, outcomes) = guard_with(
            &document_rules(document),
            &format!("policies/{document}.json"),
        );
        assert_eq!(outcomes.len(), rules.len(), "{outcomes:?}");
        for rule in *rules {
            assert_eq!(outcomes.get(*rule), Some(&Status::Pass), "{rule}");
        }
        assert_eq!(code, Some(0));
    }
}

/// A change to a policy document that must break one rule.
type DocumentMutation = fn(&mut Value);

/// Applies each mutation to `policies/DOCUMENT.json`: `rule` must fail and
/// the document's other rules still pass.
fn document_breakages(document: &str, rule: &str, mutations: &[DocumentMutation]) {
    let original = policy_gates::placeholders::document(&format!("{document}.json")).unwrap();
    for (variant, mutation) in mutations.iter().enumerate() {
        let mut doc = original.clone();
        mutation(&mut doc);
        assert_ne!(doc, original, "variant {variant} changed nothing");
        let path: PathBuf = [
            env!("CARGO_TARGET_TMPDIR"),
            &format!("{document}-breaking-{rule}-{variant}.json"),
        ]
        .iter()
        .collect();
        std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        let (code, outcomes) = guard_with(&document_rules(document), path.to_str().unwrap());
        assert_eq!(code, Some(19), "variant {variant}: {outcomes:?}");
        for (name, status) in &outcomes {
            if name == rule {
                assert!(
                    matches!(status, Status::Fail { .. }),
                    "{rule}, variant {variant}: {status:?}"
                );
            } else {
                assert_eq!(status, &Status::Pass, "variant {variant} also broke {name}");
            }
        }
    }
}

/// Removes the statement `sid` from a standalone document.
fn without(doc: &mut Value, sid: &str) {
    drop_statement(doc, "/Statement", sid);
}

#[test]
fn deployer_roles_only_under_the_boundary_catches_its_violations() {
    document_breakages(
        "deployer",
        "deployer_roles_only_under_the_boundary",
        &[
            |d| without(d, "NoRoleWithoutTheApplianceBoundary"),
            |d| without(d, "TheBoundaryAndTrustPoliciesStayAsShipped"),
            |d| without(d, "PassOnlyTheRoleTheStackCreated"),
        ],
    );
}

#[test]
fn deployer_changes_only_what_the_stack_created_catches_its_violations() {
    document_breakages(
        "deployer",
        "deployer_changes_only_what_the_stack_created",
        &[
            |d| without(d, "ChangeOnlyWhatCarriesTheStackTag"),
            |d| without(d, "ChangeOnlyTheKeyThisStackCreated"),
            |d| without(d, "NoChangeOutsideCloudFormation"),
            |d| without(d, "NoImportOfExistingResources"),
        ],
    );
}

#[test]
fn publisher_never_public_catches_its_violations() {
    document_breakages(
        "image-publisher",
        "publisher_never_public",
        &[
            |d| without(d, "NeverTurnOffImageBlockPublicAccess"),
            |d| without(d, "NeverShareASnapshotPublicly"),
            |d| without(d, "NeverShareASnapshotWithAnAccountNotListed"),
        ],
    );
}

#[test]
fn publisher_tags_only_its_own_uploads_catches_its_violations() {
    document_breakages(
        "image-publisher",
        "publisher_tags_only_its_own_uploads",
        &[
            |d| without(d, "NoUploadBuiltOnAnotherSnapshot"),
            |d| without(d, "RegisterOnlyFromThePublishersUploads"),
            |d| {
                // Tags on anything, not only at creation.
                let tags = statement(d, "/Statement", "TagOnlyWhatThePublisherCreates");
                tags.as_object_mut().unwrap().remove("Condition");
            },
        ],
    );
}
