//! The stack's security properties, read from the template itself: moto
//! accepts but ignores security-group egress, metadata options, several bucket
//! settings and bucket policies, so these are asserted here rather than
//! through the deploy test. Also: the standalone documents in policies/ are
//! the template's policies, statement for statement.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use policy_gates::placeholders::{self, render};
use policy_gates::template::{Template, as_list, get_att, reference};
use serde_json::{Value, json};

fn appliance() -> Template {
    Template::appliance().unwrap()
}

/// The key expression every encrypted thing must use: the stack's key, or
/// the customer's when they bring one.
fn the_key() -> Value {
    json!({ "Fn::If": ["CreateKey", { "Fn::GetAtt": ["Key", "Arn"] }, { "Ref": "KmsKeyArn" }] })
}

#[test]
fn the_template_fits_in_a_direct_cloudformation_deploy() {
    // `aws cloudformation deploy` without --s3-bucket accepts 51,200 bytes.
    let t = appliance();
    assert!(t.text.len() < 51_200, "{} bytes", t.text.len());
}

#[test]
fn the_appliance_security_group_has_no_ingress_at_all() {
    let t = appliance();
    let sg = t.properties("InstanceSecurityGroup");
    assert!(sg.get("SecurityGroupIngress").is_none());
    let instance_sg = get_att("InstanceSecurityGroup", "GroupId");
    for id in t.ids_of_type("AWS::EC2::SecurityGroupIngress") {
        assert_ne!(
            t.properties(id)["GroupId"],
            instance_sg,
            "{id} opens the appliance"
        );
    }
}

#[test]
fn appliance_egress_goes_to_the_endpoints_and_sql_server_only() {
    let t = appliance();
    let egress = as_list(&t.properties("InstanceSecurityGroup")["SecurityGroupEgress"]);
    // S3 is an interface endpoint too: no prefix list, no public address.
    assert_eq!(egress.len(), 1, "{egress:?}");
    for rule in &egress {
        assert_eq!(rule["IpProtocol"], "tcp");
        assert_eq!(
            (rule["FromPort"].as_u64(), rule["ToPort"].as_u64()),
            (Some(443), Some(443))
        );
        assert!(
            rule.get("CidrIp").is_none() && rule.get("CidrIpv6").is_none(),
            "{rule}"
        );
    }
    assert_eq!(
        egress[0]["DestinationSecurityGroupId"],
        json!({ "Fn::If": ["CreateEndpoints", { "Ref": "EndpointSecurityGroup" }, { "Ref": "EndpointSecurityGroupId" }] })
    );

    let sql: Vec<&str> = t.ids_of_type("AWS::EC2::SecurityGroupEgress");
    assert_eq!(
        sql,
        ["SqlServerEgressToCidr", "SqlServerEgressToSecurityGroup"]
    );
    for id in sql {
        let p = t.properties(id);
        assert_eq!(p["GroupId"], get_att("InstanceSecurityGroup", "GroupId"));
        assert_eq!(p["IpProtocol"], "tcp");
        assert_eq!(p["FromPort"], reference("SqlServerFromPort"));
        assert_eq!(p["ToPort"], reference("SqlServerToPort"));
    }
    assert_eq!(
        t.properties("SqlServerEgressToCidr")["CidrIp"],
        reference("SqlServerCidr")
    );
    assert_eq!(
        t.properties("SqlServerEgressToSecurityGroup")["DestinationSecurityGroupId"],
        reference("SqlServerSecurityGroupId")
    );
    // That the SqlServerCidr parameter cannot be the whole internet is
    // checked by cfn-lint against its AllowedPattern (tests/cfn_lint.rs).
}

#[test]
fn the_endpoints_accept_https_from_the_appliance_only_and_send_nothing() {
    let t = appliance();
    let ingress = t.properties("EndpointIngressFromAppliance");
    assert_eq!(
        ingress["GroupId"],
        get_att("EndpointSecurityGroup", "GroupId")
    );
    assert_eq!(
        ingress["SourceSecurityGroupId"],
        get_att("InstanceSecurityGroup", "GroupId")
    );
    assert_eq!(
        (ingress["FromPort"].as_u64(), ingress["ToPort"].as_u64()),
        (Some(443), Some(443))
    );
    let egress = as_list(&t.properties("EndpointSecurityGroup")["SecurityGroupEgress"]);
    assert_eq!(egress.len(), 1);
    assert_eq!(egress[0]["CidrIp"], "127.0.0.1/32");
    let mut services: Vec<String> = t
        .ids_of_type("AWS::EC2::VPCEndpoint")
        .into_iter()
        .map(|id| {
            let p = t.properties(id);
            // Interface endpoints only: a gateway is reached at public addresses.
            assert_eq!(p["VpcEndpointType"], "Interface", "{id}");
            assert_eq!(p["PrivateDnsEnabled"], true, "{id}");
            assert_eq!(
                p["SecurityGroupIds"],
                json!([{ "Ref": "EndpointSecurityGroup" }]),
                "{id}"
            );
            p["ServiceName"]["Fn::Sub"]
                .as_str()
                .unwrap()
                .replace("com.amazonaws.${AWS::Region}.", "")
        })
        .collect();
    services.sort();
    assert_eq!(services, ["kms", "logs", "s3", "secretsmanager", "sts"]);
}

