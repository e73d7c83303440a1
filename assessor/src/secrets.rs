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

use std::fmt;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

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
        let out = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| fetch_error(secret_id, e))?;
        match out.secret_string {
            Some(text) => DbCredentials::parse(secret_id, Zeroizing::new(text)),
            None if out.secret_binary.is_some() => Err(SecretError::Binary {
                secret_id: secret_id.to_owned(),
            }),
            None => Err(SecretError::NotJson {
                secret_id: secret_id.to_owned(),
            }),
        }
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
