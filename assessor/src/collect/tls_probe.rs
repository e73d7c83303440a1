//! The TLS part of a TDS connection, alone: what `assessor check` reports
//! about each server's transport security (protocol version, cipher suite,
//! certificate subject, issuer and expiry), which the TDS driver does not
//! expose.
//!
//! Guarantees:
//! - **No login, no SQL.** [`probe`] takes no credentials, so it cannot log
//!   in. The only TDS message it sends is one PRELOGIN (TDS 7.x: the client
//!   version and the encryption request), then the TLS handshake records;
//!   never LOGIN7, never a SQL batch.
//! - **The same verification as the real connection** ([`super::connect`],
//!   through tiberius): the same [`TlsPolicy`], the same provider (a
//!   process-wide rustls default if installed, aws-lc-rs otherwise), TLS 1.2
//!   and 1.3 only, the same anchors ([`TrustAnchors`]: `tls.ca_bundle`
//!   alone, or with `tls.ca = "system"` the system trust store loaded the
//!   same way plus the bundle), the certificate checked against
//!   `tls.hostname_in_certificate` or else the host connected to, and ALPN
//!   `tds/8.0` in strict mode. [`TlsPolicy::Dangerous`] accepts any
//!   certificate, as the driver does, and the result says it was not
//!   verified.
//! - **The same refusals**: a server that does not offer encryption, or
//!   offers it for the login only, is refused before any TLS.
//! - **It closes after the handshake** (close_notify, then the TCP
//!   shutdown), within the connect timeout, and retries only what the real
//!   connection retries (unreachable, timed out).
//!
//! On the wire (MS-TDS 2.2.6.5), in `required` mode (TDS 7.x): a PRELOGIN
//! packet (type 0x12) asking for encryption (ENCRYPT_ON), the server's
//! PRELOGIN answer (type 0x04), then the TLS handshake with every flight
//! carried in PRELOGIN packets, as tiberius and SQL Server do; records after
//! the handshake (here only close_notify) go bare. In `strict` mode (TDS 8.0)
//! TLS starts at once on the TCP connection, with ALPN `tds/8.0`.
//!
//! The certificate's subject and issuer come from the server: they are made
//! printable on one line (control and bidirectional-override characters
//! replaced, length capped) and are never logged.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ProtocolVersion, RootCertStore,
    SignatureScheme,
};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use x509_parser::time::ASN1Time;

use super::connect::{ConnectError, ConnectOptions};
use super::tls::{TlsPolicy, TrustAnchors};
use crate::config::TlsMode;

/// What the handshake showed. Serialized in `assessor check --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsDetails {
    /// `TLSv1.2` or `TLSv1.3`.
    pub protocol: String,
    /// The negotiated cipher suite as rustls names it, e.g.
    /// `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The application protocol the server selected: `tds/8.0` in strict
    /// mode, none in required mode.
    pub alpn: Option<String>,
    /// The server certificate's subject, e.g. `CN=sql-01.corp.example`.
    pub subject: String,
    /// Its issuer, e.g. `CN=Corp Issuing CA 1, O=Corp`.
    pub issuer: String,
    /// Its notAfter, RFC 3339 in UTC, e.g. `2027-01-05T12:00:00Z`.
    pub not_after: String,
    /// Whole days from now to notAfter; negative once expired (possible only
    /// when the certificate is not verified).
    pub days_left: i64,
    /// Whether the chain and name were verified; false only under
    /// `dangerously_trust_server_certificate`.
    pub verified: bool,
}

/// Where to probe. There are no credentials here on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The target's label (for errors; never from the server).
    pub target: String,
    pub host: String,
    pub port: u16,
}

