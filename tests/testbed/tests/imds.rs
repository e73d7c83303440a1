//! The IMDSv2 emulator, driven by the AWS SDK for Rust's own IMDS client and
//! credentials provider, and by raw HTTP for what the SDK never sends.

// Helpers outside #[test] functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, SystemTime};

use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_sdk_kms::config::ProvideCredentials;
use testbed::imds::{ImdsEmulator, ImdsOptions, ImdsRequest};

const REGION: &str = "eu-central-1";
const ROLE: &str = "sqlassess-appliance";
const INSTANCE_ID: &str = "i-0123456789abcdef0";
const USER_DATA: &str = r#"{"job":"s3://reports/job.toml"}"#;

fn options(user_data: &str) -> ImdsOptions {
    ImdsOptions {
        region: REGION.into(),
        role_name: ROLE.into(),
        credentials: (
            "ASIATESTACCESSKEY".into(),
            "test/secret+key".into(),
            "test-session-token".into(),
        ),
        user_data: user_data.as_bytes().to_vec(),
        instance_id: INSTANCE_ID.into(),
    }
}

fn sdk_client(imds: &ImdsEmulator) -> aws_config::imds::Client {
    aws_config::imds::Client::builder()
        .endpoint(imds.endpoint_url())
        .unwrap()
        .build()
}

/// A raw HTTP/1.1 exchange: status, headers (names lowercased), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn raw(imds: &ImdsEmulator, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, imds.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 169.254.169.254\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    Answer {
        status: status.parse().unwrap(),
        headers,
        body: body.to_owned(),
    }
}

fn token(imds: &ImdsEmulator, ttl: &str) -> String {
    let answer = raw(
        imds,
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", ttl)],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

fn get(imds: &ImdsEmulator, path: &str, token: &str) -> Answer {
    raw(imds, "GET", path, &[("X-aws-ec2-metadata-token", token)])
}

/// Every GET carried a valid token: the client never fell back to IMDSv1.
fn assert_imdsv2_only(requests: &[ImdsRequest]) {
    assert!(!requests.is_empty());
    for r in requests {
        if r.method == "PUT" && r.path == "/latest/api/token" {
            continue;
        }
        assert!(r.valid_token, "request without a valid token: {r:?}");
    }
}

#[tokio::test]
async fn sdk_client_reads_instance_metadata_over_imdsv2_only() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    assert!(imds.endpoint_url().starts_with("http://127.0.0.1:"));
    let client = sdk_client(&imds);

    let region = ImdsRegionProvider::builder()
        .imds_client(client.clone())
        .build()
        .region()
        .await;
    assert_eq!(region, Some(aws_config::Region::new(REGION)));

    let user_data = client.get("/latest/user-data").await.unwrap();
    assert_eq!(user_data.as_ref(), USER_DATA);
    let instance_id = client.get("/latest/meta-data/instance-id").await.unwrap();
    assert_eq!(instance_id.as_ref(), INSTANCE_ID);
    let zone = client
        .get("/latest/meta-data/placement/availability-zone")
        .await
        .unwrap();
    assert_eq!(zone.as_ref(), "eu-central-1a");
    let document = client
        .get("/latest/dynamic/instance-identity/document")
        .await
        .unwrap();
    let document: serde_json::Value = serde_json::from_str(document.as_ref()).unwrap();
    assert_eq!(document["region"], REGION);
    assert_eq!(document["instanceId"], INSTANCE_ID);
    assert_eq!(document["availabilityZone"], "eu-central-1a");
    assert_eq!(document["accountId"], "123456789012");

    let requests = imds.requests();
    assert_imdsv2_only(&requests);
    assert!(requests.iter().all(|r| r.status == 200), "{requests:#?}");
    let puts = requests.iter().filter(|r| r.method == "PUT").count();
    assert!(puts >= 1, "the SDK asked for a token: {requests:#?}");
    for path in [
        "/latest/meta-data/placement/region",
        "/latest/user-data",
        "/latest/meta-data/instance-id",
        "/latest/dynamic/instance-identity/document",
    ] {
        assert!(
            requests.iter().any(|r| r.method == "GET" && r.path == path),
            "{path} not requested: {requests:#?}"
        );
    }
}

#[tokio::test]
async fn sdk_credentials_provider_gets_the_role_credentials() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    let provider = ImdsCredentialsProvider::builder()
        .imds_client(sdk_client(&imds))
        .build();
    let credentials = provider.provide_credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "ASIATESTACCESSKEY");
    assert_eq!(credentials.secret_access_key(), "test/secret+key");
    assert_eq!(credentials.session_token(), Some("test-session-token"));

    // Expiration is one hour ahead: the SDK parsed the RFC 3339 timestamp
    // (it would extend already-expired credentials by only ~15 minutes).
    let expiry = credentials.expiry().unwrap();
    let ahead = expiry.duration_since(SystemTime::now()).unwrap();
    assert!(
        ahead > Duration::from_secs(3500) && ahead <= Duration::from_secs(3600),
        "expires in {ahead:?}"
    );

    let requests = imds.requests();
    assert_imdsv2_only(&requests);
    let paths: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/latest/meta-data/iam/security-credentials/",
            "/latest/meta-data/iam/security-credentials/sqlassess-appliance",
        ]
    );
}

