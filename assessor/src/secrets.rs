//! SQL Server credentials from AWS Secrets Manager.
//!
//! Guarantees:
//! - The password lives in a [`Password`], which zeroizes its memory on drop,
//!   has no `Display`, and whose `Debug` prints a placeholder. It can only be
//!   read through [`Password::expose`], so every use is easy to audit.
//! - Errors name the secret id and the field that is wrong, never a value:
//!   a mistyped field is reported by its name and the type it should have,
//!   because a parser's own message would quote the offending value.
//! - A secret is fetched once per run; nothing here writes it anywhere.
//! - What we own of the answer is zeroized: the `SecretString` is taken out
//!   of the SDK's output by value and parsed from a zeroizing buffer (the
//!   password is moved, not copied, into its [`Password`]), and the raw
//!   GetSecretValue response body, which holds the whole secret in JSON, is
//!   taken back from the SDK by an interceptor once the output is
//!   deserialized and zeroized when no other reference to its buffer is
//!   left ([`ZeroizeResponseBody`]). What the SDK's HTTP stack frees on its
//!   own (its connection's read buffer, the JSON deserializer's unescaping
//!   buffer) is out of reach: SECURITY.md ("In use") says what remains and
//!   `tests/secrets_memory.rs` measures it.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use aws_sdk_secretsmanager::config::interceptors::{
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_secretsmanager::error::BoxError;
use aws_smithy_types::body::SdkBody;
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

/// A password that zeroizes on drop and never prints.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(value: String) -> Password {
        Password(Zeroizing::new(value))
    }

    /// The password itself. Call sites should pass it straight to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What the secret holds, in the usual RDS/Secrets Manager JSON shape.
#[derive(Debug, Clone)]
pub struct DbCredentials {
    pub username: String,
    pub password: Password,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
}

/// Why the credentials could not be had. Each names the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {secret_id} was not found: check the ARN or name and the region")]
    NotFound { secret_id: String },
    #[error(
        "access to secret {secret_id} was denied: the instance role needs \
         secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)"
    )]
    AccessDenied { secret_id: String },
    #[error(
        "secret {secret_id} could not be decrypted with its KMS key: the role needs kms:Decrypt \
         on the secret's key, and the key must be enabled"
    )]
    KmsDecrypt { secret_id: String },
    #[error("secret {secret_id} is binary; store the credentials as a JSON string")]
    Binary { secret_id: String },
    #[error(
        "secret {secret_id} is not a JSON object; expected \
         {{\"username\": \"...\", \"password\": \"...\", \"host\": \"...\", \"port\": 1433}}"
    )]
    NotJson { secret_id: String },
    #[error("secret {secret_id} has no `{field}`; add it to the secret's JSON")]
    MissingField {
        secret_id: String,
        field: &'static str,
    },
    #[error("secret {secret_id}: `{field}` must be {expected}")]
    WrongType {
        secret_id: String,
        field: &'static str,
        expected: &'static str,
    },
    #[error("reading secret {secret_id} failed: {message}")]
    Other { secret_id: String, message: String },
}