/// Why the probe failed. Each names the target and what to do; the checks
/// the real connection also makes fail with the same [`ConnectError`].
#[derive(Debug, thiserror::Error)]
pub enum TlsProbeError {
    /// Untrusted CA, wrong name, expired, no encryption, unreachable, timed
    /// out, or another TLS failure: as the login would report it.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(
        "{target}: the server offers encryption for the login only (PRELOGIN answered \
         ENCRYPT_OFF), which would leave every collected definition in clear; the assessor \
         never connects so. Enable Force Encryption on the server, or use tls.mode = \"strict\" \
         if the server supports TDS 8.0"
    )]
    LoginOnlyEncryption { target: String },
    #[error(
        "{target}: {host}:{port} did not answer PRELOGIN as SQL Server does ({detail}); check that \
         the address and port are those of the SQL Server"
    )]
    Prelogin {
        target: String,
        host: String,
        port: u16,
        detail: String,
    },
    #[error("{target}: cannot use tls.ca_bundle {path}: {detail}")]
    CaBundle {
        target: String,
        path: String,
        detail: String,
    },
    #[error(
        "{target}: no trusted CA: tls.ca_bundle is not set and the system trust store is empty, \
         unreadable or not used (tls.ca = \"private\"); set tls.ca_bundle to the CA that issued \
         the server's certificate"
    )]
    NoTrustAnchors { target: String },
    #[error("{target}: the server's certificate cannot be read: {detail}")]
    Certificate { target: String, detail: String },
}

/// Runs the TLS handshake with the target under the policy, then closes.
/// Retries, timeout and backoff as [`super::connect::connect`].
pub async fn probe(
    to: &ProbeTarget,
    policy: &TlsPolicy,
    options: ConnectOptions,
) -> Result<TlsDetails, TlsProbeError> {
    let config = Arc::new(client_config(to, policy)?);
    let name = server_name(to, policy)?;
    let mut backoff = options.backoff;
    let attempts = options.attempts.max(1);
    let mut attempt = 1;
    loop {
        let once = probe_once(
            to,
            Arc::clone(&config),
            name.clone(),
            policy,
            options.timeout,
            attempt,
        );
        match once.await {
            Err(TlsProbeError::Connect(
                ConnectError::Unreachable { .. } | ConnectError::Timeout { .. },
            )) if attempt < attempts => {
                tracing::info!(target = %to.target, attempt, "TLS probe: transient failure; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn probe_once(
    to: &ProbeTarget,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    policy: &TlsPolicy,
    timeout: Duration,
    attempt: u32,
) -> Result<TlsDetails, TlsProbeError> {
    let work = async {
        let mut tcp = TcpStream::connect((to.host.as_str(), to.port))
            .await
            .map_err(|e| ConnectError::Unreachable {
                target: to.target.clone(),
                host: to.host.clone(),
                port: to.port,
                attempts: attempt,
                detail: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        let mut wire = Wire {
            tcp: &mut tcp,
            framing: Framing::Bare,
            packet_id: 1,
        };
        if policy.mode() == TlsMode::Required {
            prelogin(&mut wire, to).await?;
            wire.framing = Framing::Prelogin;
        }
        let mut tls = ClientConnection::new(config, name).map_err(|e| classify(&to.target, &e))?;
        handshake(&mut tls, &mut wire, &to.target).await?;
        let details = details_of(&tls, &to.target, !policy.is_dangerous());
        // After the handshake TDS sends TLS records bare (the driver's
        // prelogin wrapper steps aside), so close_notify goes bare too.
        wire.framing = Framing::Bare;
        tls.send_close_notify();
        let _ = flush(&mut tls, &mut wire, &to.target).await;
        let _ = wire.tcp.shutdown().await;
        details
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| ConnectError::Timeout {
            target: to.target.clone(),
            host: to.host.clone(),
            port: to.port,
            seconds: timeout.as_secs(),
        })?
}

// ---------------------------------------------------------------------------
// The policy as a rustls client config (what tiberius builds from it).

/// ALPN of TDS 8.0 strict mode.
const TDS8_ALPN: &[u8] = b"tds/8.0";

fn client_config(to: &ProbeTarget, policy: &TlsPolicy) -> Result<ClientConfig, TlsProbeError> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let schemes = provider
        .signature_verification_algorithms
        .supported_schemes();
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| classify(&to.target, &e))?;
    let mut config = match policy {
        TlsPolicy::Verify { anchors, .. } => builder
            .with_root_certificates(trust_store(&to.target, anchors)?)
            .with_no_client_auth(),
        TlsPolicy::Dangerous(_) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { schemes }))
            .with_no_client_auth(),
    };
    if policy.mode() == TlsMode::Strict {
        config.alpn_protocols.push(TDS8_ALPN.to_vec());
    }
    Ok(config)
}

/// The name the certificate must carry: `hostname_in_certificate`, else the
/// host (an IP address is checked against the certificate's IP names).
fn server_name(to: &ProbeTarget, policy: &TlsPolicy) -> Result<ServerName<'static>, TlsProbeError> {
    let name = match policy {
        TlsPolicy::Verify {
            hostname_in_certificate: Some(name),
            ..
        } => name.as_str(),
        _ => to.host.as_str(),
    };
    match ServerName::try_from(name.to_owned()) {
        Ok(name) => Ok(name),
        // Nothing is checked against the name then; the driver sends this
        // placeholder too.
        Err(_) if policy.is_dangerous() => ServerName::try_from("placeholder.domain.com")
            .map_err(|e| tls_failure(&to.target, e.to_string())),
        Err(e) => Err(tls_failure(
            &to.target,
            format!("`{name}` is not a valid certificate name: {e}"),
        )),
    }
}

/// The anchors as the driver loads them: under `ca = "private"` the bundle
/// alone (the system store is not even read); under `ca = "system"` the
/// system roots plus the bundle, where with a bundle an unreadable system
/// store is tolerated and without one an empty store is an error rather than
/// trusting nothing.
fn trust_store(target: &str, anchors: &TrustAnchors) -> Result<RootCertStore, TlsProbeError> {
    let mut store = RootCertStore::empty();
    let system = if anchors.includes_system_roots() {
        let native = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(native.certs).0
    } else {
        0
    };
    match anchors.ca_bundle() {
        Some(path) => {
            let bundle_error = |detail: String| TlsProbeError::CaBundle {
                target: target.to_owned(),
                path: path.display().to_string(),
                detail,
            };
            for cert in bundle_certificates(path).map_err(bundle_error)? {
                store
                    .add(cert)
                    .map_err(|e| bundle_error(format!("an invalid certificate: {e}")))?;
            }
        }
        None if system == 0 => {
            return Err(TlsProbeError::NoTrustAnchors {
                target: target.to_owned(),
            });
        }
        None => {}
    }
    Ok(store)
}

/// The certificates of a CA bundle file, by extension as the driver reads
/// them: `.pem` and `.crt` are PEM (a leading UTF-8 BOM is ignored), `.der`
/// is one DER certificate. At least one is required.
fn bundle_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let certs = match extension.as_deref() {
        Some("pem" | "crt") => {
            let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            CertificateDer::pem_slice_iter(text)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("not valid PEM: {e}"))?
        }
        Some("der") if bytes.is_empty() => Vec::new(),
        Some("der") => vec![CertificateDer::from(bytes)],
        _ => return Err("the file name must end in .pem, .crt or .der".to_owned()),
    };
    if certs.is_empty() {
        return Err("it contains no certificate".to_owned());
    }
    Ok(certs)
}