#[test]
fn credentials_document_has_the_ec2_fields() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    let token = token(&imds, "60");
    let role = get(&imds, "/latest/meta-data/iam/security-credentials/", &token);
    assert_eq!((role.status, role.body.as_str()), (200, ROLE));
    let answer = get(
        &imds,
        "/latest/meta-data/iam/security-credentials/sqlassess-appliance",
        &token,
    );
    assert_eq!(answer.status, 200);
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["Code"], "Success");
    assert_eq!(json["Type"], "AWS-HMAC");
    assert_eq!(json["Token"], "test-session-token");
    for field in ["LastUpdated", "Expiration"] {
        let value = json[field].as_str().unwrap();
        // 2024-01-31T12:34:56Z
        assert_eq!(value.len(), 20, "{field}: {value}");
        assert!(
            value.ends_with('Z') && value.as_bytes()[10] == b'T',
            "{field}: {value}"
        );
    }
    let other = get(
        &imds,
        "/latest/meta-data/iam/security-credentials/other-role",
        &token,
    );
    assert_eq!(other.status, 404);
}

#[test]
fn get_without_a_token_is_refused_as_imdsv1() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    for path in [
        "/latest/meta-data/placement/region",
        "/latest/meta-data/iam/security-credentials/sqlassess-appliance",
        "/latest/user-data",
        "/latest/meta-data/no-such-thing",
    ] {
        let answer = raw(&imds, "GET", path, &[]);
        assert_eq!(answer.status, 401, "{path}");
        assert!(!answer.body.contains(ROLE) && !answer.body.contains("secret"));
    }
    let requests = imds.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" && !r.valid_token && r.status == 401),
        "{requests:#?}"
    );
}

#[test]
fn token_put_requires_a_ttl_in_range() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    let missing = raw(&imds, "PUT", "/latest/api/token", &[]);
    assert_eq!(missing.status, 400);
    for ttl in ["0", "21601", "-5", "sixty", ""] {
        let answer = raw(
            &imds,
            "PUT",
            "/latest/api/token",
            &[("X-aws-ec2-metadata-token-ttl-seconds", ttl)],
        );
        assert_eq!(answer.status, 400, "TTL {ttl:?}");
    }

    let answer = raw(
        &imds,
        "PUT",
        "/latest/api/token",
        &[("x-aws-ec2-metadata-token-ttl-seconds", "21600")],
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("21600")
    );
    assert!(answer.body.len() >= 32, "token {:?}", answer.body);
    assert_ne!(answer.body, token(&imds, "1"), "tokens are random");
    let region = get(&imds, "/latest/meta-data/placement/region", &answer.body);
    assert_eq!((region.status, region.body.as_str()), (200, REGION));

    // The token is only ever PUT for; other methods are not metadata reads.
    assert_eq!(raw(&imds, "GET", "/latest/api/token", &[]).status, 405);
    let post = raw(
        &imds,
        "POST",
        "/latest/meta-data/placement/region",
        &[("X-aws-ec2-metadata-token", &answer.body)],
    );
    assert_eq!(post.status, 405);
}

