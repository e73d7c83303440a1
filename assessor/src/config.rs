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

use std::collections::{BTreeMap, BTreeSet};
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
    #[serde(default)]
    pub limits: Limits,
    /// For tests and local demos only: endpoints of AWS emulators. Exists
    /// only in a build with the `testing-endpoint` feature; the shipped
    /// appliance is built without it and refuses a `[testing]` table.
    #[cfg(feature = "testing-endpoint")]
    #[serde(default)]
    pub testing: Option<Testing>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// AWS region of the key, secrets and bucket.
    pub region: String,
    /// The customer's KMS key (ARN, id or alias) for the session's data keys,
    /// and the SSE-KMS key of the uploads unless `report.kms_key_id` names
    /// another ([`JobConfig::report_kms_key_id`]).
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
    /// Whether `assessor run` must be confined by Landlock (SECURITY.md,
    /// C37): `required` refuses to run on a kernel without it (the
    /// appliance's config always says so), `best-effort` runs unconfined
    /// there and records it.
    #[serde(default)]
    pub confinement: Confinement,
}

/// The policy for Landlock confinement of the run (`job.confinement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confinement {
    /// No Landlock, no run: the error names the kernel requirement.
    Required,
    /// Confined where the kernel can; the run summary says whether it was.
    #[default]
    BestEffort,
}

impl Confinement {
    /// The config word, for the run summary and messages.
    pub fn word(self) -> &'static str {
        match self {
            Confinement::Required => "required",
            Confinement::BestEffort => "best-effort",
        }
    }
}

/// That the config has a `report.effort` table; its contents need the rule
/// catalog to check, so the job reads them from the config text
/// ([`ReportConfig::effort`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffortSection;

impl<'de> Deserialize<'de> for EffortSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EffortSection, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| EffortSection)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// The SSE-KMS key of every upload (bundle files, run summary, manifest,
    /// query tables), as a key ARN: a central report bucket in another
    /// account encrypts under that account's key, while the session's data
    /// keys stay under `job.kms_key_id` in the appliance's own account. An
    /// ARN, not an id or alias, because S3 would resolve those in the
    /// caller's account. None: `job.kms_key_id`, as before the key existed.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Babelfish target version, e.g. `babelfish-6.1`; the newest if absent.
    #[serde(default)]
    pub target: Option<String>,
    /// Babelfish settings of the target, `NAME=VALUE` as with `assessor
    /// analyze --setting` (e.g. `escape_hatch_table_hints=strict`); unset
    /// settings keep Babelfish's defaults. Checked against the rule catalog
    /// when the job starts.
    #[serde(default)]
    pub settings: Vec<String>,
    /// Effort calibration, the keys of an `assessor analyze --effort` file
    /// under `[report.effort]` (`complexity`, `feature."id"`): present or
    /// not here; read and checked against the rule catalog, with key paths
    /// and lines, when the job starts
    /// ([`crate::rules::EffortOverrides::from_job_config`]).
    #[serde(default)]
    pub effort: Option<EffortSection>,
    /// CloudWatch Logs group for the run's status lines (stage, counts,
    /// durations, outcome; never names, code or values), one stream per run.
    /// None: the console only.
    #[serde(default)]
    pub log_group: Option<String>,
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
    #[serde(default)]
    pub collect: CollectConfig,
    #[serde(default)]
    pub workload: WorkloadConfig,
}

/// The live workload sources read from one target (`[targets.workload]`):
/// opt-ins, each off by default. Every statement text is normalised
/// (literals replaced) in the collector before anything keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Query Store of every assessed database where it is on. Needs VIEW
    /// DATABASE PERFORMANCE STATE (SQL Server 2022+) or VIEW DATABASE STATE.
    #[serde(default)]
    pub query_store: bool,
    /// The plan cache (`sys.dm_exec_query_stats`,
    /// `sys.dm_exec_procedure_stats`). Needs VIEW SERVER PERFORMANCE STATE
    /// (SQL Server 2022+) or VIEW SERVER STATE.
    #[serde(default)]
    pub plan_cache: bool,
    /// Rows one source may answer with (its busiest statements first);
    /// distinct statements kept for the whole target are bounded the same.
    #[serde(default = "default_max_statements")]
    pub max_statements: u32,
}

impl Default for WorkloadConfig {
    fn default() -> WorkloadConfig {
        WorkloadConfig {
            query_store: false,
            plan_cache: false,
            max_statements: default_max_statements(),
        }
    }
}

impl WorkloadConfig {
    /// Whether any source is turned on.
    pub fn enabled(&self) -> bool {
        self.query_store || self.plan_cache
    }
}

fn default_max_statements() -> u32 {
    100_000
}

/// The largest `max_statements` accepted: what one run can analyse within
/// the appliance's memory.
pub const MAX_WORKLOAD_STATEMENTS: u32 = 1_000_000;

/// What is collected from one target beyond catalog metadata: opt-ins only,
/// each off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectConfig {
    /// Read the host's CPU count and memory (`sys.dm_os_sys_info`). Needs
    /// VIEW SERVER STATE, which also lets the login read every session's
    /// SQL text: off unless asked for.
    #[serde(default)]
    pub host_resources: bool,
}

impl CollectConfig {
    /// The config line that turns host resources on, for messages.
    pub const HOST_RESOURCES_OPT_IN: &str = "[targets.collect] host_resources = true";
}

