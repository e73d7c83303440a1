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

use crate::collect::inventory::ServerInfo;
use crate::collect::permissions::{self, PermissionCheck};
use crate::collect::tls::TlsPolicy;
use crate::collect::tls_probe::{self, ProbeTarget, TlsDetails};
use crate::collect::workload as live_workload;
use crate::config::{JobConfig, WorkloadConfig};
use crate::display_safe::Escaped;
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
    // Every check below reads from AWS (the secrets too): without
    // credentials, say so once.
    if let Err(e) = aws.credentials().await {
        report.push("aws credentials", Err(e.to_string()));
        return report;
    }
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
        if let Some(warning) = pipeline::host_override_warning(target, credentials.host.as_deref())
        {
            report.push(
                format!("{}: host", target.name),
                Ok(format!("WARNING: {warning}")),
            );
        }
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
                report.push(
                    format!("{}: server", target.name),
                    Ok(server_detail(&probe.server)),
                );
                // Opt-in steps are judged on their own line below.
                let missing: Vec<String> = probe
                    .permissions
                    .iter()
                    .filter(|p| !p.held && p.opt_in.is_none())
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
                for p in probe.permissions.iter().filter(|p| p.opt_in.is_some()) {
                    let (name, result) = opt_in_line(p, target.collect.host_resources);
                    report.push(format!("{}: {name}", target.name), result);
                }
                report.push(
                    format!("{}: workload", target.name),
                    Ok(workload_line(&target.workload, &probe.server.version)),
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

/// The `server` check's line, e.g. `SQL Server 16.0.1000.6 RTM (Developer
/// Edition (64-bit))`. The server chooses these strings: shown escaped.
fn server_detail(s: &ServerInfo) -> String {
    format!(
        "SQL Server {} {} ({})",
        Escaped(&s.version),
        Escaped(&s.product_level),
        Escaped(&s.edition)
    )
}

/// The workload sources the target opts into (`[targets.workload]`), each
/// with the permission it needs on this server's version (SQL Server 2022+
/// has the narrower PERFORMANCE STATE permissions). Not probed: a refused
/// source is skipped at run time and listed with the permission.
fn workload_line(config: &WorkloadConfig, version: &str) -> String {
    let needs = live_workload::permissions_for(live_workload::major_version(version));
    let mut sources = Vec::new();
    if config.query_store {
        sources.push(format!(
            "Query Store (needs {} in each database)",
            needs.database
        ));
    }
    if config.plan_cache {
        sources.push(format!("plan cache (needs {})", needs.server));
    }
    if sources.is_empty() {
        "not collected (opt-in: `[targets.workload] query_store = true` or \
         `plan_cache = true`)"
            .to_owned()
    } else {
        format!(
            "collected: {}, at most {} statements per source; grant with the optional \
             workload block of policies/sqlserver-login.sql",
            sources.join("; "),
            config.max_statements
        )
    }
}

/// The line for a permission only an opt-in step needs (VIEW SERVER STATE
/// for `host_resources`): the step's name, and whether it will run, with a
/// warning when the login holds the permission without the opt-in.
fn opt_in_line(p: &PermissionCheck, opted_in: bool) -> (String, Result<String, String>) {
    let step = p.steps.join(", ");
    let switch = p.opt_in.unwrap_or_default();
    let result = match (opted_in, p.held) {
        (false, false) => Ok(format!(
            "not collected (opt-in: `{switch}`, which needs {})",
            p.permission
        )),
        (false, true) => Ok(format!(
            "not collected (opt-in: `{switch}`); WARNING: the login holds {}, which this job \
             does not use and which also reads every session's SQL text: revoke it",
            p.permission
        )),
        (true, true) => Ok(format!(
            "collected (opted in with `{switch}`; {} held)",
            p.permission
        )),
        (true, false) => Err(format!(
            "opted in with `{switch}` but the login lacks {}; grant it with the optional \
             block of policies/sqlserver-login.sql, or turn the opt-in off",
            p.permission
        )),
    };
    (step, result)
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
    // The certificate's names are the server's choice: shown escaped.
    detail.push_str(&format!(
        ", certificate {} (issued by {}), ",
        Escaped(&tls.subject),
        Escaped(&tls.issuer)
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

    #[test]
    fn the_workload_line_names_each_enabled_source_with_its_versions_permission() {
        let off = workload_line(&WorkloadConfig::default(), "16.0.4125.3");
        assert!(
            off.starts_with("not collected (opt-in: `[targets.workload]"),
            "{off}"
        );
        let both = WorkloadConfig {
            query_store: true,
            plan_cache: true,
            max_statements: 5000,
        };
        let on_2022 = workload_line(&both, "16.0.4125.3");
        assert!(
            on_2022
                .contains("Query Store (needs VIEW DATABASE PERFORMANCE STATE in each database)")
                && on_2022.contains("plan cache (needs VIEW SERVER PERFORMANCE STATE)")
                && on_2022.contains("at most 5000 statements"),
            "{on_2022}"
        );
        let plan_cache_2019 = workload_line(
            &WorkloadConfig {
                query_store: false,
                ..both
            },
            "15.0.4345.5",
        );
        assert!(
            plan_cache_2019.contains("plan cache (needs VIEW SERVER STATE)")
                && !plan_cache_2019.contains("Query Store"),
            "{plan_cache_2019}"
        );
    }

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
    fn server_strings_are_shown_escaped() {
        let server = ServerInfo {
            version: "16.0.1000.6\x1b[2J".into(),
            edition: "Developer\u{9b}31m Edition\u{2066}".into(),
            product_level: "RTM\n[ok] forged".into(),
            collation: String::new(),
            is_clustered: false,
            hadr_enabled: false,
            cpu_count: None,
            memory_mb: None,
            availability_groups: Vec::new(),
        };
        assert_eq!(
            server_detail(&server),
            "SQL Server 16.0.1000.6\\u{1b}[2J RTM\\u{a}[ok] forged \
             (Developer\\u{9b}31m Edition\\u{2066})"
        );
    }

    #[test]
    fn certificate_names_are_shown_escaped() {
        let hostile = TlsDetails {
            subject: "CN=sql\x1b[2J\u{202e}".into(),
            ..details(400, true)
        };
        let line = tls_detail(&hostile);
        assert!(line.contains("CN=sql\\u{1b}[2J\\u{202e}"), "{line}");
    }

    #[test]
    fn an_opt_in_permission_is_listed_with_its_switch() {
        let p = |held| PermissionCheck {
            permission: "VIEW SERVER STATE",
            held,
            steps: &["host resources"],
            opt_in: Some(crate::config::CollectConfig::HOST_RESOURCES_OPT_IN),
        };
        let (name, line) = opt_in_line(&p(false), false);
        assert_eq!(name, "host resources");
        assert_eq!(
            line.unwrap(),
            "not collected (opt-in: `[targets.collect] host_resources = true`, which needs \
             VIEW SERVER STATE)"
        );
        let held_unused = opt_in_line(&p(true), false).1.unwrap();
        assert!(
            held_unused.contains("WARNING: the login holds VIEW SERVER STATE"),
            "{held_unused}"
        );
        assert!(
            opt_in_line(&p(true), true)
                .1
                .unwrap()
                .starts_with("collected")
        );
        let missing = opt_in_line(&p(false), true).1.unwrap_err();
        assert!(missing.contains("lacks VIEW SERVER STATE"), "{missing}");
    }

    #[test]
    fn an_unverified_certificate_is_flagged() {
        let line = tls_detail(&details(400, false));
        assert!(line.contains("certificate NOT VERIFIED"), "{line}");
        assert!(!tls_detail(&details(400, true)).contains("NOT VERIFIED"));
    }
}
