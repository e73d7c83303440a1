//! `assessor check`: the preflight an operator runs before a job. It proves
//! the AWS side (key usable, bucket reachable, each secret readable) and each
//! SQL Server (TLS: protocol, cipher suite, certificate and its expiry;
//! verified TLS login, version, the permissions collection needs), and
//! collects nothing: the only statements sent are the server properties and
//! one `HAS_PERMS_BY_NAME` query. The TLS details come from a separate
//! handshake-only connection ([`crate::collect::tls_probe`]) that sends no
//! statement and no login.

use std::time::Duration;

use serde::Serialize;

use crate::collect::permissions::{self, PermissionCheck};
use crate::collect::tls::TlsPolicy;
use crate::collect::tls_probe::{self, ProbeTarget, TlsDetails};
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
    /// Per target whose TLS handshake succeeded: what it negotiated and the
    /// server certificate.
    pub tls: Vec<(String, TlsDetails)>,
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
        // Where the login will connect (the config's host and port override
        // the secret's, as in `pipeline::connect_target`); without a host the
        // login check says so.
        if let Some(host) = target.host.clone().or_else(|| credentials.host.clone()) {
            let to = ProbeTarget {
                target: target.name.clone(),
                host,
                port: target.port.or(credentials.port).unwrap_or(1433),
            };
            match tls_probe::probe(&to, &mode, pipeline::connect_options(config)).await {
                Ok(details) => {
                    report.push(format!("{}: tls", target.name), Ok(tls_detail(&details)));
                    report.tls.push((target.name.clone(), details));
                }
                Err(e) => report.push(format!("{}: tls", target.name), Err(e.to_string())),
            }
        }
        let login =
            pipeline::connect_target(credentials, target, pipeline::connect_options(config)).await;
        let mut client = match login {
            Ok(client) => {
                report.push(
                    format!("{}: login", target.name),
                    Ok(if mode.is_dangerous() {
                        format!(
                            "logged in over TLS ({:?} mode); WARNING: the certificate was NOT \
                             verified (dangerously_trust_server_certificate = true)",
                            mode.mode()
                        )
                    } else {
                        format!("logged in over verified TLS ({:?} mode)", mode.mode())
                    }),
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

/// A certificate expiring within this many days passes the check with a
/// warning: the job may still run, but the renewal is due.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The `tls` check's line, e.g. `TLSv1.3, TLS13_AES_256_GCM_SHA384,
/// certificate CN=sql.test (issued by CN=Test CA), expires 2027-01-05 (34
/// days)`, with a warning when the certificate is not verified or expires
/// soon.
fn tls_detail(tls: &TlsDetails) -> String {
    let days = |n: i64| format!("{n} day{}", if n == 1 { "" } else { "s" });
    let date = tls.not_after.get(..10).unwrap_or(&tls.not_after);
    let mut detail = format!("{}, {}", tls.protocol, tls.cipher);
    if let Some(alpn) = &tls.alpn {
        detail.push_str(&format!(", ALPN {alpn}"));
    }
    detail.push_str(&format!(
        ", certificate {} (issued by {}), ",
        tls.subject, tls.issuer
    ));
    if tls.days_left < 0 {
        detail.push_str(&format!(
            "EXPIRED {date} ({} ago)",
            days(tls.days_left.saturating_neg())
        ));
    } else {
        detail.push_str(&format!("expires {date} ({})", days(tls.days_left)));
    }
    if !tls.verified {
        detail.push_str(
            "; WARNING: certificate NOT VERIFIED (dangerously_trust_server_certificate = true): \
             anyone on the network path can impersonate this server",
        );
    }
    if tls.days_left <= EXPIRY_WARNING_DAYS {
        detail.push_str(&format!(
            "; WARNING: the certificate {}; renew it on the server",
            if tls.days_left < 0 {
                "has expired".to_owned()
            } else {
                format!("expires in {}", days(tls.days_left))
            }
        ));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(days_left: i64, verified: bool) -> TlsDetails {
        TlsDetails {
            protocol: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            alpn: None,
            subject: "CN=sql.test".into(),
            issuer: "CN=Test CA".into(),
            not_after: "2027-01-05T12:00:00Z".into(),
            days_left,
            verified,
        }
    }

    #[test]
    fn the_tls_line_names_protocol_cipher_certificate_and_expiry() {
        assert_eq!(
            tls_detail(&details(34, true)),
            "TLSv1.3, TLS13_AES_256_GCM_SHA384, certificate CN=sql.test (issued by CN=Test CA), \
             expires 2027-01-05 (34 days)"
        );
        let strict = TlsDetails {
            alpn: Some("tds/8.0".into()),
            ..details(400, true)
        };
        assert!(
            tls_detail(&strict).starts_with("TLSv1.3, TLS13_AES_256_GCM_SHA384, ALPN tds/8.0, "),
            "{}",
            tls_detail(&strict)
        );
    }

    #[test]
    fn a_certificate_expiring_within_30_days_warns() {
        assert!(!tls_detail(&details(EXPIRY_WARNING_DAYS + 1, true)).contains("WARNING"));
        assert!(tls_detail(&details(EXPIRY_WARNING_DAYS, true)).contains("WARNING"));
        assert!(tls_detail(&details(29, true)).ends_with(
            "expires 2027-01-05 (29 days); WARNING: the certificate expires in 29 days; renew it on the server"
        ));
        assert!(tls_detail(&details(1, true)).contains("expires in 1 day;"));
        assert!(
            tls_detail(&details(-3, false)).contains("EXPIRED 2027-01-05 (3 days ago)"),
            "{}",
            tls_detail(&details(-3, false))
        );
    }

    #[test]
    fn an_unverified_certificate_is_flagged() {
        let line = tls_detail(&details(400, false));
        assert!(line.contains("certificate NOT VERIFIED"), "{line}");
        assert!(!tls_detail(&details(400, true)).contains("NOT VERIFIED"));
    }
}
