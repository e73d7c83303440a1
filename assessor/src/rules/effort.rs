//! Effort calibration: the user's overrides of the catalog's estimates and
//! statuses (`assessor analyze --effort FILE.toml`, or the same keys under
//! `[report.effort]` in the appliance's job config).
//!
//! The catalog's per-occurrence and learning minutes are one team's guess;
//! a consultant calibrates them to the customer. The overrides file is
//! declarative data:
//!
//! ```toml
//! # Per-occurrence minutes by complexity, for features without their own.
//! [complexity]
//! low = 10
//! high = 480
//!
//! # Per feature (ids as in the catalog and the report); every key optional.
//! [feature."table_hint.nolock"]
//! status = "ignored"         # the customer accepts NOLOCK being ignored
//! effort_minutes = 0         # per occurrence
//! learning_minutes = 0       # once per report
//! ```
//!
//! Rules:
//! - A finding's `effort_minutes` is its feature's override, else its
//!   complexity's override, else the catalog's ([`EffortOverrides::effort_minutes`]).
//! - A feature's learning minutes are its override, else the catalog's.
//! - A status override replaces the status the catalog and the settings give
//!   on every target. It is applied where findings are made
//!   ([`crate::analyze::Analyzer::with_effort`]), so readiness, counts and
//!   `--fail-on` all see it; overriding to `supported` makes the construct
//!   a supported one (counted, not a finding), overriding a supported
//!   feature to another status makes its constructs findings.
//!
//! Validation is strict, and every problem is reported at once with its key
//! path and line: unknown keys, feature ids the catalog does not know,
//! unknown statuses or complexities, values that are not whole numbers from
//! 0 to [`MAX_MINUTES`].

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Catalog;
use crate::findings::{Complexity, Status};
use crate::report::{FeatureCatalog, FeatureText};

/// The largest number of minutes an override may give (about 1,667 hours,
/// for one occurrence or one lesson): more is a typo, not an estimate.
pub const MAX_MINUTES: u32 = 100_000;

/// The keys of a `[feature."id"]` table.
const FEATURE_KEYS: [&str; 3] = ["effort_minutes", "learning_minutes", "status"];

/// Why an overrides file was refused.
#[derive(Debug, thiserror::Error)]
pub enum EffortFileError {
    #[error(
        "cannot read the effort overrides file {path}: {source}; check the path and its permissions"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: {} problem(s) in the effort overrides, nothing assessed:\n{}",
        problems.len(),
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    Invalid {
        path: PathBuf,
        /// Each names its key path and line.
        problems: Vec<String>,
    },
}

/// One feature's overrides; `None` keeps the catalog's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeatureOverride {
    /// Minutes per occurrence.
    pub effort_minutes: Option<u32>,
    /// Minutes to learn the remediation, once per report.
    pub learning_minutes: Option<u32>,
    pub status: Option<Status>,
}

/// The overrides of one file, validated against the catalog. Serialised as
/// the report's `summary.effort_overrides` (docs/report-schema.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EffortOverrides {
    /// The file they were read from, as the user named it.
    pub file: String,
    /// How many values the file sets (each complexity, each feature key).
    pub overrides: usize,
    /// Per-occurrence minutes by complexity.
    pub complexity: BTreeMap<Complexity, u32>,
    /// By feature id.
    pub features: BTreeMap<String, FeatureOverride>,
}

