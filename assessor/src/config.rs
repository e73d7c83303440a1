//! The appliance job's configuration: one TOML file, validated up front.
//!
//! Guarantees:
//! - Every problem is reported at once, each with the key path, what is wrong
//!   and what to do; an unknown key is an error with a suggestion for the
//!   nearest known key, so a typo can never silently drop a setting (a
//!   misspelt `ca_bundle` must not fall back to the system roots unnoticed).
//! - A config that loads is complete: every later stage can rely on it.
//! - The file holds no secret: credentials are named by their Secrets Manager
//!   id. A key that looks like a password is refused.
//!
//! The complete, commented example is `assessor/examples/job.toml`, which a
//! test loads, so the README's example can never drift from the code.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    pub job: Job,
    pub report: ReportConfig,
    pub targets: Vec<Target>,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// For tests and local demos only: endpoints of AWS emulators.
    #[serde(default)]
    pub testing: Option<Testing>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// AWS region of the key, secrets and bucket.
    pub region: String,
    /// The customer's KMS key (ARN, id or alias) for data keys and SSE-KMS.
    pub kms_key_id: String,
    /// Where the session store and temporary files live. Wiped at every start
    /// and end.
    pub session_dir: PathBuf,
    /// How many SQL Servers are assessed at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_targets: u16,
    /// The whole run's time limit.
    #[serde(default = "default_time_limit")]
    pub time_limit_minutes: u32,
    /// The appliance powers off once the job has ended (with the stack's
    /// AutoTerminate, EC2 then terminates the instance).
    #[serde(default)]
    pub power_off_when_done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// Babelfish target version, e.g. `babelfish-5.5`; the newest if absent.
    #[serde(default)]
    pub target: Option<String>,
}

/// One SQL Server to assess.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A short name for the report and logs (not secret, not from the server).
    pub name: String,
    /// Secrets Manager ARN or name of the credentials.
    pub secret_id: String,
    /// Overrides the secret's `host`.
    #[serde(default)]
    pub host: Option<String>,
    /// Overrides the secret's `port`.
    #[serde(default)]
    pub port: Option<u16>,
    /// Databases to assess; empty means every database the login can see.
    #[serde(default)]
    pub databases: Vec<String>,
    #[serde(default)]
    pub tls: TlsConfig,
}

/// Transport security for one target. Encryption is always required.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub mode: TlsMode,
    /// Extra CA certificates (PEM) trusted in addition to the system roots.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// The name to expect in the certificate when connecting by IP address.
    #[serde(default)]
    pub hostname_in_certificate: Option<String>,
    /// Skip certificate validation. Logged loudly and reported as a finding.
    #[serde(default)]
    pub dangerously_trust_server_certificate: bool,
}

/// How TLS is negotiated. There is deliberately no "off" and no login-only
/// encryption: neither is representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// TLS negotiated in PRELOGIN (TDS 7.x), required for the whole session.
    #[default]
    Required,
    /// TDS 8.0 strict: TLS before PRELOGIN, ALPN `tds/8.0`.
    Strict,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    #[serde(default = "default_connect")]
    pub connect_seconds: u32,
    #[serde(default = "default_query")]
    pub query_seconds: u32,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect_seconds: default_connect(),
            query_seconds: default_query(),
        }
    }
}

/// Test-only settings. Present only in test and demo configs; the appliance
/// logs a warning when it sees them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Testing {
    /// Sends every AWS call to this endpoint (an emulator on loopback).
    pub aws_endpoint_url: String,
}

fn default_concurrency() -> u16 {
    4
}
fn default_time_limit() -> u32 {
    240
}
fn default_connect() -> u32 {
    15
}
fn default_query() -> u32 {
    300
}

