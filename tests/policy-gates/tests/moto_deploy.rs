//! Gate: the appliance stack deploys on moto's CloudFormation, the resources
//! exist where the services can see them, and the user data the launch
//! template carries is a job config the appliance itself accepts.
//!
//! Two deployments: one where the stack creates the key, the bucket and the
//! VPC endpoints, and one where the customer brings all three; and the
//! central report stack of a multi-account deployment on its own. Everything runs
//! against moto_server on 127.0.0.1 with dummy credentials. moto ignores
//! security-group egress, metadata options, bucket policies and several
//! bucket settings; tests/template_properties.rs reads those from the
//! template instead.

// Helpers of these tests panic like the tests do: a failed gate with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use base64::Engine as _;
use policy_gates::ec2_query;
use policy_gates::template::Template;
use testbed::moto::{MotoServer, REGION};

const PREREQUISITES: &str = "tests/policy/moto-prerequisites.yaml";
const SECRET_NAME: &str = "sqlassess/sql-01";

async fn sdk_config(moto: &MotoServer) -> aws_config::SdkConfig {
    assert!(moto.endpoint_url().starts_with("http://127.0.0.1:"));
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "policy-gates",
        ))
        .load()
        .await
}

/// Creates a stack and returns its outputs; fails with the stack's reason.
async fn deploy(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
    template: &str,
    parameters: &[(&str, &str)],
) -> HashMap<String, String> {
    let body = policy_gates::read_repo_file(template).unwrap();
    cfn.create_stack()
        .stack_name(name)
        .template_body(body)
        .set_parameters(Some(
            parameters
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(*k)
                        .parameter_value(*v)
                        .build()
                })
                .collect(),
        ))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStack {name}: {e:?}"));
    // moto creates stacks synchronously; poll anyway, as CloudFormation would need.
    for _ in 0..60 {
        let stacks = cfn.describe_stacks().stack_name(name).send().await.unwrap();
        let stack = &stacks.stacks()[0];
        match stack.stack_status() {
            Some(StackStatus::CreateInProgress) => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Some(StackStatus::CreateComplete) => {
                return stack
                    .outputs()
                    .iter()
                    .map(|o| {
                        (
                            o.output_key().unwrap_or_default().to_owned(),
                            o.output_value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
            }
            other => panic!(
                "stack {name} ended in {other:?}: {:?}",
                stack.stack_status_reason()
            ),
        }
    }
    panic!("stack {name} still in progress after 30 s");
}

/// The logical ids of the stack's resources, all of which must be complete.
async fn created_resources(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
) -> HashMap<String, String> {
    let listed = cfn
        .list_stack_resources()
        .stack_name(name)
        .send()
        .await
        .unwrap();
    let mut out = HashMap::new();
    for r in listed.stack_resource_summaries() {
        // moto lists the resource types it does not implement (bucket
        // policies, egress rules) without a logical id; they are checked by
        // reading the template.
        let Some(id) = r.logical_resource_id().filter(|id| !id.is_empty()) else {
            continue;
        };
        assert_eq!(
            r.resource_status().map(|s| s.as_str()),
            Some("CREATE_COMPLETE"),
            "{id}"
        );
        out.insert(
            id.to_owned(),
            r.physical_resource_id().unwrap_or_default().to_owned(),
        );
    }
    out
}

/// The launch template's XML and its user data (the job config as TOML).
fn user_data(port: u16, launch_template_id: &str) -> (String, String) {
    let xml = ec2_query::call(
        port,
        "DescribeLaunchTemplateVersions",
        &[("LaunchTemplateId", launch_template_id)],
    )
    .unwrap();
    let encoded = ec2_query::elements(&xml, "userData");
    assert_eq!(encoded.len(), 1, "{xml}");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded[0].trim())
        .unwrap();
    let text = String::from_utf8(decoded).unwrap();
    assert!(
        text.starts_with("# sqlassess appliance user data, format 2"),
        "{text}"
    );
    (xml, text)
}

/// The job config as the appliance makes it at boot (`assessor appliance
/// fetch-config`), in `dir`.
fn job_config(user_data: &str, dir: &Path) -> assessor::config::JobConfig {
    assessor::appliance::user_data::materialize(user_data, &dir.join("job.toml"))
        .unwrap_or_else(|e| panic!("the appliance would refuse its user data: {e}\n{user_data}"))
}

/// A moto default image, so RunInstances has something to launch.
fn some_image(port: u16) -> String {
    let xml = ec2_query::call(port, "DescribeImages", &[]).unwrap();
    let ids = ec2_query::elements(&xml, "imageId");
    ids.into_iter().next().expect("moto has default images")
}

struct Prerequisites {
    outputs: HashMap<String, String>,
    secret_arn: String,
    image: String,
    /// The shipped permissions boundary, created as the administrator would.
    boundary_arn: String,
}

impl Prerequisites {
    /// The appliance stack's parameters for these prerequisites: the stack
    /// creates its key, bucket and endpoints, the SQL Server is reached by
    /// address, and the public web PKI is an explicit choice (no bundle then).
    fn minimal_parameters(&self) -> [(&str, &str); 9] {
        [
            ("AmiId", &self.image),
            ("VpcId", &self.outputs["VpcId"]),
            ("PrivateSubnetId", &self.outputs["SubnetId"]),
            ("SqlServerCidr", "10.20.2.15/32"),
            ("PermissionsBoundaryArn", &self.boundary_arn),
            ("ReportReaderRoleArn", REPORT_READER),
            ("DbSecretArn", &self.secret_arn),
            ("SqlServerHost", "10.20.2.14"),
            ("CaTrust", "system"),
        ]
    }
}

/// The role the reports are read with (the key policy names it; moto does
/// not check that it exists).
const REPORT_READER: &str = "arn:aws:iam::123456789012:role/assessment-report-reader";

async fn prerequisites(moto: &MotoServer, config: &aws_config::SdkConfig) -> Prerequisites {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let outputs = deploy(&cfn, "customer-network", PREREQUISITES, &[]).await;
    // moto's CloudFormation does not create secrets; the API does.
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let secret = secrets
        .create_secret()
        .name(SECRET_NAME)
        .secret_string(r#"{"username":"assessor","password":"only-in-the-emulator"}"#)
        .send()
        .await
        .unwrap();
    let boundary = policy_gates::read_repo_file("policies/appliance-boundary.json").unwrap();
    let boundary = policy_gates::placeholders::substitute(&boundary).unwrap();
    let created = ec2_query::iam(
        moto.port(),
        "CreatePolicy",
        &[
            ("PolicyName", "sqlassess-appliance-boundary"),
            ("PolicyDocument", &boundary),
        ],
    )
    .unwrap();
    let boundary_arn = ec2_query::elements(&created, "Arn")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{created}"));
    Prerequisites {
        outputs,
        secret_arn: secret.arn().unwrap().to_owned(),
        image: some_image(moto.port()),
        boundary_arn,
    }
}

/// The boundary the stack's instance role was created under (IAM GetRole).
fn role_boundary(port: u16, role_name: &str) -> Vec<String> {
    let xml = ec2_query::iam(port, "GetRole", &[("RoleName", role_name)]).unwrap();
    ec2_query::elements(&xml, "PermissionsBoundaryArn")
}

/// The key rotates (GetKeyRotationStatus).
async fn assert_key_rotates(kms: &aws_sdk_kms::Client, key_arn: &str) {
    let rotation = kms
        .get_key_rotation_status()
        .key_id(key_arn)
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled(), "{key_arn}");
}

/// The bucket encrypts with SSE-KMS under `key_arn` by default.
async fn assert_bucket_encrypts_under(s3: &aws_sdk_s3::Client, bucket: &str, key_arn: &str) {
    let encryption = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(key_arn), "{bucket}");
}