#[test]
fn the_launch_template_requires_imdsv2_and_encrypts_every_volume() {
    let t = appliance();
    let data = &t.properties("LaunchTemplate")["LaunchTemplateData"];
    let metadata = &data["MetadataOptions"];
    assert_eq!(metadata["HttpTokens"], "required");
    assert_eq!(metadata["HttpPutResponseHopLimit"], 1);
    assert_eq!(metadata["InstanceMetadataTags"], "disabled");
    assert_eq!(data["Monitoring"]["Enabled"], true);
    assert_eq!(
        data["InstanceInitiatedShutdownBehavior"],
        json!({ "Fn::If": ["Terminate", "terminate", "stop"] })
    );
    let nics = as_list(&data["NetworkInterfaces"]);
    assert_eq!(nics.len(), 1);
    assert_eq!(nics[0]["AssociatePublicIpAddress"], false);
    assert_eq!(nics[0]["SubnetId"], reference("PrivateSubnetId"));
    let volumes = as_list(&data["BlockDeviceMappings"]);
    assert_eq!(
        volumes[0]["DeviceName"],
        reference("RootDeviceName"),
        "the root volume is mapped"
    );
    // Only the root: the session store is the image's own partition, so a
    // second volume would be attached and never used.
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    for volume in volumes {
        let ebs = &volume["Ebs"];
        assert_eq!(ebs["Encrypted"], true, "{volume}");
        assert_eq!(ebs["KmsKeyId"], the_key(), "{volume}");
        assert_eq!(ebs["VolumeType"], "gp3", "{volume}");
        assert_eq!(ebs["DeleteOnTermination"], true, "{volume}");
    }
    let instance = t.properties("Instance");
    assert_eq!(
        instance["LaunchTemplate"]["LaunchTemplateId"],
        reference("LaunchTemplate")
    );
    assert!(instance.get("NetworkInterfaces").is_none() && instance.get("SubnetId").is_none());
}

#[test]
fn the_user_data_carries_the_job_config_and_no_secret() {
    let t = appliance();
    let user_data = &t.properties("LaunchTemplate")["LaunchTemplateData"]["UserData"];
    let text = user_data.to_string().to_lowercase();
    for word in [
        "password",
        "passwd",
        "secret_value",
        "secretstring",
        "private key",
        "access_key",
    ] {
        assert!(!text.contains(word), "user data mentions {word:?}");
    }
    // The credentials are named, never carried: by the secret's ARN only.
    assert!(
        text.contains("secret_id = \\\"${dbsecretarn}\\\""),
        "{text}"
    );
    // The run's status lines go to the stack's own log group.
    assert!(text.contains("log_group = \\\"${loggroup}\\\""), "{text}");
    assert!(!text.contains("noecho"));
    for parameter in t.parameters() {
        assert!(
            t.doc["Parameters"][parameter].get("NoEcho").is_none(),
            "{parameter} is NoEcho: a secret parameter"
        );
    }
}

#[test]
fn the_report_bucket_is_private_versioned_sse_kms_logged_and_expiring() {
    let t = appliance();
    let bucket = t.properties("ReportBucket");
    let sse = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    assert_eq!(
        sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"],
        the_key()
    );
    assert_eq!(sse["BucketKeyEnabled"], true);
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    for switch in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            bucket["PublicAccessBlockConfiguration"][switch], true,
            "{switch}"
        );
    }
    assert_eq!(
        bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "BucketOwnerEnforced"
    );
    let rule = &bucket["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rule["Status"], "Enabled");
    assert_eq!(rule["ExpirationInDays"], reference("ReportRetentionDays"));
    // An overwritten report's earlier version is kept as long as reports.
    assert_eq!(
        rule["NoncurrentVersionExpiration"]["NoncurrentDays"],
        reference("ReportRetentionDays")
    );
    assert_eq!(
        bucket["LoggingConfiguration"]["DestinationBucketName"],
        reference("AccessLogBucket")
    );
}

