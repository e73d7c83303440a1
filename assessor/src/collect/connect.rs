//! Connecting to SQL Server: timeouts, bounded retries on transient faults
//! only, and errors that name the check that failed.
//!
//! A wrong password is never retried: repeated failed logins lock accounts
//! (SQL Server's password policy), so one failure ends the attempt at once.

use std::io;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::tls::TlsPolicy;
use crate::secrets::Password;

/// An open, authenticated, encrypted connection, with a [`Meter`] on what
/// the server sends. Derefs to the driver's client.
pub struct Client {
    inner: tiberius::Client<Compat<Metered>>,
    meter: Arc<Meter>,
}

impl Client {
    /// The meter on the bytes this connection has received.
    pub fn meter(&self) -> Arc<Meter> {
        Arc::clone(&self.meter)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("meter", &self.meter)
            .finish_non_exhaustive()
    }
}

impl Deref for Client {
    type Target = tiberius::Client<Compat<Metered>>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

/// Which of a [`Meter`]'s budgets stopped the reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tripped {
    /// More bytes arrived since the last [`Meter::mark`] than one row may take.
    Row,
    /// More bytes arrived on the connection than the target may send.
    Total,
}

/// Counts the bytes a server sends, below TLS, and fails the read that goes
/// past a budget. This is what bounds memory while the driver decodes one
/// row: tiberius reads a whole value (up to 2 GiB) before it hands the row
/// over, so a limit checked on decoded rows alone would come too late.
/// Unlimited until [`Meter::arm`] is called (the login is small and fixed).
#[derive(Debug)]
pub struct Meter {
    read: AtomicU64,
    mark: AtomicU64,
    row_budget: AtomicU64,
    total_budget: AtomicU64,
    tripped: AtomicU8,
}

impl Default for Meter {
    fn default() -> Meter {
        Meter {
            read: AtomicU64::new(0),
            mark: AtomicU64::new(0),
            row_budget: AtomicU64::new(u64::MAX),
            total_budget: AtomicU64::new(u64::MAX),
            tripped: AtomicU8::new(0),
        }
    }
}

impl Meter {
    /// From now on, at most `row` bytes between two marks and `total` bytes
    /// in all (counted from now).
    pub fn arm(&self, row: u64, total: u64) {
        let read = self.read.load(Ordering::Relaxed);
        self.mark.store(read, Ordering::Relaxed);
        self.row_budget.store(row, Ordering::Relaxed);
        self.total_budget
            .store(read.saturating_add(total), Ordering::Relaxed);
    }

    /// A row (or answer) is complete: the row budget starts again.
    pub fn mark(&self) {
        self.mark
            .store(self.read.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Bytes received so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The budget that stopped the reading, if one did.
    pub fn tripped(&self) -> Option<Tripped> {
        match self.tripped.load(Ordering::Relaxed) {
            1 => Some(Tripped::Row),
            2 => Some(Tripped::Total),
            _ => None,
        }
    }

    fn count(&self, n: usize) -> io::Result<()> {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        let read = self.read.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        let since_mark = read.saturating_sub(self.mark.load(Ordering::Relaxed));
        let tripped = if since_mark > self.row_budget.load(Ordering::Relaxed) {
            Tripped::Row
        } else if read > self.total_budget.load(Ordering::Relaxed) {
            Tripped::Total
        } else {
            return Ok(());
        };
        let code = match tripped {
            Tripped::Row => 1,
            Tripped::Total => 2,
        };
        let _ = self
            .tripped
            .compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed);
        Err(io::Error::other(
            "the server's answer exceeds a configured limit",
        ))
    }
}

/// A TCP stream whose reads are counted by a [`Meter`].
#[derive(Debug)]
pub struct Metered {
    inner: TcpStream,
    meter: Arc<Meter>,
}

impl AsyncRead for Metered {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.meter.tripped().is_some() {
            return Poll::Ready(Err(io::Error::other(
                "the server's answer exceeds a configured limit",
            )));
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len().saturating_sub(before);
                Poll::Ready(self.meter.count(n))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The target's label (for errors and logs; never from the server).
    pub target: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Password,
    pub database: Option<String>,
}

/// Retry and timeout settings.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    pub timeout: Duration,
    /// Attempts for transient faults (refused, reset, timed out), at least 1.
    pub attempts: u32,
    /// First backoff; doubled after each attempt.
    pub backoff: Duration,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            timeout: Duration::from_secs(15),
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Why a connection failed. Each names the target and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "{target}: the server's certificate is not signed by a trusted CA; put the CA that issued \
         it in tls.ca_bundle (with tls.ca = \"private\", the default, no public CA is trusted; do \
         not disable validation)"
    )]
    UntrustedCertificate { target: String },
    #[error(
        "{target}: the server's certificate is not valid for the name connected to; set \
         tls.hostname_in_certificate to the name in the certificate (required when connecting by IP)"
    )]
    HostnameMismatch { target: String },
    #[error(
        "{target}: the server's certificate has expired (or is not yet valid); renew it on the server"
    )]
    CertificateExpired { target: String },
    #[error("{target}: TLS failed: {detail}")]
    Tls { target: String, detail: String },
    #[error(
        "{target}: the server does not offer encryption; the assessor never connects without it. \
         Enable TLS on the server (Force Encryption with a certificate) or use tls.mode = \"strict\" \
         if the server supports TDS 8.0"
    )]
    EncryptionRefused { target: String },
    #[error(
        "{target}: login failed for the configured user; check the secret's username and password \
         (not retried, to avoid locking the account)"
    )]
    LoginFailed { target: String },
    #[error(
        "{target}: no answer within {seconds} s from {host}:{port}; check the address, port and security groups"
    )]
    Timeout {
        target: String,
        host: String,
        port: u16,
        seconds: u64,
    },
    #[error("{target}: cannot reach {host}:{port} after {attempts} attempt(s): {detail}")]
    Unreachable {
        target: String,
        host: String,
        port: u16,
        attempts: u32,
        detail: String,
    },
    #[error("{target}: the server refused the connection: {detail}")]
    Server { target: String, detail: String },
}

