//! Every item of Babelfish Compass's feature list is accounted for by our
//! catalog, and where Compass and we give an item different statuses at
//! Babelfish 5.5 the difference is listed with a verdict.
//!
//! The feature list is Compass 5.5.0's `BabelfishFeatures.cfg`, vendored in
//! `tests/corpora/tsql/reference/compass-5.5.0/`; the map beside it,
//! `item-map.toml`, is ours (docs/compass-comparison.md). An item is a
//! section and one value of its `list=` key, or the section itself when it
//! has no list. The test fails, naming them, on items without a mapping,
//! mapped feature ids that do not exist, status differences the map does not
//! list, and listed differences or entries that no longer apply.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use assessor::findings::Status;
use assessor::rules::pattern::parse_kind;
use assessor::rules::{Catalog, Matcher, Version};
use assessor::tsql::observation::Observation;
use serde::Deserialize;

/// The target the comparison is made at: Compass 5.5.0's newest version.
const TARGET: &str = "5.5";
/// The header section, which describes the file, not a feature.
const HEADER: &str = "Babelfish for T-SQL";

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpora/tsql/reference/compass-5.5.0")
}

// ---------------------------------------------------------------- the .cfg

/// One section of the .cfg: its keys in file order.
struct Section {
    name: String,
    keys: Vec<(String, String)>,
}

/// Parses the .cfg: `[section]` headers and `key=value` lines; `#` starts a
/// comment and `##` stands for a literal `#`.
fn parse_cfg(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for raw in text.lines() {
        let line = strip_comment(raw);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                name: name.to_string(),
                keys: Vec::new(),
            });
        } else if let (Some((key, value)), Some(section)) =
            (line.split_once('='), sections.last_mut())
        {
            section
                .keys
                .push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    sections
}