/// Transport security for one target. Encryption is always required.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub mode: TlsMode,
    /// Which CAs may vouch for the server: unset means [`CaTrust::Private`].
    #[serde(default)]
    pub ca: Option<CaTrust>,
    /// The CA certificates (PEM) that issued the server's certificate: the
    /// only trust anchors under `ca = "private"`, added to the system roots
    /// under `ca = "system"`.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// The name to expect in the certificate when connecting by IP address.
    #[serde(default)]
    pub hostname_in_certificate: Option<String>,
    /// Skip certificate validation. Logged loudly and reported as a finding.
    #[serde(default)]
    pub dangerously_trust_server_certificate: bool,
}

/// Which certificate authorities may vouch for a SQL Server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaTrust {
    /// Only `ca_bundle`: a database server's certificate comes from the
    /// organisation's own CA, so no public CA may vouch for it (anyone can
    /// obtain a publicly trusted certificate for a name they control, and a
    /// config or DNS mistake would then hand the password to them).
    #[default]
    Private,
    /// The system's public roots, plus `ca_bundle` if given.
    System,
}

impl TlsConfig {
    /// The trust mode in force: `ca`, else [`CaTrust::Private`].
    pub fn ca_trust(&self) -> CaTrust {
        self.ca.unwrap_or_default()
    }
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

/// How much one SQL Server may send: a hostile or broken server cannot make
/// the job use unbounded memory. Exceeding a limit ends that target with an
/// error naming the limit, the step and the key to raise; the other targets
/// go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// One value (a module definition, a job step's command, a name), in
    /// bytes of UTF-8 text.
    #[serde(default = "default_max_value_bytes")]
    pub max_value_bytes: u64,
    /// Rows of one catalog query (modules, tables or columns of one
    /// database, job steps of the server...).
    #[serde(default = "default_max_rows_per_query")]
    pub max_rows_per_query: u64,
    /// Everything collected from one server, in bytes.
    #[serde(default = "default_max_target_bytes")]
    pub max_target_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_value_bytes: default_max_value_bytes(),
            max_rows_per_query: default_max_rows_per_query(),
            max_target_bytes: default_max_target_bytes(),
        }
    }
}

fn default_max_value_bytes() -> u64 {
    16 << 20
}
fn default_max_rows_per_query() -> u64 {
    1_000_000
}
fn default_max_target_bytes() -> u64 {
    1 << 30
}

/// Test-only settings, compiled only with the `testing-endpoint` feature
/// (tests, the demo, the appliance VM test's guest); a run that uses them
/// logs a warning.
#[cfg(feature = "testing-endpoint")]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Testing {
    /// Sends every AWS call to this endpoint (an emulator on loopback).
    pub aws_endpoint_url: String,
}

