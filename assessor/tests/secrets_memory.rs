//! How long the SQL password stays in the process's memory (SECURITY.md,
//! "In use"): a secret with a unique canary password is fetched from
//! moto_server with the real SDK, the credentials are built, and the test
//! scans its own memory (every readable mapping, through /proc/self/mem) for
//! the canary while the credentials are alive and after they and the SDK
//! client are dropped.
//!
//! The canary never exists in plain text in this process except through
//! `DbCredentials::fetch`: the test keeps it inverted (each byte `!b`),
//! compares memory against the inverted form, creates the secret with a raw
//! HTTP request whose buffer it zeroizes, and zeroizes its read buffers.
//! This binary holds this one test, so no other test's memory is scanned.
//! `SHOW_CONTEXT=1` prints the 80 bytes before each copy found (never the
//! copy), which tells whose buffer it is.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::fs::FileExt;

use assessor::secrets::DbCredentials;
use testbed::moto::{MotoServer, REGION};
use testbed::postgres::random_hex;
use zeroize::Zeroize;

/// Addresses in this process's readable memory where the canary (given
/// inverted) is found.
fn copies(inverted: &[u8]) -> Vec<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mem = File::open("/proc/self/mem").unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut found = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let name = fields.nth(3).unwrap_or("");
        if !perms.starts_with('r') || name == "[vvar]" || name == "[vsyscall]" {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut at = start;
        while at < end {
            let want = usize::try_from((end - at).min(buf.len() as u64)).unwrap();
            let Ok(n) = mem.read_at(&mut buf[..want], at) else {
                break;
            };
            if n == 0 {
                break;
            }
            let own = buf.as_ptr() as u64..buf.as_ptr() as u64 + buf.len() as u64;
            for (i, window) in buf[..n].windows(inverted.len()).enumerate() {
                let address = at + i as u64;
                if window.iter().zip(inverted).all(|(m, c)| !*m == *c) && !own.contains(&address) {
                    if std::env::var_os("SHOW_CONTEXT").is_some() {
                        let from = i.saturating_sub(80);
                        let context: String = buf[from..i]
                            .iter()
                            .map(|&b| {
                                if b.is_ascii_graphic() || b == b' ' {
                                    b as char
                                } else {
                                    '.'
                                }
                            })
                            .collect();
                        eprintln!("  {address:#x} {name}: {context}");
                    }
                    found.push(address);
                }
            }
            buf.as_mut_slice().zeroize();
            // Overlap the next chunk so a copy across the boundary is seen.
            let step = if n as u64 == end - at {
                n as u64
            } else {
                (n - inverted.len().min(n) + 1) as u64
            };
            at += step.max(1);
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// Creates the secret with a raw request to moto (which checks no
/// signature), building the body from the inverted canary in one
/// pre-sized buffer that is zeroized after the write.
fn create_secret(moto: &MotoServer, name: &str, inverted_password: &[u8]) {
    let head = format!(
        "{{\"Name\":\"{name}\",\"SecretString\":\"{{\\\"username\\\":\\\"assessor\\\",\\\"password\\\":\\\""
    );
    let tail = "\\\"}\"}";
    let mut body = Vec::with_capacity(head.len() + inverted_password.len() + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.extend(inverted_password.iter().map(|b| !b));
    body.extend_from_slice(tail.as_bytes());
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: secretsmanager.CreateSecret\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/secretsmanager/aws4_request, \
         SignedHeaders=host, Signature=00\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
        port = moto.port(),
        len = body.len(),
    );
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, moto.port())).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    body.zeroize();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

async fn client(moto: &MotoServer) -> aws_sdk_secretsmanager::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "t", "t", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_secretsmanager::Client::new(&config)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_is_in_memory_only_while_the_credentials_live() {
    let moto = MotoServer::start().unwrap();
    let inverted: Vec<u8> = format!("CANARY-PW-{}", random_hex(16).unwrap())
        .bytes()
        .map(|b| !b)
        .collect();
    create_secret(&moto, "memory/sql", &inverted);
    assert!(copies(&inverted).is_empty(), "the test leaked the canary");

    let sm = client(&moto).await;
    let credentials = DbCredentials::fetch(&sm, "memory/sql").await.unwrap();
    let alive = copies(&inverted);
    assert!(
        credentials
            .password
            .expose()
            .bytes()
            .zip(&inverted)
            .all(|(p, c)| p == !c),
        "not the canary"
    );
    drop(credentials);
    drop(sm);
    let after = copies(&inverted);
    eprintln!(
        "canary copies: {} while the credentials live, {} after they and the SDK client are dropped",
        alive.len(),
        after.len()
    );
    assert!(!alive.is_empty(), "the scan does not see the live password");
    // Before `secrets.rs` zeroized the raw response body, one copy remained
    // here (the body's JSON, in the multi-threaded runtime's heap arena, as
    // `SHOW_CONTEXT=1` shows); the SDK's other transient buffers are not
    // seen by this scan (SECURITY.md, C10).
    assert!(
        after.is_empty(),
        "{} copies of the password remain after the credentials were dropped",
        after.len()
    );
}