/// `dangerously_trust_server_certificate`: accepts any certificate and any
/// handshake signature, exactly as the driver's trust bypass does.
#[derive(Debug)]
struct AcceptAnyCertificate {
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

// ---------------------------------------------------------------------------
// TDS framing and PRELOGIN (MS-TDS 2.2.3 and 2.2.6.5).

const PACKET_PRELOGIN: u8 = 0x12;
const PACKET_TABULAR_RESULT: u8 = 0x04;
const STATUS_END_OF_MESSAGE: u8 = 0x01;
const HEADER_BYTES: usize = 8;
/// The packet size every server accepts before LOGIN7 negotiates another.
const MAX_PACKET_BYTES: usize = 4096;
/// A PRELOGIN answer is a few dozen bytes; more is not a SQL Server.
const MAX_PRELOGIN_REPLY_BYTES: usize = 64 * 1024;

const OPTION_VERSION: u8 = 0x00;
const OPTION_ENCRYPTION: u8 = 0x01;
const OPTION_TERMINATOR: u8 = 0xFF;
const ENCRYPT_OFF: u8 = 0x00;
const ENCRYPT_ON: u8 = 0x01;
const ENCRYPT_NOT_SUP: u8 = 0x02;
const ENCRYPT_REQ: u8 = 0x03;

/// How TLS records travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// On the TCP stream as they are (strict mode; after the handshake).
    Bare,
    /// In PRELOGIN packets (the TDS 7.x handshake).
    Prelogin,
}

