//! The appliance's surroundings on one machine: moto_server with a KMS key,
//! a report bucket and the SQL Server secret, a TDS peer with TLS serving a
//! catalog fixture, and a job config that points the assessor at them.
//!
//! Used by the job's end-to-end tests and by `scripts/demo` (the `demo`
//! binary). Everything listens on 127.0.0.1; the session directory and the
//! config live in a temporary directory removed on drop.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::catalog_fixture::CatalogFixture;
use crate::moto::{MotoServer, REGION};
use crate::pki::{TestPki, Validity};
use crate::process::free_port;
use crate::tds::{TdsPeer, TdsPeerOptions};
use crate::{PeerError, Result};

/// The bucket reports are delivered to.
pub const BUCKET: &str = "demo-assessment-reports";
/// The prefix under the bucket.
pub const PREFIX: &str = "assessments";
/// The CloudWatch Logs group the job's status lines go to.
pub const LOG_GROUP: &str = "/sqlassess/appliance-test";
/// The SQL login the peer admits.
pub const SQL_USER: &str = "assessor";

/// What to stand up.
#[derive(Debug, Clone)]
pub struct ApplianceOptions {
    pub fixture: CatalogFixture,
    /// The SQL login's password (the secret's value).
    pub password: String,
    /// Leave the SQL Server down (the config points at a closed port).
    pub sql_server_down: bool,
    /// Disable the KMS key after creating it.
    pub key_disabled: bool,
}

impl ApplianceOptions {
    /// A server serving `fixture` to a login with `password`, everything up.
    pub fn healthy(fixture: CatalogFixture, password: &str) -> ApplianceOptions {
        ApplianceOptions {
            fixture,
            password: password.into(),
            sql_server_down: false,
            key_disabled: false,
        }
    }
}

/// A running set of peers and a job config for them.
#[derive(Debug)]
pub struct LocalAppliance {
    pub moto: MotoServer,
    pub tds: Option<TdsPeer>,
    pub pki: TestPki,
    pub key_id: String,
    pub secret_id: String,
    pub config_path: PathBuf,
    pub session_dir: PathBuf,
    dir: TempDir,
}

fn aws_error(what: &'static str) -> impl FnOnce(String) -> PeerError {
    move |detail| PeerError::Start { what, detail }
}

impl LocalAppliance {
    pub async fn start(options: ApplianceOptions) -> Result<LocalAppliance> {
        let dir = tempfile::Builder::new()
            .prefix("testbed-appliance-")
            .tempdir()
            .map_err(|source| PeerError::Io {
                what: "creating the appliance directory",
                source,
            })?;
        let moto = MotoServer::start()?;
        let pki = TestPki::new("appliance test CA")?;

        let (tds, port) = if options.sql_server_down {
            (None, free_port()?)
        } else {
            let fixture_path = dir.path().join("catalog.json");
            options.fixture.write(&fixture_path)?;
            let peer = TdsPeer::start(&TdsPeerOptions {
                leaf: pki.leaf("sql", &["127.0.0.1"], Validity::Current)?,
                user: SQL_USER.into(),
                password: options.password.clone(),
                fixture: Some(fixture_path),
            })?;
            let port = peer.port();
            (Some(peer), port)
        };

        let shared = sdk_config(&moto.endpoint_url()).await;
        let kms = aws_sdk_kms::Client::new(&shared);
        let key_id = kms
            .create_key()
            .description("appliance test key")
            .send()
            .await
            .map_err(|e| aws_error("a KMS key")(e.to_string()))?
            .key_metadata
            .map(|m| m.key_id)
            .ok_or_else(|| aws_error("a KMS key")("no key metadata".into()))?;
        if options.key_disabled {
            kms.disable_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(|e| aws_error("disabling the KMS key")(e.to_string()))?;
        }
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .map_err(|e| aws_error("the report bucket")(e.to_string()))?;
        aws_sdk_cloudwatchlogs::Client::new(&shared)
            .create_log_group()
            .log_group_name(LOG_GROUP)
            .send()
            .await
            .map_err(|e| aws_error("the log group")(e.to_string()))?;
        let secret = serde_json::json!({
            "username": SQL_USER,
            "password": options.password,
            "host": "127.0.0.1",
            "port": port,
        });
        let secret_id = aws_sdk_secretsmanager::Client::new(&shared)
            .create_secret()
            .name("appliance/sql-01")
            .secret_string(secret.to_string())
            .send()
            .await
            .map_err(|e| aws_error("the SQL Server secret")(e.to_string()))?
            .arn
            .ok_or_else(|| aws_error("the SQL Server secret")("no ARN".into()))?;

        let session_dir = dir.path().join("session");
        let config_path = dir.path().join("job.toml");
        let config = job_config(
            &key_id,
            &secret_id,
            &session_dir,
            pki.ca_path(),
            &moto.endpoint_url(),
            options.fixture.workload.is_some(),
        );
        std::fs::write(&config_path, config).map_err(|source| PeerError::Io {
            what: "writing job.toml",
            source,
        })?;
        Ok(LocalAppliance {
            moto,
            tds,
            pki,
            key_id,
            secret_id,
            config_path,
            session_dir,
            dir,
        })
    }