fn strip_comment(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '#' {
            if chars.peek() == Some(&'#') {
                chars.next();
                out.push('#');
            } else {
                break;
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn values(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// A value of a classification key, without the `argN=` prefix Compass uses
/// for the argument a function's or procedure's support depends on
/// (`supported-3.2.0=arg3=COLUMN,USERDATATYPE`: only the first value carries
/// it, and it applies to the whole list).
fn classified_values(list: &str) -> Vec<String> {
    let list = match list.split_once('=') {
        Some((arg, rest))
            if arg.starts_with("arg") && arg[3..].chars().all(|c| c.is_ascii_digit()) =>
        {
            rest
        }
        _ => list,
    };
    values(list)
}

/// A Compass version `5.5.0` (or `3.*` as an upper bound) as (major, minor);
/// `*` as minor means any minor of that major.
fn compass_version(text: &str) -> Option<(u16, Option<u16>)> {
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?;
    let minor = if minor == "*" {
        None
    } else {
        Some(minor.parse().ok()?)
    };
    Some((major, minor))
}

/// Whether a `status-FROM[-TO]` key applies at `target`.
fn range_applies(range: &str, target: (u16, u16)) -> bool {
    let (from, to) = match range.split_once('-') {
        Some((from, to)) => (from, Some(to)),
        None => (range, None),
    };
    let Some((major, Some(minor))) = compass_version(from) else {
        return false;
    };
    if (major, minor) > target {
        return false;
    }
    match to.map(compass_version) {
        None => true,
        Some(Some((major, None))) => target.0 <= major,
        Some(Some((major, Some(minor)))) => target <= (major, minor),
        Some(None) => false,
    }
}

/// Compass's status word for a classification word of the .cfg.
fn status_of_word(word: &str) -> Option<Status> {
    Some(match word.to_ascii_lowercase().as_str() {
        "supported" => Status::Supported,
        "notsupported" => Status::NotSupported,
        "reviewsemantics" => Status::ReviewSemantics,
        "reviewmanually" => Status::ReviewManually,
        "reviewperformance" => Status::ReviewPerformance,
        "ignored" => Status::Ignored,
        _ => return None,
    })
}

/// Compass's classification of `value` (`None`: the section itself) in
/// `section` at `target`: a versioned `supported-`/`ignored-`/`reviewsemantics-`
/// ... key listing the value (or `*`) wins, the newest `FROM` first; else the
/// value's `default_classification-Status=`, else the section's
/// `default_classification=`, else not supported.
fn compass_status(section: &Section, value: Option<&str>, target: (u16, u16)) -> Status {
    let listed = |list: &str| {
        let vs = classified_values(list);
        vs.iter().any(|v| v == "*")
            || value.is_some_and(|value| vs.iter().any(|v| v.eq_ignore_ascii_case(value)))
    };
    let mut best: Option<((u16, u16), Status)> = None;
    let mut default = Status::NotSupported;
    let mut default_for_value = None;
    for (key, list) in &section.keys {
        if key == "default_classification" {
            if let Some(status) = status_of_word(list) {
                default = status;
            }
            continue;
        }
        let Some((word, rest)) = key.split_once('-') else {
            continue;
        };
        if word == "default_classification" {
            if let Some(status) = status_of_word(rest)
                && value.is_some()
                && listed(list)
            {
                default_for_value = Some(status);
            }
            continue;
        }
        let Some(status) = status_of_word(word) else {
            continue;
        };
        if !range_applies(rest, target) || !listed(list) {
            continue;
        }
        let Some((major, Some(minor))) = compass_version(rest.split('-').next().unwrap_or(rest))
        else {
            continue;
        };
        if best.is_none_or(|(since, _)| (major, minor) >= since) {
            best = Some(((major, minor), status));
        }
    }
    best.map(|(_, s)| s)
        .or(default_for_value)
        .unwrap_or(default)
}

/// One Compass item: (section, value); value is empty for a section
/// without a list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    section: String,
    value: String,
}

fn items(sections: &[Section]) -> Vec<(Item, Status, &Section)> {
    let target = (5, 5);
    let mut out = Vec::new();
    for section in sections.iter().filter(|s| s.name != HEADER) {
        match section.keys.iter().find(|(k, _)| k == "list") {
            Some((_, list)) => {
                for value in values(list) {
                    let status = compass_status(section, Some(&value), target);
                    out.push((
                        Item {
                            section: section.name.clone(),
                            value,
                        },
                        status,
                        section,
                    ));
                }
            }
            None => out.push((
                Item {
                    section: section.name.clone(),
                    value: String::new(),
                },
                compass_status(section, None, target),
                section,
            )),
        }
    }
    out
}

// ---------------------------------------------------------------- the map

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Map {
    #[serde(default)]
    section: Vec<SectionRule>,
    #[serde(default)]
    item: Vec<ItemRule>,
    #[serde(default)]
    gap: Vec<Gap>,
    #[serde(default)]
    disagreement: Vec<Disagreement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionRule {
    name: String,
    #[serde(default)]
    observe: Vec<Observe>,
    #[serde(default)]
    features: Vec<String>,
    not_applicable: Option<String>,
}

/// An observation built from the item's value: `{}` in `name` (and
/// `detail`) is replaced by the value in upper case, `%` by `*`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Observe {
    kind: String,
    name: String,
    detail: Option<String>,
    statement: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemRule {
    section: String,
    value: String,
    #[serde(default)]
    features: Vec<String>,
    not_applicable: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Gap {
    section: String,
    value: String,
    what: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disagreement {
    section: String,
    value: String,
    ours: String,
    compass: String,
    reason: String,
}

/// How one item is mapped.
enum Mapping {
    Observed(Vec<String>),
    Features(Vec<String>),
    NotApplicable,
    Gap,
    Unmapped,
}

fn observation(observe: &Observe, value: &str) -> Result<Observation, String> {
    let fill = |t: &str| t.replace("{}", &value.to_uppercase().replace('%', "*"));
    let kind = parse_kind(&observe.kind)
        .ok_or_else(|| format!("unknown observation kind `{}`", observe.kind))?;
    Ok(Observation {
        kind,
        name: fill(&observe.name),
        detail: observe.detail.as_deref().map(fill),
        statement: observe.statement.clone().unwrap_or_default(),
        offset: 0,
        len: 0,
        in_string: false,
    })
}

/// Indexes map entries by item; an entry naming no Compass item (stale) or
/// given twice is a problem.
fn index_entries<'m, T>(
    entries: &'m [T],
    what: &str,
    key_of: impl Fn(&T) -> (&String, &String),
    known: &BTreeSet<&Item>,
    problems: &mut Vec<String>,
) -> BTreeMap<Item, &'m T> {
    let mut index = BTreeMap::new();
    for entry in entries {
        let (section, value) = key_of(entry);
        let item = Item {
            section: section.clone(),
            value: value.clone(),
        };
        if !known.contains(&item) {
            problems.push(format!(
                "stale {what} [{section}] `{value}`: no such Compass item"
            ));
        }
        if index.insert(item, entry).is_some() {
            problems.push(format!("{what} [{section}] `{value}` given twice"));
        }
    }
    index
}

/// Checks the map against the .cfg with the real matcher at [`TARGET`]:
/// returns the summary lines to print and the problems found.
fn check(cfg: &str, map_text: &str, catalog: &Catalog) -> (Vec<String>, Vec<String>) {
    let map: Map = match toml::from_str(map_text) {
        Ok(map) => map,
        Err(e) => return (Vec::new(), vec![format!("item-map.toml: {e}")]),
    };
    let Some(target) = Version::parse(TARGET) else {
        return (Vec::new(), vec![format!("bad target version `{TARGET}`")]);
    };
    let matcher = Matcher::new(catalog, target);
    let sections = parse_cfg(cfg);
    let items = items(&sections);
    let known: BTreeSet<&Item> = items.iter().map(|(i, _, _)| i).collect();
    let mut report = Vec::new();

    let mut problems: Vec<String> = Vec::new();

    // Entries must name real sections / items, once.
    let section_names: BTreeSet<&str> = sections.iter().map(|s| s.name.as_str()).collect();
    let mut section_rules: BTreeMap<&str, &SectionRule> = BTreeMap::new();
    for rule in &map.section {
        if !section_names.contains(rule.name.as_str()) || rule.name == HEADER {
            problems.push(format!("section rule for `{}`: no such section", rule.name));
        }
        let forms = usize::from(!rule.observe.is_empty())
            + usize::from(!rule.features.is_empty())
            + usize::from(rule.not_applicable.is_some());
        if forms != 1 {
            problems.push(format!(
                "section rule for `{}`: give exactly one of observe, features, not_applicable",
                rule.name
            ));
        }
        if section_rules.insert(rule.name.as_str(), rule).is_some() {
            problems.push(format!("section rule for `{}` given twice", rule.name));
        }
    }
    let item_rules = index_entries(
        &map.item,
        "item entry",
        |r| (&r.section, &r.value),
        &known,
        &mut problems,
    );
    for rule in &map.item {
        if rule.features.is_empty() == rule.not_applicable.is_none() {
            problems.push(format!(
                "item entry [{}] `{}`: give exactly one of features, not_applicable",
                rule.section, rule.value
            ));
        }
    }
    let gaps = index_entries(
        &map.gap,
        "gap",
        |g| (&g.section, &g.value),
        &known,
        &mut problems,
    );
    for item in gaps.keys().filter(|item| item_rules.contains_key(*item)) {
        problems.push(format!(
            "gap [{}] `{}` also has an item entry",
            item.section, item.value
        ));
    }
    let listed = index_entries(
        &map.disagreement,
        "disagreement",
        |d| (&d.section, &d.value),
        &known,
        &mut problems,
    );
    for d in map
        .disagreement
        .iter()
        .filter(|d| d.reason.trim().is_empty())
    {
        problems.push(format!(
            "disagreement [{}] `{}` gives no reason",
            d.section, d.value
        ));
    }

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut agreements = 0usize;
    let mut seen_disagreements: BTreeSet<Item> = BTreeSet::new();
    let mut gap_lines = Vec::new();
    // COMPASS_ITEMS_LIST=1 prints every mapped item with its features, to
    // review the map by eye.
    let list_items = std::env::var_os("COMPASS_ITEMS_LIST").is_some();
    let mut unmapped = Vec::new();
    for (item, compass, _) in &items {
        let mapping = if let Some(rule) = item_rules.get(item) {
            if rule.not_applicable.is_some() {
                Mapping::NotApplicable
            } else {
                Mapping::Features(rule.features.clone())
            }
        } else if gaps.contains_key(item) {
            Mapping::Gap
        } else if let Some(rule) = section_rules.get(item.section.as_str()) {
            if rule.not_applicable.is_some() {
                Mapping::NotApplicable
            } else if !rule.features.is_empty() {
                Mapping::Features(rule.features.clone())
            } else {
                let mut found = None;
                for observe in &rule.observe {
                    match observation(observe, &item.value) {
                        Ok(obs) => {
                            if let Some((feature, _)) = matcher.classify_fact(&obs) {
                                found = Some(feature.id.clone());
                                break;
                            }
                        }
                        Err(e) => {
                            problems.push(format!("section rule for `{}`: {e}", item.section))
                        }
                    }
                }
                found.map_or(Mapping::Unmapped, |id| Mapping::Observed(vec![id]))
            }
        } else {
            Mapping::Unmapped
        };
        let ids = match mapping {
            Mapping::Unmapped => {
                unmapped.push(format!(
                    "[{}] `{}` (Compass: {})",
                    item.section,
                    item.value,
                    compass.as_str()
                ));
                *counts.entry("unmapped").or_default() += 1;
                continue;
            }
            Mapping::NotApplicable => {
                *counts.entry("not_applicable").or_default() += 1;
                continue;
            }
            Mapping::Gap => {
                let what = gaps.get(item).map_or("", |g| g.what.as_str());
                gap_lines.push((
                    *compass,
                    format!("[{}] `{}`: {what}", item.section, item.value),
                ));
                *counts.entry("gap").or_default() += 1;
                continue;
            }
            Mapping::Observed(ids) => {
                *counts.entry("observe").or_default() += 1;
                ids
            }
            Mapping::Features(ids) => {
                *counts.entry("features").or_default() += 1;
                ids
            }
        };
        if list_items {
            println!(
                "item [{}] `{}` (Compass: {}) -> {}",
                item.section,
                item.value,
                compass.as_str(),
                ids.join(", ")
            );
        }
        let mut ours = BTreeSet::new();
        for id in &ids {
            match catalog.feature(id) {
                Some(feature) => {
                    ours.insert(feature.status_at(target).as_str());
                }
                None => problems.push(format!(
                    "[{}] `{}` maps to unknown feature `{id}`",
                    item.section, item.value
                )),
            }
        }
        if ours.is_empty() {
            // Every id is unknown: reported above, nothing to compare.
            continue;
        }
        let ours_text = ours.iter().copied().collect::<Vec<_>>().join(", ");
        let agrees = ours.contains(compass.as_str());
        match (agrees, listed.get(item)) {
            (true, None) => agreements += 1,
            (true, Some(_)) => problems.push(format!(
                "stale disagreement [{}] `{}`: we now agree ({})",
                item.section,
                item.value,
                compass.as_str()
            )),
            (false, None) => problems.push(format!(
                "[{}] `{}`: Compass {}, ours {ours_text} ({}); list it as a [[disagreement]] with a verdict, or fix the map",
                item.section,
                item.value,
                compass.as_str(),
                ids.join(", ")
            )),
            (false, Some(d)) => {
                seen_disagreements.insert(item.clone());
                if d.ours != ours_text || d.compass != compass.as_str() {
                    problems.push(format!(
                        "disagreement [{}] `{}` out of date: now Compass {}, ours {ours_text}",
                        item.section,
                        item.value,
                        compass.as_str()
                    ));
                }
            }
        }
    }
    for item in listed.keys() {
        if known.contains(item)
            && !seen_disagreements.contains(item)
            && !problems
                .iter()
                .any(|p| p.contains(&format!("[{}] `{}`", item.section, item.value)))
        {
            problems.push(format!(
                "stale disagreement [{}] `{}`: the item is not mapped to features",
                item.section, item.value
            ));
        }
    }

    report.push(format!(
        "Compass 5.5.0 feature list: {} items in {} sections",
        items.len(),
        sections.len() - 1
    ));
    report.push(format!(
        "mapped by observe: {}, by features: {}, not_applicable: {}, gaps: {}, unmapped: {}",
        counts.get("observe").unwrap_or(&0),
        counts.get("features").unwrap_or(&0),
        counts.get("not_applicable").unwrap_or(&0),
        counts.get("gap").unwrap_or(&0),
        counts.get("unmapped").unwrap_or(&0),
    ));
    report.push(format!(
        "statuses at {TARGET}: {agreements} agree, {} listed disagreements",
        seen_disagreements.len()
    ));
    // A construct the catalog does not name reads as supported, so a gap
    // matters when Compass gives the item another status.
    gap_lines.sort();
    let misses = gap_lines
        .iter()
        .filter(|(s, _)| *s != Status::Supported)
        .count();
    report.push(format!(
        "gaps (no catalog feature): {}, of which Compass gives {misses} a status other than supported (possible misses):",
        gap_lines.len()
    ));
    for (status, line) in &gap_lines {
        report.push(format!("  {:<18} {line}", status.as_str()));
    }
    for line in &unmapped {
        report.push(format!("UNMAPPED {line}"));
    }
    problems.extend(unmapped.iter().map(|u| format!("unmapped: {u}")));
    (report, problems)
}

#[test]
fn every_compass_item_is_mapped_and_statuses_agree_or_are_listed() {
    let dir = reference_dir();
    let cfg = std::fs::read_to_string(dir.join("BabelfishFeatures.cfg")).unwrap();
    let map = std::fs::read_to_string(dir.join("item-map.toml")).unwrap();
    let catalog = Catalog::shipped().unwrap();
    let count = items(&parse_cfg(&cfg)).len();
    assert!(count > 2000, "the .cfg parsed to only {count} items");
    let (report, problems) = check(&cfg, &map, &catalog);
    for line in &report {
        println!("{line}");
    }
    assert!(!report.is_empty());
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Each class of problem is caught: an unmapped item, an unknown feature id,
/// an unlisted status difference, a listed difference that no longer holds
/// and entries naming items that do not exist.
#[test]
fn check_reports_unmapped_unknown_unlisted_and_stale() {
    let catalog = Catalog::shipped().unwrap();
    let cfg = "[Babelfish for T-SQL]\nfile_format=2\n\
               [Built-in functions]\nlist=STR,ABS,COMPRESS\nsupported-1.0.0=STR,ABS\n\
               [SET NOCOUNT]\nsupported-1.0.0=*\n[GOTO]\nsupported-1.0.0=*\n";
    let map = r#"
        [[section]]
        name = "Built-in functions"
        observe = [{ kind = "function", name = "{}" }]

        [[section]]
        name = "SET NOCOUNT"
        features = ["set.no_such_feature"]

        [[disagreement]]
        section = "Built-in functions"
        value = "ABS"
        ours = "supported"
        compass = "supported"
        reason = "stale: they agree"

        [[disagreement]]
        section = "Built-in functions"
        value = "NO_SUCH_FUNCTION"
        ours = "supported"
        compass = "not_supported"
        reason = "stale: no such item"
    "#;
    let (_, problems) = check(cfg, map, &catalog);
    let text = problems.join("\n");
    for expected in [
        "unmapped: [GOTO] ``",
        "maps to unknown feature `set.no_such_feature`",
        "[Built-in functions] `STR`: Compass supported, ours review_semantics",
        "stale disagreement [Built-in functions] `ABS`: we now agree",
        "stale disagreement [Built-in functions] `NO_SUCH_FUNCTION`: no such Compass item",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(problems.len(), 5, "{text}");
}

#[test]
fn compass_classification_reads_versions_ranges_and_defaults() {
    let cfg = "[Babelfish for T-SQL]\nfile_format=2\n[S]\nlist=A,B,C,D,E,##\n\
               supported-1.0.0=A\nsupported-3.5.0-3.*=B\nignored-2.2.0=C\n\
               default_classification-ReviewSemantics=D # comment\n\
               ReviewSemantics-5.6.0=E\nsupported-2.1.0-5.4.0=##\n\
               [T]\ndefault_classification=ReviewManually\n[U]\nsupported-5.5.0=*\n\
               [V]\nlist=COLUMN,INDEX\nsupported-3.2.0=arg3=COLUMN\n[W]\nsupported-1.0.0=arg2=*\n";
    let sections = parse_cfg(cfg);
    let got: Vec<(String, &str)> = items(&sections)
        .into_iter()
        .map(|(i, s, _)| (format!("{}:{}", i.section, i.value), s.as_str()))
        .collect();
    let want = [
        ("S:A", "supported"),
        ("S:B", "not_supported"),
        ("S:C", "ignored"),
        ("S:D", "review_semantics"),
        ("S:E", "not_supported"),
        ("S:#", "not_supported"),
        ("T:", "review_manually"),
        ("U:", "supported"),
        ("V:COLUMN", "supported"),
        ("V:INDEX", "not_supported"),
        ("W:", "supported"),
    ];
    let want: Vec<(String, &str)> = want.iter().map(|(a, b)| (a.to_string(), *b)).collect();
    assert_eq!(got, want);
    assert!(range_applies("3.5.0-3.*", (3, 9)));
    assert!(!range_applies("3.5.0-3.*", (4, 0)));
    assert!(range_applies("2.1.0-5.5.0", (5, 5)));
}