struct Wire<'a> {
    tcp: &'a mut TcpStream,
    framing: Framing,
    /// The next packet's id (informational in TDS; counts from 1).
    packet_id: u8,
}

impl Wire<'_> {
    /// Sends one message as packets of at most [`MAX_PACKET_BYTES`], the
    /// last marked end-of-message.
    async fn send_message(&mut self, packet_type: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut chunks = payload.chunks(MAX_PACKET_BYTES - HEADER_BYTES).peekable();
        while let Some(chunk) = chunks.next() {
            let status = if chunks.peek().is_none() {
                STATUS_END_OF_MESSAGE
            } else {
                0
            };
            let packet = packet(packet_type, status, self.packet_id, chunk);
            self.packet_id = self.packet_id.wrapping_add(1);
            self.tcp.write_all(&packet).await?;
        }
        self.tcp.flush().await
    }

    /// Sends TLS bytes as the current framing wants.
    async fn send_tls(&mut self, records: &[u8]) -> std::io::Result<()> {
        match self.framing {
            Framing::Bare => {
                self.tcp.write_all(records).await?;
                self.tcp.flush().await
            }
            Framing::Prelogin => self.send_message(PACKET_PRELOGIN, records).await,
        }
    }

    /// Reads one packet of `expected` type: its status and payload.
    async fn read_packet(&mut self, expected: u8) -> std::io::Result<(u8, Vec<u8>)> {
        let invalid = |detail: String| std::io::Error::new(std::io::ErrorKind::InvalidData, detail);
        let mut header = [0u8; HEADER_BYTES];
        self.tcp.read_exact(&mut header).await?;
        if header[0] != expected {
            return Err(invalid(format!(
                "a packet of type {:#04x} where {expected:#04x} was expected",
                header[0]
            )));
        }
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let payload_len = length.checked_sub(HEADER_BYTES).ok_or_else(|| {
            invalid(format!(
                "a packet length of {length} bytes, shorter than its header"
            ))
        })?;
        let mut payload = vec![0u8; payload_len];
        self.tcp.read_exact(&mut payload).await?;
        Ok((header[1], payload))
    }

    /// Reads TLS bytes as the current framing carries them; empty at the end
    /// of the stream.
    async fn read_tls(&mut self) -> std::io::Result<Vec<u8>> {
        match self.framing {
            Framing::Bare => {
                let mut buf = vec![0u8; 16 * 1024];
                let n = self.tcp.read(&mut buf).await?;
                buf.truncate(n);
                Ok(buf)
            }
            // The driver, too, accepts only PRELOGIN packets here.
            Framing::Prelogin => match self.read_packet(PACKET_PRELOGIN).await {
                Ok((_, payload)) => Ok(payload),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Vec::new()),
                Err(e) => Err(e),
            },
        }
    }
}

/// One TDS packet: the 8-byte header (type, status, big-endian length
/// including the header, SPID 0, packet id, window 0), then the payload.
fn packet(packet_type: u8, status: u8, id: u8, payload: &[u8]) -> Vec<u8> {
    let length = HEADER_BYTES + payload.len();
    // Callers cut payloads to MAX_PACKET_BYTES - HEADER_BYTES.
    debug_assert!(length <= MAX_PACKET_BYTES);
    let length = u16::try_from(length).unwrap_or(u16::MAX);
    let mut packet = Vec::with_capacity(usize::from(length));
    packet.extend_from_slice(&[packet_type, status]);
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(&[0, 0, id, 0]);
    packet.extend_from_slice(payload);
    packet
}

