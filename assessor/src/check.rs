//! `assessor check`: the preflight an operator runs before a job. It proves
//! the AWS side (key usable, bucket reachable, each secret readable) and each
//! SQL Server (verified TLS login, version, the permissions collection
//! needs), and collects nothing: the only statements sent are the server
//! properties and one `HAS_PERMS_BY_NAME` query.

use std::time::Duration;

use serde::Serialize;

use crate::collect::permissions::{self, PermissionCheck};
use crate::collect::tls::TlsPolicy;
use crate::config::JobConfig;
use crate::envelope;
use crate::pipeline::{self, Aws, TargetError};
use crate::secrets::DbCredentials;

/// One check and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked, e.g. `kms key`, `sql-01: login`.
    pub name: String,
    pub ok: bool,
    /// What was found, or what is wrong and what to do.
    pub detail: String,
}

/// Every check, in order; a failed check does not stop the others.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub checks: Vec<Check>,
    /// Per target: the collection steps that would be skipped.
    pub permissions: Vec<(String, Vec<PermissionCheck>)>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    fn push(&mut self, name: impl Into<String>, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.checks.push(Check {
            name: name.into(),
            ok,
            detail,
        });
    }
}

/// Runs every check of the job's config.
pub async fn check(config: &JobConfig, aws: &Aws) -> CheckReport {
    let mut report = CheckReport::default();
    let key = &config.job.kms_key_id;
    report.push(
        "kms key",
        envelope::check_key_usable(&aws.kms, key)
            .await
            .map(|()| format!("{key} is enabled for encryption"))
            .map_err(|e| e.to_string()),
    );
    let bucket = &config.report.bucket;
    report.push(
        "report bucket",
        aws.s3
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|_| format!("{bucket} answers"))
            .map_err(|e| {
                format!(
                    "{bucket} cannot be reached ({}); check that it exists in {} and that the role may list it",
                    aws_sdk_s3::error::DisplayErrorContext(&e),
                    config.job.region
                )
            }),
    );
    let timeout = Duration::from_secs(u64::from(config.timeouts.query_seconds));
    for target in &config.targets {
        let credentials = match DbCredentials::fetch(&aws.secrets, &target.secret_id).await {
            Ok(c) => {
                report.push(
                    format!("{}: secret", target.name),
                    Ok(format!("{} is readable and well formed", target.secret_id)),
                );
                c
            }
            Err(e) => {
                report.push(format!("{}: secret", target.name), Err(e.to_string()));
                continue;
            }
        };
        let mode = TlsPolicy::from_config(&target.tls);
        let login =
            pipeline::connect_target(credentials, target, pipeline::connect_options(config)).await;
        let mut client = match login {
            Ok(client) => {
                report.push(
                    format!("{}: login", target.name),
                    Ok(format!(
                        "logged in over verified TLS ({:?} mode){}",
                        mode.mode(),
                        if mode.is_dangerous() {
                            "; WARNING: certificate validation is disabled by the config"
                        } else {
                            ""
                        }
                    )),
                );
                client
            }
            Err(e) => {
                report.push(format!("{}: login", target.name), Err(e.to_string()));
                continue;
            }
        };
        match permissions::probe(&mut client, &target.name, timeout).await {
            Ok(probe) => {
                let s = &probe.server;
                report.push(
                    format!("{}: server", target.name),
                    Ok(format!(
                        "SQL Server {} {} ({})",
                        s.version, s.product_level, s.edition
                    )),
                );
                let missing: Vec<String> = probe
                    .permissions
                    .iter()
                    .filter(|p| !p.held)
                    .map(|p| format!("{} (skips: {})", p.permission, p.steps.join(", ")))
                    .collect();
                report.push(
                    format!("{}: permissions", target.name),
                    if missing.is_empty() {
                        Ok("every collection step can run".to_owned())
                    } else {
                        Err(format!(
                            "missing {}; grant them with policies/sqlserver-login.sql",
                            missing.join("; ")
                        ))
                    },
                );
                report
                    .permissions
                    .push((target.name.clone(), probe.permissions));
            }
            Err(e) => report.push(
                format!("{}: server", target.name),
                Err(TargetError::from(e).to_string()),
            ),
        }
    }
    report
}
