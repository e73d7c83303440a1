//! The appliance job, one way through its stages:
//! preflight -> collect (secrets, TLS, catalog) -> store -> analyze -> report
//! -> deliver -> wipe.
//!
//! Guarantees:
//! - Nothing is collected unless the KMS key is usable and the report bucket
//!   answers (preflight). A disabled key or a missing bucket costs the
//!   customer nothing but an error.
//! - The process is confined by Landlock before this runs (`cmd/run.rs`,
//!   `crate::confinement`); the outcome is in the summary and status lines.
//! - The session directory is wiped before the run (a crashed run's leftovers
//!   go first) and after it, on every path that returns: success, failure,
//!   time limit. The binary adds SIGTERM and SIGINT (`cmd/run.rs`).
//! - Customer content reaches PostgreSQL only sealed under the run's data
//!   key; the plaintext key lives in memory only. Each stage reads what the
//!   previous one stored, never a later stage's output.
//! - Reports are rendered in memory and written nowhere but the bucket
//!   (SSE-KMS under the customer's key).
//! - The run summary carries stage names, counts, timings and error
//!   messages. Every error type on these paths is built to name what failed
//!   (target label, step, secret id, error class), never a value, a name
//!   read from the server or code.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Serialize;

use crate::analyze::Analyzer;
use crate::collect::catalog::{self, CollectError};
use crate::collect::connect::{self, ConnectError, ConnectOptions, Endpoint};
use crate::collect::inventory::Inventory;
use crate::collect::tls::TlsPolicy;
use crate::collect::workload::{self as live_workload, CollectedWorkload};
use crate::config::{JobConfig, Limits, Target};
use crate::confinement::Outcome;
use crate::deliver::{self, DeliverError, S3Location};
use crate::envelope::{DataKey, EnvelopeError};
use crate::findings::Finding;
use crate::report::overview::{DatabaseOverview, NotCollected, ServerOverview};
use crate::report::{Excerpt, FeatureCatalog, Format, ObjectSummary, ReportInput};
use crate::secrets::{DbCredentials, SecretError};
use crate::status_log::{StatusLine, StatusLog};
use crate::store::cluster::{Cluster, ClusterError};
use crate::store::{Module, SessionStore, StoreError};
use crate::wipe::{self, WipeError};

/// Process exit codes of `assessor run`, one per failure class.
pub mod exit {
    /// Every target assessed and the report delivered.
    pub const OK: u8 = 0;
    /// The run failed (no target could be assessed, or a stage failed).
    pub const FAILED: u8 = 1;
    /// The job config is invalid.
    pub const CONFIG: u8 = 2;
    /// `job.confinement = "required"` and the kernel cannot confine the run
    /// (no Landlock): nothing was read or contacted.
    pub const CONFINEMENT: u8 = 3;
    /// The preflight failed (KMS key, bucket): nothing was collected.
    pub const PREFLIGHT: u8 = 4;
    /// The report could not be delivered; the session was wiped.
    pub const DELIVERY: u8 = 5;
    /// Some targets failed; the report covers the others.
    pub const PARTIAL: u8 = 6;
    /// Stopped by SIGTERM or SIGINT; the session was wiped.
    pub const INTERRUPTED: u8 = 130;
}

pub use crate::bundle::{INVENTORY_FILE, SUMMARY_FILE};

/// The AWS clients a run uses.
#[derive(Debug, Clone)]
pub struct Aws {
    pub kms: aws_sdk_kms::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub s3: aws_sdk_s3::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// The chain the clients sign with, to check it once up front.
    credentials: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
}

/// The AWS credential chain found nothing to sign with.
#[derive(Debug, thiserror::Error)]
#[error(
    "no AWS credentials found: on the appliance they come from the instance role (check that \
     the instance has the stack's instance profile and that instance metadata (IMDSv2) \
     answers); elsewhere set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)]
pub struct NoCredentials;

/// The environment would send the job's AWS calls somewhere else.
#[derive(Debug, thiserror::Error)]
#[error(
    "the environment sets {}, which would send every AWS call of the job (the secret's \
     password and the report upload included) to another endpoint; the appliance never \
     honours endpoint overrides: remove them from the assessor's environment",
    names.join(", ")
)]
pub struct EndpointOverride {
    pub names: Vec<String>,
}