/// The client's PRELOGIN: VERSION, ENCRYPTION = ENCRYPT_ON, terminator.
fn prelogin_message() -> Vec<u8> {
    // Two option entries of 5 bytes (token, big-endian offset and length
    // into this payload) and the terminator come before the data.
    const DATA_START: u16 = 2 * 5 + 1;
    const VERSION_BYTES: u16 = 6;
    let mut message = Vec::with_capacity(usize::from(DATA_START + VERSION_BYTES + 1));
    message.push(OPTION_VERSION);
    message.extend_from_slice(&DATA_START.to_be_bytes());
    message.extend_from_slice(&VERSION_BYTES.to_be_bytes());
    message.push(OPTION_ENCRYPTION);
    message.extend_from_slice(&(DATA_START + VERSION_BYTES).to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message.push(OPTION_TERMINATOR);
    // The client version (4 bytes) and sub-build (2): informational to the
    // server; zeros say nothing about this tool.
    message.extend_from_slice(&[0; VERSION_BYTES as usize]);
    message.push(ENCRYPT_ON);
    message
}

/// The ENCRYPTION value of a server's PRELOGIN answer.
fn encryption_in(reply: &[u8]) -> Result<u8, String> {
    let mut at = 0;
    loop {
        match reply.get(at) {
            None => return Err("its option list has no terminator".to_owned()),
            Some(&OPTION_TERMINATOR) => return Err("it has no ENCRYPTION option".to_owned()),
            Some(&token) => {
                let Some(&[o1, o2, l1, l2]) = reply.get(at + 1..at + 5) else {
                    return Err("its option list is cut short".to_owned());
                };
                if token == OPTION_ENCRYPTION {
                    let offset = usize::from(u16::from_be_bytes([o1, o2]));
                    if u16::from_be_bytes([l1, l2]) != 1 {
                        return Err("its ENCRYPTION option is not one byte".to_owned());
                    }
                    return reply
                        .get(offset)
                        .copied()
                        .ok_or_else(|| "its ENCRYPTION option points past the end".to_owned());
                }
                at += 5;
            }
        }
    }
}

/// Sends PRELOGIN asking for encryption and accepts only an answer that
/// encrypts the whole session.
async fn prelogin(wire: &mut Wire<'_>, to: &ProbeTarget) -> Result<(), TlsProbeError> {
    let invalid = |detail: String| TlsProbeError::Prelogin {
        target: to.target.clone(),
        host: to.host.clone(),
        port: to.port,
        detail,
    };
    wire.send_message(PACKET_PRELOGIN, &prelogin_message())
        .await
        .map_err(|e| invalid(format!("sending PRELOGIN: {e}")))?;
    let mut reply = Vec::new();
    loop {
        let (status, payload) = wire.read_packet(PACKET_TABULAR_RESULT).await.map_err(|e| {
            invalid(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "the connection was closed".to_owned()
            } else {
                e.to_string()
            })
        })?;
        reply.extend_from_slice(&payload);
        if reply.len() > MAX_PRELOGIN_REPLY_BYTES {
            return Err(invalid("an oversized PRELOGIN answer".to_owned()));
        }
        if status & STATUS_END_OF_MESSAGE != 0 {
            break;
        }
    }
    match encryption_in(&reply).map_err(|e| invalid(format!("the PRELOGIN answer: {e}")))? {
        ENCRYPT_ON | ENCRYPT_REQ => Ok(()),
        ENCRYPT_NOT_SUP => Err(ConnectError::EncryptionRefused {
            target: to.target.clone(),
        }
        .into()),
        ENCRYPT_OFF => Err(TlsProbeError::LoginOnlyEncryption {
            target: to.target.clone(),
        }),
        other => Err(invalid(format!(
            "an unknown encryption value {other:#04x} in the PRELOGIN answer"
        ))),
    }
}

// ---------------------------------------------------------------------------
// The handshake, driven by hand so that the framing above carries it.

/// Writes whatever rustls has to send.
async fn flush(
    tls: &mut ClientConnection,
    wire: &mut Wire<'_>,
    target: &str,
) -> Result<(), TlsProbeError> {
    while tls.wants_write() {
        let mut records = Vec::new();
        tls.write_tls(&mut records)
            .map_err(|e| tls_failure(target, e.to_string()))?;
        wire.send_tls(&records)
            .await
            .map_err(|e| tls_failure(target, format!("the connection failed: {e}")))?;
    }
    Ok(())
}

