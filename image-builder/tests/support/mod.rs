//! Shared by the publish tests and the publish benchmark: a synthetic signed
//! image, SDK clients for moto_server, and a fault-injecting HTTP proxy.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use image_builder::manifest::{
    BuildInputs, ManifestInputs, PartitionSpec, PublicKey, Sha256, SigningKey, VerifiedImage,
    Verity, generate_key_files, verify_image, write_signed_manifest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const MIB: usize = 1 << 20;

/// Deterministic bytes that are never a whole zero page.
pub fn noise(seed: u64, out: &mut [u8]) {
    let mut x = seed | 1;
    for b in out.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
}

/// Writes a signed image of `mib` MiB to `dir` (at least 8): a partition
/// table page, an ESP with 1 MiB of data, a root partition with 60% data,
/// one block holding a single non-zero byte, and zero regions between.
/// Returns the verified image and its public key.
pub fn make_image(dir: &Path, mib: usize) -> (VerifiedImage, PublicKey) {
    make_image_with_files(dir, mib, &[])
}

/// [`make_image`] with side files (name, content) covered by the manifest.
pub fn make_image_with_files(
    dir: &Path,
    mib: usize,
    files: &[(&str, &[u8])],
) -> (VerifiedImage, PublicKey) {
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    assert!(mib >= 8);
    let mut img = vec![0u8; mib * MIB];
    noise(1, &mut img[..4096]);
    noise(2, &mut img[MIB..2 * MIB]);
    let root = 3 * MIB;
    let root_len = img.len() - root;
    let data_end = root + root_len * 6 / 10;
    noise(3, &mut img[root..data_end]);
    img[data_end + MIB + 7] = 0x5a;
    std::fs::write(dir.join("disk.raw"), &img).unwrap();
    std::fs::write(
        dir.join("sbom.cdx.json"),
        b"{\"bomFormat\":\"CycloneDX\"}\n",
    )
    .unwrap();
    let key_dir = dir.join("keys");
    std::fs::create_dir_all(&key_dir).unwrap();
    let public =
        generate_key_files(&key_dir.join("signing.pem"), &key_dir.join("signing.pub")).unwrap();
    let key = SigningKey::load(&key_dir.join("signing.pem")).unwrap();
    let inputs = ManifestInputs {
        name: "sqlassess-test".into(),
        version: "0.0.1".into(),
        image_file: "disk.raw".into(),
        partitions: vec![
            PartitionSpec {
                name: "esp".into(),
                label: None,
                offset: MIB as u64,
                size: 2 * MIB as u64,
            },
            PartitionSpec {
                name: "root".into(),
                label: None,
                offset: root as u64,
                size: root_len as u64,
            },
        ],
        verity: Some(Verity {
            root_hash: Sha256::of(b"verity").to_hex(),
            salt: String::new(),
            hash_algorithm: "sha256".into(),
            data_block_size: 4096,
            hash_block_size: 4096,
            data_partition: "root".into(),
            hash_partition: "root".into(),
            hash_offset: 0,
        }),
        sbom: Some(("CycloneDX-1.5-json".into(), "sbom.cdx.json".into())),
        files: files.iter().map(|(name, _)| (*name).to_owned()).collect(),
        build: BuildInputs {
            source_commit: "deadbeefcafe".into(),
            source_date_epoch: 1_700_000_000,
            profile: "test".into(),
            profile_sha256: Sha256::of(b"profile"),
            package_lock_sha256: None,
            builder_version: env!("CARGO_PKG_VERSION").into(),
            extra: BTreeMap::new(),
        },
    };
    write_signed_manifest(dir, &inputs, &key).unwrap();
    (verify_image(dir, &public).unwrap(), public)
}

/// An SDK config for an endpoint on loopback, with static test credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(testbed::moto::REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_ebs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// What the proxy does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward to moto.
    Pass,
    /// Answer with this HTTP status and an EBS (JSON) error code.
    EbsError(u16, &'static str),
    /// Flip one byte of the body before it reaches the checksum check.
    Corrupt,
}

type Rule = Box<dyn Fn(&str, &str, u64) -> Fault + Send + Sync>;

