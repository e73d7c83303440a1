//! Errors from publishing: each names the AWS call, the snapshot, block or
//! image involved, and what to do.

use std::path::PathBuf;

use aws_sdk_ebs::error::{ProvideErrorMetadata, SdkError};

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The credentials are expired or were rejected as expired.
    #[error(
        "{operation}: the AWS credentials have expired ({code}); refresh them (e.g. `aws sso login`, or a new session) and run publish again: the upload resumes where it stopped"
    )]
    CredentialsExpired {
        operation: &'static str,
        code: String,
    },
    /// No credentials could be found or loaded.
    #[error(
        "{operation}: no usable AWS credentials ({detail}); set AWS_PROFILE or run `aws configure` / `aws sso login`"
    )]
    NoCredentials {
        operation: &'static str,
        detail: String,
    },
    /// Access was denied: the role lacks a permission of policies/image-publisher.json.
    #[error(
        "{operation}: access denied ({code}: {message}); give the publishing role policies/image-publisher.json (see docs/publish.md)"
    )]
    AccessDenied {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// Any other error answer from AWS, after the SDK's retries.
    #[error("{operation}: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// The service kept rejecting a block's checksum.
    #[error(
        "snapshot {snapshot_id}: block {block} was rejected for a checksum mismatch {attempts} times; the data is corrupted between this host and EBS (proxy? faulty memory?): not retrying further"
    )]
    ChecksumMismatch {
        snapshot_id: String,
        block: i32,
        attempts: u32,
    },
    /// The image on disk no longer matches what was verified.
    #[error(
        "{path}: {detail}; the image changed after its manifest was verified: nothing was registered, rebuild or re-verify"
    )]
    ImageChanged { path: PathBuf, detail: String },
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The snapshot ended in the error state.
    #[error(
        "snapshot {snapshot_id} is in state {state}: EBS could not complete it; run publish again (it starts over)"
    )]
    SnapshotFailed { snapshot_id: String, state: String },
    /// A wait ran out of time.
    #[error(
        "{what} did not become {wanted} within {seconds} s; run publish again, it picks up what exists"
    )]
    Timeout {
        what: String,
        wanted: &'static str,
        seconds: u64,
    },
    /// The image must never be public; AWS reports it is.
    #[error(
        "image {image_id} is PUBLIC; remove the public launch permission now (aws ec2 reset-image-attribute --attribute launchPermission --image-id {image_id}) and turn on image block public access"
    )]
    PublicImage { image_id: String },
    /// A command-line option is invalid.
    #[error("{0}")]
    InvalidOption(String),
    /// The image is larger than an EBS snapshot can hold.
    #[error("the image is {size} bytes; an EBS direct API snapshot holds at most 64 TiB")]
    TooLarge { size: u64 },
    /// A background task failed to run to completion.
    #[error("an upload task stopped unexpectedly: {0}")]
    Task(String),
}

/// Error codes AWS uses for expired credentials, across EBS (rest-json) and EC2 (query).
const EXPIRED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];

const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
];

/// Maps an SDK error (after the SDK's own retries of throttling and 5xx
/// answers) to a [`PublishError`] naming the operation.
pub(crate) fn aws_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> PublishError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    // No credentials is an error before any request: no service answer.
    if !matches!(err, SdkError::ServiceError(_)) {
        let detail = aws_sdk_ebs::error::DisplayErrorContext(&err).to_string();
        if detail.to_ascii_lowercase().contains("credentials") {
            return PublishError::NoCredentials { operation, detail };
        }
    }
    let code = err.code().unwrap_or("").to_owned();
    let message = err
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| aws_sdk_ebs::error::DisplayErrorContext(&err).to_string());
    if EXPIRED.contains(&code.as_str()) || message.to_ascii_lowercase().contains("token is expired")
    {
        return PublishError::CredentialsExpired { operation, code };
    }
    if DENIED.contains(&code.as_str()) {
        return PublishError::AccessDenied {
            operation,
            code,
            message,
        };
    }
    PublishError::Aws {
        operation,
        code: if code.is_empty() {
            "error".to_owned()
        } else {
            code
        },
        message,
    }
}