async fn handshake(
    tls: &mut ClientConnection,
    wire: &mut Wire<'_>,
    target: &str,
) -> Result<(), TlsProbeError> {
    loop {
        flush(tls, wire, target).await?;
        if !tls.is_handshaking() {
            return Ok(());
        }
        let received = wire
            .read_tls()
            .await
            .map_err(|e| tls_failure(target, format!("the connection failed: {e}")))?;
        if received.is_empty() {
            return Err(tls_failure(
                target,
                "the server closed the connection during the handshake".to_owned(),
            ));
        }
        let mut rest = received.as_slice();
        while !rest.is_empty() {
            let read = tls
                .read_tls(&mut rest)
                .map_err(|e| tls_failure(target, e.to_string()))?;
            if let Err(e) = tls.process_new_packets() {
                // Tell the server why (the alert rustls queued), as the
                // driver does; the error is what matters.
                let _ = flush(tls, wire, target).await;
                return Err(classify(target, &e));
            }
            if read == 0 {
                break;
            }
        }
    }
}

fn details_of(
    tls: &ClientConnection,
    target: &str,
    verified: bool,
) -> Result<TlsDetails, TlsProbeError> {
    let protocol = match tls.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => return Err(tls_failure(target, "no protocol negotiated".to_owned())),
    };
    let cipher = match tls.negotiated_cipher_suite() {
        Some(suite) => {
            let suite = suite.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_owned)
        }
        None => return Err(tls_failure(target, "no cipher suite negotiated".to_owned())),
    };
    let alpn = tls
        .alpn_protocol()
        .map(|p| printable(&String::from_utf8_lossy(p)));
    let unreadable = |detail: String| TlsProbeError::Certificate {
        target: target.to_owned(),
        detail,
    };
    let leaf = tls
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or_else(|| unreadable("the server sent none".to_owned()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| unreadable(e.to_string()))?;
    let not_after = &cert.validity().not_after;
    Ok(TlsDetails {
        protocol,
        cipher,
        alpn,
        subject: printable(&cert.subject().to_string()),
        issuer: printable(&cert.issuer().to_string()),
        not_after: rfc3339(not_after),
        days_left: (not_after.timestamp() - ASN1Time::now().timestamp()).div_euclid(86_400),
        verified,
    })
}

// ---------------------------------------------------------------------------
// Errors, dates and text.

/// The checks the real connection makes, classified as it classifies them.
fn classify(target: &str, err: &rustls::Error) -> TlsProbeError {
    use rustls::CertificateError as C;
    let target = target.to_owned();
    match err {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            ConnectError::UntrustedCertificate { target }
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => ConnectError::HostnameMismatch { target },
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => ConnectError::CertificateExpired { target },
        other => ConnectError::Tls {
            target,
            detail: other.to_string(),
        },
    }
    .into()
}

fn tls_failure(target: &str, detail: String) -> TlsProbeError {
    ConnectError::Tls {
        target: target.to_owned(),
        detail,
    }
    .into()
}