/// The problem reported for a `[testing]` table by a build without the
/// `testing-endpoint` feature, the shipped appliance's.
#[cfg(not(feature = "testing-endpoint"))]
pub const TESTING_REFUSED: &str = "[testing] is only accepted by a build with the testing-endpoint \
     feature; the appliance never honours it";

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
    (
        "",
        &[
            "job",
            "report",
            "targets",
            "timeouts",
            "limits",
            #[cfg(feature = "testing-endpoint")]
            "testing",
        ],
    ),
    (
        "job",
        &[
            "region",
            "kms_key_id",
            "session_dir",
            "max_concurrent_targets",
            "time_limit_minutes",
            "power_off_when_done",
            "confinement",
        ],
    ),
    (
        "report",
        &[
            "bucket",
            "prefix",
            "kms_key_id",
            "target",
            "settings",
            "effort",
            "log_group",
        ],
    ),
    (
        "targets",
        &[
            "name",
            "secret_id",
            "host",
            "port",
            "databases",
            "tls",
            "collect",
            "workload",
        ],
    ),
    ("targets.collect", &["host_resources"]),
    (
        "targets.workload",
        &["query_store", "plan_cache", "max_statements"],
    ),
    (
        "targets.tls",
        &[
            "mode",
            "ca",
            "ca_bundle",
            "hostname_in_certificate",
            "dangerously_trust_server_certificate",
        ],
    ),
    ("timeouts", &["connect_seconds", "query_seconds"]),
    (
        "limits",
        &["max_value_bytes", "max_rows_per_query", "max_target_bytes"],
    ),
    #[cfg(feature = "testing-endpoint")]
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
    /// Every problem is collected before anything is refused: unknown keys,
    /// then values of the wrong type (each key found is set aside and the
    /// rest deserialised again, so one mistake cannot hide the next), then
    /// the semantic checks; each names its key path and line.
    /// The SSE-KMS key of every upload: `report.kms_key_id`, or
    /// `job.kms_key_id` when it is not given.
    pub fn report_kms_key_id(&self) -> &str {
        self.report
            .kms_key_id
            .as_deref()
            .unwrap_or(&self.job.kms_key_id)
    }

    pub fn parse(text: &str, path: &Path) -> Result<JobConfig, ConfigError> {
        let fail = |problems| ConfigError {
            path: path.to_owned(),
            problems,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| format!(" (line {})", line_at(text, span.start)))
                .unwrap_or_default();
            fail(vec![format!("not valid TOML{at}: {}", e.message())])
        })?;
        let mut problems = Vec::new();
        // Without the feature there is no `testing` field to fill: the table
        // is refused whatever it holds, and nothing reads its contents.
        // Lines rewritten to look for further mistakes: a misspelt key is
        // read under the name it probably means, another unknown key (and a
        // refused table) is blanked.
        let mut edits = BTreeMap::new();
        #[cfg(not(feature = "testing-endpoint"))]
        let table = {
            let mut table = table;
            if table.remove("testing").is_some() {
                problems.push(TESTING_REFUSED.to_owned());
                for line in table_lines(text, "testing") {
                    edits.insert(line, "\n".to_owned());
                }
            }
            table
        };
        let mut unknown = Vec::new();
        check_keys(&table, "", &mut unknown);
        for (key_path, problem, meant) in unknown {
            match line_of_key(text, &key_path) {
                Some(line) => {
                    problems.push(format!("{problem} (line {line})"));
                    let original = text.lines().nth(line - 1).unwrap_or("");
                    let renamed = meant.and_then(|m| {
                        let (_, value) = original.split_once('=')?;
                        Some(format!("{m} ={value}\n"))
                    });
                    edits.insert(line, renamed.unwrap_or_else(|| "\n".to_owned()));
                }
                None => problems.push(problem),
            }
        }
        // The semantic checks run on what could be read, edits included, so
        // a misspelt key does not hide an unrelated mistake elsewhere.
        match deserialize_all(text, &mut edits, &mut problems) {
            Some(config) => {
                config.check(&mut problems);
                if problems.is_empty() {
                    Ok(config)
                } else {
                    Err(fail(problems))
                }
            }
            None => Err(fail(problems)),
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
        if let Some(problem) = path_problem("job.session_dir", &self.job.session_dir) {
            say(problem);
        } else if self.job.session_dir.parent().is_none() {
            say(
                "job.session_dir must not be the root directory (it is deleted at every start \
                 and end)"
                    .into(),
            );
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
        if let Some(group) = &self.report.log_group
            && !valid_log_group_name(group)
        {
            say(
                "report.log_group is not a CloudWatch Logs group name (1-512 letters, digits, \
                 '_', '-', '/', '.', '#'); use the stack's LogGroupName output"
                    .into(),
            );
        }
        if let Some(key) = &self.report.kms_key_id
            && !valid_kms_key_arn(key)
        {
            say(format!(
                "report.kms_key_id {key:?} is not a KMS key ARN \
                 (arn:aws:kms:REGION:ACCOUNT-ID:key/KEY-ID): the uploads' key may be in another \
                 account, where an id or alias would not resolve; leave it out to use job.kms_key_id"
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
            let max = t.workload.max_statements;
            if max == 0 || max > MAX_WORKLOAD_STATEMENTS {
                say(format!(
                    "{at}.workload.max_statements must be between 1 and {MAX_WORKLOAD_STATEMENTS} \
                     (it was {max}); the default is {}",
                    default_max_statements()
                ));
            }
            if let Some(bundle) = &t.tls.ca_bundle
                && let Some(problem) = path_problem(&format!("{at}.tls.ca_bundle"), bundle)
            {
                say(problem);
            }
            if t.tls.dangerously_trust_server_certificate {
                if t.tls.ca_bundle.is_some()
                    || t.tls.hostname_in_certificate.is_some()
                    || t.tls.ca.is_some()
                {
                    say(format!(
                        "{at}.tls: dangerously_trust_server_certificate disables validation, so ca, \
                         ca_bundle and hostname_in_certificate would be ignored; remove one or the other"
                    ));
                }
            } else if t.tls.ca_trust() == CaTrust::Private && t.tls.ca_bundle.is_none() {
                say(format!(
                    "{at}.tls.ca_bundle is missing: tls.ca = \"private\" (the default) trusts only the \
                     CA certificates you give; set ca_bundle (ca_bundle_pem in user data) to the PEM of \
                     the CA that issued the SQL Server's certificate, or set tls.ca = \"system\" to \
                     accept any publicly trusted certificate for the host"
                ));
            }
        }
        let limits = &self.limits;
        for (key, value) in [
            ("max_value_bytes", limits.max_value_bytes),
            ("max_rows_per_query", limits.max_rows_per_query),
            ("max_target_bytes", limits.max_target_bytes),
        ] {
            if value == 0 {
                say(format!("limits.{key} must be at least 1"));
            }
        }
        if limits.max_target_bytes < limits.max_value_bytes {
            say(
                "limits.max_target_bytes must be at least limits.max_value_bytes (one value \
                 counts towards the target's total)"
                    .into(),
            );
        }
        #[cfg(feature = "testing-endpoint")]
        if let Some(testing) = &self.testing
            && !is_loopback_url(&testing.aws_endpoint_url)
        {
            say(
                "testing.aws_endpoint_url must be an http(s) URL in canonical form, without \
                 user info, whose host is 127.0.0.0/8, localhost, [::1] or the VM test's \
                 forwarded network 10.0.2.0/24 (it is for emulators)"
                    .into(),
            );
        }
    }
}

/// What every filesystem path in the config must look like, for messages.
const PATH_RULE: &str = "an absolute path whose components use only the characters \
                         A-Z a-z 0-9 . _ - (separated by /), with no `.` or `..` component";

/// Why the path at `key` is refused, if it is. Paths reach tools (initdb,
/// postgres, chown), the server's settings and the appliance's volume check:
/// a strict character set keeps shell and option syntax out of all of them,
/// and without `.`/`..` a path cannot climb out of the directory it names.
fn path_problem(key: &str, path: &Path) -> Option<String> {
    let Some(text) = path.to_str() else {
        return Some(format!("{key} must be {PATH_RULE}: it is not UTF-8"));
    };
    let why = if !text.starts_with('/') {
        format!("{text:?} is not absolute")
    } else if let Some(c) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    {
        format!("{text:?} contains {c:?}")
    } else if text.split('/').any(|c| c == "." || c == "..") {
        format!("{text:?} has a `.` or `..` component")
    } else {
        return None;
    };
    Some(format!("{key} must be {PATH_RULE}: {why}"))
}

/// Deserialises the config, collecting every type error: the line of each
/// one is blanked (`edits` holds the lines rewritten so far) and the text
/// read again, so the next mistake shows too. A missing required key ends
/// the search (nothing stands in for it). Returns the config when the text
/// needed no edit.
fn deserialize_all(
    text: &str,
    edits: &mut BTreeMap<usize, String>,
    problems: &mut Vec<String>,
) -> Option<JobConfig> {
    // One pass per mistake; a config has far fewer keys than this.
    const MAX_PASSES: usize = 64;
    let mut blanked: Vec<String> = Vec::new();
    for _ in 0..MAX_PASSES {
        let edited: String = text
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, l)| edits.get(&(i + 1)).map_or(l, String::as_str))
            .collect();
        let e = match toml::from_str::<JobConfig>(&edited) {
            Ok(config) => return Some(config),
            Err(e) => e,
        };
        let Some(span) = e.span() else {
            problems.push(e.message().to_owned());
            return None;
        };
        let line = line_at(&edited, span.start);
        let key = key_path_at(&edited, line);
        let key = if key.is_empty() {
            String::new()
        } else {
            format!("`{key}`: ")
        };
        let message = without_string_values(e.message().trim_end_matches('\n'));
        let message = message.as_str();
        if message.starts_with("missing field") {
            // Missing because a wrongly typed value was set aside: reported.
            let ours = blanked.iter().any(|k| message.contains(&format!("`{k}`")));
            if !ours {
                problems.push(format!("{key}{message} (in the table at line {line})"));
            }
            return None;
        }
        problems.push(format!("{key}{message} (line {line})"));
        blanked.push(key_on_line(&edited, line).to_owned());
        if edits.insert(line, "\n".to_owned()).is_some() {
            // The same line again: no progress is possible.
            return None;
        }
    }
    None
}

