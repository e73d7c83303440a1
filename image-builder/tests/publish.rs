//! Publishing against a real moto_server on loopback (issue 7), plus a fault
//! proxy for what moto cannot do (throttling, 5xx, expired tokens, checksum
//! validation).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::{
    ArchitectureValues, BootModeValues, ImdsSupportValues, ResourceType, VolumeType,
};
use image_builder::manifest::{MANIFEST_FILE, SIGNATURE_FILE, VerifiedImage};
use image_builder::publish::{
    self, Clients, CopyTarget, PublishDirError, PublishError, PublishOptions, SnapshotOutcome,
    TAG_COMMIT, TAG_DIGEST, TAG_VERITY, TAG_VERSION, ami, plan, snapshot,
};
use support::{Fault, FaultProxy, MIB, make_image, make_image_with_files, sdk_config};
use testbed::moto::MotoServer;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

fn opts() -> PublishOptions {
    PublishOptions {
        kms_key_arn: Some(KEY.into()),
        workers: 8,
        wait_timeout: Duration::from_secs(60),
        poll: Duration::from_millis(200),
        ..PublishOptions::default()
    }
}

fn fast_retry() -> aws_config::retry::RetryConfig {
    publish::retry_config()
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(200))
}

/// Every data block of the image is in the snapshot, byte for byte, and no
/// other block is.
async fn assert_snapshot_holds_image(clients: &Clients, snapshot_id: &str, image: &VerifiedImage) {
    let plan = plan::scan(image).unwrap();
    let listed = clients
        .ebs
        .list_snapshot_blocks()
        .snapshot_id(snapshot_id)
        .send()
        .await
        .unwrap();
    let got: BTreeSet<i32> = listed
        .blocks()
        .iter()
        .filter_map(|b| b.block_index())
        .collect();
    let want: BTreeSet<i32> = plan.data_blocks.iter().map(|b| b.index).collect();
    assert_eq!(got, want, "the snapshot must hold exactly the data blocks");
    let img = std::fs::read(image.image_path()).unwrap();
    for b in listed.blocks() {
        let idx = b.block_index().unwrap();
        let out = clients
            .ebs
            .get_snapshot_block()
            .snapshot_id(snapshot_id)
            .block_index(idx)
            .block_token(b.block_token().unwrap())
            .send()
            .await
            .unwrap();
        let data = out.block_data.collect().await.unwrap().into_bytes();
        let start = idx as usize * plan::BLOCK_SIZE as usize;
        let end = (start + plan::BLOCK_SIZE as usize).min(img.len());
        let mut expect = img[start..end].to_vec();
        expect.resize(plan::BLOCK_SIZE as usize, 0);
        assert!(
            data.as_ref() == expect.as_slice(),
            "block {idx} differs from the image"
        );
    }
}

async fn image_tags(clients: &Clients, image_id: &str) -> Vec<(String, String)> {
    let out = clients
        .ec2
        .describe_images()
        .image_ids(image_id)
        .send()
        .await
        .unwrap();
    out.images()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect()
}