/// The keys each table may hold, for unknown-key errors and suggestions.
const SCHEMA: &[(&str, &[&str])] = &[
    ("", &["job", "report", "targets", "timeouts", "testing"]),
    (
        "job",
        &[
            "region",
            "kms_key_id",
            "session_dir",
            "max_concurrent_targets",
            "time_limit_minutes",
            "power_off_when_done",
        ],
    ),
    ("report", &["bucket", "prefix", "target"]),
    (
        "targets",
        &["name", "secret_id", "host", "port", "databases", "tls"],
    ),
    (
        "targets.tls",
        &[
            "mode",
            "ca_bundle",
            "hostname_in_certificate",
            "dangerously_trust_server_certificate",
        ],
    ),
    ("timeouts", &["connect_seconds", "query_seconds"]),
    ("testing", &["aws_endpoint_url"]),
];

/// All the problems found in a config file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

impl JobConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<JobConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            problems: vec![format!("cannot read the file: {e}")],
        })?;
        JobConfig::parse(&text, path)
    }

    /// Parses and validates config text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<JobConfig, ConfigError> {
        let fail = |problems| ConfigError {
            path: path.to_owned(),
            problems,
        };
        let table: toml::Table =
            toml::from_str(text).map_err(|e| fail(vec![e.message().to_owned()]))?;
        let mut problems = Vec::new();
        check_keys(&table, "", &mut problems);
        if !problems.is_empty() {
            return Err(fail(problems));
        }
        let config: JobConfig =
            toml::from_str(text).map_err(|e| fail(vec![e.message().to_owned()]))?;
        config.check(&mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(fail(problems))
        }
    }

    fn check(&self, problems: &mut Vec<String>) {
        let mut say = |s: String| problems.push(s);
        if self.job.region.trim().is_empty() {
            say("job.region is empty: name the AWS region, e.g. \"eu-west-1\"".into());
        }
        if self.job.kms_key_id.trim().is_empty() {
            say("job.kms_key_id is empty: give the KMS key ARN, id or alias".into());
        }
        if !self.job.session_dir.is_absolute() {
            say(
                "job.session_dir must be an absolute path (it is deleted at every start and end)"
                    .into(),
            );
        }
        if self.job.session_dir.parent().is_none() {
            say("job.session_dir must not be the root directory".into());
        }
        if self.job.max_concurrent_targets == 0 {
            say("job.max_concurrent_targets must be at least 1".into());
        }
        if !valid_bucket_name(&self.report.bucket) {
            say(format!(
                "report.bucket {:?} is not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)",
                self.report.bucket
            ));
        }
        if self.report.prefix.starts_with('/') || self.report.prefix.contains("..") {
            say("report.prefix must be relative, without a leading '/' or '..'".into());
        }
        if self.targets.is_empty() {
            say("no [[targets]]: add at least one SQL Server to assess".into());
        }
        let mut names = BTreeSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let at = format!("targets[{i}]");
            if t.name.trim().is_empty() {
                say(format!("{at}.name is empty"));
            } else if !names.insert(t.name.as_str()) {
                say(format!(
                    "{at}.name {:?} is used twice; names must be unique",
                    t.name
                ));
            }
            if t.secret_id.trim().is_empty() {
                say(format!(
                    "{at}.secret_id is empty: give the Secrets Manager ARN or name"
                ));
            }
            if t.port == Some(0) {
                say(format!("{at}.port must not be 0"));
            }
            if t.tls.dangerously_trust_server_certificate
                && (t.tls.ca_bundle.is_some() || t.tls.hostname_in_certificate.is_some())
            {
                say(format!(
                    "{at}.tls: dangerously_trust_server_certificate disables validation, so ca_bundle and \
                     hostname_in_certificate would be ignored; remove one or the other"
                ));
            }
        }
        if let Some(testing) = &self.testing
            && !is_loopback_url(&testing.aws_endpoint_url)
        {
            say(
                "testing.aws_endpoint_url must point at 127.0.0.0/8, localhost or the VM test's \
                 forwarded network 10.0.2.0/24 (it is for emulators)"
                    .into(),
            );
        }
    }
}