/// The 1-based lines of the table `[name]`: its header and every line up to
/// the next header.
#[cfg(not(feature = "testing-endpoint"))]
fn table_lines(text: &str, name: &str) -> Vec<usize> {
    let mut inside = false;
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if let Some(table) = header(l) {
            inside = table == name;
        }
        if inside {
            lines.push(i + 1);
        }
    }
    lines
}

/// The 1-based line of byte `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

/// The table a `[table]` or `[[array]]` header line names.
fn header(line: &str) -> Option<&str> {
    let t = line.trim();
    t.starts_with('[')
        .then(|| t.trim_matches(|c| c == '[' || c == ']').trim())
}

/// The key a `key = value` line sets (empty for other lines).
fn key_of(line: &str) -> &str {
    match line.split_once('=') {
        Some((key, _)) if !line.trim_start().starts_with(['[', '#']) => {
            key.trim().trim_matches('"')
        }
        _ => "",
    }
}

/// The key 1-based line `line` of `text` sets.
fn key_on_line(text: &str, line: usize) -> &str {
    key_of(text.lines().nth(line.saturating_sub(1)).unwrap_or(""))
}

/// The dotted path of the key set on `line`: the enclosing `[table]` or
/// `[[array]]` header and the key (the table itself on a header line).
fn key_path_at(text: &str, line: usize) -> String {
    let this = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    if let Some(table) = header(this) {
        return table.to_owned();
    }
    let key = key_of(this);
    let table = text
        .lines()
        .take(line.saturating_sub(1))
        .filter_map(header)
        .last()
        .unwrap_or_default();
    match (table.is_empty(), key.is_empty()) {
        (_, true) => table.to_owned(),
        (true, false) => key.to_owned(),
        (false, false) => format!("{table}.{key}"),
    }
}

/// The line that sets `path` (`job.regoin`, `targets.tls.ca_bundel`): the
/// first line setting the last part inside a table whose header is the
/// rest, or the header line of a whole misnamed table.
fn line_of_key(text: &str, path: &str) -> Option<usize> {
    let (table, key) = path.rsplit_once('.').unwrap_or(("", path));
    let mut current = "";
    for (i, l) in text.lines().enumerate() {
        if let Some(name) = header(l) {
            if name == path {
                return Some(i + 1);
            }
            current = name;
        } else if current == table && key_of(l) == key {
            return Some(i + 1);
        }
    }
    None
}

