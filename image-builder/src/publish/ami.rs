//! The snapshot into a private AMI: RegisterImage, tags, lookups by the
//! manifest digest, sharing with named accounts, copies to other regions.

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    ArchitectureValues, BlockDeviceMapping, BootModeValues, EbsBlockDevice, Filter,
    ImdsSupportValues, LaunchPermission, LaunchPermissionModifications, ResourceType,
    TagSpecification, VolumeType,
};

use super::error::aws_error;
use super::{PublishError, TAG_DIGEST};

/// The root device name the appliance boots from.
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// What RegisterImage needs besides the snapshot.
#[derive(Debug, Clone)]
pub struct RegisterParams {
    pub name: String,
    pub description: String,
    pub snapshot_id: String,
    pub root_volume_gib: i32,
    pub tags: Vec<(String, String)>,
    /// The UEFI variable store (AWS's base64 format) that makes instances
    /// enforce Secure Boot with the image's db key; `None`: Secure Boot off.
    pub uefi_data: Option<String>,
}

fn ec2_tags(resource: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    let mut spec = TagSpecification::builder().resource_type(resource);
    for (k, v) in tags {
        spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
    }
    spec.build()
}

/// The RegisterImage request, as sent: x86_64, UEFI (with the image's
/// Secure Boot variable store when it has one), ENA, SR-IOV, IMDSv2 only, a
/// gp3 root deleted on termination, tagged at creation. Tests assert
/// on it because emulators ignore most of these fields.
pub fn register_image_request(
    ec2: &aws_sdk_ec2::Client,
    p: &RegisterParams,
) -> aws_sdk_ec2::operation::register_image::builders::RegisterImageFluentBuilder {
    ec2.register_image()
        .name(&p.name)
        .description(&p.description)
        .architecture(ArchitectureValues::X8664)
        .virtualization_type("hvm")
        .boot_mode(BootModeValues::Uefi)
        .set_uefi_data(p.uefi_data.clone())
        .ena_support(true)
        .sriov_net_support("simple")
        .imds_support(ImdsSupportValues::V20)
        .root_device_name(ROOT_DEVICE)
        .block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name(ROOT_DEVICE)
                .ebs(
                    EbsBlockDevice::builder()
                        .snapshot_id(&p.snapshot_id)
                        .volume_type(VolumeType::Gp3)
                        .volume_size(p.root_volume_gib)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        )
        .tag_specifications(ec2_tags(ResourceType::Image, &p.tags))
}

/// Registers the AMI; returns its id.
pub async fn register_image(
    ec2: &aws_sdk_ec2::Client,
    p: &RegisterParams,
) -> Result<String, PublishError> {
    let out = register_image_request(ec2, p)
        .send()
        .await
        .map_err(|e| aws_error("RegisterImage", e))?;
    out.image_id()
        .map(str::to_owned)
        .ok_or_else(|| missing("RegisterImage", "image id"))
}

fn missing(operation: &'static str, what: &str) -> PublishError {
    PublishError::Aws {
        operation,
        code: "IncompleteAnswer".into(),
        message: format!("the answer carried no {what}"),
    }
}

/// An AMI of ours found by its manifest digest tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundImage {
    pub image_id: String,
    pub state: String,
    pub public: bool,
    pub has_tags: bool,
}

fn digest_filter(digest: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{TAG_DIGEST}"))
        .values(digest)
        .build()
}

/// AMIs owned by this account tagged with `digest`.
pub async fn find_images(
    ec2: &aws_sdk_ec2::Client,
    digest: &str,
) -> Result<Vec<FoundImage>, PublishError> {
    let out = ec2
        .describe_images()
        .owners("self")
        .filters(digest_filter(digest))
        .send()
        .await
        .map_err(|e| aws_error("DescribeImages", e))?;
    Ok(out.images().iter().filter_map(found).collect())
}

fn found(i: &aws_sdk_ec2::types::Image) -> Option<FoundImage> {
    Some(FoundImage {
        image_id: i.image_id()?.to_owned(),
        state: i.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        public: i.public().unwrap_or(false),
        has_tags: i.tags().iter().any(|t| t.key() == Some(TAG_DIGEST)),
    })
}

/// One AMI by id.
pub async fn describe_image(
    ec2: &aws_sdk_ec2::Client,
    image_id: &str,
) -> Result<FoundImage, PublishError> {
    let out = ec2
        .describe_images()
        .image_ids(image_id)
        .send()
        .await
        .map_err(|e| aws_error("DescribeImages", e))?;
    out.images()
        .first()
        .and_then(found)
        .ok_or_else(|| missing("DescribeImages", "image"))
}

/// Tags an AMI after creation. Used only when tag-on-create was not applied
/// (emulators ignore TagSpecifications); on AWS, RegisterImage and CopyImage
/// tag atomically and this is never called.
pub async fn ensure_tags(
    ec2: &aws_sdk_ec2::Client,
    image_id: &str,
    tags: &[(String, String)],
) -> Result<(), PublishError> {
    let found = describe_image(ec2, image_id).await?;
    if found.has_tags {
        return Ok(());
    }
    let mut req = ec2.create_tags().resources(image_id);
    for (k, v) in tags {
        req = req.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
    }
    req.send().await.map_err(|e| aws_error("CreateTags", e))?;
    Ok(())
}

