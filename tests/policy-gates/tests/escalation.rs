//! Gate: the deployer and publisher policies, and the boundary every role of
//! the stack is under, evaluated request by request (policy_gates::evaluator)
//! for the escalation paths of issue 18. Each path must be refused, and the
//! requests a real deploy or publish makes must still be allowed, so a
//! policy cannot pass by refusing everything.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use policy_gates::evaluator::{Decision, Request, evaluate};
use policy_gates::placeholders::{self, example};
use serde_json::Value;

/// `policies/<name>` with the example values in place of its placeholders.
fn document(name: &str) -> Value {
    let raw = placeholders::document(name).unwrap().to_string();
    serde_json::from_str(&placeholders::substitute(&raw).unwrap()).unwrap()
}

fn ex(name: &str) -> &'static str {
    example(name).unwrap()
}

const CFN: &str = "cloudformation.amazonaws.com";

/// An ARN in the example account and region.
fn arn(service: &str, resource: &str) -> String {
    let region = if service == "iam" || service == "s3" {
        ""
    } else {
        ex("Region")
    };
    let account = if service == "s3" { "" } else { ex("AccountId") };
    format!("arn:aws:{service}:{region}:{account}:{resource}")
}

fn stack_role() -> String {
    arn("iam", &format!("role/{}-InstanceRole-ABC", ex("StackName")))
}

/// A request CloudFormation makes for the deployer (aws:CalledVia).
fn via_cfn(action: &str, resource: &str) -> Request {
    Request::new(action, resource).with("aws:CalledVia", &[CFN])
}

fn tagged_for_the_stack(request: Request) -> Request {
    request.with("aws:ResourceTag/sqlassess:stack", &[ex("StackName")])
}

/// A key the stack created: CloudFormation tags it, nobody else can.
fn created_by_the_stack(request: Request) -> Request {
    request.with(
        "aws:ResourceTag/aws:cloudformation:stack-name",
        &[ex("StackName")],
    )
}

fn requesting_the_stack_tag(request: Request) -> Request {
    request
        .with("aws:RequestTag/sqlassess:stack", &[ex("StackName")])
        .with("aws:TagKeys", &["sqlassess:stack"])
}

fn with_boundary(request: Request) -> Request {
    request.with("iam:PermissionsBoundary", &[ex("BoundaryArn")])
}

#[track_caller]
fn refused(policy: &Value, what: &str, request: &Request) {
    let decision = evaluate(policy, request).unwrap();
    assert_ne!(
        decision,
        Decision::Allowed,
        "{what} is allowed: {request:?}"
    );
}

#[track_caller]
fn allowed(policy: &Value, what: &str, request: &Request) {
    assert_eq!(
        evaluate(policy, request).unwrap(),
        Decision::Allowed,
        "{what} is refused: {request:?}"
    );
}