#[tokio::test]
async fn the_stack_deploys_creating_its_key_bucket_and_endpoints() {
    let moto = MotoServer::start().unwrap();
    let config = sdk_config(&moto).await;
    let pre = prerequisites(&moto, &config).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stack = "sqlassess";
    let outputs = deploy(
        &cfn,
        stack,
        "cloudformation/appliance.yaml",
        &[
            pre.minimal_parameters().as_slice(),
            &[("Databases", "Sales,Inventory")],
        ]
        .concat(),
    )
    .await;

    // Every resource whose condition holds was created.
    let resources = created_resources(&cfn, stack).await;
    let template = Template::appliance().unwrap();
    let unimplemented_by_moto = ["AWS::S3::BucketPolicy", "AWS::EC2::SecurityGroupEgress"];
    let expected: BTreeSet<&str> = template
        .resources()
        .into_iter()
        .filter(|(_, r)| !unimplemented_by_moto.contains(&r["Type"].as_str().unwrap_or_default()))
        .filter(|(id, _)| *id != "SqlServerEgressToSecurityGroup")
        .map(|(id, _)| id)
        .collect();
    let created: BTreeSet<&str> = resources.keys().map(String::as_str).collect();
    assert_eq!(created, expected);

    // Outputs.
    let key_arn = &outputs["KeyArn"];
    assert!(key_arn.starts_with("arn:aws:kms:us-east-1:"), "{key_arn}");
    assert_eq!(outputs["LogGroupName"], format!("/sqlassess/{stack}"));
    let location = &outputs["ReportLocation"];
    let bucket = location
        .strip_prefix("s3://")
        .and_then(|l| l.strip_suffix("/assessments/"))
        .unwrap_or_else(|| panic!("{location}"));
    assert_eq!(bucket, resources["ReportBucket"]);
    assert_eq!(outputs["InstanceId"], resources["Instance"]);
    // The role was created under the shipped boundary.
    assert_eq!(
        role_boundary(moto.port(), &resources["InstanceRole"]),
        [pre.boundary_arn.as_str()]
    );

    // The key exists and rotates. (moto stores a key policy given through
    // CloudFormation as an object, which breaks its own DescribeKey and
    // GetKeyPolicy on that key; the policy is checked from the template.)
    let kms = aws_sdk_kms::Client::new(&config);
    let keys = kms.list_keys().send().await.unwrap();
    assert!(
        keys.keys()
            .iter()
            .any(|k| k.key_arn() == Some(key_arn.as_str())),
        "{keys:?}"
    );
    assert_key_rotates(&kms, key_arn).await;

    // The buckets exist; the report bucket encrypts under the key by default.
    let s3 = aws_sdk_s3::Client::new(&config);
    for id in ["ReportBucket", "AccessLogBucket"] {
        s3.head_bucket()
            .bucket(&resources[id])
            .send()
            .await
            .unwrap();
    }
    assert_bucket_encrypts_under(&s3, bucket, key_arn).await;

    // The instance is in the private subnet. (moto gives every instance a
    // public address whatever the launch template says; the template test
    // checks AssociatePublicIpAddress: false.)
    let port = moto.port();
    let xml = ec2_query::call(
        port,
        "DescribeInstances",
        &[("InstanceId.1", &outputs["InstanceId"])],
    )
    .unwrap();
    // The instance and its network interface both name the subnet.
    let subnets = ec2_query::elements(&xml, "subnetId");
    assert!(!subnets.is_empty(), "{xml}");
    assert!(
        subnets.iter().all(|s| *s == pre.outputs["SubnetId"]),
        "{subnets:?}"
    );

    // The launch template: IMDSv2, terminate on shutdown, and the job config.
    let (lt_xml, text) = user_data(port, &resources["LaunchTemplate"]);
    assert_eq!(ec2_query::elements(&lt_xml, "httpTokens"), ["required"]);
    assert_eq!(
        ec2_query::elements(&lt_xml, "instanceInitiatedShutdownBehavior"),
        ["terminate"]
    );
    let dir = tempfile::tempdir().unwrap();
    let job = job_config(&text, dir.path());
    assert!(job.job.power_off_when_done);
    assert_eq!(job.job.region, REGION);
    assert_eq!(&job.job.kms_key_id, key_arn);
    assert_eq!(job.report.bucket, bucket);
    assert_eq!(job.report.prefix, "assessments");
    // No central delivery: the uploads are under the job's key.
    assert_eq!(job.report.kms_key_id, None);
    assert_eq!(job.targets.len(), 1);
    let target = &job.targets[0];
    assert_eq!(target.name, "sql-01");
    assert_eq!(target.secret_id, pre.secret_arn);
    assert_eq!(target.databases, ["Sales", "Inventory"]);
    assert_eq!(
        (target.host.as_deref(), target.port),
        (Some("10.20.2.14"), None)
    );
    assert_eq!(target.tls.mode, assessor::config::TlsMode::Required);
    assert_eq!(target.tls.ca_bundle, None);
    assert_eq!(target.tls.ca, Some(assessor::config::CaTrust::System));
    assert!(!target.tls.dangerously_trust_server_certificate);
    // The shipped assessor (no `testing-endpoint` feature) refuses a
    // `[testing]` table, and has no `testing` field to look at.
    assert!(!text.contains("[testing]"), "{text}");
}