impl ConnectError {
    fn is_transient(&self) -> bool {
        matches!(
            self,
            ConnectError::Unreachable { .. } | ConnectError::Timeout { .. }
        )
    }
}

/// Connects with the policy, retrying transient faults with backoff.
pub async fn connect(
    endpoint: &Endpoint,
    tls: &TlsPolicy,
    options: ConnectOptions,
) -> Result<Client, ConnectError> {
    let mut backoff = options.backoff;
    let attempts = options.attempts.max(1);
    let mut attempt = 1;
    loop {
        match connect_once(endpoint, tls, options.timeout, attempt).await {
            Err(e) if e.is_transient() && attempt < attempts => {
                tracing::info!(target = %endpoint.target, attempt, "transient connection failure; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn connect_once(
    endpoint: &Endpoint,
    tls: &TlsPolicy,
    timeout: Duration,
    attempt: u32,
) -> Result<Client, ConnectError> {
    let mut config = tiberius::Config::new();
    config.host(&endpoint.host);
    config.port(endpoint.port);
    config.application_name("sqlassess-assessor");
    config.authentication(tiberius::AuthMethod::sql_server(
        &endpoint.username,
        endpoint.password.expose(),
    ));
    if let Some(db) = &endpoint.database {
        config.database(db);
    }
    config.readonly(true);
    tls.apply(&mut config);

    let timed_out = || ConnectError::Timeout {
        target: endpoint.target.clone(),
        host: endpoint.host.clone(),
        port: endpoint.port,
        seconds: timeout.as_secs(),
    };
    let work = async {
        let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(|e| ConnectError::Unreachable {
                target: endpoint.target.clone(),
                host: endpoint.host.clone(),
                port: endpoint.port,
                attempts: attempt,
                detail: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        let meter = Arc::new(Meter::default());
        let metered = Metered {
            inner: tcp,
            meter: Arc::clone(&meter),
        };
        tiberius::Client::connect(config, metered.compat_write())
            .await
            .map(|inner| Client { inner, meter })
            .map_err(|e| classify(endpoint, attempt, e))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| timed_out())?
}

/// Maps a driver error to the check that failed.
fn classify(endpoint: &Endpoint, attempt: u32, err: tiberius::error::Error) -> ConnectError {
    use tiberius::error::Error;
    let target = endpoint.target.clone();
    match err {
        Error::Server(token) if token.code() == 18456 => ConnectError::LoginFailed { target },
        Error::Server(token) => ConnectError::Server {
            target,
            detail: format!("error {}", token.code()),
        },
        Error::Tls(detail) => classify_tls(target, detail),
        Error::Io { kind, message } => {
            let lower = message.to_ascii_lowercase();
            if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
            {
                classify_tls(target, message)
            } else {
                ConnectError::Unreachable {
                    target,
                    host: endpoint.host.clone(),
                    port: endpoint.port,
                    attempts: attempt,
                    detail: format!("{kind:?}: {message}"),
                }
            }
        }
        Error::Protocol(detail) if detail.to_ascii_lowercase().contains("encrypt") => {
            ConnectError::EncryptionRefused { target }
        }
        other => ConnectError::Tls {
            target,
            detail: other.to_string(),
        },
    }
}

fn classify_tls(target: String, detail: String) -> ConnectError {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("badsignature")
    {
        ConnectError::UntrustedCertificate { target }
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        ConnectError::HostnameMismatch { target }
    } else if lower.contains("expired") || lower.contains("notvalidyet") {
        ConnectError::CertificateExpired { target }
    } else if lower.contains("not supported") || lower.contains("encryption") {
        ConnectError::EncryptionRefused { target }
    } else {
        ConnectError::Tls { target, detail }
    }
}
