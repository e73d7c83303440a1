//! An IMDSv2 emulator on 127.0.0.1: the EC2 instance metadata service as the
//! appliance sees it at boot (region, instance identity, role credentials,
//! user data), for the VM test that cannot run on EC2.
//!
//! It is an emulator, not a peer: EC2's metadata service cannot run here. It
//! follows the documented IMDSv2 behaviour with `HttpTokens=required`:
//!
//! - `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds:
//!   1..=21600` answers a fresh random token, and the TTL header back. A
//!   missing or out-of-range TTL is 400.
//! - Every `GET` must carry a valid, unexpired `X-aws-ec2-metadata-token`;
//!   otherwise it is 401, so IMDSv1 (no token) is refused.
//! - Any request carrying `X-Forwarded-For` is 403: IMDS refuses proxied
//!   requests.
//! - Methods other than `GET` and `PUT` are 405; unknown paths are 404, and so
//!   is `/latest/user-data` when there is none, as on EC2.
//!
//! Every well-formed request is recorded ([`ImdsEmulator::requests`]), so a
//! test can assert that the guest only ever used IMDSv2.
//!
//! The HTTP server is deliberately minimal: HTTP/1.1 request line and headers,
//! `Content-Length` bodies (read and ignored), one request per connection,
//! every answer `Connection: close`. It serves from a background thread, so it
//! works from synchronous tests and from inside a tokio runtime alike.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::{PeerError, Result};

/// The longest token lifetime IMDS grants (six hours).
pub const MAX_TOKEN_TTL_SECONDS: u64 = 21_600;

/// The account in the instance identity document.
pub const ACCOUNT_ID: &str = "123456789012";

/// How long the role credentials are valid, as IMDS reports them.
const CREDENTIALS_LIFETIME: Duration = Duration::from_secs(3600);

/// Limits on what a client may send: IMDS requests are a request line and a
/// few headers, never a real body.
const MAX_HEADER_BYTES: u64 = 16 * 1024;
const MAX_BODY_BYTES: u64 = 64 * 1024;
/// A client that stalls mid-request is dropped after this long.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(10);

const TOKEN_PATH: &str = "/latest/api/token";
const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";

/// What the emulated instance looks like.
#[derive(Clone)]
pub struct ImdsOptions {
    /// `placement/region`; the availability zone is this plus `a`.
    pub region: String,
    /// The instance profile's role, listed under `iam/security-credentials/`.
    pub role_name: String,
    /// The role credentials: access key id, secret access key, session token.
    pub credentials: (String, String, String),
    /// `/latest/user-data`; empty means none (404, as on EC2).
    pub user_data: Vec<u8>,
    /// `instance-id`, e.g. `i-0123456789abcdef0`.
    pub instance_id: String,
}

/// The secret access key and session token never reach `Debug`.
impl fmt::Debug for ImdsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsOptions")
            .field("region", &self.region)
            .field("role_name", &self.role_name)
            .field(
                "credentials",
                &(&self.credentials.0, "<redacted>", "<redacted>"),
            )
            .field("user_data", &format_args!("{} bytes", self.user_data.len()))
            .field("instance_id", &self.instance_id)
            .finish()
    }
}

/// One request the emulator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdsRequest {
    /// As sent, e.g. `GET` or `PUT`.
    pub method: String,
    /// The request target without its query string.
    pub path: String,
    /// Whether an `X-aws-ec2-metadata-token` that this emulator issued and
    /// that had not expired was presented. A `GET` without one is an IMDSv1
    /// attempt (and was answered 401).
    pub valid_token: bool,
    /// The HTTP status answered.
    pub status: u16,
}