#[test]
fn the_deployer_cannot_create_or_widen_a_role_outside_the_boundary() {
    let deployer = document("deployer.json");
    let role = stack_role();
    let other_boundary = arn("iam", "policy/AdministratorAccess-ish");
    refused(
        &deployer,
        "CreateRole without a boundary",
        &via_cfn("iam:CreateRole", &role),
    );
    refused(
        &deployer,
        "CreateRole under another boundary",
        &via_cfn("iam:CreateRole", &role).with("iam:PermissionsBoundary", &[&other_boundary]),
    );
    refused(
        &deployer,
        "PutRolePolicy on a role without the boundary",
        &via_cfn("iam:PutRolePolicy", &role),
    );
    refused(
        &deployer,
        "PutRolePolicy on a role outside the stack",
        &with_boundary(via_cfn(
            "iam:PutRolePolicy",
            &arn("iam", "role/OrganizationAccountAccessRole"),
        )),
    );
    refused(
        &deployer,
        "AttachRolePolicy (AdministratorAccess) on the stack's role",
        &with_boundary(via_cfn("iam:AttachRolePolicy", &role)),
    );
    refused(
        &deployer,
        "swapping the role's boundary",
        &via_cfn("iam:PutRolePermissionsBoundary", &role)
            .with("iam:PermissionsBoundary", &[&other_boundary]),
    );
    refused(
        &deployer,
        "removing the role's boundary",
        &with_boundary(via_cfn("iam:DeleteRolePermissionsBoundary", &role)),
    );
    for action in [
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
    ] {
        refused(
            &deployer,
            "rewriting the boundary",
            &via_cfn(action, ex("BoundaryArn")),
        );
    }
    refused(
        &deployer,
        "a new trust policy on the stack's role",
        &with_boundary(via_cfn("iam:UpdateAssumeRolePolicy", &role)),
    );
    refused(
        &deployer,
        "CreateRole with the boundary but directly, not through the stack",
        &with_boundary(Request::new("iam:CreateRole", &role)),
    );
    refused(
        &deployer,
        "passing a role named like the stack's that it did not create",
        &Request::new(
            "iam:PassRole",
            &arn("iam", &format!("role/{}-Admin", ex("StackName"))),
        )
        .with("iam:PassedToService", &["ec2.amazonaws.com"]),
    );
    refused(
        &deployer,
        "tagging such a role into the stack",
        &Request::new(
            "iam:TagRole",
            &arn("iam", &format!("role/{}-Admin", ex("StackName"))),
        )
        .with("aws:RequestTag/sqlassess:stack", &[ex("StackName")]),
    );
    refused(
        &deployer,
        "passing the stack's role to another service",
        &Request::new("iam:PassRole", &role).with("iam:PassedToService", &["lambda.amazonaws.com"]),
    );
}

#[test]
fn the_deployer_cannot_change_keys_or_network_resources_of_others() {
    let deployer = document("deployer.json");
    let key = arn("kms", "key/0000aaaa-0000-0000-0000-000000000000");
    for action in [
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:EnableKeyRotation",
    ] {
        refused(
            &deployer,
            &format!("{action} on an untagged key"),
            &via_cfn(action, &key),
        );
        refused(
            &deployer,
            &format!("{action} on another stack's key"),
            &via_cfn(action, &key)
                .with("aws:ResourceTag/aws:cloudformation:stack-name", &["other"]),
        );
        refused(
            &deployer,
            &format!("{action} on the stack's key, but directly"),
            &created_by_the_stack(Request::new(action, &key)),
        );
    }
    refused(
        &deployer,
        "tagging an existing key into the stack",
        &requesting_the_stack_tag(via_cfn("kms:TagResource", &key)),
    );
    refused(
        &deployer,
        "a key created outside CloudFormation",
        &Request::new("kms:CreateKey", "*"),
    );
    // Importing an existing key (or group...) would put it under the stack.
    let stack = arn(
        "cloudformation",
        &format!("stack/{}/0a1b2c3d", ex("StackName")),
    );
    refused(
        &deployer,
        "an import change set",
        &Request::new("cloudformation:CreateChangeSet", &stack)
            .with("cloudformation:ImportResourceTypes", &["AWS::KMS::Key"]),
    );
    let sg = arn("ec2", "security-group/sg-0123456789abcdef0");
    let lt = arn("ec2", "launch-template/lt-0123456789abcdef0");
    let vpce = arn("ec2", "vpc-endpoint/vpce-0123456789abcdef0");
    for (action, resource) in [
        ("ec2:AuthorizeSecurityGroupIngress", &sg),
        ("ec2:AuthorizeSecurityGroupEgress", &sg),
        ("ec2:DeleteSecurityGroup", &sg),
        ("ec2:CreateLaunchTemplateVersion", &lt),
        ("ec2:DeleteLaunchTemplate", &lt),
        ("ec2:ModifyVpcEndpoint", &vpce),
        ("ec2:DeleteVpcEndpoints", &vpce),
    ] {
        refused(
            &deployer,
            &format!("{action} on an untagged resource"),
            &via_cfn(action, resource),
        );
    }
    refused(
        &deployer,
        "launching from a launch template of someone else",
        &Request::new("ec2:RunInstances", &lt),
    );
    refused(
        &deployer,
        "tagging an existing security group into the stack",
        &requesting_the_stack_tag(Request::new("ec2:CreateTags", &sg)),
    );
}