impl DbCredentials {
    /// Parses the secret's JSON string. `secret_id` is only used in errors.
    pub fn parse(secret_id: &str, json: Zeroizing<String>) -> Result<DbCredentials, SecretError> {
        let id = || secret_id.to_owned();
        let mut map: Map<String, Value> = match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(map)) => map,
            _ => return Err(SecretError::NotJson { secret_id: id() }),
        };
        let wrong = |field, expected| SecretError::WrongType {
            secret_id: id(),
            field,
            expected,
        };
        // Moved out of the map, not copied, so the only copy is the zeroizing one.
        let password = match map.remove("password") {
            Some(Value::String(p)) if !p.is_empty() => Password::new(p),
            Some(Value::String(p)) => {
                drop(Zeroizing::new(p));
                return Err(wrong("password", "a non-empty string"));
            }
            Some(_) => return Err(wrong("password", "a string")),
            None => {
                return Err(SecretError::MissingField {
                    secret_id: id(),
                    field: "password",
                });
            }
        };
        let username = match map.remove("username") {
            Some(Value::String(u)) if !u.is_empty() => u,
            Some(_) => return Err(wrong("username", "a non-empty string")),
            None => {
                return Err(SecretError::MissingField {
                    secret_id: id(),
                    field: "username",
                });
            }
        };
        let host = match map.remove("host") {
            Some(Value::String(h)) if !h.is_empty() => Some(h),
            None | Some(Value::Null) => None,
            Some(_) => return Err(wrong("host", "a host name or address")),
        };
        // RDS writes the port as a number; people often write it as a string.
        let port = match map.remove("port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| wrong("port", "a port number"))?,
            ),
            Some(Value::String(s)) => Some(s.parse().map_err(|_| wrong("port", "a port number"))?),
            Some(_) => return Err(wrong("port", "a port number")),
        };
        let dbname = match map.remove("dbname") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d),
            Some(_) => return Err(wrong("dbname", "a string")),
        };
        Ok(DbCredentials {
            username,
            password,
            host,
            port,
            dbname,
        })
    }

    /// Fetches and parses a secret by ARN or name.
    pub async fn fetch(
        client: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
    ) -> Result<DbCredentials, SecretError> {
        let interceptor = ZeroizeResponseBody::default();
        let shared = Arc::clone(&interceptor.shared);
        let sent = client
            .get_secret_value()
            .secret_id(secret_id)
            .customize()
            .interceptor(interceptor)
            .send()
            .await;
        let taken = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
        wipe_when_released(taken).await;
        let mut out = sent.map_err(|e| fetch_error(secret_id, e))?;
        // Taken by value: the SDK's output keeps no copy.
        let text = out.secret_string.take().map(Zeroizing::new);
        let binary = out
            .secret_binary
            .take()
            .map(|b| Zeroizing::new(b.into_inner()));
        drop(out);
        match (text, binary) {
            (Some(text), _) => DbCredentials::parse(secret_id, text),
            (None, Some(_)) => Err(SecretError::Binary {
                secret_id: secret_id.to_owned(),
            }),
            (None, None) => Err(SecretError::NotJson {
                secret_id: secret_id.to_owned(),
            }),
        }
    }
}

/// Takes the raw GetSecretValue response body back from the SDK once the
/// output has been deserialized (every attempt's, errors included) and
/// zeroizes its buffer. The SDK reads a small body into one `Bytes` that
/// may still share its allocation with the HTTP connection's read buffer;
/// such a buffer cannot be written, so it is kept (`shared`) until the
/// connection lets go of it, which the request's `Connection: close` makes
/// prompt, and wiped then ([`wipe_when_released`]).
#[derive(Debug, Default)]
struct ZeroizeResponseBody {
    shared: Arc<Mutex<Vec<bytes::Bytes>>>,
}

impl Intercept for ZeroizeResponseBody {
    fn name(&self) -> &'static str {
        "ZeroizeResponseBody"
    }

    /// No pooled connection keeps the response's read buffer alive.
    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("connection", "close");
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response_mut() {
            let body = std::mem::replace(response.body_mut(), SdkBody::taken());
            let left = wipe_body(body);
            self.shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(left);
        }
        Ok(())
    }
}

/// Zeroizes an in-memory body's buffers; returns those still shared with
/// another owner, which cannot be written yet.
fn wipe_body(body: SdkBody) -> Vec<bytes::Bytes> {
    use http_body::Body as _;
    let mut body = Box::pin(body);
    let mut cx = Context::from_waker(Waker::noop());
    let mut frames = Vec::new();
    // An in-memory body yields its bytes at once; a streaming one (never the
    // case after deserialization) is left alone rather than awaited.
    while let Poll::Ready(Some(Ok(frame))) = Pin::as_mut(&mut body).poll_frame(&mut cx) {
        if let Ok(data) = frame.into_data() {
            frames.push(data);
        }
    }
    // The body keeps a second handle on its bytes: drop it first.
    drop(body);
    let mut left = Vec::new();
    for data in frames {
        match data.try_into_mut() {
            Ok(mut owned) => owned.as_mut().zeroize(),
            Err(data) => left.push(data),
        }
    }
    left
}