/// The variables among `names` through which the AWS SDK takes another
/// endpoint: `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, and
/// `AWS_CONFIG_FILE` (a profile may carry `endpoint_url`). Names only: the
/// values are never read.
pub fn endpoint_overrides(names: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<String> {
    let mut found: Vec<String> = names
        .into_iter()
        .filter_map(|name| name.into_string().ok())
        .filter(|name| {
            name == "AWS_ENDPOINT_URL"
                || name.starts_with("AWS_ENDPOINT_URL_")
                || name == "AWS_CONFIG_FILE"
        })
        .collect();
    found.sort();
    found
}

impl Aws {
    /// Clients for the job's region. Only a build with the
    /// `testing-endpoint` feature (tests, the demo, the VM test's guest) has
    /// `[testing] aws_endpoint_url` (loopback only, checked by the config),
    /// which sends every call to an emulator; the shipped build has no such
    /// path, and refuses to start when the environment names another
    /// endpoint (the SDK would honour it).
    /// Resolves the credential chain once, so that a missing credential is
    /// one clear line instead of the same chain dump from every call.
    pub async fn credentials(&self) -> Result<(), NoCredentials> {
        use aws_sdk_s3::config::ProvideCredentials;
        let provider = self.credentials.as_ref().ok_or(NoCredentials)?;
        provider
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|e| {
                tracing::debug!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "credential chain");
                NoCredentials
            })
    }

    pub async fn from_config(config: &JobConfig) -> Result<Aws, EndpointOverride> {
        #[cfg(not(feature = "testing-endpoint"))]
        {
            let names = endpoint_overrides(std::env::vars_os().map(|(name, _)| name));
            if !names.is_empty() {
                return Err(EndpointOverride { names });
            }
        }
        let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(config.job.region.clone()));
        #[cfg(feature = "testing-endpoint")]
        let (loader, emulator) = match &config.testing {
            Some(testing) => {
                let url = &testing.aws_endpoint_url;
                tracing::warn!(endpoint = %url, "TEST MODE: every AWS call goes to an emulator");
                (loader.endpoint_url(url), true)
            }
            None => (loader, false),
        };
        #[cfg(not(feature = "testing-endpoint"))]
        let emulator = false;
        let shared = loader.load().await;
        let s3 = aws_sdk_s3::config::Builder::from(&shared)
            // Emulators serve buckets by path, not by virtual host.
            .force_path_style(emulator)
            .build();
        Ok(Aws {
            kms: aws_sdk_kms::Client::new(&shared),
            secrets: aws_sdk_secretsmanager::Client::new(&shared),
            s3: aws_sdk_s3::Client::from_conf(s3),
            logs: aws_sdk_cloudwatchlogs::Client::new(&shared),
            credentials: shared.credentials_provider(),
        })
    }
}

/// A new run id: time-ordered, unique enough for one bucket.
pub fn new_run_id() -> Result<String, EnvelopeError> {
    let mut random = [0u8; 4];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| EnvelopeError::Random)?;
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("run-{seconds}-{suffix}"))
}