/// Snapshots carrying our digest tag (moto has many snapshots of its own).
async fn snapshot_count(clients: &Clients) -> usize {
    clients
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag-key")
                .values(TAG_DIGEST)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .snapshots()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_only_data_blocks_reads_back_identical_and_tags_the_ami() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 16);
    let clients = Clients::new(&sdk_config(&moto.endpoint_url()).await);

    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let progress: publish::Progress = Arc::new(move |e| sink.lock().unwrap().push(e));
    let out = publish::publish(&clients, &image, &opts(), Some(progress))
        .await
        .unwrap();

    let plan = plan::scan(&image).unwrap();
    // The progress feed: the plan, then one event per block, ending at the total.
    let events = events.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| matches!(e,
        publish::ProgressEvent::Planned { to_upload, zero_skipped, present_skipped: 0 }
            if *to_upload == plan.data_blocks.len() as u64 && *zero_skipped == plan.zero_blocks()))
    );
    let uploads: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            publish::ProgressEvent::Uploaded { blocks, .. } => Some(*blocks),
            _ => None,
        })
        .collect();
    assert_eq!(uploads.len(), plan.data_blocks.len());
    assert_eq!(uploads.iter().max(), Some(&(plan.data_blocks.len() as u64)));
    assert!(!out.already_published);
    assert_eq!(out.snapshot, SnapshotOutcome::Uploaded);
    assert_eq!(out.uploaded_blocks, plan.data_blocks.len() as u64);
    assert_eq!(out.zero_blocks_skipped, plan.zero_blocks());
    assert!(out.zero_blocks_skipped > 0, "the image has zero regions");
    assert_eq!(out.uploaded_bytes, out.uploaded_blocks * plan::BLOCK_SIZE);
    assert_eq!(out.uploaded_bytes, plan.upload_bytes());
    // About 60% of this image is data; the zero regions are not sent. (The
    // uploaded/used ratio on a realistic image is measured by the benchmark;
    // this small image has two deliberately sparse blocks.)
    assert!(out.uploaded_bytes < out.image_bytes * 3 / 4, "{out:?}");
    assert!(out.uploaded_bytes >= out.used_bytes);
    // moto cannot tell whether block public access is on: a warning, not a
    // failure; and this image is not signed for Secure Boot.
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    assert!(
        out.warnings[0].contains("image block public access"),
        "{:?}",
        out.warnings
    );
    assert!(!out.secure_boot);

    let snapshot_id = out.snapshot_id.clone().unwrap();
    assert_snapshot_holds_image(&clients, &snapshot_id, &image).await;

    let tags = image_tags(&clients, &out.image_id).await;
    let digest = image.digest().to_hex();
    for (k, v) in [
        (TAG_DIGEST, digest.as_str()),
        (TAG_VERSION, "0.0.1"),
        (TAG_COMMIT, "deadbeefcafe"),
        (
            TAG_VERITY,
            image.manifest().verity.as_ref().unwrap().root_hash.as_str(),
        ),
        ("Name", out.name.as_str()),
    ] {
        assert!(
            tags.contains(&(k.to_owned(), v.to_owned())),
            "missing tag {k}={v} in {tags:?}"
        );
    }
    let snap = clients
        .ec2
        .describe_snapshots()
        .snapshot_ids(&snapshot_id)
        .send()
        .await
        .unwrap();
    assert!(
        snap.snapshots()[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some(TAG_DIGEST) && t.value() == Some(digest.as_str())),
        "the snapshot is tagged with the digest"
    );
    let img = clients
        .ec2
        .describe_images()
        .image_ids(&out.image_id)
        .send()
        .await
        .unwrap();
    assert_eq!(img.images()[0].public(), Some(false), "never public");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_digest_again_finds_the_existing_ami_and_uploads_nothing() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 8);
    let clients = Clients::new(&sdk_config(&moto.endpoint_url()).await);
    let first = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap();
    let again = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap();
    assert!(again.already_published);
    assert_eq!(again.image_id, first.image_id);
    assert_eq!(again.uploaded_blocks, 0);
    assert_eq!(again.snapshot, SnapshotOutcome::NotNeeded);
    assert_eq!(snapshot_count(&clients).await, 1, "no second snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_unsigned_image_is_refused_before_any_aws_call() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = make_image(dir.path(), 8);
    let clients = Clients::new(&sdk_config(&moto.endpoint_url()).await);

    // One byte of the root partition changed after signing.
    let path = dir.path().join("disk.raw");
    let mut img = std::fs::read(&path).unwrap();
    img[3 * MIB + 10] ^= 1;
    std::fs::write(&path, &img).unwrap();
    let err = publish::publish_dir(&clients, dir.path(), &public, &opts(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishDirError::Refused(_)), "{err}");
    assert!(err.to_string().contains("partition root"), "{err}");

    // Restored bytes, but the signature removed.
    img[3 * MIB + 10] ^= 1;
    std::fs::write(&path, &img).unwrap();
    std::fs::remove_file(dir.path().join(SIGNATURE_FILE)).unwrap();
    let err = publish::publish_dir(&clients, dir.path(), &public, &opts(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishDirError::Refused(_)), "{err}");
    assert!(err.to_string().contains("unsigned"), "{err}");
    assert!(dir.path().join(MANIFEST_FILE).exists());

    assert_eq!(snapshot_count(&clients).await, 0, "nothing was uploaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_from_the_blocks_already_written() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 16);
    let clients = Clients::new(&sdk_config(&moto.endpoint_url()).await);

    // A first run that stopped after half the blocks.
    let plan = plan::scan(&image).unwrap();
    let name = publish::default_name(&image);
    let tags = publish::tags(&image, &name);
    let snapshot_id = snapshot::start_snapshot(&clients.ebs, &plan, Some(KEY), "partial", &tags)
        .await
        .unwrap();
    let mut half = plan.clone();
    half.data_blocks.truncate(plan.data_blocks.len() / 2);
    snapshot::upload_blocks(
        &clients.ebs,
        &snapshot_id,
        &image.image_path(),
        &half,
        &BTreeSet::new(),
        4,
        Arc::default(),
        None,
    )
    .await
    .unwrap();

    let out = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap();
    assert_eq!(
        out.snapshot,
        SnapshotOutcome::Resumed {
            present: half.data_blocks.len() as u64
        }
    );
    assert_eq!(out.snapshot_id.as_deref(), Some(snapshot_id.as_str()));
    assert_eq!(
        out.uploaded_blocks,
        (plan.data_blocks.len() - half.data_blocks.len()) as u64
    );
    assert_eq!(out.present_blocks_skipped, half.data_blocks.len() as u64);
    assert_snapshot_holds_image(&clients, &snapshot_id, &image).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_that_cannot_be_resumed_is_deleted_and_the_upload_restarts() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 8);
    let clients = Clients::new(&sdk_config(&moto.endpoint_url()).await);
    let plan = plan::scan(&image).unwrap();
    let tags = publish::tags(&image, "x");
    let stale = snapshot::start_snapshot(&clients.ebs, &plan, Some(KEY), "stale", &tags)
        .await
        .unwrap();
    // A block where the image is all zeros: this snapshot is not of this image.
    let zero_index = (0..plan.total_blocks as i32)
        .find(|i| !plan.data_blocks.iter().any(|b| b.index == *i))
        .unwrap();
    let mut stray = plan.clone();
    stray.data_blocks = vec![plan::DataBlock {
        index: zero_index,
        sha256: image_builder::manifest::Sha256::of(&vec![0u8; plan::BLOCK_SIZE as usize]),
    }];
    snapshot::upload_blocks(
        &clients.ebs,
        &stale,
        &image.image_path(),
        &stray,
        &BTreeSet::new(),
        1,
        Arc::default(),
        None,
    )
    .await
    .unwrap();

    let out = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap();
    match &out.snapshot {
        SnapshotOutcome::Restarted { deleted, reason } => {
            assert_eq!(deleted, &stale);
            assert!(reason.contains("does not have"), "{reason}");
        }
        other => panic!("expected a restart, got {other:?}"),
    }
    assert_ne!(out.snapshot_id.as_deref(), Some(stale.as_str()));
    assert_eq!(
        snapshot_count(&clients).await,
        1,
        "the stale snapshot is gone"
    );
    assert_snapshot_holds_image(&clients, out.snapshot_id.as_deref().unwrap(), &image).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_with_named_accounts_and_copies_to_other_regions_privately() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 8);
    let clients = Clients::new(&sdk_config(&moto.endpoint_url()).await);
    let mut o = opts();
    o.share_with = vec!["210987654321".into()];
    o.copy_to = vec![CopyTarget {
        region: "eu-west-1".into(),
        kms_key: "arn:aws:kms:eu-west-1:123456789012:key/abc".into(),
    }];
    let out = publish::publish(&clients, &image, &o, None).await.unwrap();
    let perms = clients
        .ec2
        .describe_image_attribute()
        .image_id(&out.image_id)
        .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
        .send()
        .await
        .unwrap();
    let perms = perms.launch_permissions();
    assert_eq!(perms.len(), 1);
    assert_eq!(perms[0].user_id(), Some("210987654321"));
    assert!(perms[0].group().is_none(), "never a group permission");

    assert_eq!(out.copies.len(), 1);
    let dest = clients.ec2_in("eu-west-1");
    let found = ami::find_images(&dest, &image.digest().to_hex())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].image_id, out.copies[0].image_id);
    assert!(!found[0].public);

    // Again: both the AMI and the copy are found, nothing new is made.
    let again = publish::publish(&clients, &image, &o, None).await.unwrap();
    assert!(again.already_published);
    assert!(again.copies[0].already_there);
}

