//! Gate: the central report stack of a multi-account deployment
//! (cloudformation/central-reports.yaml: one bucket and key that the
//! appliance stacks of every account of an organisation deliver to) is
//! checked like the appliance's: cfn-lint reports nothing, checkov fails
//! nothing (its two skips are the ones the template explains), every rule of
//! policies/guard-central passes on it and fails on a template with one
//! targeted breakage; and its bucket and key policies, evaluated request by
//! request (policy_gates::evaluator), keep each account to its own prefix,
//! keep everyone outside the organisation out, and let only the named reader
//! read (SECURITY.md, C38).

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use policy_gates::checkers::Checker;
use policy_gates::evaluator::{Decision, Request, evaluate};
use policy_gates::guard::{self, Breakage};
use policy_gates::template::Template;
use serde_json::{Value, json};

const CENTRAL: &str = "cloudformation/central-reports.yaml";
const RULES: &str = "policies/guard-central";

// ------------------------------------------------------------ the checkers

#[test]
fn cfn_lint_and_checkov_find_nothing_in_the_central_stack() {
    let out = Checker::CfnLint
        .run(["--format", "parseable", "--", CENTRAL], None)
        .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    assert!(out.stdout.trim().is_empty(), "{}", out.transcript());

    let report = policy_gates::checkers::checkov_report(CENTRAL).unwrap();
    assert_eq!(report["summary"]["failed"], 0, "{report}");
    assert_eq!(report["summary"]["parsing_errors"], 0, "{report}");
    assert!(report["summary"]["resource_count"].as_u64().unwrap() >= 5);
    // Only the two skips the template justifies: the access-log bucket's own
    // logging, and the key policy's "*" principal held to the organisation.
    let mut skipped: Vec<(String, String)> = report["results"]["skipped_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check_id"].as_str().unwrap().to_owned(),
                c["resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            (
                "CKV_AWS_18".to_owned(),
                "AWS::S3::Bucket.AccessLogBucket".to_owned()
            ),
            ("CKV_AWS_33".to_owned(), "AWS::KMS::Key.Key".to_owned()),
        ],
        "{report}"
    );
}

// ------------------------------------------------------------- guard rules

/// The statements of the bucket policy (`ReportBucketPolicy`) or the key
/// policy (`Key`) of a template document.
fn statements_of<'a>(doc: &'a mut Value, resource: &str) -> &'a mut Vec<Value> {
    let pointer = match resource {
        "Key" => "/Resources/Key/Properties/KeyPolicy/Statement".to_owned(),
        other => format!("/Resources/{other}/Properties/PolicyDocument/Statement"),
    };
    doc.pointer_mut(&pointer).unwrap().as_array_mut().unwrap()
}

/// The statement with this Sid.
fn statement<'a>(doc: &'a mut Value, resource: &str, sid: &str) -> &'a mut Value {
    statements_of(doc, resource)
        .iter_mut()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid} in {resource}"))
}

fn without_statement(resource: &'static str, sid: &'static str) -> impl FnOnce(&mut Value) {
    move |d: &mut Value| {
        let statements = statements_of(d, resource);
        let before = statements.len();
        statements.retain(|s| s["Sid"] != sid);
        assert_eq!(statements.len(), before - 1, "{sid} in {resource}");
    }
}

fn without_condition(
    resource: &'static str,
    sid: &'static str,
    operator: &'static str,
    key: &'static str,
) -> impl FnOnce(&mut Value) {
    move |d: &mut Value| {
        let block = statement(d, resource, sid)["Condition"][operator]
            .as_object_mut()
            .unwrap();
        assert!(block.remove(key).is_some(), "{sid}: {operator} {key}");
    }
}