/// Why a stage failed. Messages are safe for the run summary.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("preflight: {0}")]
    Key(#[source] EnvelopeError),
    #[error(
        "preflight: the report bucket {bucket} cannot be reached ({detail}); check that it exists \
         in the job's region and that the instance role may list it"
    )]
    Bucket { bucket: String, detail: String },
    #[error("session directory {}: {source}", dir.display())]
    Session {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("session database: {0}")]
    Cluster(#[from] ClusterError),
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    #[error("no target could be assessed")]
    NoTarget,
    #[error("rendering the {format} report: {detail}")]
    Render {
        format: &'static str,
        detail: String,
    },
    #[error("delivery: {0}; the session was wiped, run the job again to retry")]
    Deliver(#[from] DeliverError),
    #[error(transparent)]
    NoCredentials(#[from] NoCredentials),
    #[error("the run exceeded job.time_limit_minutes ({minutes} min)")]
    TimeLimit { minutes: u32 },
    #[error("wipe: {0}")]
    Wipe(#[from] WipeError),
}

impl RunError {
    fn exit_code(&self) -> u8 {
        match self {
            RunError::Key(_) | RunError::Bucket { .. } | RunError::NoCredentials(_) => {
                exit::PREFLIGHT
            }
            RunError::Deliver(_) => exit::DELIVERY,
            _ => exit::FAILED,
        }
    }
}

/// Why one target could not be assessed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{target}: no host: set `host` in the job config or in the secret")]
    NoHost { target: String },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Collect(#[from] CollectError),
}

/// How one stage went.
#[derive(Debug, Clone, Serialize)]
pub struct StageRecord {
    pub stage: &'static str,
    pub ok: bool,
    pub seconds: f64,
}

/// How one target went.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRecord {
    pub target: String,
    pub ok: bool,
    /// Why it failed (names the target and step, never data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub databases: usize,
    pub modules: usize,
    pub encrypted_modules: usize,
    pub job_steps: usize,
    /// Collection steps skipped for lack of permission.
    pub skipped_steps: usize,
    pub round_trips: u32,
    /// The TLS trust was disabled by the config (reported as a finding).
    pub dangerously_trusted_certificate: bool,
}

/// The machine-readable summary delivered beside the report (and alone on
/// failure). No customer data: counts, stage names, timings, errors.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub schema_version: u32,
    pub run_id: String,
    pub tool_version: &'static str,
    /// `succeeded`, `partial`, `failed` or `interrupted`.
    pub outcome: &'static str,
    pub exit_code: u8,
    pub started_unix: u64,
    pub seconds: f64,
    /// The Babelfish version assessed against.
    pub target_version: String,
    pub stages: Vec<StageRecord>,
    pub targets: Vec<TargetRecord>,
    pub findings: usize,
    pub findings_by_status: BTreeMap<String, usize>,
    /// Where the bundle (or this summary alone) was delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The session directory was wiped at the end.
    pub wiped: bool,
    /// Whether Landlock confined the run, and how (SECURITY.md, C37).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confinement: Option<Outcome>,
}

impl RunSummary {
    fn new(run_id: &str, target_version: String) -> RunSummary {
        RunSummary {
            schema_version: 1,
            run_id: run_id.to_owned(),
            tool_version: env!("CARGO_PKG_VERSION"),
            outcome: "failed",
            exit_code: exit::FAILED,
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            seconds: 0.0,
            target_version,
            stages: Vec::new(),
            targets: Vec::new(),
            findings: 0,
            findings_by_status: BTreeMap::new(),
            delivered_to: None,
            error: None,
            wiped: false,
            confinement: None,
        }
    }

    fn to_json(&self) -> Vec<u8> {
        // Serializing plain data into memory cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// What the analysis stage needs beside the config: the engine and the
/// catalog's display text for the report.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a> {
    pub analyzer: &'a Analyzer<'a>,
    pub features: &'a dyn FeatureCatalog,
    /// e.g. `babelfish-5.5`.
    pub target_name: &'a str,
    /// Babelfish settings chosen for the target (`report.settings`), for the
    /// report; the analyzer already applies them.
    pub settings: &'a [(String, String)],
    /// The effort calibration (`report.effort`), for the report; the
    /// analyzer and `features` already apply it.
    pub effort: Option<&'a crate::rules::EffortOverrides>,
}

/// Runs the whole job and returns its summary; the session is wiped on
/// every path. The summary is also delivered: with the report on success,
/// alone on failure (if the bucket can take it).
pub async fn run(
    config: &JobConfig,
    aws: &Aws,
    engine: Engine<'_>,
    run_id: &str,
    confinement: &Outcome,
) -> RunSummary {
    let started = Instant::now();
    let status = config
        .report
        .log_group
        .as_deref()
        .map(|group| StatusLog::new(aws.logs.clone(), group, run_id));
    if let Some(status) = &status {
        let line = StatusLine::Started {
            run_id: run_id.to_owned(),
            version: env!("CARGO_PKG_VERSION"),
        };
        status
            .send(&[line, StatusLine::of_confinement(confinement)])
            .await;
    }
    let mut summary = RunSummary::new(run_id, engine.target_name.to_owned());
    summary.confinement = Some(confinement.clone());
    let location = S3Location::new(&config.report.bucket, &config.report.prefix).join(run_id);
    let limit = Duration::from_secs(u64::from(config.job.time_limit_minutes) * 60);
    let stages = run_stages(config, aws, engine, run_id, &location, &mut summary);
    let result = match tokio::time::timeout(limit, stages).await {
        Ok(result) => result,
        Err(_) => Err(RunError::TimeLimit {
            minutes: config.job.time_limit_minutes,
        }),
    };
    // The stages future is gone by now, and with it every client; what is
    // left on disk goes here, on success and failure alike.
    let wipe_started = Instant::now();
    let wiped = wipe::wipe(&config.job.session_dir);
    summary.stages.push(StageRecord {
        stage: "wipe",
        ok: wiped.is_ok(),
        seconds: wipe_started.elapsed().as_secs_f64(),
    });
    summary.wiped = wiped.is_ok();
    let result = result.and_then(|entries| wiped.map(|_| entries).map_err(RunError::from));
    summary.seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(delivered) => {
            (summary.outcome, summary.exit_code) = completed_outcome(&summary.targets);
            finish_delivery(aws, config, run_id, &location, delivered, &mut summary).await;
        }
        Err(err) => {
            tracing::error!(error = %err, "run failed");
            summary.outcome = "failed";
            summary.exit_code = err.exit_code();
            summary.error = Some(err.to_string());
            deliver_failure_summary(aws, config, run_id, &location, &mut summary).await;
        }
    }
    if let Some(status) = &status {
        status.send(&StatusLine::of_summary(&summary)).await;
    }
    summary
}

/// The outcome of a run whose stages all completed: partial when a target
/// failed (the report covers the others).
fn completed_outcome(targets: &[TargetRecord]) -> (&'static str, u8) {
    if targets.iter().all(|t| t.ok) {
        ("succeeded", exit::OK)
    } else {
        ("partial", exit::PARTIAL)
    }
}

/// Completes a delivered bundle: the run summary, written now that the
/// session is wiped and the run timed, so it is the truth of the run, and
/// then the manifest over every file. If that fails the bundle has no
/// manifest, and the run failed at delivery.
async fn finish_delivery(
    aws: &Aws,
    config: &JobConfig,
    run_id: &str,
    location: &S3Location,
    mut entries: Vec<deliver::ManifestEntry>,
    summary: &mut RunSummary,
) {
    let kms_key_id = config.report_kms_key_id();
    let files = vec![(SUMMARY_FILE.to_owned(), summary.to_json())];
    let finished = match deliver::upload_files(&aws.s3, location, kms_key_id, files).await {
        Ok(summary_entry) => {
            entries.extend(summary_entry);
            deliver::put_manifest(&aws.s3, location, kms_key_id, run_id, entries).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = finished {
        let err = RunError::from(e);
        tracing::error!(error = %err, "run failed");
        summary.outcome = "failed";
        summary.exit_code = err.exit_code();
        summary.error = Some(err.to_string());
        summary.delivered_to = None;
    }
}

/// Delivers the summary alone, so the bucket says what happened. Best
/// effort: the failure being reported may be the bucket itself.
async fn deliver_failure_summary(
    aws: &Aws,
    config: &JobConfig,
    run_id: &str,
    location: &S3Location,
    summary: &mut RunSummary,
) {
    summary.delivered_to = Some(location.to_string());
    let files = vec![(SUMMARY_FILE.to_owned(), summary.to_json())];
    if let Err(e) = deliver::upload(
        &aws.s3,
        location,
        config.report_kms_key_id(),
        run_id,
        &files,
    )
    .await
    {
        tracing::warn!(error = %e, "the failure summary could not be delivered");
        summary.delivered_to = None;
    }
}

/// Times one stage into the summary.
struct Stopwatch {
    stage: &'static str,
    started: Instant,
}

impl Stopwatch {
    fn start(stage: &'static str) -> Stopwatch {
        tracing::info!(stage, "stage started");
        Stopwatch {
            stage,
            started: Instant::now(),
        }
    }

    fn record<T, E>(self, summary: &mut RunSummary, result: Result<T, E>) -> Result<T, E> {
        summary.stages.push(StageRecord {
            stage: self.stage,
            ok: result.is_ok(),
            seconds: self.started.elapsed().as_secs_f64(),
        });
        result
    }
}

async fn run_stages(
    config: &JobConfig,
    aws: &Aws,
    engine: Engine<'_>,
    run_id: &str,
    location: &S3Location,
    summary: &mut RunSummary,
) -> Result<Vec<deliver::ManifestEntry>, RunError> {
    let session_dir = &config.job.session_dir;

    // Preflight: a clean session, a usable key, a reachable bucket.
    let watch = Stopwatch::start("preflight");
    let preflight = preflight(config, aws, run_id).await;
    let key = watch.record(summary, preflight)?;

    let watch = Stopwatch::start("store");
    let opened = open_store(session_dir, &key, run_id).await;
    let (cluster, store) = watch.record(summary, opened)?;
    let result = stages_with_store(config, aws, engine, &store, location, summary).await;
    // Stop the server before the wipe deletes its files; a failure here is
    // handled by the wipe, which stops any cluster it finds.
    drop(store);
    if let Err(e) = cluster.stop() {
        tracing::warn!(error = %e, "stopping the session database failed; the wipe will retry");
    }
    drop(key);
    result
}

async fn preflight(config: &JobConfig, aws: &Aws, run_id: &str) -> Result<DataKey, RunError> {
    aws.credentials().await?;
    let dir = &config.job.session_dir;
    let report = wipe::prepare(dir)?;
    if !report.removed.is_empty() || report.stopped_cluster {
        tracing::warn!(%report, "destroyed a previous run's leftovers");
    }
    // The data key lives in this process only: its KMS-wrapped copy is never
    // written anywhere (a run never resumes, so nothing would read it back,
    // and the instance role may not call kms:Decrypt on it anyway). Once the
    // key is dropped, what was sealed under it is gone (crypto-shredding).
    let key = DataKey::generate(&aws.kms, &config.job.kms_key_id, run_id)
        .await
        .map_err(RunError::Key)?;
    aws.s3
        .head_bucket()
        .bucket(&config.report.bucket)
        .send()
        .await
        .map_err(|e| RunError::Bucket {
            bucket: config.report.bucket.clone(),
            detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        })?;
    Ok(key)
}

async fn open_store(
    session_dir: &Path,
    key: &DataKey,
    run_id: &str,
) -> Result<(Cluster, SessionStore), RunError> {
    let pg_root = session_dir.join("pg");
    let cluster = tokio::task::spawn_blocking(move || Cluster::create(&pg_root))
        .await
        .map_err(|e| RunError::Session {
            dir: session_dir.to_owned(),
            source: std::io::Error::other(e),
        })??;
    let sealer = key.sealer().map_err(RunError::Key)?;
    match SessionStore::open(&cluster, sealer, run_id).await {
        Ok(store) => Ok((cluster, store)),
        Err(e) => {
            let _ = cluster.stop();
            Err(e.into())
        }
    }
}

async fn stages_with_store(
    config: &JobConfig,
    aws: &Aws,
    engine: Engine<'_>,
    store: &SessionStore,
    location: &S3Location,
    summary: &mut RunSummary,
) -> Result<Vec<deliver::ManifestEntry>, RunError> {
    let watch = Stopwatch::start("collect");
    let collected = collect_all(config, aws, store, summary).await;
    watch.record(summary, collected)?;
    store.checkpoint("collect").await?;

    let watch = Stopwatch::start("analyze");
    let analyzed = analyze_stored(store, engine).await;
    let analysed = watch.record(summary, analyzed)?;
    store.checkpoint("analyze").await?;

    let watch = Stopwatch::start("report");
    let prepared = prepare_bundle(store, config, analysed, summary).await;
    let prepared = watch.record(summary, prepared)?;
    store.checkpoint("report").await?;

    // The report files now, each rendered and sent in turn; the run summary
    // and the manifest once the session is wiped (`finish_delivery`).
    let watch = Stopwatch::start("deliver");
    summary.delivered_to = Some(location.to_string());
    let delivered = deliver_bundle(aws, config, engine, location, prepared, &summary.run_id).await;
    if delivered.is_err() {
        summary.delivered_to = None;
    }
    let entries = watch.record(summary, delivered)?;
    store.checkpoint("deliver").await?;
    Ok(entries)
}

/// Uploads each file of the bundle, streamed as it renders, then the run's
/// query tables (before the manifest: a run whose manifest exists is in the
/// tables too). No rendered file is held whole: the report of 100,000
/// workload statements is hundreds of megabytes in its four formats.
async fn deliver_bundle(
    aws: &Aws,
    config: &JobConfig,
    engine: Engine<'_>,
    location: &S3Location,
    mut prepared: Prepared,
    run_id: &str,
) -> Result<Vec<deliver::ManifestEntry>, RunError> {
    // The uploads' key, which may be a central account's; the data keys
    // stay under job.kms_key_id.
    let kms = config.report_kms_key_id();
    let names = Format::ALL
        .iter()
        .map(|f| f.file_name())
        .chain([INVENTORY_FILE]);
    deliver::check_names(names)?;
    // One summary for the four formats and the query tables. It holds all
    // the renderers read of the analysed objects, so the stored ones go
    // before rendering (100,000 of them for a large workload).
    let report_summary = crate::report::summarize(&prepared.input(engine));
    prepared.objects = Vec::new();
    let input = prepared.input(engine);
    let mut entries = Vec::with_capacity(Format::ALL.len() + 1);
    for format in Format::ALL {
        let render = |w: &mut dyn std::io::Write| format.write_with(w, &input, &report_summary);
        let name = format.file_name().to_owned();
        entries.push(deliver::upload_rendered(&aws.s3, location, kms, name, &render).await?);
    }
    let inventory: BTreeMap<&str, &Inventory> = prepared
        .inventories
        .iter()
        .map(|i| (i.target.as_str(), i))
        .collect();
    let inventory = serde_json::to_vec_pretty(&inventory).map_err(|e| RunError::Render {
        format: "inventory",
        detail: format!("{:?}", e.classify()),
    })?;
    entries.push(
        deliver::upload_file(&aws.s3, location, kms, INVENTORY_FILE.to_owned(), inventory).await?,
    );
    // The run's date, UTC, from the report's own timestamp (RFC 3339).
    let run_date = prepared.generated_at.get(..10).unwrap_or("1970-01-01");
    let tables = crate::athena::Tables {
        run_id,
        run_date,
        findings: &prepared.findings,
        summary: &report_summary,
        inventories: &prepared.inventories,
    };
    let root = S3Location::new(&config.report.bucket, &config.report.prefix);
    deliver::upload_tables(&aws.s3, &root, kms, &tables).await?;
    Ok(entries)
}

/// Collects every target, at most `max_concurrent_targets` at once, and
/// stores each inventory and its code as it arrives.
async fn collect_all(
    config: &JobConfig,
    aws: &Aws,
    store: &SessionStore,
    summary: &mut RunSummary,
) -> Result<(), RunError> {
    let query_timeout = Duration::from_secs(u64::from(config.timeouts.query_seconds));
    let options = connect_options(config);
    let mut results = futures_util::stream::iter(config.targets.iter())
        .map(|target| async move {
            let result = collect_target(aws, target, options, query_timeout, config.limits).await;
            (target, result)
        })
        .buffer_unordered(usize::from(config.job.max_concurrent_targets.max(1)));
    let mut next_id = 0i64;
    while let Some((target, result)) = results.next().await {
        match result {
            Ok((inventory, workload)) => {
                let modules = modules_of(&inventory, &mut next_id);
                store.put_inventory(&inventory).await?;
                store.put_modules(&modules).await?;
                if let Some(workload) = &workload {
                    store.put_workload(workload).await?;
                }
                summary.targets.push(target_record(&inventory));
            }
            Err(e) => {
                tracing::error!(target = %target.name, error = %e, "target not assessed");
                summary.targets.push(TargetRecord {
                    target: target.name.clone(),
                    ok: false,
                    error: Some(e.to_string()),
                    databases: 0,
                    modules: 0,
                    encrypted_modules: 0,
                    job_steps: 0,
                    skipped_steps: 0,
                    round_trips: 0,
                    dangerously_trusted_certificate: TlsPolicy::from_config(&target.tls)
                        .is_dangerous(),
                });
            }
        }
    }
    summary.targets.sort_by(|a, b| a.target.cmp(&b.target));
    if summary.targets.iter().any(|t| t.ok) {
        Ok(())
    } else {
        Err(RunError::NoTarget)
    }
}

/// Connection settings from the job's timeouts.
pub(crate) fn connect_options(config: &JobConfig) -> ConnectOptions {
    ConnectOptions {
        timeout: Duration::from_secs(u64::from(config.timeouts.connect_seconds)),
        ..ConnectOptions::default()
    }
}

async fn collect_target(
    aws: &Aws,
    target: &Target,
    options: ConnectOptions,
    query_timeout: Duration,
    limits: Limits,
) -> Result<(Inventory, Option<CollectedWorkload>), TargetError> {
    let credentials = DbCredentials::fetch(&aws.secrets, &target.secret_id).await?;
    let mut client = connect_target(credentials, target, options).await?;
    let mut inventory = catalog::collect_with_options(
        &mut client,
        &target.name,
        &target.databases,
        query_timeout,
        limits,
        target.collect,
    )
    .await?;
    inventory.unverified_certificate = TlsPolicy::from_config(&target.tls).is_dangerous();
    // The workload opt-ins, on the same connection, for the databases the
    // catalog collection assessed; a refused source joins the inventory's
    // skipped steps.
    let workload = if target.workload.enabled() {
        let databases: Vec<String> = inventory.databases.iter().map(|d| d.name.clone()).collect();
        let workload = live_workload::collect_workload(
            &mut client,
            &target.name,
            &inventory.server.version,
            &databases,
            query_timeout,
            limits,
            target.workload,
        )
        .await?;
        inventory.skipped.extend(workload.skipped.iter().cloned());
        Some(workload)
    } else {
        None
    };
    Ok((inventory, workload))
}

/// Connects to the target with its TLS policy; the config's host and port
/// override the secret's. The credentials are dropped (and zeroized) once
/// the login is done.
pub(crate) async fn connect_target(
    credentials: DbCredentials,
    target: &Target,
    options: ConnectOptions,
) -> Result<connect::Client, TargetError> {
    if let Some(warning) = host_override_warning(target, credentials.host.as_deref()) {
        // The config's host only: the secret's value is not logged.
        tracing::warn!(target = %target.name, host = ?target.host, "{warning}");
    }
    let host = target
        .host
        .clone()
        .or(credentials.host.clone())
        .ok_or_else(|| TargetError::NoHost {
            target: target.name.clone(),
        })?;
    let endpoint = Endpoint {
        target: target.name.clone(),
        host,
        port: target.port.or(credentials.port).unwrap_or(1433),
        username: credentials.username.clone(),
        password: credentials.password.clone(),
        database: None,
    };
    drop(credentials);
    let policy = TlsPolicy::from_config(&target.tls);
    Ok(connect::connect(&endpoint, &policy, options).await?)
}

/// A warning when the job config's `host` overrides a *different* host in
/// the secret: the login's password then goes to the config's host, which
/// whoever writes the config (user data) chooses. Names neither host.
pub(crate) fn host_override_warning(target: &Target, secret_host: Option<&str>) -> Option<String> {
    let normal = |h: &str| h.trim_end_matches('.').to_ascii_lowercase();
    match (target.host.as_deref(), secret_host) {
        (Some(config), Some(secret)) if normal(config) != normal(secret) => Some(format!(
            "{}: the job config's host differs from the host in secret {}; the SQL Server \
             credentials are sent to the config's host. Check that it is the server the secret \
             belongs to, or remove `host` from the target to use the secret's",
            target.name, target.secret_id
        )),
        _ => None,
    }
}

/// The code of an inventory as store rows: module definitions and T-SQL job
/// steps, named `database.schema.name` and `msdb.job.step`.
fn modules_of(inventory: &Inventory, next_id: &mut i64) -> Vec<Module> {
    let mut modules = Vec::new();
    let mut push = |kind: &str, name: String, definition: &str| {
        modules.push(Module {
            id: *next_id,
            target: inventory.target.clone(),
            kind: kind.to_owned(),
            name,
            definition: definition.to_owned(),
        });
        *next_id += 1;
    };
    for db in &inventory.databases {
        for m in &db.modules {
            if let Some(definition) = &m.definition {
                push(
                    &m.kind,
                    format!("{}.{}.{}", db.name, m.schema, m.name),
                    definition,
                );
            }
        }
    }
    for step in &inventory.job_steps {
        if step.subsystem.eq_ignore_ascii_case("TSQL") {
            push(
                "JOB_STEP",
                format!("msdb.{}.step{}", step.job, step.step_id),
                &step.command,
            );
        }
    }
    modules
}

fn target_record(inventory: &Inventory) -> TargetRecord {
    let all_modules = || inventory.databases.iter().flat_map(|d| &d.modules);
    TargetRecord {
        target: inventory.target.clone(),
        ok: true,
        error: None,
        databases: inventory.databases.len(),
        modules: all_modules().count(),
        encrypted_modules: all_modules().filter(|m| m.definition.is_none()).count(),
        job_steps: inventory.job_steps.len(),
        skipped_steps: inventory.skipped.len(),
        round_trips: inventory.round_trips,
        dangerously_trusted_certificate: inventory.unverified_certificate,
    }
}

/// How much code the analysis read: counts only, no customer data.
#[derive(Debug, Clone, Default)]
struct Analysed {
    /// Modules, T-SQL job steps and distinct workload statements: each is
    /// one "file" of the report.
    files: usize,
    lines: u64,
    /// Supported constructs in them, by catalog feature id.
    supported: std::collections::BTreeMap<String, usize>,
}

/// Analyses the stored code and stores the findings.
async fn analyze_stored(store: &SessionStore, engine: Engine<'_>) -> Result<Analysed, RunError> {
    let modules = store.modules().await?;
    let mut analysed = Analysed {
        files: modules.len(),
        ..Analysed::default()
    };
    let mut findings = Vec::new();
    let mut objects: Vec<ObjectSummary> = Vec::new();
    let mut module_files = std::collections::HashSet::with_capacity(modules.len());
    for module in &modules {
        let file = module_file(&module.target, &module.name);
        let analysis = engine.analyzer.analyze_text(&file, &module.definition);
        module_files.insert(file);
        analysed.lines += analysis.lines;
        for (feature, n) in analysis.supported {
            *analysed.supported.entry(feature).or_default() += n;
        }
        findings.extend(analysis.findings);
        objects.extend(analysis.objects);
    }
    drop(modules);
    // What the catalog showed beyond code: CLR, linked servers, column
    // types, temporal tables, Agent jobs ...
    for inventory in store.inventories().await? {
        findings.extend(crate::analyze::inventory::findings(
            engine.analyzer,
            &inventory,
        ));
    }
    // The servers' workloads: each distinct normalised statement analysed
    // as its own pseudo-file, its findings weighted by use; the modules the
    // servers ran weighted by their execution statistics.
    let collected = store.workloads().await?;
    if !collected.is_empty() {
        let runs = module_runs(&collected, &module_files);
        let mut workload = crate::workload::Workload::new(crate::workload::Limits::default());
        for w in collected {
            w.add_into(&mut workload);
        }
        let summary = crate::workload::analyze_into(
            &workload,
            engine.analyzer,
            &runs,
            &mut findings,
            &mut objects,
        );
        analysed.files += workload.statements().len();
        drop(workload);
        store.put_workload_summary(summary).await?;
    }
    store.put_analysis(&findings, &objects).await?;
    Ok(analysed)
}

/// The file a module's findings name: server / database.schema.object.
fn module_file(target: &str, name: &str) -> String {
    format!("{target}/{name}.sql")
}

/// The modules the servers ran, by `sys.dm_exec_procedure_stats`, that were
/// analysed (`module_files`): an encrypted module, or one whose definition
/// was not collected, has no findings to weigh and is left out.
fn module_runs(
    collected: &[CollectedWorkload],
    module_files: &std::collections::HashSet<String>,
) -> Vec<crate::workload::ModuleRun> {
    collected
        .iter()
        .flat_map(|w| {
            w.modules.iter().map(|m| crate::workload::ModuleRun {
                file: module_file(
                    &w.target,
                    &format!("{}.{}.{}", m.database, m.schema, m.name),
                ),
                executions: m.executions,
                cpu_us: m.cpu_us,
                duration_us: m.duration_us,
            })
        })
        .filter(|run| module_files.contains(&run.file))
        .collect()
}

/// Source lines around the findings, per module, for the HTML report's
/// drill-down (read back from the store: the analysis kept no code).
fn excerpts_of(modules: &[Module], findings: &[Finding]) -> Vec<Excerpt> {
    let mut lines: HashMap<&str, Vec<u32>> = HashMap::new();
    for f in findings {
        lines.entry(f.file.as_str()).or_default().push(f.line);
    }
    modules
        .iter()
        .filter_map(|m| {
            let file = module_file(&m.target, &m.name);
            let at = lines.get(file.as_str())?;
            Excerpt::around(&file, &m.definition, at.iter().copied())
        })
        .collect()
}

/// The HTML report's view of each assessed server, with the findings of
/// each database counted. A finding belongs to the database its file names
/// (`SERVER/DATABASE` for catalog findings, `SERVER/DATABASE.schema.name.sql`
/// for code, see [`module_file`]); with dotted database names the longest
/// match wins.
fn server_overviews(inventories: &[Inventory], findings: &[Finding]) -> Vec<ServerOverview> {
    let mut servers: Vec<ServerOverview> = inventories
        .iter()
        .map(|inv| ServerOverview {
            target: inv.target.clone(),
            version: inv.server.version.clone(),
            edition: inv.server.edition.clone(),
            product_level: inv.server.product_level.clone(),
            collation: inv.server.collation.clone(),
            cpu_count: inv.server.cpu_count,
            memory_mb: inv.server.memory_mb,
            clustered: inv.server.is_clustered,
            hadr_enabled: inv.server.hadr_enabled,
            databases: inv
                .databases
                .iter()
                .map(|db| DatabaseOverview {
                    name: db.name.clone(),
                    compatibility_level: db.compatibility_level,
                    collation: db.collation.clone(),
                    recovery_model: db.recovery_model.clone(),
                    data_mb: db.data_mb,
                    log_mb: db.log_mb,
                    filter: format!("{}/{}", inv.target, db.name),
                    ..DatabaseOverview::default()
                })
                .collect(),
            not_collected: inv
                .skipped
                .iter()
                .map(|s| NotCollected {
                    step: s.step.clone(),
                    database: s.database.clone(),
                    reason: s.reason.clone(),
                    permission: s.permission.clone(),
                })
                .collect(),
        })
        .collect();
    for f in findings {
        let Some((target, rest)) = f.file.split_once('/') else {
            continue;
        };
        let Some(server) = servers.iter_mut().find(|s| s.target == target) else {
            continue;
        };
        let name =
            crate::athena::database_of(rest, server.databases.iter().map(|d| d.name.as_str()))
                .map(str::to_owned);
        if let Some(db) = server
            .databases
            .iter_mut()
            .find(|d| Some(&d.name) == name.as_ref())
        {
            db.findings.add(f.status);
        }
    }
    servers
}

/// What the report stage read back from the store: everything the bundle's
/// files are rendered from, held until the deliver stage has sent them.
struct Prepared {
    findings: Vec<Finding>,
    objects: Vec<ObjectSummary>,
    excerpts: Vec<Excerpt>,
    inventories: Vec<Inventory>,
    workload: Option<crate::workload::WorkloadSummary>,
    servers: Vec<ServerOverview>,
    inputs: Vec<String>,
    generated_at: String,
    analysed: Analysed,
}

impl Prepared {
    fn input<'a>(&'a self, engine: Engine<'a>) -> ReportInput<'a> {
        ReportInput {
            tool_version: env!("CARGO_PKG_VERSION"),
            target: engine.target_name,
            settings: engine.settings,
            inputs: &self.inputs,
            generated_at: Some(&self.generated_at),
            findings: &self.findings,
            objects: &self.objects,
            features: engine.features,
            files_analyzed: self.analysed.files,
            lines_analyzed: self.analysed.lines,
            // Module definitions come from the store as text: none is skipped.
            skipped: &[],
            workload: self.workload.as_ref(),
            excerpts: &self.excerpts,
            servers: &self.servers,
            supported: Some(&self.analysed.supported),
            effort_overrides: engine.effort,
        }
    }
}

/// Reads back what the report is made of, and counts the findings into the
/// run summary.
async fn prepare_bundle(
    store: &SessionStore,
    config: &JobConfig,
    analysed: Analysed,
    summary: &mut RunSummary,
) -> Result<Prepared, RunError> {
    let (findings, objects) = store.analysis().await?;
    let excerpts = excerpts_of(&store.modules().await?, &findings);
    let inventories = store.inventories().await?;
    let workload = store.workload_summary().await?;
    let servers = server_overviews(&inventories, &findings);
    summary.findings = findings.len();
    for f in &findings {
        *summary
            .findings_by_status
            .entry(f.status.as_str().to_owned())
            .or_default() += 1;
    }
    Ok(Prepared {
        findings,
        objects,
        excerpts,
        inventories,
        workload,
        servers,
        inputs: config.targets.iter().map(|t| t.name.clone()).collect(),
        generated_at: crate::report::timestamp::generated_at(),
        analysed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::inventory::{DatabaseInventory, JobStep, ModuleDef};
    use crate::findings::Status;

    #[test]
    fn endpoint_overrides_are_found_by_name() {
        let names = [
            "PATH",
            "AWS_ENDPOINT_URL_S3",
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_CONFIG_FILE",
            "AWS_ENDPOINT_URLX",
            "MY_AWS_ENDPOINT_URL",
        ]
        .map(std::ffi::OsString::from);
        assert_eq!(
            endpoint_overrides(names),
            ["AWS_CONFIG_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        );
        let error = EndpointOverride {
            names: vec!["AWS_ENDPOINT_URL".into()],
        };
        assert!(
            error.to_string().starts_with(
                "the environment sets AWS_ENDPOINT_URL, which would send every AWS call"
            )
        );
    }

    #[test]
    fn run_ids_are_unique_and_safe_as_s3_names() {
        let a = new_run_id().unwrap();
        let b = new_run_id().unwrap();
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
    }

    #[test]
    fn a_config_host_other_than_the_secrets_is_warned_about() {
        let target = |host: Option<&str>| -> Target {
            let host = host
                .map(|h| format!("host = \"{h}\"\n"))
                .unwrap_or_default();
            toml::from_str(&format!(
                "name = \"sql-01\"\nsecret_id = \"prod/sql-01\"\n{host}"
            ))
            .unwrap()
        };
        let warning =
            host_override_warning(&target(Some("10.0.0.9")), Some("sql-01.corp.example")).unwrap();
        assert!(
            warning.contains(
                "sql-01: the job config's host differs from the host in secret prod/sql-01"
            )
        );
        assert!(
            !warning.contains("10.0.0.9") && !warning.contains("corp.example"),
            "{warning}"
        );
        // Same host (case, trailing dot), or nothing to compare: no warning.
        for (config, secret) in [
            (Some("SQL-01.corp.example."), Some("sql-01.corp.example")),
            (None, Some("sql-01.corp.example")),
            (Some("10.0.0.9"), None),
        ] {
            assert_eq!(host_override_warning(&target(config), secret), None);
        }
    }

    #[test]
    fn modules_cover_definitions_and_tsql_job_steps_only() {
        let inventory = Inventory {
            target: "sql-01".into(),
            databases: vec![DatabaseInventory {
                name: "Sales".into(),
                modules: vec![
                    ModuleDef {
                        schema: "dbo".into(),
                        name: "p".into(),
                        kind: "SQL_STORED_PROCEDURE".into(),
                        encrypted: false,
                        definition: Some("CREATE PROCEDURE p AS SELECT 1".into()),
                    },
                    ModuleDef {
                        schema: "dbo".into(),
                        name: "secret".into(),
                        kind: "SQL_STORED_PROCEDURE".into(),
                        encrypted: true,
                        definition: None,
                    },
                ],
                ..DatabaseInventory::default()
            }],
            job_steps: vec![
                JobStep {
                    job: "nightly".into(),
                    step_id: 1,
                    subsystem: "TSQL".into(),
                    command: "EXEC p".into(),
                },
                JobStep {
                    job: "nightly".into(),
                    step_id: 2,
                    subsystem: "CmdExec".into(),
                    command: "dir".into(),
                },
            ],
            ..Inventory::default()
        };
        let mut next = 10;
        let modules = modules_of(&inventory, &mut next);
        let names: Vec<_> = modules.iter().map(|m| (m.id, m.name.as_str())).collect();
        assert_eq!(names, [(10, "Sales.dbo.p"), (11, "msdb.nightly.step1")]);
        assert_eq!(next, 12);
        let record = target_record(&inventory);
        assert_eq!((record.modules, record.encrypted_modules), (2, 1));
    }

    #[test]
    fn findings_are_counted_in_the_database_their_file_names() {
        let db = |name: &str| DatabaseInventory {
            name: name.into(),
            ..DatabaseInventory::default()
        };
        let inventory = Inventory {
            target: "sql-01".into(),
            databases: vec![db("Sales"), db("Sales.Archive"), db("Other")],
            ..Inventory::default()
        };
        let finding = |file: &str, status: Status| Finding {
            file: file.into(),
            line: 1,
            column: 1,
            object: None,
            feature: "f".into(),
            group: "g".into(),
            status,
            complexity: crate::findings::Complexity::Low,
            effort_minutes: 0,
            snippet: String::new(),
            in_dynamic_sql: false,
            workload: None,
        };
        let findings = [
            finding("sql-01/Sales.dbo.p.sql", Status::NotSupported),
            finding("sql-01/Sales", Status::ReviewManually),
            // The longer, dotted name wins over its prefix.
            finding("sql-01/Sales.Archive.dbo.q.sql", Status::NotSupported),
            // Another server's database of the same name, and a name that
            // only starts like one: neither counts here.
            finding("sql-02/Sales.dbo.p.sql", Status::NotSupported),
            finding("sql-01/SalesHistory.dbo.p.sql", Status::NotSupported),
        ];
        let servers = server_overviews(&[inventory], &findings);
        let counts: Vec<(&str, usize, usize)> = servers[0]
            .databases
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.findings.not_supported,
                    d.findings.review_manually,
                )
            })
            .collect();
        assert_eq!(
            counts,
            [("Sales", 1, 1), ("Sales.Archive", 1, 0), ("Other", 0, 0)]
        );
    }

    #[test]
    fn preflight_failures_have_their_own_exit_code() {
        let bucket = RunError::Bucket {
            bucket: "b".into(),
            detail: "NotFound".into(),
        };
        assert_eq!(bucket.exit_code(), exit::PREFLIGHT);
        assert_eq!(RunError::NoTarget.exit_code(), exit::FAILED);
    }
}