fn check_keys(table: &toml::Table, at: &str, problems: &mut Vec<String>) {
    let schema_key = at
        .split('.')
        .filter(|p| !p.starts_with('['))
        .collect::<Vec<_>>()
        .join(".");
    let Some((_, known)) = SCHEMA.iter().find(|(k, _)| *k == schema_key) else {
        return;
    };
    for (key, value) in table {
        let path = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        if !known.contains(&key.as_str()) {
            let lower = key.to_ascii_lowercase();
            let hint = if ["password", "passwd", "pwd", "secret"]
                .iter()
                .any(|w| lower.contains(w))
                && key != "secret_id"
            {
                " (credentials never go in this file: put them in Secrets Manager and set secret_id)".to_owned()
            } else {
                suggestion(key, known)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default()
            };
            problems.push(format!("unknown key `{path}`{hint}"));
            continue;
        }
        match value {
            toml::Value::Table(t) => check_keys(t, &path, problems),
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(t) = item {
                        check_keys(t, &path, problems);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The known key nearest to `key`, if it is close enough to be a typo.
fn suggestion<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .as_bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    // 10.0.2.0/24 is qemu's user-mode network: in the appliance VM test the
    // emulators on the host's loopback are forwarded there, and nothing else
    // is reachable from the guest.
    host == "localhost" || host.starts_with("127.") || host.starts_with("10.0.2.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/job.toml"))
            .unwrap()
    }

    #[test]
    fn the_documented_example_loads() {
        let config = JobConfig::parse(&example(), Path::new("job.toml")).unwrap();
        assert_eq!(config.targets.len(), 2);
        assert_eq!(config.targets[1].tls.mode, TlsMode::Strict);
        assert!(
            config.testing.is_none(),
            "the example is a production config"
        );
        assert_eq!(config.timeouts.connect_seconds, 15);
    }

    #[test]
    fn every_problem_is_listed_at_once_with_suggestions() {
        let text = example()
            .replace("ca_bundle", "ca_bundel")
            .replace("kms_key_id", "kms_keyid")
            .replace("bucket = \"", "bucket = \"Bad_")
            .replace("[timeouts]", "[timeouts]\npassword = \"x\"");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("job.toml"), "{msg}");
        assert!(
            msg.contains("unknown key `targets.tls.ca_bundel`; did you mean `ca_bundle`?"),
            "{msg}"
        );
        assert!(
            msg.contains("unknown key `job.kms_keyid`; did you mean `kms_key_id`?"),
            "{msg}"
        );
        assert!(msg.contains("credentials never go in this file"), "{msg}");
        assert!(!msg.contains("\"x\""), "a value leaked: {msg}");
        assert_eq!(err.problems.len(), 3, "{msg}");
    }

    #[test]
    fn semantic_problems_are_all_reported() {
        let text = example()
            .replace(
                "session_dir = \"/var/lib/assessor/session\"",
                "session_dir = \"relative\"",
            )
            .replace("bucket = \"", "bucket = \"Bad_")
            .replace("name = \"sql-02\"", "name = \"sql-01\"");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("session_dir must be an absolute path"),
            "{msg}"
        );
        assert!(msg.contains("not a valid S3 bucket name"), "{msg}");
        assert!(msg.contains("used twice"), "{msg}");
        assert_eq!(err.problems.len(), 3, "{msg}");
    }

    #[test]
    fn there_is_no_way_to_turn_encryption_off() {
        let text = example().replace("mode = \"strict\"", "mode = \"off\"");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown variant `off`"), "{err}");
    }

    #[test]
    fn testing_endpoint_must_be_loopback() {
        let text = format!(
            "{}\n[testing]\naws_endpoint_url = \"http://10.0.0.1:5000\"\n",
            example()
        );
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("testing.aws_endpoint_url must point at 127.0.0.0/8")
        );
        let ok = format!(
            "{}\n[testing]\naws_endpoint_url = \"http://127.0.0.1:5000\"\n",
            example()
        );
        assert!(JobConfig::parse(&ok, Path::new("job.toml")).is_ok());
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("ca_bundel", "ca_bundle"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(suggestion("zzzzzz", &["region"]), None);
    }
}