#[test]
fn the_deployer_may_still_deploy_the_stack() {
    let deployer = document("deployer.json");
    let stack = arn(
        "cloudformation",
        &format!("stack/{}/0a1b2c3d", ex("StackName")),
    );
    allowed(
        &deployer,
        "a change set",
        &Request::new("cloudformation:CreateChangeSet", &stack),
    );
    let role = stack_role();
    for action in [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
    ] {
        allowed(&deployer, action, &with_boundary(via_cfn(action, &role)));
    }
    allowed(
        &deployer,
        "passing the role to EC2",
        &tagged_for_the_stack(
            Request::new("iam:PassRole", &role).with("iam:PassedToService", &["ec2.amazonaws.com"]),
        ),
    );
    let key = arn("kms", "key/1111bbbb-0000-0000-0000-000000000000");
    allowed(
        &deployer,
        "creating the key",
        &via_cfn("kms:CreateKey", "*"),
    );
    for action in [
        "kms:PutKeyPolicy",
        "kms:EnableKeyRotation",
        "kms:ScheduleKeyDeletion",
    ] {
        allowed(
            &deployer,
            action,
            &created_by_the_stack(via_cfn(action, &key)),
        );
    }
    let vpc = arn("ec2", &format!("vpc/{}", ex("VpcId")));
    let subnet = arn("ec2", &format!("subnet/{}", ex("SubnetId")));
    let sg = arn("ec2", "security-group/sg-0123456789abcdef0");
    let lt = arn("ec2", "launch-template/lt-0123456789abcdef0");
    let vpce = arn("ec2", "vpc-endpoint/vpce-0123456789abcdef0");
    for resource in [&vpc, &sg] {
        allowed(
            &deployer,
            "CreateSecurityGroup",
            &requesting_the_stack_tag(via_cfn("ec2:CreateSecurityGroup", resource)),
        );
    }
    for resource in [&vpc, &subnet, &sg, &vpce] {
        allowed(
            &deployer,
            "CreateVpcEndpoint",
            &requesting_the_stack_tag(via_cfn("ec2:CreateVpcEndpoint", resource)),
        );
    }
    allowed(
        &deployer,
        "CreateLaunchTemplate",
        &requesting_the_stack_tag(via_cfn("ec2:CreateLaunchTemplate", &lt)),
    );
    for (action, resource) in [
        ("ec2:AuthorizeSecurityGroupEgress", &sg),
        ("ec2:RevokeSecurityGroupEgress", &sg),
        ("ec2:CreateLaunchTemplateVersion", &lt),
        ("ec2:DeleteVpcEndpoints", &vpce),
    ] {
        allowed(
            &deployer,
            action,
            &tagged_for_the_stack(via_cfn(action, resource)),
        );
    }
    let image = format!("arn:aws:ec2:{}::image/{}", ex("Region"), ex("AmiId"));
    allowed(
        &deployer,
        "RunInstances in the stack's security group",
        &tagged_for_the_stack(Request::new("ec2:RunInstances", &sg)),
    );
    for resource in [
        image,
        subnet,
        arn("ec2", "instance/i-0123456789abcdef0"),
        arn("ec2", "volume/vol-0123456789abcdef0"),
        arn("ec2", "network-interface/eni-0123456789abcdef0"),
    ] {
        allowed(
            &deployer,
            "RunInstances",
            &Request::new("ec2:RunInstances", &resource),
        );
    }
    allowed(
        &deployer,
        "RunInstances from the stack's launch template",
        &tagged_for_the_stack(Request::new("ec2:RunInstances", &lt)),
    );
    allowed(
        &deployer,
        "tagging at creation",
        &requesting_the_stack_tag(
            Request::new("ec2:CreateTags", &lt).with("ec2:CreateAction", &["CreateLaunchTemplate"]),
        ),
    );
}