impl EffortOverrides {
    /// Reads and validates an overrides file.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<EffortOverrides, EffortFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| EffortFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        EffortOverrides::parse(&text, &path.display().to_string(), catalog).map_err(|problems| {
            EffortFileError::Invalid {
                path: path.to_owned(),
                problems,
            }
        })
    }

    /// Parses and validates overrides text; `file` is what the report
    /// records. The error lists every problem, each with key path and line.
    pub fn parse(
        text: &str,
        file: &str,
        catalog: &Catalog,
    ) -> Result<EffortOverrides, Vec<String>> {
        let doc = DeTable::parse(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" (line {})", line_at(text, s.start)))
                .unwrap_or_default();
            vec![format!("not valid TOML{at}: {}", e.message())]
        })?;
        let mut p = Problems {
            text,
            list: Vec::new(),
        };
        let out = read(doc.get_ref(), "", file, catalog, &mut p);
        if p.list.is_empty() {
            Ok(out)
        } else {
            Err(p.list)
        }
    }

    /// The `[report.effort]` table of an appliance job config (`text`, read
    /// from `path`), with the same keys as an overrides file; `None`
    /// without one. Recorded as coming from `PATH [report.effort]`;
    /// problems name `report.effort.…` and the config's lines.
    pub fn from_job_config(
        text: &str,
        path: &Path,
        catalog: &Catalog,
    ) -> Result<Option<EffortOverrides>, EffortFileError> {
        let invalid = |problems| EffortFileError::Invalid {
            path: path.to_owned(),
            problems,
        };
        // A config that loaded is valid TOML; reported like any problem if not.
        let doc = DeTable::parse(text)
            .map_err(|e| invalid(vec![format!("not valid TOML: {}", e.message())]))?;
        let Some(report) = doc.get_ref().get("report") else {
            return Ok(None);
        };
        let Some(effort) = report.get_ref().as_table().and_then(|t| t.get("effort")) else {
            return Ok(None);
        };
        let mut p = Problems {
            text,
            list: Vec::new(),
        };
        let file = format!("{} [report.effort]", path.display());
        let out = p
            .table("report.effort", effort)
            .map(|table| read(table, "report.effort.", &file, catalog, &mut p));
        match out {
            Some(out) if p.list.is_empty() => Ok(Some(out)),
            _ => Err(invalid(p.list)),
        }
    }

    /// The status `feature` is given, if overridden.
    pub fn status(&self, feature: &str) -> Option<Status> {
        self.features.get(feature).and_then(|o| o.status)
    }

    /// Per-occurrence minutes for `feature` of `complexity`, if overridden:
    /// the feature's own override wins over its complexity's.
    pub fn effort_minutes(&self, feature: &str, complexity: Complexity) -> Option<u32> {
        self.features
            .get(feature)
            .and_then(|o| o.effort_minutes)
            .or_else(|| self.complexity.get(&complexity).copied())
    }

    /// Learning minutes for `feature`, if overridden.
    pub fn learning_minutes(&self, feature: &str) -> Option<u32> {
        self.features.get(feature).and_then(|o| o.learning_minutes)
    }
}

/// Reads the overrides in `table`, whose keys sit under `at` (`""` in an
/// overrides file, `"report.effort."` in a job config), into overrides
/// recorded as coming from `file`; problems go to `p`.
fn read(
    table: &DeTable<'_>,
    at: &str,
    file: &str,
    catalog: &Catalog,
    p: &mut Problems<'_>,
) -> EffortOverrides {
    let mut out = EffortOverrides {
        file: file.to_owned(),
        ..EffortOverrides::default()
    };
    for (key, value) in table {
        match key.get_ref().as_ref() {
            "complexity" => {
                let Some(table) = p.table(&format!("{at}complexity"), value) else {
                    continue;
                };
                for (word, minutes) in table {
                    let path = format!("{at}complexity.{}", word.get_ref());
                    let complexity = match word.get_ref().as_ref() {
                        "low" => Complexity::Low,
                        "medium" => Complexity::Medium,
                        "high" => Complexity::High,
                        other => {
                            p.say(
                                word.span(),
                                format!(
                                    "unknown complexity `{other}` in `{path}`: use low, medium or high"
                                ),
                            );
                            continue;
                        }
                    };
                    if let Some(m) = p.minutes(&path, minutes) {
                        out.complexity.insert(complexity, m);
                    }
                }
            }
            "feature" => {
                let Some(table) = p.table(&format!("{at}feature"), value) else {
                    continue;
                };
                for (id, body) in table {
                    let id_str: &str = id.get_ref().as_ref();
                    let path = format!("{at}feature.\"{id_str}\"");
                    if let Some(r) = catalog.retired(id_str) {
                        p.say(
                            id.span(),
                            format!(
                                "feature id `{id_str}` (`{path}`) was retired: what it reported \
                                 is now reported as {}; move the setting there",
                                r.replaced_by
                                    .iter()
                                    .map(|by| format!("`{by}`"))
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ),
                        );
                        continue;
                    }
                    if catalog.feature(id_str).is_none() {
                        p.say(
                            id.span(),
                            format!(
                                "unknown feature id `{id_str}` (`{path}`): use an id from the \
                                 rule catalog, as a report's `feature` column shows it"
                            ),
                        );
                        continue;
                    }
                    let Some(keys) = p.table(&path, body) else {
                        continue;
                    };
                    let mut o = FeatureOverride::default();
                    for (k, v) in keys {
                        let key_path = format!("{path}.{}", k.get_ref());
                        match k.get_ref().as_ref() {
                            "effort_minutes" => o.effort_minutes = p.minutes(&key_path, v),
                            "learning_minutes" => o.learning_minutes = p.minutes(&key_path, v),
                            "status" => o.status = p.status(&key_path, v),
                            other => p.say(
                                k.span(),
                                format!(
                                    "unknown key `{other}` in `{path}`: expected one of {}",
                                    FEATURE_KEYS.join(", ")
                                ),
                            ),
                        }
                    }
                    if keys.is_empty() {
                        p.say(
                            body.span(),
                            format!(
                                "`{path}` sets nothing: give effort_minutes, learning_minutes \
                                 or status, or remove it"
                            ),
                        );
                    }
                    out.overrides += [
                        o.effort_minutes.is_some(),
                        o.learning_minutes.is_some(),
                        o.status.is_some(),
                    ]
                    .into_iter()
                    .filter(|&set| set)
                    .count();
                    out.features.insert(id_str.to_owned(), o);
                }
            }
            other => p.say(
                key.span(),
                format!("unknown key `{at}{other}`: expected `complexity` or `feature`"),
            ),
        }
    }
    out.overrides += out.complexity.len();
    out
}