#[test]
fn x_forwarded_for_is_refused() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    let put = raw(
        &imds,
        "PUT",
        "/latest/api/token",
        &[
            ("X-aws-ec2-metadata-token-ttl-seconds", "60"),
            ("X-Forwarded-For", "203.0.113.7"),
        ],
    );
    assert_eq!(put.status, 403);
    assert!(put.header("x-aws-ec2-metadata-token-ttl-seconds").is_none());

    let token = token(&imds, "60");
    let get = raw(
        &imds,
        "GET",
        "/latest/meta-data/iam/security-credentials/sqlassess-appliance",
        &[
            ("X-aws-ec2-metadata-token", &token),
            ("x-forwarded-for", "203.0.113.7"),
        ],
    );
    assert_eq!(get.status, 403);
    assert!(!get.body.contains("secret"));
}

#[test]
fn expired_and_foreign_tokens_are_refused() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    let short = token(&imds, "1");
    let path = "/latest/meta-data/instance-id";
    assert_eq!(get(&imds, path, &short).status, 200);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(get(&imds, path, &short).status, 401, "expired token");

    assert_eq!(get(&imds, path, "not-a-token").status, 401);
    let other = ImdsEmulator::start(options(USER_DATA)).unwrap();
    let foreign = token(&other, "60");
    assert_eq!(
        get(&imds, path, &foreign).status,
        401,
        "another IMDS's token"
    );

    let requests = imds.requests();
    let valid: Vec<bool> = requests
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.valid_token)
        .collect();
    assert_eq!(valid, [true, false, false, false]);
}

#[tokio::test]
async fn empty_user_data_and_unknown_paths_are_404() {
    let imds = ImdsEmulator::start(options("")).unwrap();
    let client = sdk_client(&imds);
    let err = client.get("/latest/user-data").await.unwrap_err();
    assert!(
        format!("{err:?}").contains("404"),
        "the SDK saw no user data: {err:?}"
    );

    let token = token(&imds, "60");
    for path in [
        "/latest/user-data",
        "/latest/meta-data/no-such-thing",
        "/latest/meta-data/iam/security-credentials/sqlassess-appliance/extra",
        "/",
    ] {
        assert_eq!(get(&imds, path, &token).status, 404, "{path}");
    }
    let requests = imds.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "GET")
            .all(|r| r.valid_token && r.status == 404),
        "{requests:#?}"
    );
}

#[test]
fn only_loopback_addresses_are_accepted() {
    for addr in ["0.0.0.0:0", "10.0.2.2:0", "[::]:0", "169.254.169.254:80"] {
        let addr: SocketAddr = addr.parse().unwrap();
        let refused = ImdsEmulator::start_on(addr, options(USER_DATA));
        let err = refused.unwrap_err().to_string();
        assert!(err.contains("loopback"), "{addr}: {err}");
    }
    let ok = ImdsEmulator::start_on("127.0.0.1:0".parse().unwrap(), options(USER_DATA)).unwrap();
    let token = token(&ok, "60");
    assert_eq!(
        get(&ok, "/latest/meta-data/placement/region", &token).body,
        REGION
    );
}

#[test]
fn stops_listening_on_drop() {
    let imds = ImdsEmulator::start(options(USER_DATA)).unwrap();
    let port = imds.port();
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok());
    drop(imds);
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
        "still listening on {port}"
    );
}