/// A running IMDSv2 emulator on 127.0.0.1; stopped on drop.
pub struct ImdsEmulator {
    port: u16,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for ImdsEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsEmulator")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

struct Shared {
    options: ImdsOptions,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Issued tokens and when each expires.
    tokens: HashMap<String, Instant>,
    requests: Vec<ImdsRequest>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A handler that panicked leaves the map and the log consistent (each
        // is changed by a single call), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ImdsEmulator {
    /// Starts the emulator on a free port of 127.0.0.1.
    pub fn start(options: ImdsOptions) -> Result<ImdsEmulator> {
        ImdsEmulator::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
    }

    /// Starts the emulator on `addr`, which must be a loopback address: the
    /// emulator hands out credentials and must not be reachable from the
    /// network.
    pub fn start_on(addr: SocketAddr, options: ImdsOptions) -> Result<ImdsEmulator> {
        if !addr.ip().is_loopback() {
            return Err(PeerError::Start {
                what: "IMDS emulator",
                detail: format!("refusing to listen on {addr}: loopback addresses only"),
            });
        }
        let io = |what| move |source| PeerError::Io { what, source };
        let listener = TcpListener::bind(addr).map_err(io("binding the IMDS emulator"))?;
        let port = listener
            .local_addr()
            .map_err(io("reading the IMDS emulator's port"))?
            .port();
        // Non-blocking accept, so the loop can notice the stop flag.
        listener
            .set_nonblocking(true)
            .map_err(io("configuring the IMDS emulator's listener"))?;
        let shared = Arc::new(Shared {
            options,
            state: Mutex::new(State::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("imds-{port}"))
                .spawn(move || accept_loop(&listener, &shared, &stop))
                .map_err(io("starting the IMDS emulator's thread"))?
        };
        Ok(ImdsEmulator {
            port,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, for `aws_config::imds::Client`'s endpoint.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every well-formed request answered so far, in order.
    pub fn requests(&self) -> Vec<ImdsRequest> {
        self.shared.state().requests.clone()
    }
}

impl Drop for ImdsEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // The accept loop only panics on a bug; the test has its answer
            // either way, and a panic in drop would hide the real failure.
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let conn_shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("imds-conn".into())
                    .spawn(move || serve(stream, &conn_shared));
                if spawned.is_err() {
                    // Out of threads: the connection is dropped and the
                    // client sees a reset, as it would from an overloaded IMDS.
                    std::thread::sleep(POLL);
                }
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// A parsed request: method, target and headers (names lowercased).
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn error(status: u16) -> Response {
        Response::new(status, reason(status))
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    // Errors here mean the client went away; there is nobody to tell.
    let _ = serve_connection(stream, shared);
}

fn serve_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(&stream);
    let response = match read_request(&mut reader) {
        Ok(None) => return Ok(()), // connected and closed without a request
        Ok(Some(request)) => {
            let valid_token = request
                .header(TOKEN_HEADER)
                .is_some_and(|t| token_is_valid(shared, t));
            let response = answer(shared, &request, valid_token);
            shared.state().requests.push(ImdsRequest {
                method: request.method,
                path: request.path,
                valid_token,
                status: response.status,
            });
            response
        }
        Err(Malformed(detail)) => Response::new(400, format!("{}: {detail}", reason(400))),
    };
    write_response(&stream, &response)
}

fn token_is_valid(shared: &Shared, token: &str) -> bool {
    let now = Instant::now();
    let mut state = shared.state();
    state.tokens.retain(|_, expires| *expires > now);
    state.tokens.contains_key(token)
}

/// Routes a request, applying IMDSv2's rules first.
fn answer(shared: &Shared, request: &Request, valid_token: bool) -> Response {
    if request.header("x-forwarded-for").is_some() {
        return Response::error(403);
    }
    if request.path == TOKEN_PATH {
        return match request.method.as_str() {
            "PUT" => issue_token(shared, request),
            _ => allow_only("PUT"),
        };
    }
    if request.method != "GET" {
        return allow_only("GET");
    }
    if !valid_token {
        return Response::error(401);
    }
    metadata(&shared.options, &request.path)
}

fn allow_only(method: &str) -> Response {
    let mut response = Response::error(405);
    response.headers.push(("Allow", method.to_owned()));
    response
}

fn issue_token(shared: &Shared, request: &Request) -> Response {
    let Some(ttl) = request.header(TTL_HEADER) else {
        return Response::new(400, format!("{}: missing {TTL_HEADER}", reason(400)));
    };
    let ttl = match ttl.parse::<u64>() {
        Ok(ttl) if (1..=MAX_TOKEN_TTL_SECONDS).contains(&ttl) => ttl,
        _ => {
            return Response::new(
                400,
                format!(
                    "{}: {TTL_HEADER} must be 1 to {MAX_TOKEN_TTL_SECONDS}",
                    reason(400)
                ),
            );
        }
    };
    let token = match random_token() {
        Ok(token) => token,
        Err(e) => return Response::new(500, format!("no randomness for a token: {e}")),
    };
    shared
        .state()
        .tokens
        .insert(token.clone(), Instant::now() + Duration::from_secs(ttl));
    let mut response = Response::new(200, token);
    response
        .headers
        .push(("X-aws-ec2-metadata-token-ttl-seconds", ttl.to_string()));
    response
}

/// 32 bytes from the kernel's CSPRNG, hex-encoded (a valid header value).
fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The metadata tree, for a request that passed the token check.
fn metadata(options: &ImdsOptions, path: &str) -> Response {
    let availability_zone = format!("{}a", options.region);
    match path {
        "/latest/meta-data/placement/region" => Response::new(200, options.region.as_str()),
        "/latest/meta-data/placement/availability-zone" => Response::new(200, availability_zone),
        "/latest/meta-data/instance-id" => Response::new(200, options.instance_id.as_str()),
        "/latest/dynamic/instance-identity/document" => {
            let document = serde_json::json!({
                "accountId": ACCOUNT_ID,
                "architecture": architecture(),
                "availabilityZone": availability_zone,
                "imageId": "ami-0123456789abcdef0",
                "instanceId": options.instance_id,
                "instanceType": "t3.medium",
                "pendingTime": rfc3339(SystemTime::now()),
                "privateIp": "10.0.2.15",
                "region": options.region,
                "version": "2017-09-30",
            });
            Response::new(200, pretty(&document))
        }
        CREDENTIALS_PATH => Response::new(200, options.role_name.as_str()),
        "/latest/user-data" if options.user_data.is_empty() => Response::error(404),
        "/latest/user-data" => Response::new(200, options.user_data.clone()),
        _ => match path.strip_prefix(CREDENTIALS_PATH) {
            Some(role) if role == options.role_name => {
                let now = SystemTime::now();
                let (access_key_id, secret_access_key, token) = &options.credentials;
                let credentials = serde_json::json!({
                    "Code": "Success",
                    "LastUpdated": rfc3339(now),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": access_key_id,
                    "SecretAccessKey": secret_access_key,
                    "Token": token,
                    "Expiration": rfc3339(now + CREDENTIALS_LIFETIME),
                });
                Response::new(200, pretty(&credentials))
            }
            _ => Response::error(404),
        },
    }
}

fn pretty(value: &serde_json::Value) -> String {
    // Serialising a `Value` built from strings cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The identity document's spelling of this host's architecture.
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form IMDS uses (RFC 3339, UTC, whole seconds).
fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Both fit: u64 seconds / 86400 is far below i64::MAX.
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Why a request could not be parsed (answered 400).
struct Malformed(String);

impl From<io::Error> for Malformed {
    fn from(e: io::Error) -> Malformed {
        Malformed(e.to_string())
    }
}

/// Reads one request: request line, headers, and a `Content-Length` body
/// (discarded). `Ok(None)` when the client closed without sending anything.
fn read_request(reader: &mut impl BufRead) -> std::result::Result<Option<Request>, Malformed> {
    let mut head = reader.take(MAX_HEADER_BYTES);
    let mut line = String::new();
    if head.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.trim_end_matches(['\r', '\n']).split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed(format!("bad request line {:?}", line.trim_end())));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(Malformed(format!("bad request line {:?}", line.trim_end())));
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p).to_owned();
    let method = method.to_owned();

    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if head.read_line(&mut line)? == 0 {
            return Err(Malformed("headers too long or cut short".into()));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Malformed(format!("bad header line {line:?}")));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let request = Request {
        method,
        path,
        headers,
    };

    if request.header("transfer-encoding").is_some() {
        return Err(Malformed("chunked bodies are not supported".into()));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| Malformed(format!("bad Content-Length {v:?}")))?,
    };
    if length > MAX_BODY_BYTES {
        return Err(Malformed(format!("body of {length} bytes is too large")));
    }
    let mut body = reader.take(length);
    let read = io::copy(&mut body, &mut io::sink())?;
    if read != length {
        return Err(Malformed("body cut short".into()));
    }
    Ok(Some(request))
}

fn write_response(mut stream: &TcpStream, response: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nServer: EC2ws\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Write)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_whole_seconds() {
        let at = |s| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn options_debug_redacts_the_secret_and_the_session_token() {
        let options = ImdsOptions {
            region: "eu-west-1".into(),
            role_name: "role".into(),
            credentials: (
                "AKIDVISIBLE".into(),
                "SECRETHIDDEN".into(),
                "TOKENHIDDEN".into(),
            ),
            user_data: b"x".to_vec(),
            instance_id: "i-1".into(),
        };
        let debug = format!("{options:?}");
        assert!(debug.contains("AKIDVISIBLE"), "{debug}");
        assert!(!debug.contains("SECRETHIDDEN"), "{debug}");
        assert!(!debug.contains("TOKENHIDDEN"), "{debug}");
    }

    #[test]
    fn malformed_requests_are_refused() {
        for raw in [
            "GARBAGE\r\n\r\n",
            "GET /x HTTP/1.1\r\nno colon\r\n\r\n",
            "GET http://169.254.169.254/x HTTP/1.1\r\n\r\n",
            "GET /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
            "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "PUT /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
            "GET /x HTTP/1.1\r\n",
        ] {
            let parsed = read_request(&mut io::Cursor::new(raw));
            assert!(parsed.is_err(), "{raw:?} was accepted");
        }
        let ok = read_request(&mut io::Cursor::new(
            "PUT /latest/api/token?x=1 HTTP/1.1\r\nX-Aws-Ec2-Metadata-Token-Ttl-Seconds: 60\r\nContent-Length: 2\r\n\r\nhi",
        ));
        let Ok(Some(request)) = ok else {
            panic!("a well-formed request was refused")
        };
        assert_eq!(request.path, "/latest/api/token");
        assert_eq!(request.header(TTL_HEADER), Some("60"));
    }
}