#[test]
fn the_access_log_bucket_is_the_one_exempt_from_sse_kms_and_is_locked_down() {
    // storage.guard recognises the exemption from two sides it cannot join:
    // the marked bucket and the policy granting S3 log delivery. Here they are
    // shown to be the same bucket, and the only one.
    let t = appliance();
    let marked: Vec<&str> = t
        .ids_of_type("AWS::S3::Bucket")
        .into_iter()
        .filter(|id| t.resource(id).unwrap()["Metadata"]["sqlassess"]["role"] == "access-logs")
        .collect();
    assert_eq!(marked, ["AccessLogBucket"]);
    let delivering: Vec<&Value> = t
        .ids_of_type("AWS::S3::BucketPolicy")
        .into_iter()
        .map(|id| t.properties(id))
        .filter(|p| {
            as_list(&p["PolicyDocument"]["Statement"])
                .iter()
                .any(|s| s["Principal"]["Service"] == "logging.s3.amazonaws.com")
        })
        .collect();
    assert_eq!(delivering.len(), 1);
    assert_eq!(delivering[0]["Bucket"], reference("AccessLogBucket"));
    let grant = as_list(&delivering[0]["PolicyDocument"]["Statement"])
        .into_iter()
        .find(|s| s["Principal"]["Service"] == "logging.s3.amazonaws.com")
        .unwrap();
    assert_eq!(grant["Action"], "s3:PutObject");
    assert_eq!(
        grant["Condition"]["ArnEquals"]["aws:SourceArn"],
        get_att("ReportBucket", "Arn")
    );
    assert_eq!(
        grant["Condition"]["StringEquals"]["aws:SourceAccount"],
        reference("AWS::AccountId")
    );
    let bucket = t.properties("AccessLogBucket");
    assert_eq!(
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "AES256"
    );
    assert_eq!(
        bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"],
        true
    );
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
}

#[test]
fn the_log_group_is_encrypted_with_the_key_and_expires() {
    let t = appliance();
    let group = t.properties("LogGroup");
    assert_eq!(group["KmsKeyId"], the_key());
    assert_eq!(group["RetentionInDays"], reference("LogRetentionDays"));
    assert_eq!(
        group["LogGroupName"],
        json!({ "Fn::Sub": "/sqlassess/${AWS::StackName}" })
    );
}

#[test]
fn the_created_key_rotates() {
    let t = appliance();
    let key = t.properties("Key");
    assert_eq!(key["EnableKeyRotation"], true);
    assert_eq!(key["KeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(t.resource("Key").unwrap()["Condition"], "CreateKey");
}

#[test]
fn the_instance_role_changes_nothing_on_resource_star() {
    let t = appliance();
    let statements = as_list(&t.properties("InstanceRolePolicy")["PolicyDocument"]["Statement"]);
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow");
        for resource in as_list(&statement["Resource"]) {
            assert_ne!(resource, &json!("*"), "{statement}");
        }
        assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none());
    }
    // No inline policy on the role, and no managed policy attached.
    let role = t.properties("InstanceRole");
    assert!(role.get("Policies").is_none() && role.get("ManagedPolicyArns").is_none());
}

fn assert_same_policy(template_policy: &Value, document: &str) {
    let rendered = render(template_policy).unwrap();
    let standalone = placeholders::document(document).unwrap();
    assert_eq!(
        rendered,
        standalone,
        "policies/{document} has drifted from the template:\n template: {}\n document: {}",
        serde_json::to_string_pretty(&rendered).unwrap(),
        serde_json::to_string_pretty(&standalone).unwrap()
    );
}

#[test]
fn the_standalone_documents_are_the_templates_policies() {
    let t = appliance();
    assert_same_policy(
        &t.properties("InstanceRolePolicy")["PolicyDocument"],
        "instance-role.json",
    );
    assert_same_policy(&t.properties("Key")["KeyPolicy"], "kms-key-policy.json");
    assert_same_policy(
        &t.properties("ReportBucketPolicy")["PolicyDocument"],
        "bucket-policy.json",
    );
}