#[test]
fn every_central_rule_passes_and_catches_its_breakage() {
    let rules = guard::defined_rules_in(RULES).unwrap();
    assert_eq!(rules.len(), 4, "{rules:?}");
    let tmp = tempfile::tempdir().unwrap();
    let bucket = "/Resources/ReportBucket/Properties";
    let breakages = vec![
        Breakage::new(
            "central_report_bucket_locked_down",
            "ReportBucket",
            move |d| {
                *d.pointer_mut(&format!(
                    "{bucket}/BucketEncryption/ServerSideEncryptionConfiguration/0/BucketKeyEnabled"
                ))
                .unwrap() = json!(false)
            },
        ),
        Breakage::new(
            "central_report_bucket_locked_down",
            "ReportBucket",
            move |d| {
                *d.pointer_mut(&format!(
                    "{bucket}/OwnershipControls/Rules/0/ObjectOwnership"
                ))
                .unwrap() = json!("ObjectWriter")
            },
        ),
        Breakage::new(
            "central_report_bucket_locked_down",
            "ReportBucket",
            move |d| {
                d.pointer_mut(bucket)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove("LoggingConfiguration");
            },
        ),
        Breakage::new(
            "central_wildcard_principals_need_the_organisation",
            "ReportBucketPolicy",
            without_condition(
                "ReportBucketPolicy",
                "ApplianceUploadsUnderTheirAccountsPrefix",
                "StringEquals",
                "aws:PrincipalOrgID",
            ),
        ),
        Breakage::new(
            "central_wildcard_principals_need_the_organisation",
            "Key",
            without_condition(
                "Key",
                "ApplianceUploadsOfTheOrganisationThroughS3",
                "StringEquals",
                "aws:PrincipalOrgID",
            ),
        ),
        Breakage::new(
            "central_wildcard_principals_need_the_organisation",
            "ReportBucketPolicy",
            without_condition(
                "ReportBucketPolicy",
                "ApplianceChecksTheBucket",
                "ArnLike",
                "aws:PrincipalArn",
            ),
        ),
        Breakage::new(
            "central_bucket_policy_isolates_accounts",
            "ReportBucketPolicy",
            without_statement(
                "ReportBucketPolicy",
                "DenyOtherAccountsOutsideTheirOwnPrefix",
            ),
        ),
        Breakage::new(
            "central_bucket_policy_isolates_accounts",
            "ReportBucketPolicy",
            without_statement("ReportBucketPolicy", "DenyPrincipalsOutsideTheOrganisation"),
        ),
        Breakage::new(
            "central_bucket_policy_isolates_accounts",
            "ReportBucketPolicy",
            without_statement("ReportBucketPolicy", "DenyReadsButTheReader"),
        ),
        Breakage::new(
            "central_bucket_policy_isolates_accounts",
            "ReportBucketPolicy",
            without_statement("ReportBucketPolicy", "DenyInsecureTransport"),
        ),
        Breakage::new("central_key_rotated_and_through_s3", "Key", |d| {
            *d.pointer_mut("/Resources/Key/Properties/EnableKeyRotation")
                .unwrap() = json!(false)
        }),
        Breakage::new(
            "central_key_rotated_and_through_s3",
            "Key",
            without_condition(
                "Key",
                "ApplianceUploadsOfTheOrganisationThroughS3",
                "StringEquals",
                "kms:ViaService",
            ),
        ),
    ];
    let problems = guard::breakages_caught(RULES, CENTRAL, tmp.path(), breakages).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

// ------------------------------------------ the policies, request by request

const PARTITION: &str = "aws";
const REGION: &str = "eu-west-1";
const CENTRAL_ACCOUNT: &str = "999988887777";
const ORG: &str = "o-a1b2c3d4e5";
const BUCKET: &str = "example-central-reports";
const KEY: &str = "arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const READER: &str = "assessment-report-reader";
const MEMBER: &str = "111122223333";
const OTHER_MEMBER: &str = "444455556666";

/// The parameters the evaluated policies are rendered with.
fn parameter(name: &str) -> String {
    match name {
        "AWS::Partition" => PARTITION,
        "AWS::Region" => REGION,
        "AWS::AccountId" => CENTRAL_ACCOUNT,
        "OrganizationId" => ORG,
        "ApplianceStackSetName" => "sqlassess",
        "ReportReaderRoleName" => READER,
        "ReportBucketName" | "ReportBucket" => BUCKET,
        other => panic!("no value for Ref {other}"),
    }
    .to_owned()
}

fn get_att(id: &str, attribute: &str) -> String {
    match (id, attribute) {
        ("ReportBucket", "Arn") => format!("arn:aws:s3:::{BUCKET}"),
        ("Key", "Arn") => KEY.to_owned(),
        other => panic!("no value for Fn::GetAtt {other:?}"),
    }
}

/// `Fn::Sub` as CloudFormation renders it: `${!x}` is the literal `${x}`
/// (an IAM policy variable kept for IAM), `${Id.Attribute}` an attribute.
fn sub(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').unwrap();
        let token = &after[..end];
        if let Some(literal) = token.strip_prefix('!') {
            out.push_str(&format!("${{{literal}}}"));
        } else if let Some((id, attribute)) = token.split_once('.') {
            out.push_str(&get_att(id, attribute));
        } else {
            out.push_str(&parameter(token));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A template value with its intrinsics rendered (the policies use `Ref`,
/// `Fn::GetAtt` and string `Fn::Sub` only; anything else panics).
fn rendered(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.keys().next().unwrap().contains("::") => {
            let (function, arg) = map.iter().next().unwrap();
            match function.as_str() {
                "Fn::Sub" => json!(sub(arg.as_str().unwrap())),
                "Fn::GetAtt" => json!(get_att(arg[0].as_str().unwrap(), arg[1].as_str().unwrap())),
                other => panic!("intrinsic {other} in a policy"),
            }
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            json!(parameter(map["Ref"].as_str().unwrap()))
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), rendered(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(rendered).collect()),
        other => other.clone(),
    }
}

fn bucket_policy() -> Value {
    let template = Template::load(CENTRAL).unwrap();
    rendered(&template.properties("ReportBucketPolicy")["PolicyDocument"])
}

fn key_policy() -> Value {
    let template = Template::load(CENTRAL).unwrap();
    rendered(&template.properties("Key")["KeyPolicy"])
}

/// An appliance stack instance's role: StackSet-<set>-<id>-InstanceRole-<suffix>.
fn appliance_role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/StackSet-sqlassess-0f1e2d3c-InstanceRole-1A2B3C4D5E6F")
}

fn reader_role() -> String {
    format!("arn:aws:iam::{CENTRAL_ACCOUNT}:role/{READER}")
}

/// A request by `role` of `account` in organisation `org`, over TLS.
fn by(action: &str, resource: &str, role: &str, account: &str, org: &str) -> Request {
    Request::new(action, resource)
        .with("aws:PrincipalArn", &[role])
        .with("aws:PrincipalAccount", &[account])
        .with("aws:PrincipalOrgID", &[org])
        .with("aws:SecureTransport", &["true"])
}

fn object(key: &str) -> String {
    format!("arn:aws:s3:::{BUCKET}/{key}")
}

/// The upload an appliance makes (assessor/src/deliver.rs): SSE-KMS under
/// the central key, If-None-Match: *, through its VPC's S3 endpoint.
fn upload(key: &str, role: &str, account: &str, org: &str) -> Request {
    by("s3:PutObject", &object(key), role, account, org)
        .with("aws:SourceVpc", &["vpc-0a1b2c3d4e5f67890"])
        .with("s3:x-amz-server-side-encryption", &["aws:kms"])
        .with("s3:x-amz-server-side-encryption-aws-kms-key-id", &[KEY])
        .with("s3:if-none-match", &["*"])
}

fn member_upload(key: &str) -> Request {
    upload(key, &appliance_role(MEMBER), MEMBER, ORG)
}

fn decide(policy: &Value, request: &Request) -> Decision {
    evaluate(policy, request).unwrap()
}

#[test]
fn a_member_appliance_writes_under_its_own_accounts_prefix() {
    // The baseline the denials below are measured against: the upload an
    // appliance of the organisation makes, under its account's prefix.
    let policy = bucket_policy();
    let own = format!("{MEMBER}/run-1/report.json");
    assert_eq!(decide(&policy, &member_upload(&own)), Decision::Allowed);
    // Its bucket check (HeadBucket, authorised as s3:ListBucket), and a
    // listing of its own prefix; not another account's.
    let bucket = format!("arn:aws:s3:::{BUCKET}");
    let head = by(
        "s3:ListBucket",
        &bucket,
        &appliance_role(MEMBER),
        MEMBER,
        ORG,
    )
    .with("aws:SourceVpc", &["vpc-0a1b2c3d4e5f67890"]);
    assert_eq!(decide(&policy, &head), Decision::Allowed);
    let list_own = head.clone().with("s3:prefix", &[&format!("{MEMBER}/")]);
    assert_eq!(decide(&policy, &list_own), Decision::Allowed);
    let list_other = head.with("s3:prefix", &[&format!("{OTHER_MEMBER}/")]);
    assert_ne!(decide(&policy, &list_other), Decision::Allowed);
}

#[test]
fn a_principal_outside_the_organisation_cannot_write() {
    let policy = bucket_policy();
    let stranger = "555566667777";
    let key = format!("{stranger}/run-1/report.json");
    // The appliance's role name in an account of another organisation, and
    // in an account of no organisation (no aws:PrincipalOrgID at all).
    let other_org = upload(&key, &appliance_role(stranger), stranger, "o-z9y8x7w6v5");
    assert_eq!(decide(&policy, &other_org), Decision::ExplicitlyDenied);
    let mut no_org = upload(&key, &appliance_role(stranger), stranger, ORG);
    no_org.context.remove("aws:PrincipalOrgID");
    assert_eq!(decide(&policy, &no_org), Decision::ExplicitlyDenied);
    // The key lets them generate no data key either.
    let data_key = |org: &str| {
        by(
            "kms:GenerateDataKey",
            KEY,
            &appliance_role(stranger),
            stranger,
            org,
        )
        .with("kms:ViaService", &["s3.eu-west-1.amazonaws.com"])
        .with(
            "kms:EncryptionContext:aws:s3:arn",
            &[&format!("arn:aws:s3:::{BUCKET}")],
        )
    };
    assert_eq!(decide(&key_policy(), &data_key(ORG)), Decision::Allowed);
    assert_eq!(
        decide(&key_policy(), &data_key("o-z9y8x7w6v5")),
        Decision::NotAllowed
    );
}

#[test]
fn only_the_appliance_role_of_a_member_may_write() {
    // Another role of a member account (its administrator, say) is in the
    // organisation but is not an appliance: no write, no data key.
    let policy = bucket_policy();
    let admin = format!("arn:aws:iam::{MEMBER}:role/Admin");
    let key = format!("{MEMBER}/run-1/report.json");
    assert_eq!(
        decide(&policy, &upload(&key, &admin, MEMBER, ORG)),
        Decision::NotAllowed
    );
    let data_key = by("kms:GenerateDataKey", KEY, &admin, MEMBER, ORG)
        .with("kms:ViaService", &["s3.eu-west-1.amazonaws.com"])
        .with(
            "kms:EncryptionContext:aws:s3:arn",
            &[&format!("arn:aws:s3:::{BUCKET}")],
        );
    assert_eq!(decide(&key_policy(), &data_key), Decision::NotAllowed);
}

#[test]
fn a_member_cannot_write_under_another_accounts_prefix() {
    let policy = bucket_policy();
    for key in [
        format!("{OTHER_MEMBER}/run-1/report.json"),
        // Outside every account's prefix, and a prefix that only starts
        // with the member's id.
        "run-1/report.json".to_owned(),
        format!("{MEMBER}0/run-1/report.json"),
    ] {
        assert_eq!(
            decide(&policy, &member_upload(&key)),
            Decision::ExplicitlyDenied,
            "{key}"
        );
    }
}

#[test]
fn a_member_cannot_read_any_report_back() {
    let policy = bucket_policy();
    for key in [
        format!("{MEMBER}/run-1/report.json"),
        format!("{OTHER_MEMBER}/run-1/report.json"),
    ] {
        for action in ["s3:GetObject", "s3:GetObjectVersion"] {
            // Through its VPC endpoint, so only the read rule can refuse it.
            let read = by(action, &object(&key), &appliance_role(MEMBER), MEMBER, ORG)
                .with("aws:SourceVpc", &["vpc-0a1b2c3d4e5f67890"]);
            assert_eq!(
                decide(&policy, &read),
                Decision::ExplicitlyDenied,
                "{action} {key}"
            );
        }
    }
    // Nor decrypt with the key.
    let decrypt = by("kms:Decrypt", KEY, &appliance_role(MEMBER), MEMBER, ORG)
        .with("kms:ViaService", &["s3.eu-west-1.amazonaws.com"]);
    assert_eq!(decide(&key_policy(), &decrypt), Decision::NotAllowed);
}

#[test]
fn uploads_without_sse_kms_under_the_key_or_if_none_match_are_denied() {
    let policy = bucket_policy();
    let key = format!("{MEMBER}/run-1/report.json");
    let mut plain = member_upload(&key);
    plain.context.remove("s3:x-amz-server-side-encryption");
    plain
        .context
        .remove("s3:x-amz-server-side-encryption-aws-kms-key-id");
    assert_eq!(decide(&policy, &plain), Decision::ExplicitlyDenied);
    let sse_s3 = member_upload(&key).with("s3:x-amz-server-side-encryption", &["AES256"]);
    assert_eq!(decide(&policy, &sse_s3), Decision::ExplicitlyDenied);
    let own_key = member_upload(&key).with(
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        &["arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09ba-87dc-65fe-0987654321ba"],
    );
    assert_eq!(decide(&policy, &own_key), Decision::ExplicitlyDenied);
    // Without If-None-Match the upload could replace an earlier run's object.
    let mut overwrite = member_upload(&key);
    overwrite.context.remove("s3:if-none-match");
    assert_eq!(decide(&policy, &overwrite), Decision::ExplicitlyDenied);
}

#[test]
fn appliance_credentials_are_refused_outside_a_vpc_endpoint() {
    // The same upload with the role's credentials used from the internet
    // (no aws:SourceVpc): denied.
    let policy = bucket_policy();
    let mut outside = member_upload(&format!("{MEMBER}/run-1/report.json"));
    outside.context.remove("aws:SourceVpc");
    assert_eq!(decide(&policy, &outside), Decision::ExplicitlyDenied);
}

#[test]
fn the_reader_role_reads_and_nobody_else_of_the_central_account() {
    let policy = bucket_policy();
    let report = object(&format!("{MEMBER}/run-1/report.json"));
    let read = |role: &str| by("s3:GetObject", &report, role, CENTRAL_ACCOUNT, ORG);
    assert_eq!(decide(&policy, &read(&reader_role())), Decision::Allowed);
    let list = by(
        "s3:ListBucket",
        &format!("arn:aws:s3:::{BUCKET}"),
        &reader_role(),
        CENTRAL_ACCOUNT,
        ORG,
    );
    assert_eq!(decide(&policy, &list), Decision::Allowed);
    // Another role of the central account is denied, even with an identity
    // policy that would allow it.
    let admin = format!("arn:aws:iam::{CENTRAL_ACCOUNT}:role/Admin");
    assert_eq!(decide(&policy, &read(&admin)), Decision::ExplicitlyDenied);
    // The reader without TLS is denied.
    let plain = read(&reader_role()).with("aws:SecureTransport", &["false"]);
    assert_eq!(decide(&policy, &plain), Decision::ExplicitlyDenied);
    // The reader decrypts through S3 only.
    let decrypt = by("kms:Decrypt", KEY, &reader_role(), CENTRAL_ACCOUNT, ORG);
    assert_eq!(decide(&key_policy(), &decrypt), Decision::NotAllowed);
    let via_s3 = decrypt.with("kms:ViaService", &["s3.eu-west-1.amazonaws.com"]);
    assert_eq!(decide(&key_policy(), &via_s3), Decision::Allowed);
}

#[test]
fn no_wildcard_principal_is_allowed_without_the_organisation() {
    // The invariant the guard rule states, over the rendered policies too:
    // every Allow to "*" carries the organisation and the role pattern.
    for policy in [bucket_policy(), key_policy()] {
        for statement in policy["Statement"].as_array().unwrap() {
            let principal = &statement["Principal"];
            let anyone = principal == "*" || principal["AWS"] == "*";
            if statement["Effect"] == "Allow" && anyone {
                let condition = &statement["Condition"];
                assert_eq!(
                    condition["StringEquals"]["aws:PrincipalOrgID"], ORG,
                    "{statement}"
                );
                assert_eq!(
                    condition["ArnLike"]["aws:PrincipalArn"],
                    "arn:aws:iam::*:role/StackSet-sqlassess-*",
                    "{statement}"
                );
            }
        }
    }
}