/// The requests as built, for the fields moto ignores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requests_ask_for_encryption_uefi_ena_imdsv2_gp3_and_no_public_access() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 8);
    // Built, never sent: the endpoint is never contacted.
    let clients = Clients::new(&sdk_config("http://127.0.0.1:9").await);
    let plan = plan::scan(&image).unwrap();
    let tags = publish::tags(&image, "n");

    let start = snapshot::start_snapshot_request(&clients.ebs, &plan, Some(KEY), "d", &tags);
    let s = start.as_input();
    assert_eq!(s.get_encrypted(), &Some(true));
    assert_eq!(s.get_kms_key_arn().as_deref(), Some(KEY));
    assert_eq!(s.get_volume_size(), &Some(1));
    assert_eq!(s.get_timeout(), &Some(snapshot::PENDING_TIMEOUT_MINUTES));
    assert!(
        s.get_tags()
            .as_ref()
            .unwrap()
            .iter()
            .any(|t| t.key() == Some(TAG_DIGEST))
    );
    // Without a key: still encrypted, under the account's default EBS key.
    let start = snapshot::start_snapshot_request(&clients.ebs, &plan, None, "d", &tags);
    assert_eq!(start.as_input().get_encrypted(), &Some(true));

    let params = ami::RegisterParams {
        name: "n".into(),
        description: "d".into(),
        snapshot_id: "snap-0123".into(),
        root_volume_gib: 4,
        tags: tags.clone(),
        uefi_data: Some("QU1aTlVFRkk=".into()),
    };
    let reg = ami::register_image_request(&clients.ec2, &params);
    let r = reg.as_input();
    assert_eq!(r.get_architecture(), &Some(ArchitectureValues::X8664));
    assert_eq!(r.get_boot_mode(), &Some(BootModeValues::Uefi));
    assert_eq!(r.get_uefi_data().as_deref(), Some("QU1aTlVFRkk="));
    assert_eq!(r.get_ena_support(), &Some(true));
    assert_eq!(r.get_sriov_net_support().as_deref(), Some("simple"));
    assert_eq!(r.get_imds_support(), &Some(ImdsSupportValues::V20));
    assert_eq!(r.get_virtualization_type().as_deref(), Some("hvm"));
    assert_eq!(r.get_root_device_name().as_deref(), Some(ami::ROOT_DEVICE));
    let bdm = r.get_block_device_mappings().as_ref().unwrap();
    assert_eq!(bdm.len(), 1);
    assert_eq!(bdm[0].device_name(), Some(ami::ROOT_DEVICE));
    let ebs = bdm[0].ebs().unwrap();
    assert_eq!(ebs.snapshot_id(), Some("snap-0123"));
    assert_eq!(ebs.volume_type(), Some(&VolumeType::Gp3));
    assert_eq!(ebs.volume_size(), Some(4));
    assert_eq!(ebs.delete_on_termination(), Some(true));
    let spec = &r.get_tag_specifications().as_ref().unwrap()[0];
    assert_eq!(spec.resource_type(), Some(&ResourceType::Image));
    assert!(spec.tags().iter().any(|t| t.key() == Some(TAG_VERITY)));

    let share = ami::share_request(&clients.ec2, "ami-1", &["210987654321".into()]);
    let lp = share.as_input().get_launch_permission().as_ref().unwrap();
    assert!(
        lp.add()
            .iter()
            .all(|p| p.group().is_none() && p.user_id().is_some())
    );
    assert!(share.as_input().get_user_groups().is_none());

    let copy = ami::copy_request(&clients.ec2, "us-east-1", "ami-1", "n", "arn:k", &tags);
    assert_eq!(copy.as_input().get_encrypted(), &Some(true));
    assert_eq!(copy.as_input().get_kms_key_id().as_deref(), Some("arn:k"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secure_boot_image_registers_its_uefi_variable_store_and_a_changed_one_is_refused() {
    let moto = MotoServer::start().unwrap();
    let clients = Clients::new(&sdk_config(&moto.endpoint_url()).await);
    // Without a variable store: Secure Boot off, and the operator is told.
    let plain_dir = tempfile::tempdir().unwrap();
    let (plain, _) = make_image(plain_dir.path(), 8);
    assert_eq!(publish::uefi_data(&plain).unwrap(), None);
    let out = publish::publish(&clients, &plain, &opts(), None)
        .await
        .unwrap();
    assert!(!out.secure_boot);
    assert!(
        out.warnings.iter().any(|w| w.contains("Secure Boot off")),
        "{:?}",
        out.warnings
    );

    let dir = tempfile::tempdir().unwrap();
    let store = b"QU1aTlVFRkkXL1sL\n";
    let (image, _) = make_image_with_files(dir.path(), 9, &[("uefi-data.aws", store)]);
    assert_eq!(
        publish::uefi_data(&image).unwrap().as_deref(),
        Some("QU1aTlVFRkkXL1sL")
    );
    let out = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap();
    assert!(out.secure_boot);
    assert!(!out.warnings.iter().any(|w| w.contains("Secure Boot")));

    // The store changed after the manifest was verified: nothing registered.
    std::fs::write(dir.path().join("uefi-data.aws"), b"QU1aTlVFRkkAAAAA\n").unwrap();
    let err = publish::uefi_data(&image).unwrap_err();
    assert!(matches!(err, PublishError::ImageChanged { .. }), "{err}");
}

#[test]
fn options_never_allow_public_or_unshareable_images() {
    let mut o = opts();
    o.share_with = vec!["all".into()];
    assert!(matches!(o.validate(), Err(PublishError::InvalidOption(_))));
    o.share_with = vec!["12345".into()];
    assert!(o.validate().is_err());
    o.share_with = vec!["210987654321".into()];
    assert!(o.validate().is_ok());
    o.kms_key_arn = None;
    assert!(o.validate().unwrap_err().to_string().contains("--kms-key"));
    assert!("eu-west-1".parse::<CopyTarget>().is_err());
    assert!(
        "eu-west-1=arn:aws:kms:eu-west-1:1:key/x"
            .parse::<CopyTarget>()
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_5xx_answers_are_retried_with_backoff() {
    let moto = MotoServer::start().unwrap();
    // The 2nd..4th block requests are throttled, the 6th and 7th get 503/500.
    let proxy = FaultProxy::start(
        moto.port(),
        Box::new(|_, _, nth| match nth {
            1..=3 => Fault::EbsError(429, "RequestThrottledException"),
            5 => Fault::EbsError(503, "InternalServerException"),
            6 => Fault::EbsError(500, "InternalServerException"),
            _ => Fault::Pass,
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 8);
    let clients = Clients::with_retry(&sdk_config(&proxy.endpoint_url()).await, fast_retry());
    let out = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap();
    assert_eq!(proxy.faults.load(std::sync::atomic::Ordering::SeqCst), 5);
    let plan = plan::scan(&image).unwrap();
    assert_eq!(
        proxy.put_blocks.load(std::sync::atomic::Ordering::SeqCst),
        plan.data_blocks.len() as u64 + 5,
        "each faulted request was sent again"
    );
    // Every block passed the proxy's EBS-like checksum validation.
    assert_eq!(
        proxy
            .checksum_rejections
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_snapshot_holds_image(&clients, out.snapshot_id.as_deref().unwrap(), &image).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checksum_rejection_is_retried_and_a_persistent_one_fails() {
    let moto = MotoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 8);

    // Transient: the first block request arrives corrupted once.
    let proxy = FaultProxy::start(
        moto.port(),
        Box::new(|_, _, nth| {
            if nth == 0 {
                Fault::Corrupt
            } else {
                Fault::Pass
            }
        }),
    )
    .await;
    let clients = Clients::with_retry(&sdk_config(&proxy.endpoint_url()).await, fast_retry());
    let out = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap();
    assert_eq!(out.checksum_retries, 1);
    assert_eq!(
        proxy
            .checksum_rejections
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_snapshot_holds_image(&clients, out.snapshot_id.as_deref().unwrap(), &image).await;

    // Persistent: every block request arrives corrupted.
    moto.reset().unwrap();
    let proxy = FaultProxy::start(moto.port(), Box::new(|_, _, _| Fault::Corrupt)).await;
    let clients = Clients::with_retry(&sdk_config(&proxy.endpoint_url()).await, fast_retry());
    let err = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap_err();
    match err {
        PublishError::ChecksumMismatch { attempts, .. } => {
            assert_eq!(attempts, snapshot::CHECKSUM_ATTEMPTS)
        }
        other => panic!("expected a checksum failure, got {other}"),
    }
    assert_eq!(
        snapshot_count(&clients).await,
        1,
        "the pending snapshot stays, for a resume"
    );
    let amis = clients
        .ec2
        .describe_images()
        .owners("self")
        .send()
        .await
        .unwrap();
    assert!(amis.images().is_empty(), "no AMI from a failed upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_are_reported_as_such() {
    let moto = MotoServer::start().unwrap();
    let proxy = FaultProxy::start(
        moto.port(),
        Box::new(|_, _, nth| {
            if nth == u64::MAX {
                Fault::Pass
            } else {
                Fault::EbsError(403, "ExpiredTokenException")
            }
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 8);
    let clients = Clients::with_retry(&sdk_config(&proxy.endpoint_url()).await, fast_retry());
    let err = publish::publish(&clients, &image, &opts(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            PublishError::CredentialsExpired {
                operation: "PutSnapshotBlock",
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("expired") && text.contains("resumes"),
        "{text}"
    );
}