/// A certificate time as RFC 3339, e.g. `2027-01-05T12:00:00Z` (X.509
/// times are UTC).
fn rfc3339(time: &ASN1Time) -> String {
    let t = time.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The most characters of a server-chosen string shown.
const MAX_SHOWN_CHARS: usize = 256;

/// A server-chosen string made safe to print on one line: control and
/// bidirectional-formatting characters become `?`, and it is cut at
/// [`MAX_SHOWN_CHARS`].
fn printable(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(MAX_SHOWN_CHARS)
        .map(|c| {
            if c.is_control() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
                '?'
            } else {
                c
            }
        })
        .collect();
    if text.chars().nth(MAX_SHOWN_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::net::TcpListener;

    #[test]
    fn the_prelogin_packet_asks_for_encryption_and_nothing_else() {
        let message = prelogin_message();
        assert_eq!(
            packet(PACKET_PRELOGIN, STATUS_END_OF_MESSAGE, 1, &message),
            [
                0x12, 0x01, 0x00, 0x1A, 0x00, 0x00, 0x01, 0x00, // header, 26 bytes in all
                0x00, 0x00, 0x0B, 0x00, 0x06, // VERSION at 11, 6 bytes
                0x01, 0x00, 0x11, 0x00, 0x01, // ENCRYPTION at 17, 1 byte
                0xFF, // terminator
                0, 0, 0, 0, 0, 0,    // version, sub-build
                0x01, // ENCRYPT_ON
            ]
        );
        assert_eq!(encryption_in(&message), Ok(ENCRYPT_ON));
    }

    #[test]
    fn malformed_prelogin_answers_are_errors_not_panics() {
        assert!(encryption_in(&[]).is_err());
        assert!(encryption_in(&[0xFF]).is_err());
        assert!(encryption_in(&[0x01, 0x00]).is_err());
        // ENCRYPTION pointing past the end.
        assert!(encryption_in(&[0x01, 0x00, 0x40, 0x00, 0x01, 0xFF]).is_err());
        // ENCRYPTION of two bytes.
        assert!(encryption_in(&[0x01, 0x00, 0x06, 0x00, 0x02, 0xFF, 1, 1]).is_err());
        // Another option first, then ENCRYPTION.
        assert_eq!(
            encryption_in(&[
                0x00, 0x00, 0x0B, 0x00, 0x01, 0x01, 0x00, 0x0C, 0x00, 0x01, 0xFF, 9, 3
            ]),
            Ok(ENCRYPT_REQ)
        );
    }

    #[test]
    fn dates_are_rfc3339_in_utc() {
        let at = |secs| rfc3339(&ASN1Time::from_timestamp(secs).unwrap());
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_798_718_399), "2026-12-31T11:59:59Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn server_strings_print_on_one_line() {
        assert_eq!(printable("CN=sql\n\u{1b}[31m\u{202E}x"), "CN=sql??[31m?x");
        let long = "a".repeat(MAX_SHOWN_CHARS + 5);
        assert_eq!(printable(&long).chars().count(), MAX_SHOWN_CHARS + 1);
    }

    /// A loopback server that answers PRELOGIN with `encryption`, and what
    /// it received.
    async fn answering(encryption: u8) -> (ProbeTarget, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 26];
            socket.read_exact(&mut request).await.unwrap();
            let reply = [0x01, 0x00, 0x06, 0x00, 0x01, 0xFF, encryption];
            socket
                .write_all(&packet(
                    PACKET_TABULAR_RESULT,
                    STATUS_END_OF_MESSAGE,
                    1,
                    &reply,
                ))
                .await
                .unwrap();
            let mut rest = Vec::new();
            let _ = socket.read_to_end(&mut rest).await;
            request.extend(rest);
            request
        });
        let to = ProbeTarget {
            target: "sql-test".into(),
            host: "127.0.0.1".into(),
            port,
        };
        (to, server)
    }

    fn dangerous(mode: TlsMode) -> TlsPolicy {
        TlsPolicy::from_config(&crate::config::TlsConfig {
            mode,
            dangerously_trust_server_certificate: true,
            ..crate::config::TlsConfig::default()
        })
    }

    #[tokio::test]
    async fn login_only_and_no_encryption_are_refused_before_any_tls() {
        for (answer, expected) in [
            (ENCRYPT_OFF, "encryption for the login only"),
            (ENCRYPT_NOT_SUP, "does not offer encryption"),
        ] {
            let (to, server) = answering(answer).await;
            let err = probe(
                &to,
                &dangerous(TlsMode::Required),
                ConnectOptions::default(),
            )
            .await
            .err()
            .unwrap();
            assert!(err.to_string().starts_with("sql-test: "), "{err}");
            assert!(err.to_string().contains(expected), "{err}");
            // The server got the PRELOGIN and nothing after it: no TLS, no login.
            assert_eq!(
                server.await.unwrap(),
                packet(PACKET_PRELOGIN, 1, 1, &prelogin_message())
            );
        }
    }

    #[tokio::test]
    async fn a_peer_that_is_not_sql_server_gets_a_clear_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        });
        let to = ProbeTarget {
            target: "sql-test".into(),
            host: "127.0.0.1".into(),
            port,
        };
        let err = probe(
            &to,
            &dangerous(TlsMode::Required),
            ConnectOptions::default(),
        )
        .await
        .err()
        .unwrap();
        assert!(matches!(err, TlsProbeError::Prelogin { .. }), "{err}");
    }
}