/// Zeroizes each buffer as soon as it is ours alone: waits up to 2 s (the
/// closed connection drops its read buffer within milliseconds), then
/// hands what is left to a background task that keeps trying for 10 min.
async fn wipe_when_released(mut buffers: Vec<bytes::Bytes>) {
    const STEP: Duration = Duration::from_millis(10);
    async fn retry(buffers: &mut Vec<bytes::Bytes>, rounds: u32) {
        for _ in 0..rounds {
            if buffers.is_empty() {
                return;
            }
            let mut still = Vec::new();
            for data in buffers.drain(..) {
                match data.try_into_mut() {
                    Ok(mut owned) => owned.as_mut().zeroize(),
                    Err(data) => still.push(data),
                }
            }
            *buffers = still;
            tokio::time::sleep(STEP).await;
        }
    }
    retry(&mut buffers, 200).await;
    if !buffers.is_empty() {
        tracing::debug!(
            buffers = buffers.len(),
            "the secret's response buffer is still shared; wiping it in the background"
        );
        tokio::spawn(async move { retry(&mut buffers, 60_000).await });
    }
}

fn fetch_error<E>(secret_id: &str, err: aws_sdk_secretsmanager::error::SdkError<E>) -> SecretError
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err
        .as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned);
    classify(secret_id, code.as_deref()).unwrap_or_else(|| SecretError::Other {
        secret_id: secret_id.to_owned(),
        message: aws_sdk_secretsmanager::error::DisplayErrorContext(&err).to_string(),
    })
}

/// Maps a Secrets Manager error code to its own error, where it has one.
fn classify(secret_id: &str, code: Option<&str>) -> Option<SecretError> {
    let secret_id = secret_id.to_owned();
    Some(match code? {
        "ResourceNotFoundException" => SecretError::NotFound { secret_id },
        "AccessDeniedException" | "AccessDenied" => SecretError::AccessDenied { secret_id },
        "DecryptionFailure"
        | "KMSAccessDeniedException"
        | "KMSDisabledException"
        | "KMSInvalidStateException" => SecretError::KmsDecrypt { secret_id },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<DbCredentials, SecretError> {
        DbCredentials::parse("prod/sql", Zeroizing::new(json.to_owned()))
    }

    #[test]
    fn parses_the_usual_shape() {
        let c = parse(r#"{"username":"assessor","password":"pw","host":"db.internal","port":1433,"dbname":"master"}"#)
            .unwrap();
        assert_eq!(c.username, "assessor");
        assert_eq!(c.password.expose(), "pw");
        assert_eq!(c.host.as_deref(), Some("db.internal"));
        assert_eq!(c.port, Some(1433));
        assert_eq!(c.dbname.as_deref(), Some("master"));
        let c = parse(r#"{"username":"a","password":"p","port":"14330"}"#).unwrap();
        assert_eq!(c.port, Some(14330));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = parse(r#"{"username":"a","password":"hunter2-canary"}"#).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("hunter2-canary"), "{text}");
        assert!(text.contains("redacted"));
    }

    #[test]
    fn every_bad_shape_has_its_own_error_naming_the_secret_and_never_a_value() {
        let cases = [
            ("not json at all hunter2", "not a JSON object"),
            (r#"["hunter2"]"#, "not a JSON object"),
            (r#"{"username":"a"}"#, "no `password`"),
            (r#"{"password":"hunter2"}"#, "no `username`"),
            (
                r#"{"username":"a","password":12345}"#,
                "`password` must be a string",
            ),
            (
                r#"{"username":"a","password":""}"#,
                "`password` must be a non-empty string",
            ),
            (
                r#"{"username":"a","password":"hunter2","port":"hunter2"}"#,
                "`port` must be a port number",
            ),
            (
                r#"{"username":"a","password":"hunter2","port":99999}"#,
                "`port` must be a port number",
            ),
            (
                r#"{"username":7,"password":"hunter2"}"#,
                "`username` must be",
            ),
        ];
        for (json, expected) in cases {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains("prod/sql"), "{err}");
            assert!(err.contains(expected), "{json}: {err}");
            assert!(
                !err.contains("hunter2") && !err.contains("12345"),
                "a value leaked: {err}"
            );
        }
    }

    #[test]
    fn service_error_codes_map_to_their_own_errors() {
        assert!(matches!(
            classify("s", Some("ResourceNotFoundException")),
            Some(SecretError::NotFound { .. })
        ));
        assert!(matches!(
            classify("s", Some("AccessDeniedException")),
            Some(SecretError::AccessDenied { .. })
        ));
        assert!(matches!(
            classify("s", Some("DecryptionFailure")),
            Some(SecretError::KmsDecrypt { .. })
        ));
        assert!(classify("s", Some("ThrottlingException")).is_none());
        assert!(classify("s", None).is_none());
    }
}