#[test]
fn docs_iam_explains_every_instance_role_permission() {
    let doc = policy_gates::read_repo_file("docs/iam.md").unwrap();
    let role = placeholders::document("instance-role.json").unwrap();
    for statement in as_list(&role["Statement"]) {
        for action in as_list(&statement["Action"]) {
            let action = action.as_str().unwrap();
            assert!(
                doc.contains(&format!("`{action}`")),
                "docs/iam.md does not explain {action}"
            );
        }
        let sid = statement["Sid"].as_str().unwrap();
        assert!(
            doc.contains(sid),
            "docs/iam.md does not name statement {sid}"
        );
    }
}

#[test]
fn docs_iam_names_every_statement_of_the_deployer_publisher_and_boundary() {
    // Each of these is explained statement by statement in docs/iam.md.
    let doc = policy_gates::read_repo_file("docs/iam.md").unwrap();
    for name in [
        "deployer.json",
        "image-publisher.json",
        "appliance-boundary.json",
    ] {
        let policy = placeholders::document(name).unwrap();
        for statement in as_list(&policy["Statement"]) {
            let sid = statement["Sid"].as_str().unwrap();
            assert!(
                doc.contains(&format!("`{sid}`")),
                "docs/iam.md does not explain {sid} of policies/{name}"
            );
        }
    }
}

/// The statements of a policy document, by Sid.
fn statements_by_sid(policy: &Value) -> std::collections::BTreeMap<String, Value> {
    as_list(&policy["Statement"])
        .into_iter()
        .map(|s| (s["Sid"].as_str().unwrap_or_default().to_owned(), s.clone()))
        .collect()
}

