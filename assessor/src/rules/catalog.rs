//! The rule catalog: features, their groups, statuses per Babelfish version,
//! complexity, effort and detection patterns, loaded from TOML data files.
//!
//! Guarantees: a [`Catalog`] is only built from data that passed validation:
//! unique feature ids, known statuses, complexities and versions, at least
//! one status and one pattern per feature, well-formed patterns, and the two
//! fallback features ([`UNPARSED_FEATURE`], [`SQLCMD_FEATURE`]) present with
//! `review_manually` status everywhere. Errors name the file and the feature.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Deserialize;

use super::checks::Check;
use super::pattern::{self, Anchor, Condition, Glob, Pattern, Simple};
use super::settings::{self, Effect, SettingDef, SettingError, Settings};
use super::version::Version;
use crate::findings::{Complexity, Status};

/// Feature used for code the parser could not understand.
pub const UNPARSED_FEATURE: &str = "code.unparsed";
/// Feature used for sqlcmd directives no more specific feature covers.
pub const SQLCMD_FEATURE: &str = "sqlcmd.other";

/// The catalog files shipped in the crate, in load order.
const SHIPPED: &[(&str, &str)] = &[
    ("versions.toml", include_str!("../../rules/versions.toml")),
    ("functions.toml", include_str!("../../rules/functions.toml")),
    (
        "global_variables.toml",
        include_str!("../../rules/global_variables.toml"),
    ),
    (
        "data_types.toml",
        include_str!("../../rules/data_types.toml"),
    ),
    (
        "statements.toml",
        include_str!("../../rules/statements.toml"),
    ),
    ("ddl.toml", include_str!("../../rules/ddl.toml")),
    (
        "set_options.toml",
        include_str!("../../rules/set_options.toml"),
    ),
    ("server.toml", include_str!("../../rules/server.toml")),
    ("databases.toml", include_str!("../../rules/databases.toml")),
    ("hints.toml", include_str!("../../rules/hints.toml")),
    ("clauses.toml", include_str!("../../rules/clauses.toml")),
    (
        "catalog_views.toml",
        include_str!("../../rules/catalog_views.toml"),
    ),
    (
        "system_procedures.toml",
        include_str!("../../rules/system_procedures.toml"),
    ),
    (
        "deployment.toml",
        include_str!("../../rules/deployment.toml"),
    ),
    ("settings.toml", include_str!("../../rules/settings.toml")),
    (
        "docs_pages.toml",
        include_str!("../../rules/docs_pages.toml"),
    ),
];

/// Why a catalog could not be loaded. Always names the file, and the
/// feature id when the problem is inside a feature.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("rule catalog {file}: not valid TOML for the catalog schema: {message}")]
    Syntax { file: String, message: String },
    #[error("rule catalog {file}: feature `{feature}`: {problem}")]
    Feature {
        file: String,
        feature: String,
        problem: String,
    },
    #[error("rule catalog {file}: {problem}")]
    File { file: String, problem: String },
}

/// One Babelfish version the catalog documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    pub version: Version,
    /// The Aurora PostgreSQL major version it ships with.
    pub postgres: String,
}

/// One feature of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Stable id, e.g. `function.str`.
    pub id: String,
    /// Report group, e.g. `Built-in functions: string`.
    pub group: String,
    pub description: String,
    pub complexity: Complexity,
    /// Minutes to remediate one occurrence.
    pub effort_minutes: u32,
    /// Minutes to learn the remediation once per assessment (0 if none).
    pub learning_minutes: u32,
    pub remediation: String,
    /// Public documentation page.
    pub docs: String,
    /// `(since, status)`, sorted by version.
    statuses: Vec<(Version, Status)>,
    pub patterns: Vec<Pattern>,
    /// T-SQL that must produce this feature (`examples` in the catalog).
    pub examples: Vec<String>,
    /// T-SQL that must not, where a false-positive class is known
    /// (`counter_examples`): text that looks like the feature but is not.
    pub counter_examples: Vec<String>,
    /// A worked example of the remediation, for the common features.
    pub rewrite: Option<Rewrite>,
    /// Features that, found at the same position (construct, or statement
    /// for statement-anchored patterns) with a status at least as severe,
    /// make this one redundant (`superseded_by`): a broad catch-all stays
    /// quiet where a precise reading already says why.
    pub superseded_by: Vec<String>,
}

/// A feature's remediation as code: T-SQL that uses the feature and the
/// same intent written so the target runs it. `tests/rule_examples.rs`
/// checks both: `before` produces the feature, `after` neither produces it
/// nor anything `not_supported` on the newest target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rewrite {
    pub before: String,
    pub after: String,
}