    /// Runs `assessor run --config CONFIG` (the binary at `assessor`) to the
    /// end, for the benches: its wall time, its peak resident memory (VmHWM,
    /// KiB, read while it runs) and its output (stderr dropped).
    pub fn run_measured(
        &self,
        assessor: &Path,
        config: &Path,
    ) -> Result<(std::time::Duration, u64, std::process::Output)> {
        let io = |what| move |source| PeerError::Io { what, source };
        let started = std::time::Instant::now();
        let mut child = std::process::Command::new(assessor)
            .args(["run", "--config"])
            .arg(config)
            .envs(self.assessor_env())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(io("starting assessor run"))?;
        let pid = child.id();
        let mut peak = 0;
        while child
            .try_wait()
            .map_err(io("waiting for assessor run"))?
            .is_none()
        {
            peak = peak.max(high_water_kib(pid).unwrap_or(0));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let wall = started.elapsed();
        let output = child
            .wait_with_output()
            .map_err(io("reading assessor run's output"))?;
        Ok((wall, peak, output))
    }

    /// The environment the assessor runs in: emulator credentials (moto
    /// accepts any) and, for `assessor report`, the emulator's address.
    pub fn assessor_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_SESSION_TOKEN", "testing".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint_url()),
        ]
    }

    /// Every status line the job sent to [`LOG_GROUP`], oldest first.
    pub async fn status_lines(&self) -> Result<Vec<String>> {
        let shared = sdk_config(&self.moto.endpoint_url()).await;
        let logs = aws_sdk_cloudwatchlogs::Client::new(&shared);
        let mut lines = Vec::new();
        let mut pages = logs
            .filter_log_events()
            .log_group_name(LOG_GROUP)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("reading the log group")(e.to_string()))?;
            lines.extend(
                page.events()
                    .iter()
                    .filter_map(|e| e.message().map(str::to_owned)),
            );
        }
        Ok(lines)
    }

    /// The report location runs are delivered under.
    pub fn reports_url(&self) -> String {
        format!("s3://{BUCKET}/{PREFIX}/")
    }

    /// A scratch directory that lives as long as the appliance.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }
}

/// SDK config for the emulator, with test credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "testbed",
        ))
        .load()
        .await
}

/// Peak resident set (VmHWM, KiB) of a running process, if readable (the
/// benches' memory figure; `std::process::id()` for the bench itself).
pub fn high_water_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn job_config(
    key_id: &str,
    secret_id: &str,
    session_dir: &Path,
    ca: &Path,
    endpoint: &str,
    workload: bool,
) -> String {
    // A fixture serving Query Store and the plan cache: the job opts in.
    let workload = if workload {
        "[targets.workload]\nquery_store = true\nplan_cache = true\n"
    } else {
        ""
    };
    format!(
        r#"# Written by testbed::appliance for a local run against emulators.
[job]
region = "{REGION}"
kms_key_id = "{key_id}"
session_dir = "{session}"
max_concurrent_targets = 2
time_limit_minutes = 10
# As on the appliance: no run without Landlock (SECURITY.md, C37).
confinement = "required"

[report]
bucket = "{BUCKET}"
prefix = "{PREFIX}"
log_group = "{LOG_GROUP}"

[[targets]]
name = "sql-01"
secret_id = "{secret_id}"
[targets.tls]
mode = "required"
ca_bundle = "{ca}"
{workload}
[timeouts]
connect_seconds = 5
query_seconds = 60

[testing]
aws_endpoint_url = "{endpoint}"
"#,
        session = session_dir.display(),
        ca = ca.display(),
    )
}