/// A loopback HTTP proxy in front of moto_server that injects faults moto
/// cannot produce (throttling, 5xx, expired tokens) and, unlike moto,
/// validates every PutSnapshotBlock's `x-amz-Checksum` as EBS does.
pub struct FaultProxy {
    pub port: u16,
    pub put_blocks: Arc<AtomicU64>,
    pub faults: Arc<AtomicU64>,
    pub checksum_rejections: Arc<AtomicU64>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// `rule(method, path, nth PutSnapshotBlock so far)` decides each request's fate.
    pub async fn start(upstream: u16, rule: Rule) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = FaultProxy {
            port,
            put_blocks: Arc::default(),
            faults: Arc::default(),
            checksum_rejections: Arc::default(),
            log: Arc::default(),
        };
        let rule = Arc::new(rule);
        let (puts, faults, rejections, log) = (
            Arc::clone(&proxy.put_blocks),
            Arc::clone(&proxy.faults),
            Arc::clone(&proxy.checksum_rejections),
            Arc::clone(&proxy.log),
        );
        tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let rule = Arc::clone(&rule);
                let (puts, faults, rejections, log) = (
                    Arc::clone(&puts),
                    Arc::clone(&faults),
                    Arc::clone(&rejections),
                    Arc::clone(&log),
                );
                tokio::spawn(async move {
                    let _ = serve(conn, upstream, &rule, &puts, &faults, &rejections, &log).await;
                });
            }
        });
        proxy
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

async fn serve(
    mut conn: TcpStream,
    upstream: u16,
    rule: &Rule,
    puts: &AtomicU64,
    faults: &AtomicU64,
    rejections: &AtomicU64,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    // One request per connection: every answer says `Connection: close`.
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    assert!(
        header(&head, "transfer-encoding").is_none(),
        "the proxy handles Content-Length bodies only"
    );
    let len: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let mut chunk = vec![0u8; len - body.len()];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_owned();
    let path = first.next().unwrap_or("").to_owned();
    let is_put_block = method == "PUT" && path.contains("/blocks/");
    let nth = if is_put_block {
        puts.fetch_add(1, Ordering::SeqCst)
    } else {
        u64::MAX
    };
    let fault = rule(&method, &path, nth);
    log.lock()
        .unwrap()
        .push(format!("{method} {path} {fault:?}"));
    if let Fault::EbsError(status, code) = fault {
        faults.fetch_add(1, Ordering::SeqCst);
        return reply_error(&mut conn, status, code, "injected by the test proxy").await;
    }
    if fault == Fault::Corrupt {
        faults.fetch_add(1, Ordering::SeqCst);
        if let Some(b) = body.get_mut(1000) {
            *b ^= 0xff;
        }
    }
    if is_put_block {
        // EBS checks the block against its checksum; moto does not.
        let sent = header(&head, "x-amz-checksum").unwrap_or("");
        let actual = B64.encode(digest(&SHA256, &body).as_ref());
        if sent != actual {
            rejections.fetch_add(1, Ordering::SeqCst);
            return reply_error(
                &mut conn,
                400,
                "ValidationException",
                "The value of the checksum does not match the block data",
            )
            .await;
        }
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).await?;
    let mut new_head = String::new();
    for line in head.trim_end().lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            new_head.push_str(line);
            new_head.push_str("\r\n");
        }
    }
    new_head.push_str("Connection: close\r\n\r\n");
    up.write_all(new_head.as_bytes()).await?;
    up.write_all(&body).await?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).await?;
    let resp_head_end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(resp.len());
    let resp_head = String::from_utf8_lossy(&resp[..resp_head_end]).into_owned();
    let mut out = String::new();
    for line in resp_head.trim_end().lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    conn.write_all(out.as_bytes()).await?;
    conn.write_all(&resp[resp_head_end..]).await?;
    conn.shutdown().await
}

async fn reply_error(
    conn: &mut TcpStream,
    status: u16,
    code: &str,
    message: &str,
) -> std::io::Result<()> {
    let body = format!("{{\"message\":\"{message}\"}}");
    let resp = format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nx-amzn-ErrorType: {code}\r\nx-amzn-RequestId: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(resp.as_bytes()).await?;
    conn.shutdown().await
}