fn actions(statement: &Value) -> Vec<&str> {
    as_list(&statement["Action"])
        .into_iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn the_instance_role_grants_exactly_the_documented_permissions() {
    // Adding a permission means changing this list, docs/iam.md and
    // policies/instance-role.json together.
    let role = placeholders::document("instance-role.json").unwrap();
    let granted: Vec<(String, Vec<&str>)> = as_list(&role["Statement"])
        .into_iter()
        .map(|s| (s["Sid"].as_str().unwrap().to_owned(), actions(s)))
        .collect();
    let expected: Vec<(String, Vec<&str>)> = [
        (
            "ReadTheSqlServerCredentials",
            vec!["secretsmanager:GetSecretValue"],
        ),
        ("CheckTheKeyIsUsable", vec!["kms:DescribeKey"]),
        // GenerateDataKey only: no wrapped data key is kept, so the role
        // never decrypts one (crypto-shredding does not depend on a delete).
        ("SessionDataKeysBoundToTheJob", vec!["kms:GenerateDataKey"]),
        ("ReportUploadsThroughS3Only", vec!["kms:GenerateDataKey"]),
        (
            "SecretDecryptionThroughSecretsManagerOnly",
            vec!["kms:Decrypt"],
        ),
        ("WriteReportsUnderThePrefixWithSseKms", vec!["s3:PutObject"]),
        ("CheckTheReportBucketExists", vec!["s3:ListBucket"]),
        (
            "WriteOwnLogGroupOnly",
            vec!["logs:CreateLogStream", "logs:PutLogEvents"],
        ),
    ]
    .into_iter()
    .map(|(sid, a)| (sid.to_owned(), a))
    .collect();
    assert_eq!(granted, expected);

    let by_sid = statements_by_sid(&role);
    // One secret, one key, one prefix, one log group.
    assert_eq!(
        by_sid["ReadTheSqlServerCredentials"]["Resource"],
        "${SecretArn}"
    );
    for (sid, statement) in &by_sid {
        if actions(statement).iter().any(|a| a.starts_with("kms:")) {
            assert_eq!(statement["Resource"], "${KeyArn}", "{sid}");
        }
    }
    // DescribeKey carries no encryption context and is called directly, so
    // neither condition the other KMS statements use can apply to it.
    assert!(by_sid["CheckTheKeyIsUsable"].get("Condition").is_none());
    // Every other KMS use is conditioned on the encryption context.
    for sid in [
        "SessionDataKeysBoundToTheJob",
        "ReportUploadsThroughS3Only",
        "SecretDecryptionThroughSecretsManagerOnly",
    ] {
        let condition = by_sid[sid]["Condition"].to_string();
        assert!(
            condition.contains("kms:EncryptionContext"),
            "{sid}: {condition}"
        );
    }
    // ...and, where another service makes the call, on that service.
    let via = |sid: &str| by_sid[sid]["Condition"]["StringEquals"]["kms:ViaService"].clone();
    assert_eq!(
        via("ReportUploadsThroughS3Only"),
        "s3.${Region}.amazonaws.com"
    );
    assert_eq!(
        via("SecretDecryptionThroughSecretsManagerOnly"),
        "secretsmanager.${Region}.amazonaws.com"
    );
    assert_eq!(
        by_sid["SecretDecryptionThroughSecretsManagerOnly"]["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"],
        "${SecretArn}"
    );
    assert_eq!(
        by_sid["ReportUploadsThroughS3Only"]["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"],
        json!([
            "arn:${Partition}:s3:::${BucketName}",
            "arn:${Partition}:s3:::${BucketName}/${ReportPrefix}/*"
        ])
    );
    // Uploads: under the prefix only, SSE-KMS with this key only.
    let put = &by_sid["WriteReportsUnderThePrefixWithSseKms"];
    assert_eq!(
        put["Resource"],
        "arn:${Partition}:s3:::${BucketName}/${ReportPrefix}/*"
    );
    assert_eq!(
        put["Condition"]["StringEquals"]["s3:x-amz-server-side-encryption"],
        "aws:kms"
    );
    assert_eq!(
        put["Condition"]["ArnEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"],
        "${KeyArn}"
    );
    // HeadBucket: the bucket itself; a listing that names a prefix stays under ours.
    let list = &by_sid["CheckTheReportBucketExists"];
    assert_eq!(list["Resource"], "arn:${Partition}:s3:::${BucketName}");
    assert_eq!(
        list["Condition"],
        json!({ "StringLikeIfExists": { "s3:prefix": ["${ReportPrefix}/", "${ReportPrefix}/*"] } })
    );
    let logs = &by_sid["WriteOwnLogGroupOnly"];
    for resource in as_list(&logs["Resource"]) {
        let resource = resource.as_str().unwrap();
        assert!(
            resource.starts_with(
                "arn:${Partition}:logs:${Region}:${AccountId}:log-group:${LogGroupName}"
            ),
            "{resource}"
        );
    }
}

#[test]
fn the_session_key_condition_is_what_the_assessor_sends() {
    // The assessor's own encryption context for a run, from its code.
    let context = assessor::envelope::encryption_context("run-1700000000-ab12cd34");
    let mut keys: Vec<&str> = context.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let t = appliance();
    let role = statements_by_sid(&t.properties("InstanceRolePolicy")["PolicyDocument"]);
    let key = statements_by_sid(&t.properties("Key")["KeyPolicy"]);
    for statement in [
        &role["SessionDataKeysBoundToTheJob"],
        &key["InstanceRoleSessionDataKeys"],
    ] {
        let condition = &statement["Condition"];
        assert_eq!(
            condition["StringEquals"]["kms:EncryptionContext:service"],
            json!(context["service"]),
            "{statement}"
        );
        let mut allowed: Vec<&str> =
            as_list(&condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"])
                .into_iter()
                .filter_map(Value::as_str)
                .collect();
        allowed.sort_unstable();
        assert_eq!(allowed, keys, "{statement}");
        // Called directly, not through another service.
        assert!(condition["StringEquals"].get("kms:ViaService").is_none());
        // The run id must be there (ForAllValues alone passes an empty
        // context), and the role may only make data keys, never unwrap one.
        assert_eq!(
            condition["Null"]["kms:EncryptionContext:run_id"],
            json!("false"),
            "{statement}"
        );
        assert_eq!(
            statement["Action"],
            json!("kms:GenerateDataKey"),
            "{statement}"
        );
    }
    // The key policy lets the role do no more with the key than its own policy.
    assert_eq!(key["InstanceRoleDescribeKey"]["Action"], "kms:DescribeKey");
    assert!(key["InstanceRoleDescribeKey"].get("Condition").is_none());
}

#[test]
fn docs_iam_explains_what_the_comparable_appliance_grants_and_ours_does_not() {
    let doc = policy_gates::read_repo_file("docs/iam.md").unwrap();
    let (_, comparison) = doc
        .split_once("## What a comparable appliance grants, and ours does not")
        .expect("docs/iam.md has the comparison section");
    let role = placeholders::document("instance-role.json")
        .unwrap()
        .to_string();
    for action in [
        "cloudformation:CreateStack",
        "kms:CreateKey",
        "secretsmanager:DeleteSecret",
        "secretsmanager:UpdateSecret",
        "s3:PutBucketPolicy",
        "s3:CreateBucket",
    ] {
        assert!(
            comparison.contains(&format!("`{action}`")),
            "docs/iam.md: {action}"
        );
        assert!(
            !role.contains(&format!("\"{action}\"")),
            "the role grants {action}"
        );
    }
}