impl Feature {
    /// The status on `target`: the entry with the greatest version not
    /// after the target; before the first entry the feature does not exist
    /// on Babelfish, which is `not_supported`.
    pub fn status_at(&self, target: Version) -> Status {
        self.statuses
            .iter()
            .rev()
            .find(|(since, _)| *since <= target)
            .map_or(Status::NotSupported, |(_, status)| *status)
    }

    /// The `(since, status)` entries, sorted by version.
    pub fn statuses(&self) -> &[(Version, Status)] {
        &self.statuses
    }
}

/// A documentation page a feature's `docs` may name (`docs_pages.toml`;
/// `tests/rule_docs.rs` checks every link against the list).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocsPage {
    pub url: String,
    /// What the page covers, in a few words: the link's text in reports.
    pub about: String,
    /// The page covers everything (a version table, the top of a list).
    #[serde(default)]
    pub generic: bool,
    /// Groups (prefixes) whose unsupported features may link to a generic
    /// page anyway.
    #[serde(default)]
    pub not_supported_groups: Vec<String>,
}

/// The validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    targets: Vec<TargetInfo>,
    features: Vec<Feature>,
    settings: Vec<SettingDef>,
    pages: Vec<DocsPage>,
    retired: Vec<Retired>,
}

/// A feature id the catalog no longer defines (ids are never reused), and
/// the features that now report what it reported, so that a setting naming
/// it can say where to move.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retired {
    pub id: String,
    pub replaced_by: Vec<String>,
}

impl Catalog {
    /// The catalog shipped in the crate.
    pub fn shipped() -> Result<Catalog, CatalogError> {
        Catalog::from_sources(SHIPPED)
    }