/// Waits until the AMI is `available`; fails if it is public.
pub async fn wait_available(
    ec2: &aws_sdk_ec2::Client,
    image_id: &str,
    timeout: Duration,
    poll: Duration,
) -> Result<(), PublishError> {
    let start = Instant::now();
    loop {
        let img = describe_image(ec2, image_id).await?;
        if img.public {
            return Err(PublishError::PublicImage {
                image_id: image_id.to_owned(),
            });
        }
        match img.state.as_str() {
            "available" => return Ok(()),
            "failed" | "error" | "invalid" | "deregistered" => {
                return Err(PublishError::Aws {
                    operation: "DescribeImages",
                    code: "ImageFailed".into(),
                    message: format!("image {image_id} is in state {}", img.state),
                });
            }
            _ => {}
        }
        if start.elapsed() > timeout {
            return Err(PublishError::Timeout {
                what: format!("image {image_id}"),
                wanted: "available",
                seconds: timeout.as_secs(),
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// Snapshots owned by this account tagged with `digest`: `(id, state)`.
pub async fn find_snapshots(
    ec2: &aws_sdk_ec2::Client,
    digest: &str,
) -> Result<Vec<(String, String)>, PublishError> {
    let out = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(digest_filter(digest))
        .send()
        .await
        .map_err(|e| aws_error("DescribeSnapshots", e))?;
    Ok(out
        .snapshots()
        .iter()
        .filter_map(|s| {
            Some((
                s.snapshot_id()?.to_owned(),
                s.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            ))
        })
        .collect())
}

/// Waits until the snapshot is `completed`.
pub async fn wait_snapshot_completed(
    ec2: &aws_sdk_ec2::Client,
    snapshot_id: &str,
    timeout: Duration,
    poll: Duration,
) -> Result<(), PublishError> {
    let start = Instant::now();
    loop {
        let out = ec2
            .describe_snapshots()
            .snapshot_ids(snapshot_id)
            .send()
            .await
            .map_err(|e| aws_error("DescribeSnapshots", e))?;
        let state = out
            .snapshots()
            .first()
            .and_then(|s| s.state())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        match state.as_str() {
            "completed" => return Ok(()),
            "error" | "recoverable" | "recovering" => {
                return Err(PublishError::SnapshotFailed {
                    snapshot_id: snapshot_id.to_owned(),
                    state,
                });
            }
            _ => {}
        }
        if start.elapsed() > timeout {
            return Err(PublishError::Timeout {
                what: format!("snapshot {snapshot_id}"),
                wanted: "completed",
                seconds: timeout.as_secs(),
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// Deletes one of our snapshots (an abandoned upload).
pub async fn delete_snapshot(
    ec2: &aws_sdk_ec2::Client,
    snapshot_id: &str,
) -> Result<(), PublishError> {
    ec2.delete_snapshot()
        .snapshot_id(snapshot_id)
        .send()
        .await
        .map_err(|e| aws_error("DeleteSnapshot", e))?;
    Ok(())
}

/// The ModifyImageAttribute request that shares with named accounts. Only
/// user ids: never a group (`all` would make the image public).
pub fn share_request(
    ec2: &aws_sdk_ec2::Client,
    image_id: &str,
    accounts: &[String],
) -> aws_sdk_ec2::operation::modify_image_attribute::builders::ModifyImageAttributeFluentBuilder {
    let mut add = LaunchPermissionModifications::builder();
    for a in accounts {
        add = add.add(LaunchPermission::builder().user_id(a).build());
    }
    ec2.modify_image_attribute()
        .image_id(image_id)
        .launch_permission(add.build())
}

/// The CopyImage request for one region, re-encrypted under that region's key.
pub fn copy_request(
    dest: &aws_sdk_ec2::Client,
    source_region: &str,
    image_id: &str,
    name: &str,
    kms_key: &str,
    tags: &[(String, String)],
) -> aws_sdk_ec2::operation::copy_image::builders::CopyImageFluentBuilder {
    dest.copy_image()
        .source_region(source_region)
        .source_image_id(image_id)
        .name(name)
        .encrypted(true)
        .kms_key_id(kms_key)
        .tag_specifications(ec2_tags(ResourceType::Image, tags))
        .tag_specifications(ec2_tags(ResourceType::Snapshot, tags))
}

/// The account's image block public access state; `None` when the endpoint
/// does not implement the call (the caller warns).
pub async fn block_public_access_state(ec2: &aws_sdk_ec2::Client) -> Result<String, String> {
    // One attempt: this only feeds a warning, and an endpoint that does not
    // implement it (an emulator) answers 5xx, which would otherwise be retried.
    let once = aws_sdk_ec2::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::disabled());
    match ec2
        .get_image_block_public_access_state()
        .customize()
        .config_override(once)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .image_block_public_access_state()
            .unwrap_or("unknown")
            .to_owned()),
        Err(e) => {
            use aws_sdk_ec2::error::ProvideErrorMetadata as _;
            Err(format!(
                "{}: {}",
                e.code().unwrap_or("error"),
                e.message().unwrap_or("no answer")
            ))
        }
    }
}