fn image(id: &str) -> String {
    format!("arn:aws:ec2:{}::image/{id}", ex("Region"))
}

fn snapshot(id: &str) -> String {
    format!("arn:aws:ec2:{}::snapshot/{id}", ex("Region"))
}

fn published(request: Request) -> Request {
    request.with(
        "aws:ResourceTag/sqlassess:manifest-sha256",
        &["0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"],
    )
}

#[test]
fn the_publisher_cannot_share_publicly_or_with_unlisted_accounts() {
    let publisher = document("image-publisher.json");
    let ami = image("ami-0123456789abcdef0");
    let snap = snapshot("snap-0123456789abcdef0");
    // IAM has no condition key for the accounts or groups of an AMI's
    // launch permission (ec2:Add/* exist for snapshots only); an image is
    // kept private by the account's image block public access, which the
    // publisher may read but never turn off.
    refused(
        &publisher,
        "turning off image block public access",
        &Request::new("ec2:DisableImageBlockPublicAccess", "*"),
    );
    refused(
        &publisher,
        "making a snapshot public",
        &published(Request::new("ec2:ModifySnapshotAttribute", &snap))
            .with("ec2:Add/group", &["all"]),
    );
    refused(
        &publisher,
        "sharing a snapshot with an account not listed",
        &published(Request::new("ec2:ModifySnapshotAttribute", &snap))
            .with("ec2:Add/userId", &[ex("ShareAccountId"), "999988887777"]),
    );
    refused(
        &publisher,
        "sharing an image it did not publish",
        &Request::new("ec2:ModifyImageAttribute", &ami),
    );
    // Getting its tag onto other data, to share or delete it, is closed too.
    refused(
        &publisher,
        "registering an image from a snapshot it did not upload",
        &Request::new("ec2:RegisterImage", &snapshot("snap-0fedcba987654321f")),
    );
    refused(
        &publisher,
        "an upload built on another snapshot",
        &Request::new("ebs:StartSnapshot", &snapshot("*"))
            .with("ebs:ParentSnapshot", &["snap-0fedcba987654321f"]),
    );
    refused(
        &publisher,
        "tagging an existing snapshot",
        &Request::new("ec2:CreateTags", &snap),
    );
    // What publishing does is still allowed.
    allowed(
        &publisher,
        "sharing a published image",
        &published(Request::new("ec2:ModifyImageAttribute", &ami)),
    );
    allowed(
        &publisher,
        "starting an upload",
        &Request::new("ebs:StartSnapshot", &snapshot("*")),
    );
    allowed(
        &publisher,
        "registering the image",
        &Request::new("ec2:RegisterImage", &ami),
    );
    allowed(
        &publisher,
        "registering from the uploaded snapshot",
        &published(Request::new("ec2:RegisterImage", &snap)),
    );
    allowed(
        &publisher,
        "tagging the upload as it starts",
        &Request::new("ec2:CreateTags", &snap).with("ec2:CreateAction", &["StartSnapshot"]),
    );
}