#[tokio::test]
async fn the_stack_deploys_with_the_customers_key_bucket_and_endpoints() {
    let moto = MotoServer::start().unwrap();
    let config = sdk_config(&moto).await;
    let pre = prerequisites(&moto, &config).await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms
        .create_key()
        .description("customer key")
        .send()
        .await
        .unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let s3 = aws_sdk_s3::Client::new(&config);
    let bucket = "customer-assessment-reports";
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let ca_pem = "-----BEGIN CERTIFICATE-----\nMIIBfixture\n-----END CERTIFICATE-----\n";
    let ca_base64 = base64::engine::general_purpose::STANDARD.encode(ca_pem);

    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stack = "sqlassess-byo";
    let outputs = deploy(
        &cfn,
        stack,
        "cloudformation/appliance.yaml",
        &[
            ("AmiId", &pre.image),
            ("VpcId", &pre.outputs["VpcId"]),
            ("PrivateSubnetId", &pre.outputs["SubnetId"]),
            ("SqlServerSecurityGroupId", &pre.outputs["SqlServerGroupId"]),
            ("SqlServerFromPort", "1433"),
            ("SqlServerToPort", "1434"),
            ("CreateVpcEndpoints", "false"),
            ("EndpointSecurityGroupId", &pre.outputs["EndpointsGroupId"]),
            ("PermissionsBoundaryArn", &pre.boundary_arn),
            ("ReportReaderRoleArn", REPORT_READER),
            ("DbSecretArn", &pre.secret_arn),
            ("KmsKeyArn", &key_arn),
            ("ReportBucketName", bucket),
            ("ReportPrefix", "estate-a"),
            ("SqlServerHost", "10.20.2.15"),
            ("SqlServerPort", "1433"),
            ("TlsMode", "strict"),
            ("HostnameInCertificate", "sql-01.corp.example"),
            ("CaBundleBase64", &ca_base64),
            ("AutoTerminate", "false"),
        ],
    )
    .await;

    let resources = created_resources(&cfn, stack).await;
    for absent in [
        "Key",
        "ReportBucket",
        "AccessLogBucket",
        "EndpointSecurityGroup",
        "EndpointIngressFromAppliance",
        "SecretsManagerEndpoint",
        "KmsEndpoint",
        "LogsEndpoint",
        "StsEndpoint",
        "S3Endpoint",
    ] {
        assert!(!resources.contains_key(absent), "{absent} was created");
    }
    for present in [
        "InstanceRole",
        "InstanceRolePolicy",
        "LogGroup",
        "LaunchTemplate",
        "Instance",
    ] {
        assert!(resources.contains_key(present), "{present} is missing");
    }
    assert_eq!(outputs["KeyArn"], key_arn);
    assert_eq!(
        role_boundary(moto.port(), &resources["InstanceRole"]),
        [pre.boundary_arn.as_str()]
    );
    assert_eq!(
        outputs["ReportLocation"],
        format!("s3://{bucket}/estate-a/")
    );

    let (lt_xml, text) = user_data(moto.port(), &resources["LaunchTemplate"]);
    assert_eq!(
        ec2_query::elements(&lt_xml, "instanceInitiatedShutdownBehavior"),
        ["stop"]
    );
    let dir = tempfile::tempdir().unwrap();
    let job = job_config(&text, dir.path());
    assert!(!job.job.power_off_when_done);
    // The CA bundle travels base64-encoded and lands as a file beside the config.
    let ca_written = std::fs::read(job.targets[0].tls.ca_bundle.as_ref().unwrap()).unwrap();
    assert_eq!(ca_written, ca_pem.as_bytes());

    assert_eq!(job.job.kms_key_id, key_arn);
    assert_eq!(job.report.bucket, bucket);
    assert_eq!(job.report.prefix, "estate-a");
    assert_eq!(job.report.kms_key_id, None);
    let target = &job.targets[0];
    assert_eq!(target.secret_id, pre.secret_arn);
    assert!(target.databases.is_empty());
    assert_eq!(target.host.as_deref(), Some("10.20.2.15"));
    assert_eq!(target.port, Some(1433));
    assert_eq!(target.tls.mode, assessor::config::TlsMode::Strict);
    assert_eq!(
        target.tls.ca_bundle.as_deref(),
        Some(dir.path().join("ca-bundle-0.pem").as_path())
    );
    // The default trust mode: the bundle alone, no system roots.
    assert_eq!(target.tls.ca, Some(assessor::config::CaTrust::Private));
    assert_eq!(
        target.tls.hostname_in_certificate.as_deref(),
        Some("sql-01.corp.example")
    );
}