/// A feature catalog with the learning minutes of `effort` applied, so the
/// summary's learning time and the report's `feature_catalog` agree with
/// the overrides.
pub struct Calibrated<'a> {
    pub catalog: &'a dyn FeatureCatalog,
    pub effort: &'a EffortOverrides,
}

impl std::fmt::Debug for Calibrated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calibrated")
            .field("effort", self.effort)
            .finish_non_exhaustive()
    }
}

impl FeatureCatalog for Calibrated<'_> {
    fn feature_text(&self, id: &str) -> Option<FeatureText<'_>> {
        let mut text = self.catalog.feature_text(id)?;
        if let Some(m) = self.effort.learning_minutes(id) {
            text.learning_minutes = m;
        }
        Some(text)
    }
}

/// Problems found so far, with the text to turn spans into lines.
struct Problems<'t> {
    text: &'t str,
    list: Vec<String>,
}

impl Problems<'_> {
    fn say(&mut self, span: Range<usize>, problem: String) {
        self.list.push(format!(
            "{problem} (line {})",
            line_at(self.text, span.start)
        ));
    }

    /// The table at `path`, or a problem.
    fn table<'v, 'i>(
        &mut self,
        path: &str,
        value: &'v Spanned<DeValue<'i>>,
    ) -> Option<&'v DeTable<'i>> {
        let table = value.get_ref().as_table();
        if table.is_none() {
            self.say(
                value.span(),
                format!(
                    "`{path}` must be a table, not {}",
                    value.get_ref().type_str()
                ),
            );
        }
        table
    }

    /// A whole number of minutes from 0 to [`MAX_MINUTES`], or a problem.
    fn minutes(&mut self, path: &str, value: &Spanned<DeValue<'_>>) -> Option<u32> {
        let parsed = value
            .get_ref()
            .as_integer()
            .map(|i| i64::from_str_radix(i.as_str(), i.radix()));
        match parsed {
            Some(Ok(m)) if (0..=i64::from(MAX_MINUTES)).contains(&m) => {
                // In range, so it fits a u32.
                u32::try_from(m).ok()
            }
            Some(Ok(m)) if m < 0 => {
                self.say(
                    value.span(),
                    format!("`{path}` is negative ({m}): minutes are 0 or more"),
                );
                None
            }
            Some(_) => {
                self.say(
                    value.span(),
                    format!(
                        "`{path}` is more than {MAX_MINUTES} minutes: an estimate per occurrence \
                         or per feature, in minutes, not hours or a total"
                    ),
                );
                None
            }
            None => {
                self.say(
                    value.span(),
                    format!(
                        "`{path}` must be a whole number of minutes, not {}",
                        value.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }

    /// A status word, or a problem.
    fn status(&mut self, path: &str, value: &Spanned<DeValue<'_>>) -> Option<Status> {
        let word = value.get_ref().as_str();
        let status = word.and_then(Status::parse);
        if status.is_none() {
            let what = match word {
                Some(w) => format!("unknown status `{w}`"),
                None => format!(
                    "a status must be a string, not {}",
                    value.get_ref().type_str()
                ),
            };
            let all: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
            self.say(
                value.span(),
                format!("`{path}`: {what}; use one of {}", all.join(", ")),
            );
        }
        status
    }
}

/// The 1-based line of byte `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::shipped().expect("the shipped catalog loads")
    }

    #[test]
    fn a_valid_file_is_read_and_counted() {
        let text = "[complexity]\nlow = 10\nhigh = 480\n\n\
                    [feature.\"table_hint.nolock\"]\nstatus = \"ignored\"\neffort_minutes = 0\n";
        let o = EffortOverrides::parse(text, "calib.toml", &catalog()).unwrap();
        assert_eq!(o.overrides, 4);
        assert_eq!(o.status("table_hint.nolock"), Some(Status::Ignored));
        // The feature's own value wins over its complexity's.
        assert_eq!(
            o.effort_minutes("table_hint.nolock", Complexity::Low),
            Some(0)
        );
        assert_eq!(o.effort_minutes("other", Complexity::High), Some(480));
        assert_eq!(o.effort_minutes("other", Complexity::Medium), None);
        assert_eq!(o.learning_minutes("table_hint.nolock"), None);
    }

    #[test]
    fn a_retired_feature_id_names_where_its_setting_belongs_now() {
        let text = "[feature.\"column.generated_always\"]\neffort_minutes = 5\n";
        let problems = EffortOverrides::parse(text, "calib.toml", &catalog()).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("`column.generated_always`")
                && problems[0].contains("retired")
                && problems[0].contains("`ddl.temporal.create_table`")
                && problems[0].ends_with("(line 1)"),
            "{problems:#?}"
        );
    }

    #[test]
    fn every_problem_is_named_with_key_path_and_line() {
        let text = "colour = 1\n\
                    [complexity]\n\
                    low = -5\n\
                    extreme = 3\n\
                    high = 100001\n\
                    medium = 1.5\n\
                    [feature.\"no.such.feature\"]\n\
                    status = \"ignored\"\n\
                    [feature.\"table_hint.nolock\"]\n\
                    status = \"fine\"\n\
                    minutes = 3\n";
        let problems = EffortOverrides::parse(text, "f", &catalog()).unwrap_err();
        let expect = [
            "unknown key `colour`: expected `complexity` or `feature` (line 1)",
            "`complexity.low` is negative (-5): minutes are 0 or more (line 3)",
            "unknown complexity `extreme` in `complexity.extreme`: use low, medium or high (line 4)",
            "`complexity.high` is more than 100000 minutes",
            "`complexity.medium` must be a whole number of minutes, not float (line 6)",
            "unknown feature id `no.such.feature` (`feature.\"no.such.feature\"`)",
            "`feature.\"table_hint.nolock\".status`: unknown status `fine`; use one of",
            "unknown key `minutes` in `feature.\"table_hint.nolock\"`: expected one of \
             effort_minutes, learning_minutes, status (line 11)",
        ];
        for e in expect {
            assert!(
                problems.iter().any(|p| p.contains(e)),
                "missing {e:?} in {problems:#?}"
            );
        }
        assert!(
            problems
                .iter()
                .any(|p| p.ends_with("(line 5)") && p.contains("high"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.ends_with("(line 7)") && p.contains("no.such"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.ends_with("(line 10)") && p.contains("fine"))
        );
        assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    }

    #[test]
    fn a_job_config_takes_the_same_keys_under_report_effort() {
        let path = Path::new("job.toml");
        let config = "[job]\nregion = \"eu-west-1\"\n\n[report]\nbucket = \"b\"\n\n\
                      [report.effort]\ncomplexity = { medium = 20 }\n\
                      feature.\"table_hint.nolock\" = { status = \"ignored\" }\n";
        let o = EffortOverrides::from_job_config(config, path, &catalog())
            .unwrap()
            .unwrap();
        assert_eq!(o.file, "job.toml [report.effort]");
        assert_eq!(o.overrides, 2);
        assert_eq!(o.effort_minutes("x", Complexity::Medium), Some(20));
        assert_eq!(o.status("table_hint.nolock"), Some(Status::Ignored));

        let none = EffortOverrides::from_job_config("[report]\nbucket = \"b\"\n", path, &catalog());
        assert_eq!(none.unwrap(), None);

        let bad = config
            .replace("medium = 20", "medium = -20")
            .replace("ignored", "maybe");
        let e = EffortOverrides::from_job_config(&bad, path, &catalog())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("job.toml: 2 problem(s)"), "{e}");
        assert!(
            e.contains("`report.effort.complexity.medium` is negative (-20): minutes are 0 or more (line 8)"),
            "{e}"
        );
        assert!(
            e.contains(
                "`report.effort.feature.\"table_hint.nolock\".status`: unknown status `maybe`"
            ),
            "{e}"
        );
        assert!(e.contains("(line 9)"), "{e}");
    }

    #[test]
    fn broken_toml_is_refused_with_its_line() {
        let problems =
            EffortOverrides::parse("[complexity]\nlow = \n", "f", &catalog()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("not valid TOML (line 2)"),
            "{problems:?}"
        );
    }
}
