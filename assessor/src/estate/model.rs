//! The estate model: what `estate.json` holds, computed from verified
//! bundles.
//!
//! Guarantees:
//! - Only the fields named by the `*Doc` types are read from a bundle;
//!   anything else in it is ignored, and a file that does not have that
//!   shape is an [`EstateError::BadFile`] naming the bundle and the file.
//! - Code with the same fingerprint (`code_sha256`, 64 hex digits; any other
//!   value counts as no fingerprint) is counted once in the estate's effort:
//!   the largest effort among its copies (copies assessed under other
//!   settings may differ); every copy is listed in [`SharedCode::locations`].
//! - Output is deterministic: sorted, no clock, no hash-map order.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::EstateError;
use super::read::{REPORT_FILE, VerifiedBundle};
use crate::bundle::{INVENTORY_FILE, SUMMARY_FILE};
use crate::findings::{ObjectRef, Status};

/// The version of the `estate.json` format.
pub const ESTATE_SCHEMA_VERSION: u32 = 1;

/// The version of the manifest and run summary this assessor writes.
pub const BUNDLE_SCHEMA_VERSION: u32 = 1;

/// The database of server-level findings (linked servers, logins...).
pub const SERVER_LEVEL: &str = "(server)";

// ---- What is read from a bundle -------------------------------------------

#[derive(Deserialize)]
struct VersionDoc {
    schema_version: u32,
    tool: ToolDoc,
}

#[derive(Deserialize)]
struct ToolDoc {
    version: String,
}

#[derive(Deserialize)]
struct ReportDoc {
    target: String,
    summary: SummaryDoc,
    #[serde(default)]
    feature_catalog: BTreeMap<String, CatalogDoc>,
    findings: Vec<FindingDoc>,
}

#[derive(Deserialize)]
struct SummaryDoc {
    objects: Vec<ObjectDoc>,
}

#[derive(Deserialize)]
struct ObjectDoc {
    file: String,
    object: Option<ObjectRef>,
    ready: bool,
    effort_minutes: u64,
    #[serde(default)]
    code_sha256: Option<String>,
}

#[derive(Deserialize)]
struct CatalogDoc {
    title: String,
    #[serde(default)]
    learning_minutes: u32,
}

#[derive(Deserialize)]
struct FindingDoc {
    file: String,
    object: Option<ObjectRef>,
    feature: String,
    status: Status,
}