/// A serde message without the string value it quotes (`invalid type:
/// string "...", expected u32`): a value typed under the wrong key may be a
/// credential, and the key path and line already say where to look.
fn without_string_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("string \"") {
        out.push_str(&rest[..at]);
        out.push_str("a string");
        let value = &rest[at + "string \"".len()..];
        // serde escapes quotes inside the value, so the next `"` that does
        // not follow a backslash ends it.
        let mut end = value.len();
        let mut escaped = false;
        for (i, c) in value.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = i + 1;
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// An unknown key: its path, the problem, and the known key it probably
/// means.
type Unknown = (String, String, Option<String>);

fn check_keys(table: &toml::Table, at: &str, problems: &mut Vec<Unknown>) {
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
            let meant = suggestion(key, known);
            let hint = if ["password", "passwd", "pwd", "secret"]
                .iter()
                .any(|w| lower.contains(w))
                && key != "secret_id"
            {
                " (credentials never go in this file: put them in Secrets Manager and set secret_id)".to_owned()
            } else {
                meant
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default()
            };
            problems.push((
                path.clone(),
                format!("unknown key `{path}`{hint}"),
                meant.map(str::to_owned),
            ));
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

/// `arn:PARTITION:kms:REGION:ACCOUNT-ID:key/KEY-ID`, the account 12 digits
/// and the key id a UUID or a multi-Region key's `mrk-` id. Any account: the
/// report key may be a central account's.
fn valid_kms_key_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_word, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let id_ok = |id: &str| {
        let id = id.strip_prefix("mrk-").unwrap_or(id);
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    };
    arn_word == "arn"
        && ["aws", "aws-cn", "aws-us-gov"].contains(&partition)
        && service == "kms"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.strip_prefix("key/").is_some_and(id_ok)
}

fn valid_log_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c))
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