#[test]
fn the_boundary_caps_every_stack_role_and_binds_it_to_the_instance() {
    let boundary = document("appliance-boundary.json");
    let secret = ex("SecretArn");
    let from_the_instance = |action: &str, resource: &str| {
        Request::new(action, resource)
            .with("aws:ResourceAccount", &[ex("AccountId")])
            .with("aws:ec2InstanceSourceVPC", &[ex("VpcId")])
            .with("aws:ec2InstanceSourcePrivateIPv4", &["10.20.1.10"])
            .with("aws:VpcSourceIp", &["10.20.1.10"])
            .with("aws:ViaAWSService", &["false"])
    };
    allowed(
        &boundary,
        "the appliance reading its secret",
        &from_the_instance("secretsmanager:GetSecretValue", secret),
    );
    // Administration, even granted by the role's own policy, is cut off.
    for (action, resource) in [
        ("iam:CreateUser", arn("iam", "user/backdoor")),
        ("iam:PutRolePolicy", stack_role()),
        ("kms:PutKeyPolicy", ex("KeyArn").to_owned()),
        (
            "s3:GetObject",
            format!("arn:aws:s3:::{}/x", ex("BucketName")),
        ),
    ] {
        refused(&boundary, action, &from_the_instance(action, &resource));
    }
    // The credentials used from another VPC (or assumed by someone the trust
    // policy lets in: no instance VPC at all), or from another host.
    refused(
        &boundary,
        "the role used from another VPC",
        &from_the_instance("secretsmanager:GetSecretValue", secret)
            .with("aws:ec2InstanceSourceVPC", &["vpc-0ffffffffffffffff"]),
    );
    let mut assumed = from_the_instance("secretsmanager:GetSecretValue", secret);
    assumed.context.remove("aws:ec2InstanceSourceVPC");
    refused(&boundary, "the role assumed, not on EC2", &assumed);
    refused(
        &boundary,
        "the instance's credentials from another address",
        &from_the_instance("secretsmanager:GetSecretValue", secret)
            .with("aws:VpcSourceIp", &["10.20.1.99"]),
    );
    // S3 and Secrets Manager calling KMS for the appliance are not cut off.
    let mut forwarded =
        from_the_instance("kms:GenerateDataKey", ex("KeyArn")).with("aws:ViaAWSService", &["true"]);
    // A forwarded request carries neither the instance's VPC nor its address.
    forwarded.context.remove("aws:VpcSourceIp");
    forwarded.context.remove("aws:ec2InstanceSourceVPC");
    allowed(&boundary, "KMS through S3", &forwarded);
}

/// An upload the appliance makes: over TLS, from its VPC, encrypted under
/// the stack's key.
fn appliance_upload(key: &str) -> Request {
    Request::new(
        "s3:PutObject",
        &format!("arn:aws:s3:::{}/{key}", ex("BucketName")),
    )
    .with("aws:PrincipalArn", &[ex("InstanceRoleArn")])
    .with("aws:SecureTransport", &["true"])
    .with("aws:SourceVpc", &[ex("VpcId")])
    .with("s3:x-amz-server-side-encryption", &["aws:kms"])
    .with(
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        &[ex("KeyArn")],
    )
}

#[test]
fn the_bucket_refuses_appliance_uploads_that_could_overwrite_a_report() {
    let bucket = document("bucket-policy.json");
    let key = "assessments/run-1/report.json";
    // Without If-None-Match, a PUT would replace an earlier run's object.
    assert_eq!(
        evaluate(&bucket, &appliance_upload(key)).unwrap(),
        Decision::ExplicitlyDenied,
        "an appliance upload without If-None-Match is not denied"
    );
    // The upload the appliance makes (deliver.rs sends If-None-Match: *) is
    // not denied; the role's own policy allows it.
    let conditional = appliance_upload(key).with("s3:if-none-match", &["*"]);
    assert_ne!(
        evaluate(&bucket, &conditional).unwrap(),
        Decision::ExplicitlyDenied,
        "the appliance's conditional upload is denied"
    );
    // The rule is about the appliance: another principal's upload is judged
    // by the other statements only.
    let other = appliance_upload(key).with("aws:PrincipalArn", &[&arn("iam", "role/report-admin")]);
    assert_ne!(
        evaluate(&bucket, &other).unwrap(),
        Decision::ExplicitlyDenied,
        "the overwrite rule also binds principals other than the appliance"
    );
}