/// Central delivery: with `ReportKmsKeyArn` (a key of the central account;
/// in moto every account is one, so the key is made here) and the central
/// bucket, the stack writes the job config that uploads under the central
/// key and below this account's id, keeps the session's data keys under its
/// own key, and reports that location.
#[tokio::test]
async fn the_stack_deploys_delivering_to_a_central_bucket_and_key() {
    let moto = MotoServer::start().unwrap();
    let config = sdk_config(&moto).await;
    let pre = prerequisites(&moto, &config).await;
    let central_key = aws_sdk_kms::Client::new(&config)
        .create_key()
        .description("central report key")
        .send()
        .await
        .unwrap();
    let central_key = central_key
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let account = central_key.split(':').nth(4).unwrap().to_owned();
    let bucket = "example-central-reports";
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stack = "StackSet-sqlassess-0a1b2c3d";
    let outputs = deploy(
        &cfn,
        stack,
        "cloudformation/appliance.yaml",
        &[
            pre.minimal_parameters().as_slice(),
            &[
                ("ReportBucketName", bucket),
                ("ReportKmsKeyArn", &central_key),
            ],
        ]
        .concat(),
    )
    .await;
    let resources = created_resources(&cfn, stack).await;
    for absent in ["ReportBucket", "AccessLogBucket"] {
        assert!(!resources.contains_key(absent), "{absent} was created");
    }
    for present in ["Key", "S3Endpoint", "InstanceRolePolicy"] {
        assert!(resources.contains_key(present), "{present} is missing");
    }
    assert_eq!(
        outputs["ReportLocation"],
        format!("s3://{bucket}/{account}/assessments/")
    );
    let (_, text) = user_data(moto.port(), &resources["LaunchTemplate"]);
    let dir = tempfile::tempdir().unwrap();
    let job = job_config(&text, dir.path());
    assert_eq!(job.report.bucket, bucket);
    assert_eq!(job.report.prefix, format!("{account}/assessments"));
    assert_eq!(job.report.kms_key_id.as_deref(), Some(central_key.as_str()));
    assert_eq!(job.report_kms_key_id(), central_key);
    // The data keys stay under the stack's own key.
    assert_eq!(job.job.kms_key_id, outputs["KeyArn"]);
    assert_ne!(job.job.kms_key_id, central_key);
}