    /// Loads a catalog from `(file name, TOML text)` pairs. Exactly one file
    /// must define `[[version]]` entries; any file may define `[[feature]]`s.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
        let mut targets: Vec<TargetInfo> = Vec::new();
        let mut raw_features: Vec<(&str, RawFeature)> = Vec::new();
        let mut raw_settings: Vec<(&str, RawSetting)> = Vec::new();
        let mut pages: Vec<DocsPage> = Vec::new();
        let mut retired: Vec<(&str, Retired)> = Vec::new();
        for (file, text) in sources {
            let parsed: RawFile = toml::from_str(text).map_err(|e| CatalogError::Syntax {
                file: (*file).to_string(),
                message: e.message().to_string(),
            })?;
            if !parsed.version.is_empty() {
                if !targets.is_empty() {
                    return Err(CatalogError::File {
                        file: (*file).to_string(),
                        problem: "versions are defined in more than one file".into(),
                    });
                }
                targets = parse_versions(file, parsed.version)?;
            }
            raw_features.extend(parsed.feature.into_iter().map(|f| (*file, f)));
            raw_settings.extend(parsed.setting.into_iter().map(|s| (*file, s)));
            retired.extend(parsed.retired.into_iter().map(|r| (*file, r)));
            for page in parsed.page {
                if pages.iter().any(|p| p.url == page.url) {
                    return Err(CatalogError::File {
                        file: (*file).to_string(),
                        problem: format!("documentation page {} is listed twice", page.url),
                    });
                }
                pages.push(page);
            }
        }
        if targets.is_empty() {
            return Err(CatalogError::File {
                file: "(all files)".into(),
                problem: "no [[version]] entries: the catalog must list the Babelfish versions it \
                          documents"
                    .into(),
            });
        }
        let known: HashSet<Version> = targets.iter().map(|t| t.version).collect();
        let mut ids = HashSet::new();
        let mut features = Vec::with_capacity(raw_features.len());
        let mut files = Vec::with_capacity(raw_features.len());
        for (file, raw) in raw_features {
            let feature = validate_feature(file, raw, &known)?;
            if !ids.insert(feature.id.clone()) {
                return Err(feature_error(file, &feature.id, "duplicate feature id"));
            }
            features.push(feature);
            files.push(file);
        }
        let feature_ids: HashSet<&str> = features.iter().map(|f| f.id.as_str()).collect();
        for (feature, file) in features.iter().zip(files) {
            for other in &feature.superseded_by {
                if other == &feature.id || !feature_ids.contains(other.as_str()) {
                    return Err(feature_error(
                        file,
                        &feature.id,
                        format!(
                            "`superseded_by` names `{other}`, which is not another feature of the catalog"
                        ),
                    ));
                }
            }
        }
        for (file, r) in &retired {
            let problem = if feature_ids.contains(r.id.as_str()) {
                Some("is retired but still defined: a retired id is never reused".to_string())
            } else if r.replaced_by.is_empty() {
                Some("is retired without `replaced_by`".to_string())
            } else {
                r.replaced_by
                    .iter()
                    .find(|by| !feature_ids.contains(by.as_str()))
                    .map(|by| {
                        format!("is retired for `{by}`, which is not a feature of the catalog")
                    })
            };
            if let Some(problem) = problem {
                return Err(CatalogError::File {
                    file: (*file).to_string(),
                    problem: format!("feature id `{}` {problem}", r.id),
                });
            }
        }
        let mut setting_defs: Vec<SettingDef> = Vec::with_capacity(raw_settings.len());
        for (file, raw) in raw_settings {
            let def = validate_setting(file, raw, &feature_ids)?;
            if setting_defs.iter().any(|d| d.name == def.name) {
                return Err(CatalogError::File {
                    file: file.to_string(),
                    problem: format!("setting `{}` is defined twice", def.name),
                });
            }
            setting_defs.push(def);
        }
        let catalog = Catalog {
            targets,
            features,
            settings: setting_defs,
            pages,
            retired: retired.into_iter().map(|(_, r)| r).collect(),
        };
        for required in [UNPARSED_FEATURE, SQLCMD_FEATURE] {
            let feature = catalog
                .feature(required)
                .ok_or_else(|| CatalogError::File {
                    file: "(all files)".into(),
                    problem: format!("required fallback feature `{required}` is missing"),
                })?;
            if catalog
                .targets
                .iter()
                .any(|t| feature.status_at(t.version) != Status::ReviewManually)
            {
                return Err(feature_error(
                    "(all files)",
                    required,
                    "a fallback feature must be review_manually on every version",
                ));
            }
        }
        Ok(catalog)
    }

    /// Documented versions, oldest first.
    pub fn targets(&self) -> &[TargetInfo] {
        &self.targets
    }

    /// The newest documented version (the default target).
    pub fn latest(&self) -> Version {
        // `from_sources` refuses a catalog without versions, and sorts them.
        self.targets
            .last()
            .map_or(Version { major: 1, minor: 0 }, |t| t.version)
    }

    /// Parses a `--target` word and checks the catalog documents it.
    pub fn resolve_target(&self, word: &str) -> Option<Version> {
        let version = Version::parse(word)?;
        self.targets
            .iter()
            .any(|t| t.version == version)
            .then_some(version)
    }

    /// All target words (`babelfish-X.Y`), oldest first.
    pub fn target_names(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|t| t.version.target_name())
            .collect()
    }

    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    pub fn feature(&self, id: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.id == id)
    }

    /// A retired feature id (`[[retired]]`), with the features that replaced it.
    pub fn retired(&self, id: &str) -> Option<&Retired> {
        self.retired.iter().find(|r| r.id == id)
    }

    /// The Babelfish settings the catalog models, in file order.
    pub fn settings(&self) -> &[SettingDef] {
        &self.settings
    }

    /// The documentation pages features may link to.
    pub fn docs_pages(&self) -> &[DocsPage] {
        &self.pages
    }

    /// What the documentation page at `url` covers, when it is listed.
    pub fn docs_title(&self, url: &str) -> Option<&str> {
        self.pages
            .iter()
            .find(|p| p.url == url)
            .map(|p| p.about.as_str())
    }

    /// One modelled setting by name (without the `babelfishpg_tsql.` prefix).
    pub fn setting(&self, name: &str) -> Option<&SettingDef> {
        self.settings.iter().find(|s| s.name == name)
    }

    /// Validates `NAME=VALUE` words (`--setting`, `report.settings`) against
    /// the modelled settings. Names and values are matched in any case, with
    /// or without the `babelfishpg_tsql.` prefix; the same setting given
    /// twice with different values is refused.
    pub fn resolve_settings<S: AsRef<str>>(&self, given: &[S]) -> Result<Settings, SettingError> {
        let mut chosen: BTreeMap<String, String> = BTreeMap::new();
        for word in given {
            let (name, value) = settings::split(word.as_ref())?;
            let def = self
                .setting(&name)
                .ok_or_else(|| SettingError::UnknownSetting {
                    name: name.clone(),
                    known: self
                        .settings
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            if !def.values.contains(&value) {
                return Err(SettingError::UnknownValue {
                    name,
                    value,
                    allowed: def.values.join(", "),
                });
            }
            if let Some(first) = chosen.get(&name).filter(|first| **first != value) {
                return Err(SettingError::Conflict {
                    first: first.clone(),
                    name,
                    second: value,
                });
            }
            chosen.insert(name, value);
        }
        Ok(Settings::from_validated(chosen))
    }

    /// Distinct group names, sorted.
    pub fn groups(&self) -> BTreeSet<&str> {
        self.features.iter().map(|f| f.group.as_str()).collect()
    }
}

// ---- raw (serde) shapes of the data files ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    version: Vec<RawVersion>,
    #[serde(default)]
    feature: Vec<RawFeature>,
    #[serde(default)]
    setting: Vec<RawSetting>,
    #[serde(default)]
    page: Vec<DocsPage>,
    #[serde(default)]
    retired: Vec<Retired>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetting {
    name: String,
    description: String,
    docs: String,
    values: Vec<String>,
    default: String,
    example: String,
    #[serde(rename = "effect")]
    effects: Vec<RawEffect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEffect {
    features: Vec<String>,
    status: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    id: String,
    postgres: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeature {
    id: String,
    group: String,
    description: String,
    complexity: String,
    effort_minutes: u32,
    #[serde(default)]
    learning_minutes: u32,
    remediation: String,
    docs: String,
    status: BTreeMap<String, String>,
    #[serde(rename = "match")]
    patterns: Vec<RawPattern>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counter_examples: Vec<String>,
    #[serde(default)]
    superseded_by: Vec<String>,
    rewrite: Option<Rewrite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    kind: String,
    name: String,
    detail: Option<String>,
    statement: Option<String>,
    in_statement: Option<RawCondition>,
    in_object: Option<RawCondition>,
    #[serde(default)]
    text_contains: Vec<String>,
    #[serde(default)]
    text_starts_with: Vec<String>,
    #[serde(default)]
    text_lacks: Vec<String>,
    #[serde(default)]
    text_starts_without: Vec<String>,
    check: Option<String>,
    anchor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    kind: String,
    name: String,
    detail: Option<String>,
    statement: Option<String>,
    #[serde(default)]
    text_contains: Vec<String>,
}

fn feature_error(file: &str, feature: &str, problem: impl Into<String>) -> CatalogError {
    CatalogError::Feature {
        file: file.to_string(),
        feature: feature.to_string(),
        problem: problem.into(),
    }
}

fn parse_versions(file: &str, raw: Vec<RawVersion>) -> Result<Vec<TargetInfo>, CatalogError> {
    let mut targets = Vec::with_capacity(raw.len());
    for v in raw {
        let version = Version::parse(&v.id).ok_or_else(|| CatalogError::File {
            file: file.to_string(),
            problem: format!("version `{}` is not of the form MAJOR.MINOR", v.id),
        })?;
        targets.push(TargetInfo {
            version,
            postgres: v.postgres,
        });
    }
    targets.sort_by_key(|t| t.version);
    if targets.windows(2).any(|w| w[0].version == w[1].version) {
        return Err(CatalogError::File {
            file: file.to_string(),
            problem: "a version is listed twice".into(),
        });
    }
    Ok(targets)
}

fn parse_complexity(word: &str) -> Option<Complexity> {
    match word {
        "low" => Some(Complexity::Low),
        "medium" => Some(Complexity::Medium),
        "high" => Some(Complexity::High),
        _ => None,
    }
}

fn validate_feature(
    file: &str,
    raw: RawFeature,
    known: &HashSet<Version>,
) -> Result<Feature, CatalogError> {
    let id = raw.id.trim().to_string();
    let err = |problem: String| feature_error(file, &id, problem);
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        return Err(err("the id must be non-empty and contain no spaces".into()));
    }
    for (field, value) in [
        ("group", &raw.group),
        ("description", &raw.description),
        ("remediation", &raw.remediation),
    ] {
        if value.trim().is_empty() {
            return Err(err(format!("`{field}` is empty")));
        }
    }
    if let Some(r) = &raw.rewrite
        && (r.before.trim().is_empty() || r.after.trim().is_empty())
    {
        return Err(err("`rewrite` needs non-empty `before` and `after`".into()));
    }
    if !raw.docs.starts_with("https://") {
        return Err(err("`docs` must be an https:// URL".into()));
    }
    let complexity = parse_complexity(&raw.complexity).ok_or_else(|| {
        err(format!(
            "unknown complexity `{}` (low, medium, high)",
            raw.complexity
        ))
    })?;
    if raw.status.is_empty() {
        return Err(err(
            "`status` needs at least one `\"VERSION\" = \"status\"` entry".into(),
        ));
    }
    let mut statuses = Vec::with_capacity(raw.status.len());
    for (since, word) in &raw.status {
        let version = Version::parse(since)
            .filter(|v| known.contains(v))
            .ok_or_else(|| err(format!("status for unknown version `{since}`")))?;
        let status = Status::parse(word).ok_or_else(|| {
            err(format!(
                "unknown status `{word}` (supported, not_supported, review_manually, \
                 review_semantics, review_performance, ignored)"
            ))
        })?;
        statuses.push((version, status));
    }
    statuses.sort_by_key(|(v, _)| *v);
    if raw.patterns.is_empty() {
        return Err(err("`match` needs at least one pattern".into()));
    }
    let patterns = raw
        .patterns
        .into_iter()
        .map(|p| validate_pattern(p).map_err(&err))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Feature {
        id: id.clone(),
        group: raw.group.trim().to_string(),
        description: raw.description.trim().to_string(),
        complexity,
        effort_minutes: raw.effort_minutes,
        learning_minutes: raw.learning_minutes,
        remediation: raw.remediation.trim().to_string(),
        docs: raw.docs,
        statuses,
        patterns,
        examples: raw.examples,
        counter_examples: raw.counter_examples,
        superseded_by: raw
            .superseded_by
            .iter()
            .map(|s| s.trim().to_string())
            .collect(),
        rewrite: raw.rewrite.map(|r| Rewrite {
            before: r.before.trim().to_string(),
            after: r.after.trim().to_string(),
        }),
    })
}

fn validate_setting(
    file: &str,
    raw: RawSetting,
    features: &HashSet<&str>,
) -> Result<SettingDef, CatalogError> {
    let name = raw.name.trim().to_ascii_lowercase();
    let err = |problem: String| CatalogError::File {
        file: file.to_string(),
        problem: format!("setting `{name}`: {problem}"),
    };
    if name.is_empty() || name.chars().any(char::is_whitespace) || name.contains('=') {
        return Err(err(
            "the name must be non-empty, without spaces or `=`".into()
        ));
    }
    if name.starts_with(settings::SETTING_PREFIX) {
        return Err(err(format!(
            "write the name without the `{}` prefix",
            settings::SETTING_PREFIX
        )));
    }
    if raw.description.trim().is_empty() || raw.example.trim().is_empty() {
        return Err(err("`description` and `example` must not be empty".into()));
    }
    if !raw.docs.starts_with("https://") {
        return Err(err("`docs` must be an https:// URL".into()));
    }
    let values: Vec<String> = raw
        .values
        .iter()
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    let distinct: BTreeSet<&String> = values.iter().collect();
    if values.len() < 2 || distinct.len() != values.len() || values.iter().any(String::is_empty) {
        return Err(err(
            "`values` needs at least two distinct, non-empty values".into(),
        ));
    }
    let default = raw.default.trim().to_ascii_lowercase();
    if !values.contains(&default) {
        return Err(err(format!(
            "default `{default}` is not one of the values ({})",
            values.join(", ")
        )));
    }
    if raw.effects.is_empty() {
        return Err(err("needs at least one `[[setting.effect]]`".into()));
    }
    let mut effects = Vec::with_capacity(raw.effects.len());
    for effect in raw.effects {
        if effect.features.is_empty() {
            return Err(err("an effect names no feature".into()));
        }
        if let Some(unknown) = effect
            .features
            .iter()
            .find(|f| !features.contains(f.as_str()))
        {
            return Err(err(format!("effect names unknown feature `{unknown}`")));
        }
        let mut status = BTreeMap::new();
        for (value, word) in &effect.status {
            let value = value.trim().to_ascii_lowercase();
            if !values.contains(&value) {
                return Err(err(format!(
                    "effect gives a status for unknown value `{value}`"
                )));
            }
            let parsed = Status::parse(word)
                .ok_or_else(|| err(format!("unknown status `{word}` for value `{value}`")))?;
            status.insert(value, parsed);
        }
        if let Some(missing) = values.iter().find(|v| !status.contains_key(*v)) {
            return Err(err(format!(
                "an effect gives no status for value `{missing}`"
            )));
        }
        effects.push(Effect {
            features: effect.features,
            status,
        });
    }
    Ok(SettingDef {
        name,
        description: raw.description.trim().to_string(),
        docs: raw.docs,
        values,
        default,
        example: raw.example,
        effects,
    })
}

fn validate_simple(
    kind: &str,
    name: &str,
    detail: Option<String>,
    statement: Option<String>,
) -> Result<Simple, String> {
    let kind = pattern::parse_kind(kind).ok_or_else(|| format!("unknown pattern kind `{kind}`"))?;
    if name.trim().is_empty() {
        return Err("a pattern name is empty (use `*` to match any name)".into());
    }
    let glob_of = |text: Option<String>, what: &str| -> Result<Option<Glob>, String> {
        match text {
            Some(t) if t.trim().is_empty() => Err(format!("pattern `{what}` is empty")),
            Some(t) => Ok(Some(Glob::new(&t))),
            None => Ok(None),
        }
    };
    Ok(Simple {
        kind,
        name: Glob::new(name),
        detail: glob_of(detail, "detail")?,
        statement: glob_of(statement, "statement")?,
    })
}

/// Upper case, whitespace removed: how pattern texts are compared.
fn squeeze(texts: &[String]) -> Result<Vec<String>, String> {
    let out: Vec<String> = texts
        .iter()
        .map(|t| t.split_whitespace().collect::<String>().to_uppercase())
        .collect();
    if out.iter().any(String::is_empty) {
        return Err("a `text_contains` / `text_starts_with` entry is empty".into());
    }
    Ok(out)
}

fn validate_pattern(raw: RawPattern) -> Result<Pattern, String> {
    let what = validate_simple(&raw.kind, &raw.name, raw.detail, raw.statement)?;
    let context = |c: Option<RawCondition>| -> Result<Option<Condition>, String> {
        c.map(|c| {
            Ok(Condition {
                what: validate_simple(&c.kind, &c.name, c.detail, c.statement)?,
                text_contains: squeeze(&c.text_contains)?,
            })
        })
        .transpose()
    };
    let check = raw
        .check
        .as_deref()
        .map(|name| Check::parse(name).ok_or_else(|| format!("unknown check `{name}`")))
        .transpose()?;
    let anchor = match raw.anchor.as_deref() {
        None | Some("construct") => Anchor::Construct,
        Some("statement") => Anchor::Statement,
        Some("object") => Anchor::Object,
        Some(other) => {
            return Err(format!(
                "unknown anchor `{other}` (construct, statement, object)"
            ));
        }
    };
    Ok(Pattern {
        what,
        in_statement: context(raw.in_statement)?,
        in_object: context(raw.in_object)?,
        text_contains: squeeze(&raw.text_contains)?,
        text_starts_with: squeeze(&raw.text_starts_with)?,
        text_lacks: squeeze(&raw.text_lacks)?,
        text_starts_without: squeeze(&raw.text_starts_without)?,
        check,
        anchor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSIONS: &str = r#"
[[version]]
id = "1.0"
postgres = "13"
[[version]]
id = "2.4"
postgres = "14"
[[version]]
id = "5.5"
postgres = "17"
"#;

    const FALLBACKS: &str = r#"
[[feature]]
id = "code.unparsed"
group = "Unparsed code"
description = "d"
complexity = "medium"
effort_minutes = 30
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "review_manually" }
match = [{ kind = "unparsed", name = "*" }]

[[feature]]
id = "sqlcmd.other"
group = "sqlcmd"
description = "d"
complexity = "low"
effort_minutes = 5
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "review_manually" }
match = [{ kind = "sqlcmd", name = "*" }]
"#;

    fn feature_toml(id: &str, extra: &str) -> String {
        format!(
            r#"
[[feature]]
id = "{id}"
group = "Built-in functions: string"
description = "d"
complexity = "low"
effort_minutes = 10
remediation = "r"
docs = "https://example.org"
{extra}
"#
        )
    }

    fn load(features: &str) -> Result<Catalog, CatalogError> {
        Catalog::from_sources(&[
            ("versions.toml", VERSIONS),
            ("fallback.toml", FALLBACKS),
            ("test.toml", features),
        ])
    }

    #[test]
    fn shipped_catalog_loads_with_enough_groups_and_features() {
        let catalog = Catalog::shipped().unwrap();
        let groups = catalog.groups();
        assert!(groups.len() >= 256, "only {} groups", groups.len());
        for group in &groups {
            assert!(catalog.features().iter().any(|f| f.group == *group));
        }
        assert!(
            catalog.features().len() >= 1000,
            "{}",
            catalog.features().len()
        );
        assert_eq!(catalog.latest(), Version::parse("6.1").unwrap());
        for v in ["5.6", "5.7", "6.0", "6.1"] {
            assert!(catalog.resolve_target(v).is_some(), "{v} is not a target");
        }
    }

    /// Facts the newer versions carry (sources next to the features).
    #[test]
    fn newer_versions_carry_their_sourced_facts() {
        let catalog = Catalog::shipped().unwrap();
        let at = |id: &str, v: &str| {
            catalog
                .feature(id)
                .unwrap_or_else(|| panic!("no {id}"))
                .status_at(Version::parse(v).unwrap())
        };
        use Status::{Ignored, NotSupported, Supported};
        // FOR XML ... ELEMENTS: added in 5.6.0 and 6.1.0, absent in 6.0.0.
        let elements: Vec<Status> = ["5.5", "5.6", "5.7", "6.0", "6.1"]
            .iter()
            .map(|v| at("clause.for_xml.elements", v))
            .collect();
        assert_eq!(
            elements,
            [NotSupported, Supported, Supported, NotSupported, Supported]
        );
        // @@TEXTSIZE: answered from 5.6.0 and 6.1.0.
        assert_eq!(at("global_variable.textsize", "5.5"), Ignored);
        assert_eq!(at("global_variable.textsize", "5.6"), Supported);
        assert_eq!(at("global_variable.textsize", "6.0"), Ignored);
        assert_eq!(at("global_variable.textsize", "6.1"), Supported);
        // XML .query() from 5.7.0 (AWS), nothing documented for 6.x.
        assert_eq!(at("method.xml.query", "5.5"), NotSupported);
        assert_eq!(at("method.xml.query", "5.6"), NotSupported);
        assert_eq!(at("method.xml.query", "5.7"), Supported);
        assert_eq!(at("method.xml.query", "6.1"), NotSupported);
        // XML .value() from 5.4.0 (AWS).
        assert_eq!(at("method.xml.value", "5.3"), NotSupported);
        assert_eq!(at("method.xml.value", "5.4"), Supported);
        assert_eq!(at("method.xml.value", "6.1"), Supported);
    }

    #[test]
    fn every_setting_default_is_the_catalog_status_at_the_newest_version() {
        let catalog = Catalog::shipped().unwrap();
        assert!(
            catalog.settings().len() >= 10,
            "{}",
            catalog.settings().len()
        );
        let latest = catalog.latest();
        for def in catalog.settings() {
            assert!(def.name.starts_with("escape_hatch_"), "{}", def.name);
            for effect in &def.effects {
                let default = effect.status[&def.default];
                for id in &effect.features {
                    let f = catalog.feature(id).unwrap();
                    assert_eq!(
                        f.status_at(latest),
                        default,
                        "{}: {id} is {:?} at {latest}, the setting's default says {:?}",
                        def.name,
                        f.status_at(latest),
                        default
                    );
                }
            }
            assert!(
                def.values
                    .iter()
                    .any(|v| *v != def.default && !def.changes(v).is_empty()),
                "{}: no value changes a status",
                def.name
            );
        }
    }

    #[test]
    fn settings_resolve_by_name_and_value_in_any_case_with_or_without_prefix() {
        let catalog = Catalog::shipped().unwrap();
        let s = catalog
            .resolve_settings(&[
                "babelfishpg_tsql.ESCAPE_HATCH_TABLE_HINTS=Strict",
                "escape_hatch_index_clustering=strict",
                "escape_hatch_table_hints=strict",
            ])
            .unwrap();
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [
                ("escape_hatch_index_clustering", "strict"),
                ("escape_hatch_table_hints", "strict")
            ]
        );
        assert!(catalog.resolve_settings::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn unknown_settings_and_values_are_refused_naming_them() {
        let catalog = Catalog::shipped().unwrap();
        let err = catalog
            .resolve_settings(&["escape_hatch_nonesuch=ignore"])
            .unwrap_err();
        assert!(matches!(err, SettingError::UnknownSetting { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("escape_hatch_nonesuch") && text.contains("escape_hatch_table_hints"),
            "{text}"
        );
        let err = catalog
            .resolve_settings(&["escape_hatch_table_hints=loose"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("escape_hatch_table_hints")
                && err.contains("loose")
                && err.contains("ignore, strict"),
            "{err}"
        );
        let err = catalog
            .resolve_settings(&["escape_hatch_table_hints"])
            .unwrap_err();
        assert!(matches!(err, SettingError::Malformed { .. }), "{err}");
        let err = catalog
            .resolve_settings(&[
                "escape_hatch_table_hints=ignore",
                "escape_hatch_table_hints=strict",
            ])
            .unwrap_err();
        assert!(matches!(err, SettingError::Conflict { .. }), "{err}");
    }

    fn setting_toml(body: &str) -> String {
        format!(
            r#"
[[setting]]
name = "escape_hatch_x"
description = "d"
docs = "https://example.org"
example = "SELECT STR(1);"
{body}
"#
        )
    }

    #[test]
    fn malformed_settings_are_refused_naming_the_setting() {
        let feature = feature_toml(
            "function.str",
            r#"status = { "1.0" = "ignored" }
match = [{ kind = "function", name = "STR" }]"#,
        );
        let cases = [
            (
                r#"values = ["ignore", "strict"]
default = "loose"
[[setting.effect]]
features = ["function.str"]
status = { ignore = "ignored", strict = "not_supported" }"#,
                "default `loose`",
            ),
            (
                r#"values = ["ignore", "strict"]
default = "ignore"
[[setting.effect]]
features = ["function.nonesuch"]
status = { ignore = "ignored", strict = "not_supported" }"#,
                "unknown feature `function.nonesuch`",
            ),
            (
                r#"values = ["ignore", "strict"]
default = "ignore"
[[setting.effect]]
features = ["function.str"]
status = { ignore = "ignored" }"#,
                "no status for value `strict`",
            ),
            (
                r#"values = ["ignore"]
default = "ignore"
[[setting.effect]]
features = ["function.str"]
status = { ignore = "ignored" }"#,
                "at least two",
            ),
        ];
        for (body, expected) in cases {
            let err = load(&format!("{feature}{}", setting_toml(body)))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("escape_hatch_x") && err.contains(expected),
                "{err} (expected {expected})"
            );
        }
    }

    #[test]
    fn status_follows_the_since_entries() {
        let text = feature_toml(
            "function.str",
            r#"status = { "1.0" = "not_supported", "2.4" = "supported" }
match = [{ kind = "function", name = "str" }]"#,
        );
        let catalog = load(&text).unwrap();
        let f = catalog.feature("function.str").unwrap();
        assert_eq!(
            f.status_at(Version::parse("1.0").unwrap()),
            Status::NotSupported
        );
        assert_eq!(
            f.status_at(Version::parse("2.3").unwrap()),
            Status::NotSupported
        );
        assert_eq!(
            f.status_at(Version::parse("2.4").unwrap()),
            Status::Supported
        );
        assert_eq!(
            f.status_at(Version::parse("5.5").unwrap()),
            Status::Supported
        );
    }

    #[test]
    fn status_before_first_entry_is_not_supported() {
        let text = feature_toml(
            "x.y",
            r#"status = { "2.4" = "supported" }
match = [{ kind = "function", name = "X" }]"#,
        );
        let catalog = load(&text).unwrap();
        let f = catalog.feature("x.y").unwrap();
        assert_eq!(
            f.status_at(Version::parse("1.0").unwrap()),
            Status::NotSupported
        );
    }

    #[test]
    fn errors_name_file_and_feature() {
        let cases = [
            (
                r#"status = { "9.9" = "supported" }
match = [{ kind = "function", name = "X" }]"#,
                "unknown version",
            ),
            (
                r#"status = { "1.0" = "works" }
match = [{ kind = "function", name = "X" }]"#,
                "unknown status",
            ),
            (
                r#"status = { "1.0" = "supported" }
match = [{ kind = "funktion", name = "X" }]"#,
                "unknown pattern kind",
            ),
            (
                r#"status = { "1.0" = "supported" }
match = []"#,
                "at least one pattern",
            ),
            (
                r#"status = { "1.0" = "supported" }
match = [{ kind = "function", name = "X", anchor = "line" }]"#,
                "unknown anchor",
            ),
            (
                r#"status = { "1.0" = "supported" }
match = [{ kind = "function", name = "X", check = "magic" }]"#,
                "unknown check",
            ),
            (
                r#"status = { "1.0" = "supported" }
match = [{ kind = "function", name = "X" }]
rewrite = { before = "SELECT X();", after = "  " }"#,
                "non-empty `before` and `after`",
            ),
        ];
        for (extra, expected) in cases {
            let err = load(&feature_toml("bad.feature", extra))
                .unwrap_err()
                .to_string();
            assert!(err.contains("test.toml"), "{err}");
            assert!(err.contains("bad.feature"), "{err}");
            assert!(err.contains(expected), "{err} (expected {expected})");
        }
    }

    #[test]
    fn a_retired_id_is_never_reused_and_names_live_replacements() {
        let live = feature_toml(
            "live.id",
            r#"status = { "1.0" = "supported" }
match = [{ kind = "function", name = "X" }]"#,
        );
        let ok = load(&format!(
            "{live}\n[[retired]]\nid = \"old.id\"\nreplaced_by = [\"live.id\"]\n"
        ))
        .unwrap();
        assert_eq!(ok.retired("old.id").unwrap().replaced_by, ["live.id"]);
        assert!(ok.retired("live.id").is_none());
        let cases = [
            ("live.id", "[\"live.id\"]", "still defined"),
            ("old.id", "[]", "without `replaced_by`"),
            (
                "old.id",
                "[\"gone.id\"]",
                "`gone.id`, which is not a feature",
            ),
        ];
        for (id, by, expected) in cases {
            let err = load(&format!(
                "{live}\n[[retired]]\nid = \"{id}\"\nreplaced_by = {by}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains(id) && err.contains(expected), "{err}");
        }
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let one = feature_toml(
            "dup.id",
            r#"status = { "1.0" = "supported" }
match = [{ kind = "function", name = "X" }]"#,
        );
        let err = load(&format!("{one}{one}")).unwrap_err().to_string();
        assert!(
            err.contains("duplicate feature id") && err.contains("dup.id"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_and_missing_fallbacks_are_refused() {
        let err = Catalog::from_sources(&[("v.toml", VERSIONS), ("t.toml", "[[feature]]\nid=1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.toml"), "{err}");
        let err = Catalog::from_sources(&[("v.toml", VERSIONS)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("code.unparsed"), "{err}");
    }

    #[test]
    fn targets_resolve_and_list() {
        let catalog = load("").unwrap();
        assert_eq!(
            catalog.resolve_target("babelfish-2.4"),
            Version::parse("2.4")
        );
        assert_eq!(catalog.resolve_target("babelfish-2.5"), None);
        assert_eq!(
            catalog.target_names(),
            vec!["babelfish-1.0", "babelfish-2.4", "babelfish-5.5"]
        );
    }
}