/// Whether `text` is an emulator endpoint: parsed by a real URL parser
/// (WHATWG, the `url` crate), scheme http or https, no user info, and the host
/// an IP literal in 127.0.0.0/8 or 10.0.2.0/24, `[::1]` or exactly
/// `localhost`. The text must also be the parser's own serialization (a
/// trailing `/` aside), so that no other parser, the SDK's included, can read
/// a different host into it (`\`, percent-encoding, `127.1`, a default port).
#[cfg(feature = "testing-endpoint")]
fn is_loopback_url(text: &str) -> bool {
    use url::{Host, Url};
    let Ok(url) = Url::parse(text) else {
        return false;
    };
    let canonical = url.as_str() == text || url.as_str().strip_suffix('/') == Some(text);
    let host_ok = match url.host() {
        Some(Host::Domain(name)) => name == "localhost",
        // 10.0.2.0/24 is qemu's user-mode network: in the appliance VM test the
        // emulators on the host's loopback are forwarded there, and nothing
        // else is reachable from the guest.
        Some(Host::Ipv4(ip)) => ip.is_loopback() || ip.octets()[..3] == [10, 0, 2],
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    canonical
        && matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && host_ok
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
        #[cfg(feature = "testing-endpoint")]
        assert!(
            config.testing.is_none(),
            "the example is a production config"
        );
        assert_eq!(config.timeouts.connect_seconds, 15);
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn the_example_names_the_newest_target_and_settings_the_catalog_models() {
        let config = JobConfig::parse(&example(), Path::new("job.toml")).unwrap();
        let catalog = crate::rules::Catalog::shipped().unwrap();
        let target = config.report.target.as_deref().unwrap();
        assert_eq!(catalog.resolve_target(target), Some(catalog.latest()));
        let settings = catalog.resolve_settings(&config.report.settings).unwrap();
        assert_eq!(
            settings.iter().collect::<Vec<_>>(),
            [("escape_hatch_table_hints", "ignore")]
        );
        // Without the key: Babelfish's defaults.
        let text = example().replace("settings = [\"escape_hatch_table_hints=ignore\"]", "");
        let config = JobConfig::parse(&text, Path::new("job.toml")).unwrap();
        assert!(config.report.settings.is_empty());
        // A misspelt setting parses (it is checked against the catalog when
        // the job starts) and is then refused by name.
        let text = example().replace("escape_hatch_table_hints=", "escape_hatch_table_hint=");
        let config = JobConfig::parse(&text, Path::new("job.toml")).unwrap();
        let err = catalog
            .resolve_settings(&config.report.settings)
            .unwrap_err()
            .to_string();
        assert!(err.contains("escape_hatch_table_hint`"), "{err}");
    }

    #[test]
    fn report_effort_is_accepted_here_and_checked_against_the_catalog_at_start() {
        let path = Path::new("job.toml");
        assert_eq!(
            JobConfig::parse(&example(), path).unwrap().report.effort,
            None
        );
        let text = example().replace("# effort = {", "effort = {");
        let config = JobConfig::parse(&text, path).unwrap();
        assert_eq!(config.report.effort, Some(EffortSection));
        let catalog = crate::rules::Catalog::shipped().unwrap();
        let effort = crate::rules::EffortOverrides::from_job_config(&text, path, &catalog)
            .unwrap()
            .unwrap();
        assert_eq!(effort.overrides, 2);
        // A misspelt key is still caught, with the suggestion.
        let typo = text.replace("effort = {", "effrot = {");
        let e = JobConfig::parse(&typo, path).unwrap_err().to_string();
        assert!(
            e.contains("unknown key `report.effrot`; did you mean `effort`?"),
            "{e}"
        );
    }

    #[test]
    fn host_resources_is_an_opt_in_off_by_default() {
        let config = JobConfig::parse(&example(), Path::new("job.toml")).unwrap();
        // sql-01 spells the default out, sql-02 leaves the table out.
        assert!(!config.targets[0].collect.host_resources);
        assert_eq!(config.targets[1].collect, CollectConfig::default());
        assert!(!CollectConfig::default().host_resources);
        let text = example().replace("host_resources = false", "host_resources = true");
        let config = JobConfig::parse(&text, Path::new("job.toml")).unwrap();
        assert!(config.targets[0].collect.host_resources);
        let text = example().replace("host_resources = false", "host_resource = true");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(
            err.to_string().contains(
                "unknown key `targets.collect.host_resource`; did you mean `host_resources`?"
            ),
            "{err}"
        );
    }

    #[test]
    fn confinement_is_best_effort_by_default_and_checked() {
        let path = Path::new("job.toml");
        // The example spells out what the appliance uses.
        let config = JobConfig::parse(&example(), path).unwrap();
        assert_eq!(config.job.confinement, Confinement::Required);
        let text = example().replace("confinement = \"required\"\n", "");
        let config = JobConfig::parse(&text, path).unwrap();
        assert_eq!(config.job.confinement, Confinement::BestEffort);
        assert_eq!(Confinement::BestEffort.word(), "best-effort");
        let text = set_first(&example(), "confinement", "best-effort");
        let config = JobConfig::parse(&text, path).unwrap();
        assert_eq!(config.job.confinement, Confinement::BestEffort);
        // A wrong word names the key, its line and the valid words.
        let text = set_first(&example(), "confinement", "off");
        let err = JobConfig::parse(&text, path).unwrap_err().to_string();
        assert!(err.contains("`job.confinement`"), "{err}");
        assert!(
            err.contains("required") && err.contains("best-effort"),
            "{err}"
        );
        let text = example().replace("confinement = ", "confinment = ");
        let err = JobConfig::parse(&text, path).unwrap_err().to_string();
        assert!(err.contains("did you mean `confinement`?"), "{err}");
    }

    #[test]
    fn workload_sources_are_opt_ins_off_by_default_and_validated() {
        let config = JobConfig::parse(&example(), Path::new("job.toml")).unwrap();
        // sql-01 spells the defaults out, sql-02 leaves the table out.
        assert_eq!(config.targets[0].workload, WorkloadConfig::default());
        assert_eq!(config.targets[1].workload, WorkloadConfig::default());
        assert!(!WorkloadConfig::default().enabled());
        assert_eq!(WorkloadConfig::default().max_statements, 100_000);
        let text = example()
            .replace("query_store = false", "query_store = true")
            .replace("max_statements = 100000", "max_statements = 5000");
        let config = JobConfig::parse(&text, Path::new("job.toml")).unwrap();
        let w = config.targets[0].workload;
        assert!(w.query_store && !w.plan_cache && w.enabled());
        assert_eq!(w.max_statements, 5000);
        let text = example().replace("plan_cache = false", "plan_cashe = true");
        let err = JobConfig::parse(&text, Path::new("job.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown key `targets.workload.plan_cashe`; did you mean `plan_cache`?"),
            "{err}"
        );
        for bad in ["0", "1000001"] {
            let text = example().replace(
                "max_statements = 100000",
                &format!("max_statements = {bad}"),
            );
            let err = JobConfig::parse(&text, Path::new("job.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("targets[0].workload.max_statements must be between 1 and 1000000"),
                "{err}"
            );
        }
        let text = example().replace("query_store = false", "query_store = \"yes\"");
        assert!(JobConfig::parse(&text, Path::new("job.toml")).is_err());
    }

    #[test]
    fn limits_default_safely_and_bad_ones_are_all_reported() {
        // The example's `[limits]` table is its last: without it, the defaults.
        let example = example();
        let (without, limits) = example.split_once("\n[limits]").unwrap();
        assert!(
            !limits.contains("\n["),
            "[limits] is not the example's last table"
        );
        let config = JobConfig::parse(without, Path::new("job.toml")).unwrap();
        assert_eq!(config.limits.max_value_bytes, 16 << 20);
        assert_eq!(config.limits.max_rows_per_query, 1_000_000);
        assert_eq!(config.limits.max_target_bytes, 1 << 30);

        let text = format!(
            "{without}\n[limits]\nmax_value_byte = 10\nmax_rows_per_query = 0\n\
             max_target_bytes = 1024\n"
        );
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown key `limits.max_value_byte`; did you mean `max_value_bytes`?"),
            "{err}"
        );
        let text = text.replace("max_value_byte =", "max_value_bytes =");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("limits.max_rows_per_query must be at least 1"),
            "{msg}"
        );
        assert_eq!(err.problems.len(), 1, "{msg}");
        let text = text
            .replace("max_rows_per_query = 0", "max_rows_per_query = 5")
            .replace("max_value_bytes = 10", "max_value_bytes = 4096");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("limits.max_target_bytes must be at least limits.max_value_bytes"),
            "{err}"
        );
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
        // The semantic checks still run past the misspelt keys.
        assert!(msg.contains("not a valid S3 bucket name"), "{msg}");
        assert_eq!(err.problems.len(), 4, "{msg}");
    }

    #[test]
    fn log_groups_are_checked_as_cloudwatch_names() {
        let with = |group: &str| {
            example().replacen(
                "[report]\n",
                &format!("[report]\nlog_group = \"{group}\"\n"),
                1,
            )
        };
        let ok = JobConfig::parse(&with("/sqlassess/my-stack"), Path::new("job.toml")).unwrap();
        assert_eq!(ok.report.log_group.as_deref(), Some("/sqlassess/my-stack"));
        for bad in ["", "has space", "semi;colon", &"x".repeat(513)] {
            let err = JobConfig::parse(&with(bad), Path::new("job.toml")).unwrap_err();
            assert!(
                err.to_string()
                    .contains("report.log_group is not a CloudWatch Logs group name"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn wrong_types_are_all_reported_with_key_path_and_line() {
        let text = set_first(&example(), "time_limit_minutes", "four")
            .replacen(
                "max_concurrent_targets = 4",
                "max_concurrent_targets = -4",
                1,
            )
            .replacen("region = \"", "regoin = \"", 1)
            .replacen("bucket = \"example-assessment-reports\"", "bucket = 42", 1);
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.starts_with(needle))
                .map(|i| i + 1)
                .unwrap()
        };
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        let msg = err.to_string();
        let expect = [
            format!(
                "unknown key `job.regoin`; did you mean `region`? (line {})",
                line_of("regoin")
            ),
            format!(
                "`job.max_concurrent_targets`: invalid value: integer `-4`, expected u16 (line {})",
                line_of("max_concurrent_targets")
            ),
            format!(
                "`job.time_limit_minutes`: invalid type: a string, expected u32 (line {})",
                line_of("time_limit_minutes")
            ),
            format!(
                "`report.bucket`: invalid type: integer `42`, expected a string (line {})",
                line_of("bucket")
            ),
        ];
        assert_eq!(err.problems, expect, "{msg}");
    }

    #[test]
    fn a_value_under_the_wrong_key_is_not_repeated_in_the_error() {
        let text = set_first(&example(), "time_limit_minutes", "hunter2 \"q\" x");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`job.time_limit_minutes`: invalid type: a string"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "a value leaked: {msg}");
    }

    #[test]
    fn semantic_problems_are_all_reported() {
        let text = set_first(&example(), "session_dir", "relative")
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
    fn the_default_private_trust_needs_a_ca_bundle_and_never_falls_back_to_the_system_roots() {
        // sql-02 says `ca = "system"`; without that line it trusts no one.
        let text = example().replace("ca = \"system\"\n", "");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(
            err.problems[0].starts_with(
                "targets[1].tls.ca_bundle is missing: tls.ca = \"private\" (the default) trusts \
                 only the CA certificates you give"
            ),
            "{err}"
        );
        assert!(err.problems[0].contains("tls.ca = \"system\""), "{err}");
        let config = JobConfig::parse(&example(), Path::new("job.toml")).unwrap();
        assert_eq!(config.targets[0].tls.ca_trust(), CaTrust::Private);
        assert_eq!(config.targets[1].tls.ca_trust(), CaTrust::System);
        // A misspelt mode is refused, not read as either.
        let text = example().replace("ca = \"system\"", "ca = \"public\"");
        assert!(JobConfig::parse(&text, Path::new("job.toml")).is_err());
    }

    #[test]
    fn a_trust_mode_beside_the_validation_bypass_is_refused() {
        let text = example().replace(
            "ca = \"system\"\n",
            "ca = \"system\"\ndangerously_trust_server_certificate = true\n",
        );
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(
            err.problems[0]
                .contains("so ca, ca_bundle and hostname_in_certificate would be ignored"),
            "{err}"
        );
    }

    /// `text` with the first `key = ...` line's value set to `value`.
    fn set_first(text: &str, key: &str, value: &str) -> String {
        let quoted = toml::Value::String(value.to_owned()).to_string();
        let mut done = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                if !done && line.trim_start().starts_with(&format!("{key} = ")) {
                    done = true;
                    format!("{key} = {quoted}")
                } else {
                    line.to_owned()
                }
            })
            .collect();
        assert!(done, "the example has no `{key}` line");
        lines.join("\n")
    }

    /// The example with its session directory and CA bundle set to these.
    fn with_paths(session_dir: &str, ca_bundle: &str) -> String {
        set_first(
            &set_first(&example(), "session_dir", session_dir),
            "ca_bundle",
            ca_bundle,
        )
    }

    #[test]
    fn config_paths_with_shell_or_option_syntax_are_refused_naming_the_key() {
        for bad in [
            "$(id>x)", "`id`", "a;id", "'q'", "\"q\"", "a b", "a\nb", "a,b", "a*",
        ] {
            let text = with_paths(
                &format!("/var/lib/sqlassess/volume/s{bad}"),
                &format!("/etc/assessor/ca{bad}.pem"),
            );
            let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
            assert_eq!(err.problems.len(), 2, "{bad:?}: {err}");
            for (problem, key) in err
                .problems
                .iter()
                .zip(["job.session_dir", "targets[0].tls.ca_bundle"])
            {
                assert!(problem.starts_with(key), "{bad:?}: {problem}");
                assert!(problem.contains("A-Z a-z 0-9 . _ -"), "{problem}");
                assert!(problem.contains("contains"), "{problem}");
            }
        }
        let ok = with_paths("/var/lib/sqlassess/volume/s-1_a.b", "/etc/assessor/ca.pem");
        JobConfig::parse(&ok, Path::new("job.toml")).unwrap();
    }

    #[test]
    fn config_paths_with_dot_components_are_refused() {
        for (session_dir, ca_bundle) in [
            (
                "/var/lib/sqlassess/volume/../x",
                "/etc/assessor/../../root/ca.pem",
            ),
            ("/var/lib/sqlassess/volume/./x", "/etc/./ca.pem"),
            ("/var/lib/sqlassess/volume/..", "/etc/assessor/."),
        ] {
            let text = with_paths(session_dir, ca_bundle);
            let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
            assert_eq!(err.problems.len(), 2, "{err}");
            assert!(err.problems[0].starts_with("job.session_dir"), "{err}");
            assert!(
                err.problems[1].starts_with("targets[0].tls.ca_bundle"),
                "{err}"
            );
            for problem in &err.problems {
                assert!(problem.contains("has a `.` or `..` component"), "{problem}");
            }
        }
        // Dots inside a name are fine.
        let ok = with_paths(
            "/var/lib/sqlassess/volume/..session..",
            "/etc/assessor/...pem",
        );
        JobConfig::parse(&ok, Path::new("job.toml")).unwrap();
    }

    #[test]
    fn the_report_key_defaults_to_the_job_key() {
        let config = JobConfig::parse(&example(), Path::new("job.toml")).unwrap();
        assert_eq!(config.report.kms_key_id, None);
        assert_eq!(config.report_kms_key_id(), config.job.kms_key_id);
    }

    fn with_report_key(key: &str) -> String {
        example().replacen(
            "[report]\n",
            &format!("[report]\nkms_key_id = \"{key}\"\n"),
            1,
        )
    }

    #[test]
    fn a_report_key_in_another_account_is_used_for_uploads() {
        let central = "arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let config = JobConfig::parse(&with_report_key(central), Path::new("job.toml")).unwrap();
        assert_eq!(config.report_kms_key_id(), central);
        assert_ne!(
            config.job.kms_key_id, central,
            "the data keys keep the job key"
        );
        for also in [
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            JobConfig::parse(&with_report_key(also), Path::new("job.toml")).unwrap();
        }
    }

    #[test]
    fn a_report_key_that_is_not_a_key_arn_is_refused() {
        for refused in [
            "",
            "alias/sqlassess",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:999988887777:alias/central",
            "arn:aws:kms:eu-west-1:99998888777:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:s3:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms::999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:999988887777:key/",
            "arn:aws:kms:eu-west-1:999988887777:key/1234 abcd",
            "arn:aws:kms:eu-west-1:999988887777:key/1234abcd:extra",
        ] {
            let err = JobConfig::parse(&with_report_key(refused), Path::new("job.toml"))
                .expect_err(refused)
                .to_string();
            assert!(
                err.contains("report.kms_key_id") && err.contains("is not a KMS key ARN"),
                "{refused:?}: {err}"
            );
        }
    }

    #[test]
    fn there_is_no_way_to_turn_encryption_off() {
        let text = example().replace("mode = \"strict\"", "mode = \"off\"");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown variant `off`"), "{err}");
    }

    fn with_testing(url: &str) -> String {
        format!("{}\n[testing]\naws_endpoint_url = \"{url}\"\n", example())
    }

    #[cfg(feature = "testing-endpoint")]
    #[test]
    fn testing_endpoint_must_be_loopback() {
        for refused in [
            // User info: the host is attacker.example.
            "http://127.0.0.1@attacker.example:443/",
            "http://user:pw@127.0.0.1/",
            "http://127.0.0.1:5000@attacker.example/",
            // Names that merely start or end like loopback.
            "http://127.evil.tld/",
            "http://localhost.attacker.example/",
            "http://localhost./",
            // Outside 10.0.2.0/24 and loopback.
            "http://10.0.3.1/",
            "http://10.0.0.1:5000",
            "http://10.0.20.1/",
            "http://0.0.0.0:5000/",
            "http://[::2]/",
            // Another scheme, or text another parser could read differently.
            "ftp://127.0.0.1/",
            "127.0.0.1:5000",
            "http://127.0.0.1\\@attacker.example/",
            "http://127.1:5000/",
            "http://%31%32%37.0.0.1/",
            "HTTP://127.0.0.1:5000/",
            " http://127.0.0.1:5000/",
            "",
        ] {
            assert!(!is_loopback_url(refused), "{refused:?} was accepted");
        }
        for accepted in [
            "http://127.0.0.1:5000",
            "http://127.0.0.1:5000/",
            "https://127.10.20.30/",
            "http://localhost:4566/",
            "http://[::1]:5000/",
            "http://10.0.2.10:443",
        ] {
            assert!(is_loopback_url(accepted), "{accepted:?} was refused");
        }

        let text = with_testing("http://127.0.0.1@attacker.example:443/");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("testing.aws_endpoint_url must be an http(s) URL in canonical form"),
            "{err}"
        );
        let ok = JobConfig::parse(
            &with_testing("http://127.0.0.1:5000"),
            Path::new("job.toml"),
        )
        .unwrap();
        assert_eq!(
            ok.testing.map(|t| t.aws_endpoint_url).as_deref(),
            Some("http://127.0.0.1:5000")
        );
    }

    /// The shipped build (no `testing-endpoint` feature) refuses the table
    /// outright, a loopback endpoint included, and lists it with the rest.
    #[cfg(not(feature = "testing-endpoint"))]
    #[test]
    fn testing_table_is_refused_without_the_feature() {
        for url in [
            "http://127.0.0.1:5000",
            "http://127.0.0.1@attacker.example:443/",
        ] {
            let err = JobConfig::parse(&with_testing(url), Path::new("job.toml")).unwrap_err();
            assert_eq!(err.problems, [TESTING_REFUSED], "{err}");
            assert!(
                err.to_string().contains(
                    "[testing] is only accepted by a build with the testing-endpoint feature; \
                     the appliance never honours it"
                ),
                "{err}"
            );
        }
        let text = with_testing("http://127.0.0.1:5000").replace("kms_key_id", "kms_keyid");
        let err = JobConfig::parse(&text, Path::new("job.toml")).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems.iter().any(|p| p == TESTING_REFUSED), "{err}");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("ca_bundel", "ca_bundle"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(suggestion("zzzzzz", &["region"]), None);
    }
}