/// The central report stack of a multi-account deployment
/// (cloudformation/central-reports.yaml) deploys too, with every resource:
/// its key rotates and its bucket encrypts under that key by default. (moto
/// keeps neither bucket policies nor key policies given through
/// CloudFormation in a usable form; those are evaluated from the template in
/// tests/central_stack.rs.)
#[tokio::test]
async fn the_central_report_stack_deploys_with_its_key_and_buckets() {
    let moto = MotoServer::start().unwrap();
    let config = sdk_config(&moto).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stack = "sqlassess-central";
    let bucket = "example-central-reports";
    let outputs = deploy(
        &cfn,
        stack,
        "cloudformation/central-reports.yaml",
        &[
            ("OrganizationId", "o-a1b2c3d4e5"),
            ("ReportBucketName", bucket),
            ("ReportReaderRoleName", "assessment-report-reader"),
        ],
    )
    .await;
    let resources = created_resources(&cfn, stack).await;
    let created: BTreeSet<&str> = resources.keys().map(String::as_str).collect();
    assert_eq!(
        created,
        BTreeSet::from(["Key", "ReportBucket", "AccessLogBucket"]),
        "every resource but the bucket policies, which moto does not implement"
    );
    assert_eq!(outputs["ReportBucketName"], bucket);
    assert_eq!(resources["ReportBucket"], bucket);
    assert_eq!(
        outputs["ApplianceRoleArnPattern"],
        "arn:aws:iam::*:role/StackSet-sqlassess-*"
    );

    let key_arn = &outputs["KeyArn"];
    let kms = aws_sdk_kms::Client::new(&config);
    assert_key_rotates(&kms, key_arn).await;

    let s3 = aws_sdk_s3::Client::new(&config);
    assert_bucket_encrypts_under(&s3, bucket, key_arn).await;
    // (moto's CloudFormation drops BucketKeyEnabled, VersioningConfiguration,
    // PublicAccessBlockConfiguration and LoggingConfiguration;
    // policies/guard-central checks them in the template.)
}