#[derive(Deserialize)]
struct RunSummaryDoc {
    schema_version: u32,
    run_id: String,
    tool_version: String,
    outcome: String,
    #[serde(default)]
    targets: Vec<TargetDoc>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct TargetDoc {
    target: String,
    ok: bool,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct InventoryDoc {
    #[serde(default)]
    databases: Vec<DatabaseDoc>,
}

#[derive(Deserialize)]
struct DatabaseDoc {
    name: String,
}

// ---- estate.json ----------------------------------------------------------

/// The whole estate report.
#[derive(Debug, Clone, Serialize)]
pub struct Estate {
    pub schema_version: u32,
    pub tool: Tool,
    pub summary: EstateSummary,
    pub bundles: Vec<BundleRow>,
    pub servers: Vec<ServerRow>,
    pub blockers: Vec<BlockerRow>,
    pub shared_code: Vec<SharedCode>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EstateSummary {
    pub bundles: usize,
    pub failed_runs: usize,
    pub mixed_version_bundles: usize,
    pub servers: usize,
    pub databases: usize,
    pub objects_total: usize,
    pub objects_ready: usize,
    pub readiness_percent: Option<f64>,
    pub effort: EstateEffort,
    /// Fingerprints found in more than one place.
    pub shared_code_groups: usize,
    /// Distinct blocker features.
    pub blocker_features: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EstateEffort {
    /// Every object's effort as its server's report states it, summed.
    pub remediation_minutes_reported: u64,
    /// The same with shared code counted once.
    pub remediation_minutes: u64,
    /// `remediation_minutes_reported - remediation_minutes`.
    pub shared_code_minutes_saved: u64,
    /// Once per feature found anywhere in the estate.
    pub learning_minutes: u64,
    /// `remediation_minutes + learning_minutes`.
    pub minutes: u64,
    pub hours: f64,
    pub person_days: f64,
}

/// One bundle merged.
#[derive(Debug, Clone, Serialize)]
pub struct BundleRow {
    /// The folder or `s3://` location given.
    pub source: String,
    pub run_id: String,
    /// `succeeded`, `partial`, `failed`, ... as the run summary says
    /// (`unknown` without one).
    pub outcome: String,
    pub tool_version: String,
    /// The Babelfish version assessed against (`null` for a failed run).
    pub babelfish_target: Option<String>,
    pub servers: usize,
    /// Why its versions differ from this assessor's (merged only with
    /// `--allow-mixed-versions`).
    pub version_mismatch: Option<String>,
    /// The run's error, for a failed run.
    pub error: Option<String>,
    pub failed_targets: Vec<FailedTarget>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedTarget {
    pub target: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Readiness {
    pub objects_total: usize,
    pub objects_ready: usize,
    pub readiness_percent: Option<f64>,
    pub effort_minutes: u64,
    /// `not_supported` findings.
    pub blockers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerRow {
    pub server: String,
    pub run_id: String,
    pub source: String,
    pub babelfish_target: String,
    pub version_mismatch: bool,
    #[serde(flatten)]
    pub readiness: Readiness,
    pub databases: Vec<DatabaseRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseRow {
    pub database: String,
    #[serde(flatten)]
    pub readiness: Readiness,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockerRow {
    pub feature: String,
    pub title: String,
    pub servers: usize,
    pub databases: usize,
    pub objects: usize,
    pub occurrences: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SharedCode {
    pub code_sha256: String,
    pub copies: usize,
    pub servers: usize,
    /// Counted once in the estate's effort.
    pub effort_minutes: u64,
    /// What counting it once saves.
    pub saved_minutes: u64,
    pub locations: Vec<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub server: String,
    pub database: String,
    pub file: String,
    pub object: Option<ObjectRef>,
}

// ---- Reading ----------------------------------------------------------------

/// A bundle's parts, read and version-checked.
pub struct Parsed {
    bundle: BundleRow,
    report: Option<ReportDoc>,
    /// Target -> its database names.
    databases: BTreeMap<String, Vec<String>>,
}

fn parse<'a, T: Deserialize<'a>>(
    bundle: &VerifiedBundle,
    file: &str,
    bytes: &'a [u8],
) -> Result<T, EstateError> {
    serde_json::from_slice(bytes).map_err(|e| EstateError::BadFile {
        bundle: bundle.source.clone(),
        file: file.to_owned(),
        detail: e.to_string(),
    })
}

/// Reads a verified bundle's report, inventory and run summary, and
/// refuses (or, with `allow_mixed`, flags) one of other versions.
pub fn read_parts(bundle: &VerifiedBundle, allow_mixed: bool) -> Result<Parsed, EstateError> {
    let this = env!("CARGO_PKG_VERSION");
    let summary: Option<RunSummaryDoc> = bundle
        .files
        .get(SUMMARY_FILE)
        .map(|b| parse(bundle, SUMMARY_FILE, b))
        .transpose()?;
    let report_bytes = bundle.files.get(REPORT_FILE);
    if report_bytes.is_none() && summary.is_none() {
        return Err(EstateError::BadFile {
            bundle: bundle.source.clone(),
            file: crate::bundle::MANIFEST.to_owned(),
            detail: format!("it lists neither {REPORT_FILE} nor {SUMMARY_FILE}"),
        });
    }
    let mut mismatch = Vec::new();
    if bundle.manifest.schema_version != BUNDLE_SCHEMA_VERSION {
        mismatch.push(format!(
            "manifest schema {} (this assessor reads {BUNDLE_SCHEMA_VERSION})",
            bundle.manifest.schema_version
        ));
    }
    let mut tool_version = String::new();
    if let Some(s) = &summary {
        tool_version.clone_from(&s.tool_version);
        if s.schema_version != BUNDLE_SCHEMA_VERSION {
            mismatch.push(format!(
                "run summary schema {} (this assessor reads {BUNDLE_SCHEMA_VERSION})",
                s.schema_version
            ));
        }
    }
    if let Some(bytes) = report_bytes {
        let v: VersionDoc = parse(bundle, REPORT_FILE, bytes)?;
        tool_version = v.tool.version;
        if v.schema_version != crate::report::json::SCHEMA_VERSION {
            mismatch.push(format!(
                "report schema {} (this assessor reads {})",
                v.schema_version,
                crate::report::json::SCHEMA_VERSION
            ));
        }
    }
    // The rule catalog is compiled into the assessor: its version names it.
    if tool_version != this {
        mismatch.push(format!(
            "catalog of assessor {tool_version} (this is assessor {this})"
        ));
    }
    let version_mismatch = (!mismatch.is_empty()).then(|| mismatch.join(", "));
    if let Some(detail) = &version_mismatch
        && !allow_mixed
    {
        return Err(EstateError::MixedVersion {
            bundle: bundle.source.clone(),
            detail: detail.clone(),
        });
    }
    let report: Option<ReportDoc> = report_bytes
        .map(|b| parse(bundle, REPORT_FILE, b))
        .transpose()?;
    let inventory: BTreeMap<String, InventoryDoc> = bundle
        .files
        .get(INVENTORY_FILE)
        .map(|b| parse(bundle, INVENTORY_FILE, b))
        .transpose()?
        .unwrap_or_default();
    let mut databases: BTreeMap<String, Vec<String>> = inventory
        .into_iter()
        .map(|(target, inv)| (target, inv.databases.into_iter().map(|d| d.name).collect()))
        .collect();
    let (outcome, error, failed_targets) = match &summary {
        Some(s) => {
            for t in s.targets.iter().filter(|t| t.ok) {
                databases.entry(t.target.clone()).or_default();
            }
            (
                s.outcome.clone(),
                s.error.clone(),
                s.targets
                    .iter()
                    .filter(|t| !t.ok)
                    .map(|t| FailedTarget {
                        target: t.target.clone(),
                        error: t.error.clone(),
                    })
                    .collect(),
            )
        }
        None => ("unknown".to_owned(), None, Vec::new()),
    };
    let run_id = summary
        .as_ref()
        .map_or_else(|| bundle.manifest.run_id.clone(), |s| s.run_id.clone());
    Ok(Parsed {
        bundle: BundleRow {
            source: bundle.source.clone(),
            run_id,
            outcome,
            tool_version,
            babelfish_target: report.as_ref().map(|r| r.target.clone()),
            servers: 0,
            version_mismatch,
            error,
            failed_targets,
        },
        report,
        databases,
    })
}

impl Parsed {
    /// The run id (from the run summary, else the manifest).
    pub fn run_id(&self) -> &str {
        &self.bundle.run_id
    }
}

/// `Debug` names the bundle only: the rest is customer metadata.
impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parsed")
            .field("source", &self.bundle.source)
            .finish_non_exhaustive()
    }
}

// ---- Merging ----------------------------------------------------------------

/// Where a report's `file` belongs: (server, database).
fn place(file: &str, databases: &BTreeMap<String, Vec<String>>) -> (String, String) {
    // The longest target name that prefixes the path: names may hold '/'.
    let server = databases
        .keys()
        .filter(|t| {
            file.strip_prefix(t.as_str())
                .is_some_and(|r| r.starts_with('/'))
        })
        .max_by_key(|t| t.len());
    let Some(server) = server else {
        let (server, rest) = file.split_once('/').unwrap_or(("(unknown)", file));
        return (server.to_owned(), first_part(rest));
    };
    let rest = file.get(server.len() + 1..).unwrap_or_default();
    // Modules are `db.schema.name.sql`, catalog findings `db`: the longest
    // database name of the inventory that fits (names may hold '.').
    let database = databases
        .get(server)
        .into_iter()
        .flatten()
        .filter(|db| {
            rest == db.as_str()
                || rest
                    .strip_prefix(db.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
        .max_by_key(|db| db.len())
        .cloned()
        .unwrap_or_else(|| first_part(rest));
    (server.clone(), database)
}

/// The part of `rest` before its first '.', or all of it.
fn first_part(rest: &str) -> String {
    rest.split_once('.').map_or(rest, |(db, _)| db).to_owned()
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn percent(part: usize, total: usize) -> Option<f64> {
    (total > 0).then(|| round1(part as f64 * 100.0 / total as f64))
}

impl Readiness {
    fn add_object(&mut self, ready: bool, effort: u64) {
        self.objects_total += 1;
        self.objects_ready += usize::from(ready);
        self.effort_minutes = self.effort_minutes.saturating_add(effort);
    }

    fn finish(&mut self) {
        self.readiness_percent = percent(self.objects_ready, self.objects_total);
    }
}

#[derive(Default)]
struct BlockerAcc {
    title: String,
    servers: BTreeSet<String>,
    databases: BTreeSet<(String, String)>,
    objects: BTreeSet<(String, String, Option<ObjectRef>)>,
    occurrences: usize,
}

/// Merges parsed bundles into the estate.
pub fn merge(parts: Vec<Parsed>) -> Estate {
    let mut bundles = Vec::new();
    let mut servers: Vec<ServerRow> = Vec::new();
    let mut blockers: BTreeMap<String, BlockerAcc> = BTreeMap::new();
    let mut shared: BTreeMap<String, Vec<(Location, u64)>> = BTreeMap::new();
    let mut learning: BTreeMap<String, u32> = BTreeMap::new();
    let mut reported: u64 = 0;
    let mut unshared: u64 = 0;
    let mut total = Readiness::default();
    for part in parts {
        let mut bundle = part.bundle;
        let Some(report) = part.report else {
            bundles.push(bundle);
            continue;
        };
        let mut rows: BTreeMap<String, (Readiness, BTreeMap<String, Readiness>)> = BTreeMap::new();
        for o in &report.summary.objects {
            let (server, database) = place(&o.file, &part.databases);
            let (srv, dbs) = rows.entry(server.clone()).or_default();
            srv.add_object(o.ready, o.effort_minutes);
            dbs.entry(database.clone())
                .or_default()
                .add_object(o.ready, o.effort_minutes);
            total.add_object(o.ready, o.effort_minutes);
            reported = reported.saturating_add(o.effort_minutes);
            match o.code_sha256.as_deref().filter(|h| is_fingerprint(h)) {
                Some(hash) => shared.entry(hash.to_ascii_lowercase()).or_default().push((
                    Location {
                        server,
                        database,
                        file: o.file.clone(),
                        object: o.object.clone(),
                    },
                    o.effort_minutes,
                )),
                None => unshared = unshared.saturating_add(o.effort_minutes),
            }
        }
        for f in &report.findings {
            if let Some(info) = report.feature_catalog.get(&f.feature) {
                learning
                    .entry(f.feature.clone())
                    .or_insert(info.learning_minutes);
            } else {
                learning.entry(f.feature.clone()).or_insert(0);
            }
            if !f.status.is_blocker() {
                continue;
            }
            let (server, database) = place(&f.file, &part.databases);
            let (srv, dbs) = rows.entry(server.clone()).or_default();
            srv.blockers += 1;
            dbs.entry(database.clone()).or_default().blockers += 1;
            let acc = blockers.entry(f.feature.clone()).or_default();
            if acc.title.is_empty() {
                acc.title = report
                    .feature_catalog
                    .get(&f.feature)
                    .map_or_else(|| f.feature.clone(), |c| c.title.clone());
            }
            acc.occurrences += 1;
            acc.servers.insert(server.clone());
            acc.databases.insert((server.clone(), database));
            acc.objects
                .insert((server, f.file.clone(), f.object.clone()));
        }
        bundle.servers = rows.len();
        for (server, (mut readiness, dbs)) in rows {
            readiness.finish();
            servers.push(ServerRow {
                server,
                run_id: bundle.run_id.clone(),
                source: bundle.source.clone(),
                babelfish_target: report.target.clone(),
                version_mismatch: bundle.version_mismatch.is_some(),
                readiness,
                databases: dbs
                    .into_iter()
                    .map(|(database, mut readiness)| {
                        readiness.finish();
                        DatabaseRow {
                            database,
                            readiness,
                        }
                    })
                    .collect(),
            });
        }
        bundles.push(bundle);
    }

    let mut once: u64 = 0;
    let mut shared_code = Vec::new();
    for (hash, copies) in shared {
        let effort = copies.iter().map(|(_, e)| *e).max().unwrap_or(0);
        once = once.saturating_add(effort);
        if copies.len() < 2 {
            continue;
        }
        let sum: u64 = copies.iter().map(|(_, e)| *e).sum();
        let mut locations: Vec<Location> = copies.into_iter().map(|(l, _)| l).collect();
        locations.sort();
        let servers = locations
            .iter()
            .map(|l| &l.server)
            .collect::<BTreeSet<_>>()
            .len();
        shared_code.push(SharedCode {
            code_sha256: hash,
            copies: locations.len(),
            servers,
            effort_minutes: effort,
            saved_minutes: sum.saturating_sub(effort),
            locations,
        });
    }
    shared_code.sort_by(|a, b| {
        b.saved_minutes
            .cmp(&a.saved_minutes)
            .then(b.copies.cmp(&a.copies))
            .then(a.code_sha256.cmp(&b.code_sha256))
    });

    let mut blockers: Vec<BlockerRow> = blockers
        .into_iter()
        .map(|(feature, acc)| BlockerRow {
            feature,
            title: acc.title,
            servers: acc.servers.len(),
            databases: acc.databases.len(),
            objects: acc.objects.len(),
            occurrences: acc.occurrences,
        })
        .collect();
    blockers.sort_by(|a, b| {
        b.servers
            .cmp(&a.servers)
            .then(b.databases.cmp(&a.databases))
            .then(b.objects.cmp(&a.objects))
            .then(b.occurrences.cmp(&a.occurrences))
            .then(a.feature.cmp(&b.feature))
    });
    servers.sort_by(|a, b| (&a.server, &a.run_id).cmp(&(&b.server, &b.run_id)));
    bundles.sort_by(|a, b| (&a.run_id, &a.source).cmp(&(&b.run_id, &b.source)));

    let remediation = unshared.saturating_add(once);
    let learning: u64 = learning.values().map(|&m| u64::from(m)).sum();
    let minutes = remediation.saturating_add(learning);
    let hours = round1(minutes as f64 / 60.0);
    total.finish();
    let summary = EstateSummary {
        bundles: bundles.len(),
        failed_runs: bundles.iter().filter(|b| b.outcome == "failed").count(),
        mixed_version_bundles: bundles
            .iter()
            .filter(|b| b.version_mismatch.is_some())
            .count(),
        servers: servers
            .iter()
            .map(|s| &s.server)
            .collect::<BTreeSet<_>>()
            .len(),
        databases: servers
            .iter()
            .flat_map(|s| s.databases.iter().map(move |d| (&s.server, &d.database)))
            .collect::<BTreeSet<_>>()
            .len(),
        objects_total: total.objects_total,
        objects_ready: total.objects_ready,
        readiness_percent: total.readiness_percent,
        effort: EstateEffort {
            remediation_minutes_reported: reported,
            remediation_minutes: remediation,
            shared_code_minutes_saved: reported.saturating_sub(remediation),
            learning_minutes: learning,
            minutes,
            hours,
            person_days: round1(hours / 8.0),
        },
        shared_code_groups: shared_code.len(),
        blocker_features: blockers.len(),
    };
    Estate {
        schema_version: ESTATE_SCHEMA_VERSION,
        tool: Tool {
            name: crate::report::json::TOOL_NAME,
            version: env!("CARGO_PKG_VERSION"),
        },
        summary,
        bundles,
        servers,
        blockers,
        shared_code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_placed_by_the_longest_known_server_and_database() {
        let mut dbs = BTreeMap::new();
        dbs.insert("sql".to_owned(), vec!["A".to_owned()]);
        dbs.insert(
            "sql/eu".to_owned(),
            vec!["Sales".to_owned(), "Sales.Archive".to_owned()],
        );
        let at = |f: &str| place(f, &dbs);
        assert_eq!(at("sql/A.dbo.p.sql"), ("sql".into(), "A".into()));
        assert_eq!(
            at("sql/eu/Sales.Archive.dbo.p.sql"),
            ("sql/eu".into(), "Sales.Archive".into())
        );
        assert_eq!(at("sql/eu/Sales"), ("sql/eu".into(), "Sales".into()));
        assert_eq!(
            at("sql/eu/(server)"),
            ("sql/eu".into(), SERVER_LEVEL.into())
        );
        assert_eq!(at("other/x.y.z.sql"), ("other".into(), "x".into()));
    }
}
