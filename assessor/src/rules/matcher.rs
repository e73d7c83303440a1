//! Matching a script's observations against the catalog for one target.
//!
//! Guarantees: among patterns that only look at observations, the most
//! specific one classifies the observation (between equally specific ones
//! the worse status on the target wins, then the feature listed first);
//! patterns that also read the statement text add their feature; lookups go
//! through a hash map keyed by (kind, name) plus a short per-kind
//! list of glob patterns, never a scan of the whole catalog; `unparsed`
//! observations and sqlcmd directives always classify (as the catalog's
//! fallback features when nothing more specific matches). A construct no
//! pattern matches yields nothing, which reads as supported; the catalog
//! closes the sets only SQL Server defines (`@@` names, `sys.*` objects,
//! property arguments) with fallback globs that say otherwise.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use super::catalog::{Catalog, Feature, SQLCMD_FEATURE, UNPARSED_FEATURE};
use super::pattern::{Anchor, Condition, Pattern};
use super::settings::Settings;
use super::version::Version;
use crate::findings::{ObjectKind, Status};
use crate::tsql::Script;
use crate::tsql::lexer::{Lexer, TokenKind};
use crate::tsql::observation::{Observation, ObservationKind};

/// Upper bound on the statement text searched by text conditions, so a
/// pathological statement cannot make matching quadratic.
const TEXT_WINDOW: usize = 4096;

/// Index of a pattern: (feature index, pattern index).
type PatternRef = (usize, usize);

/// Orders competing patterns: specificity, then the worse status (the lower
/// rank), greatest wins ([`Matcher::tie_key`]).
type TieKey = (u32, Reverse<usize>);

/// One classified observation (an observation may yield several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified<'c> {
    /// Index of the observation in `Script::observations`.
    pub observation: usize,
    pub feature: &'c Feature,
    pub status: Status,
    /// Byte offset the finding is reported at (the construct, or the start
    /// of its statement when the pattern says so).
    pub offset: usize,
}

/// The catalog indexed for fast lookups, with statuses resolved for one
/// target version.
#[derive(Debug)]
pub struct Matcher<'c> {
    catalog: &'c Catalog,
    target: Version,
    exact: HashMap<ObservationKind, HashMap<String, Vec<PatternRef>>>,
    globs: HashMap<ObservationKind, Vec<PatternRef>>,
    /// Distinct context conditions (`in_statement` / `in_object`).
    contexts: Vec<Condition>,
    /// For each (feature, pattern) with context: indices into `contexts`.
    context_of: HashMap<PatternRef, (Option<usize>, Option<usize>)>,
    statuses: Vec<Status>,
    unparsed: Option<usize>,
    sqlcmd: Option<usize>,
}

impl<'c> Matcher<'c> {
    /// The matcher for `target` with Babelfish's default settings.
    pub fn new(catalog: &'c Catalog, target: Version) -> Matcher<'c> {
        Matcher::with_settings(catalog, target, &Settings::default())
    }

    /// The matcher for `target` with `settings` applied: a setting moves a
    /// feature from the status its default gives to the status its chosen
    /// value gives, and only where the catalog's status at `target` is the
    /// default's (see [`crate::rules::settings`]).
    pub fn with_settings(
        catalog: &'c Catalog,
        target: Version,
        settings: &Settings,
    ) -> Matcher<'c> {
        let mut exact: HashMap<ObservationKind, HashMap<String, Vec<PatternRef>>> = HashMap::new();
        let mut globs: HashMap<ObservationKind, Vec<PatternRef>> = HashMap::new();
        let mut contexts: Vec<Condition> = Vec::new();
        let mut context_of = HashMap::new();
        let mut intern = |s: &Option<Condition>| -> Option<usize> {
            let s = s.as_ref()?;
            Some(match contexts.iter().position(|c| c == s) {
                Some(i) => i,
                None => {
                    contexts.push(s.clone());
                    contexts.len() - 1
                }
            })
        };
        for (fi, feature) in catalog.features().iter().enumerate() {
            for (pi, pattern) in feature.patterns.iter().enumerate() {
                let what = &pattern.what;
                if what.name.is_wildcard() {
                    globs.entry(what.kind).or_default().push((fi, pi));
                } else {
                    exact
                        .entry(what.kind)
                        .or_default()
                        .entry(what.name.as_str().to_string())
                        .or_default()
                        .push((fi, pi));
                }
                let ctx = (intern(&pattern.in_statement), intern(&pattern.in_object));
                if ctx != (None, None) {
                    context_of.insert((fi, pi), ctx);
                }
            }
        }
        let position = |id: &str| catalog.features().iter().position(|f| f.id == id);
        let mut statuses: Vec<Status> = catalog
            .features()
            .iter()
            .map(|f| f.status_at(target))
            .collect();
        for (name, value) in settings.iter() {
            let Some(def) = catalog.setting(name) else {
                continue; // `Settings` only holds names the catalog models.
            };
            for (feature, from, to) in def.changes(value) {
                if let Some(i) = position(feature).filter(|i| statuses[*i] == from) {
                    statuses[i] = to;
                }
            }
        }
        Matcher {
            catalog,
            target,
            exact,
            globs,
            contexts,
            context_of,
            statuses,
            unparsed: position(UNPARSED_FEATURE),
            sqlcmd: position(SQLCMD_FEATURE),
        }
    }

    pub fn target(&self) -> Version {
        self.target
    }

    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// Classifies every observation of a parsed script. `text` is the
    /// decoded script the offsets refer to.
    pub fn classify(&self, text: &str, script: &Script) -> Vec<Classified<'c>> {
        let layout = Layout::new(text, script, &self.contexts);
        let mut out = Vec::new();
        for (i, obs) in script.observations.iter().enumerate() {
            self.classify_one(i, obs, &layout, &mut out);
        }
        Self::drop_superseded(&mut out);
        out
    }

    /// Drops a finding where a feature that supersedes it was found at the
    /// same position (the same construct, or the same statement for
    /// statement-anchored patterns) with a status at least as severe on the
    /// target: a milder reading never hides a blocker.
    fn drop_superseded(out: &mut Vec<Classified<'c>>) {
        if out.iter().all(|c| c.feature.superseded_by.is_empty()) {
            return;
        }
        let found: HashMap<(usize, &str), Status> = out
            .iter()
            .map(|c| ((c.offset, c.feature.id.as_str()), c.status))
            .collect();
        out.retain(|c| {
            !c.feature.superseded_by.iter().any(|by| {
                found
                    .get(&(c.offset, by.as_str()))
                    .is_some_and(|st| st.rank() <= c.status.rank())
            })
        });
    }

    /// Classifies an observation that stands for a fact rather than code
    /// (the inventory analysis: a column's data type, a CLR assembly seen in
    /// the catalog ...). Patterns that read statement text or need context
    /// cannot hold without code and are not considered; among the rest the
    /// most specific wins, as for code. `None` when no feature applies.
    pub fn classify_fact(&self, obs: &Observation) -> Option<(&'c Feature, Status)> {
        for name in name_forms(&obs.name) {
            let best = self
                .candidates(obs.kind, name)
                .filter(|pref| {
                    let pattern = &self.catalog.features()[pref.0].patterns[pref.1];
                    !pattern.needs_text()
                        && !self.context_of.contains_key(pref)
                        && pattern.what.matches_named(obs, name)
                })
                .max_by(|a, b| self.tie_key(*a).cmp(&self.tie_key(*b)).then(b.cmp(a)));
            if let Some((fi, _)) = best {
                return Some((&self.catalog.features()[fi], self.statuses[fi]));
            }
        }
        None
    }

    /// What decides between matching patterns, greatest first: the more
    /// specific pattern, then the worse status on the target, so that two
    /// equally specific readings of a construct never resolve to the milder
    /// one by accident of listing order. Listing order breaks what is left.
    fn tie_key(&self, pref: PatternRef) -> TieKey {
        let score = self.catalog.features()[pref.0].patterns[pref.1].score();
        (score, Reverse(self.statuses[pref.0].rank()))
    }

    fn candidates(
        &self,
        kind: ObservationKind,
        name: &str,
    ) -> impl Iterator<Item = PatternRef> + '_ {
        let exact = self
            .exact
            .get(&kind)
            .and_then(|m| m.get(name))
            .map_or(&[][..], Vec::as_slice);
        let globs = self.globs.get(&kind).map_or(&[][..], Vec::as_slice);
        exact.iter().chain(globs).copied()
    }

    /// Classifies one observation. Patterns without text conditions compete:
    /// the most specific wins. Patterns with text conditions (or checks) add
    /// their feature on top, so one statement can carry several findings
    /// (e.g. several `ALTER DATABASE` options).
    fn classify_one(
        &self,
        i: usize,
        obs: &Observation,
        layout: &Layout<'_>,
        out: &mut Vec<Classified<'c>>,
    ) {
        let mut best: Option<(TieKey, PatternRef)> = None;
        let mut additive: Vec<PatternRef> = Vec::new();
        // The squeezed text after the construct, computed once if needed.
        let mut window: Option<String> = None;
        // Qualified names are tried whole first, then without their leading
        // parts (`MSDB.DBO.SP_ADD_JOB` -> `DBO.SP_ADD_JOB` -> `SP_ADD_JOB`);
        // the first form that matches anything decides.
        for name in name_forms(&obs.name) {
            for pref in self.candidates(obs.kind, name) {
                let pattern = &self.catalog.features()[pref.0].patterns[pref.1];
                if !pattern.what.matches_named(obs, name)
                    || !self.context_holds(pref, i, obs, layout)
                {
                    continue;
                }
                if pattern.needs_text() {
                    let raw = layout.raw_window(i, obs);
                    let squeezed = window.get_or_insert_with(|| squeeze(raw));
                    if text_holds(pattern, squeezed, raw, layout)
                        && !additive.iter().any(|a| a.0 == pref.0)
                    {
                        additive.push(pref);
                    }
                    continue;
                }
                let key = self.tie_key(pref);
                if best.is_none_or(|(k, b)| key > k || (key == k && pref < b)) {
                    best = Some((key, pref));
                }
            }
            if best.is_some() || !additive.is_empty() {
                break;
            }
        }
        let mut chosen: Vec<PatternRef> = best.map(|(_, p)| p).into_iter().collect();
        chosen.extend(
            additive
                .into_iter()
                .filter(|a| Some(a.0) != best.map(|b| b.1.0)),
        );
        if chosen.is_empty() {
            let fallback = match obs.kind {
                ObservationKind::Unparsed => self.unparsed,
                ObservationKind::Sqlcmd => self.sqlcmd,
                _ => None,
            };
            if let Some(fi) = fallback {
                out.push(self.classified(i, fi, obs.offset));
            }
            return;
        }
        for (fi, pi) in chosen {
            let offset = match self.catalog.features()[fi].patterns[pi].anchor {
                Anchor::Construct => obs.offset,
                Anchor::Statement => layout.statement_start(i).unwrap_or(obs.offset),
                Anchor::Object => find_object(&layout.objects, obs.offset)
                    .map_or(obs.offset, |o| layout.objects[o].0),
            };
            out.push(self.classified(i, fi, offset));
        }
    }

    fn classified(&self, observation: usize, fi: usize, offset: usize) -> Classified<'c> {
        Classified {
            observation,
            feature: &self.catalog.features()[fi],
            status: self.statuses[fi],
            offset,
        }
    }

    fn context_holds(
        &self,
        pref: PatternRef,
        i: usize,
        obs: &Observation,
        layout: &Layout<'_>,
    ) -> bool {
        let Some(&(in_statement, in_object)) = self.context_of.get(&pref) else {
            return true;
        };
        in_statement.is_none_or(|c| layout.statement_has(i, c))
            && in_object.is_none_or(|c| layout.object_has(obs.offset, c))
    }
}

/// `text` starts with `prefix`; a prefix that ends in a number of two or
/// more digits (`@@ERROR=241`) must end where the text's number ends, so
/// that it does not match `@@ERROR=2410`. A single trailing digit stays a
/// plain prefix (`RAISERROR5` for `RAISERROR 50001 'msg'`).
fn starts_with_whole(text: &str, prefix: &str) -> bool {
    let bytes = prefix.as_bytes();
    let number = bytes.len() >= 2 && bytes[bytes.len() - 2..].iter().all(u8::is_ascii_digit);
    text.starts_with(prefix)
        && !(number
            && text
                .as_bytes()
                .get(prefix.len())
                .is_some_and(u8::is_ascii_digit))
}

/// `text` starts with the allowed `name` as a whole name: not followed by
/// `_` or a digit, which would make it a longer name
/// (`LATIN1_GENERAL_100_BIN2_UTF8` is not `LATIN1_GENERAL_100_BIN2`). A
/// letter may follow: whitespace is squeezed out, so the next keyword
/// (`NOT NULL`, `ADD MEMBER`) comes right after the name.
fn starts_with_name(text: &str, name: &str) -> bool {
    text.starts_with(name)
        && !text
            .as_bytes()
            .get(name.len())
            .is_some_and(|b| *b == b'_' || b.is_ascii_digit())
}

fn text_holds(pattern: &Pattern, squeezed: &str, raw: &str, layout: &Layout<'_>) -> bool {
    (pattern.text_contains.is_empty()
        || pattern
            .text_contains
            .iter()
            .any(|needle| squeezed.contains(needle.as_str())))
        && (pattern.text_starts_with.is_empty()
            || pattern
                .text_starts_with
                .iter()
                .any(|prefix| starts_with_whole(squeezed, prefix)))
        && !pattern
            .text_lacks
            .iter()
            .any(|needle| squeezed.contains(needle.as_str()))
        && !pattern
            .text_starts_without
            .iter()
            .any(|name| starts_with_name(squeezed, name))
        && pattern.check.is_none_or(|c| c.holds(raw, &layout.views))
}

/// The name, then the name without each leading dotted part.
fn name_forms(name: &str) -> impl Iterator<Item = &str> {
    std::iter::once(name).chain(name.match_indices('.').map(move |(i, _)| &name[i + 1..]))
}

/// Upper case, whitespace and comments removed: text conditions read code,
/// so a comment can neither satisfy one (`-- WITH LOG`) nor hide code from
/// it (`WITH /* ... */ EXECUTE AS OWNER`). String literals and quoted names
/// are kept (rules look for `'INDEX'`), and a `--` inside them is text. The
/// T-SQL lexer decides what is a comment and what a literal.
fn squeeze(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for token in Lexer::new(text) {
        let word = token.text(text);
        // The window may end inside a block comment, which then lexes as
        // unterminated.
        let cut_comment = token.kind == TokenKind::Error && word.starts_with("/*");
        if token.is_trivia() || cut_comment {
            continue;
        }
        out.extend(
            word.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_uppercase),
        );
    }
    out
}

/// Where each observation sits: its statement and object, and which
/// context conditions each statement and object satisfies.
struct Layout<'t> {
    text: &'t str,
    /// For each observation, the index of its statement in `starts`.
    statement_of: Vec<Option<usize>>,
    /// Statement start offsets (offsets of `statement` observations).
    starts: Vec<usize>,
    /// Per statement, per context: present?
    statement_ctx: Vec<Vec<bool>>,
    /// Object spans (start, end) and per object, per context: present?
    objects: Vec<(usize, usize)>,
    object_ctx: Vec<Vec<bool>>,
    /// Views the script defines, upper case, `SCHEMA.NAME` and `NAME`.
    views: HashSet<String>,
}

impl<'t> Layout<'t> {
    fn new(text: &'t str, script: &Script, contexts: &[Condition]) -> Layout<'t> {
        let mut starts = Vec::new();
        let mut statement_of = Vec::with_capacity(script.observations.len());
        for obs in &script.observations {
            if obs.kind == ObservationKind::Statement {
                starts.push(obs.offset);
            }
            statement_of.push(starts.len().checked_sub(1));
        }
        let objects: Vec<(usize, usize)> =
            script.objects.iter().map(|o| (o.start, o.end)).collect();
        let mut views = HashSet::new();
        for o in &script.objects {
            if o.object.kind == ObjectKind::View {
                let name = o.object.name.to_uppercase();
                if let Some(schema) = &o.object.schema {
                    views.insert(format!("{}.{name}", schema.to_uppercase()));
                }
                views.insert(name);
            }
        }
        let mut layout = Layout {
            text,
            statement_of,
            starts,
            statement_ctx: Vec::new(),
            objects,
            object_ctx: Vec::new(),
            views,
        };
        let mut statement_ctx = vec![Vec::new(); layout.starts.len()];
        let mut object_ctx = vec![Vec::new(); layout.objects.len()];
        for (i, obs) in script.observations.iter().enumerate() {
            for (c, ctx) in contexts.iter().enumerate() {
                if !ctx.what.matches(obs) {
                    continue;
                }
                if !ctx.text_contains.is_empty() {
                    let squeezed = squeeze(layout.raw_window(i, obs));
                    if !ctx
                        .text_contains
                        .iter()
                        .any(|n| squeezed.contains(n.as_str()))
                    {
                        continue;
                    }
                }
                if let Some(s) = layout.statement_of[i] {
                    set_flag(&mut statement_ctx[s], c, contexts.len());
                }
                if let Some(o) = find_object(&layout.objects, obs.offset) {
                    set_flag(&mut object_ctx[o], c, contexts.len());
                }
            }
        }
        layout.statement_ctx = statement_ctx;
        layout.object_ctx = object_ctx;
        layout
    }

    /// The source from the construct to the end of its statement (the next
    /// statement's start), bounded by [`TEXT_WINDOW`] bytes.
    fn raw_window(&self, i: usize, obs: &Observation) -> &'t str {
        let len = self.text.len();
        let start = obs.offset.min(len);
        let next = self.statement_of[i]
            .and_then(|s| self.starts.get(s + 1).copied())
            .filter(|&n| n > start)
            .unwrap_or(len);
        let mut end = next.min(start.saturating_add(TEXT_WINDOW)).min(len);
        while end > start && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let mut start = start;
        while start > 0 && !self.text.is_char_boundary(start) {
            start -= 1;
        }
        self.text.get(start..end).unwrap_or("")
    }

    fn statement_start(&self, i: usize) -> Option<usize> {
        self.statement_of[i].map(|s| self.starts[s])
    }

    fn statement_has(&self, i: usize, ctx: usize) -> bool {
        self.statement_of[i]
            .is_some_and(|s| self.statement_ctx[s].get(ctx).copied().unwrap_or(false))
    }

    fn object_has(&self, offset: usize, ctx: usize) -> bool {
        find_object(&self.objects, offset)
            .is_some_and(|o| self.object_ctx[o].get(ctx).copied().unwrap_or(false))
    }
}

fn set_flag(flags: &mut Vec<bool>, index: usize, len: usize) {
    if flags.is_empty() {
        flags.resize(len, false);
    }
    flags[index] = true;
}

/// The object span containing `offset` (spans are sorted, not overlapping).
pub(crate) fn find_object(objects: &[(usize, usize)], offset: usize) -> Option<usize> {
    let i = objects.partition_point(|&(start, _)| start <= offset);
    let candidate = i.checked_sub(1)?;
    (offset < objects[candidate].1).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::ObjectRef;
    use crate::tsql::ObjectSpan;

    #[test]
    fn squeezed_text_drops_comments_but_keeps_literals() {
        assert_eq!(
            squeeze("WITH /* a /* nested */ one */ EXECUTE -- note\n AS owner"),
            "WITHEXECUTEASOWNER"
        );
        assert_eq!(
            squeeze("RAISERROR('x', 16, 1) -- WITH LOG"),
            "RAISERROR('X',16,1)"
        );
        // `--` and `/*` inside a literal or a quoted name are text.
        assert_eq!(squeeze("N'a -- b', [c /* d]"), "N'A--B',[C/*D]");
        assert_eq!(squeeze("'it''s' -- x"), "'IT''S'");
        // An unclosed block comment runs to the end.
        assert_eq!(squeeze("a /* b"), "A");
    }

    #[test]
    fn a_number_at_the_end_of_a_prefix_is_whole() {
        assert!(starts_with_whole("@@ERROR=241PRINT'X'", "@@ERROR=241"));
        assert!(starts_with_whole("@@ERROR=241", "@@ERROR=241"));
        assert!(!starts_with_whole("@@ERROR=2410PRINT'X'", "@@ERROR=241"));
        assert!(starts_with_whole("RAISERROR50001'MSG'", "RAISERROR5"));
        assert!(!starts_with_whole("RAISERROR('X',16,1)", "RAISERROR5"));
    }

    #[test]
    fn an_allowed_name_allows_only_itself_not_a_longer_name() {
        let name = "COLLATELATIN1_GENERAL_100_BIN2";
        assert!(starts_with_name(
            "COLLATELATIN1_GENERAL_100_BIN2NOTNULL,",
            name
        ));
        assert!(starts_with_name("COLLATELATIN1_GENERAL_100_BIN2)", name));
        assert!(starts_with_name(name, name));
        assert!(!starts_with_name(
            "COLLATELATIN1_GENERAL_100_BIN2_UTF8NOTNULL",
            name
        ));
        assert!(!starts_with_name("COLLATELATIN1_GENERAL_100_BIN22", name));
        assert!(!starts_with_name("COLLATELATIN1_GENERAL_CI_AS", name));
    }

    const VERSIONS: &str = r#"
[[version]]
id = "1.0"
postgres = "13"
[[version]]
id = "2.4"
postgres = "14"
"#;

    const FEATURES: &str = r#"
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

[[feature]]
id = "function.str"
group = "Built-in functions: string"
description = "d"
complexity = "low"
effort_minutes = 10
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "not_supported", "2.4" = "supported" }
match = [{ kind = "function", name = "STR" }]

[[feature]]
id = "dmv.any"
group = "Dynamic management views"
description = "d"
complexity = "high"
effort_minutes = 60
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "not_supported" }
match = [{ kind = "system_object", name = "SYS.DM_*" }]

[[feature]]
id = "dmv.sessions"
group = "Dynamic management views"
description = "d"
complexity = "low"
effort_minutes = 5
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "supported" }
match = [{ kind = "system_object", name = "SYS.DM_EXEC_SESSIONS" }]

[[feature]]
id = "transaction.begin"
group = "Transactions"
description = "d"
complexity = "low"
effort_minutes = 5
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "supported" }
match = [{ kind = "statement", name = "BEGIN TRANSACTION" }]

[[feature]]
id = "transaction.begin.security_definer"
group = "Transactions: EXECUTE AS OWNER"
description = "d"
complexity = "high"
effort_minutes = 60
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "not_supported" }
match = [{ kind = "statement", name = "BEGIN TRANSACTION", in_object = { kind = "option", name = "EXECUTE AS", detail = "OWNER" } }]

[[feature]]
id = "database.option.recovery"
group = "ALTER DATABASE options"
description = "d"
complexity = "low"
effort_minutes = 5
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "not_supported" }
match = [{ kind = "option", name = "RECOVERY", statement = "ALTER DATABASE", anchor = "statement" }]

[[feature]]
id = "extended_property.index"
group = "Extended properties"
description = "d"
complexity = "low"
effort_minutes = 5
remediation = "r"
docs = "https://example.org"
status = { "1.0" = "not_supported" }
match = [{ kind = "procedure", name = "SP_ADDEXTENDEDPROPERTY", text_contains = ["= N'INDEX'", "'INDEX'"] }]
"#;

    fn catalog() -> Catalog {
        Catalog::from_sources(&[("v.toml", VERSIONS), ("f.toml", FEATURES)]).unwrap()
    }

    /// One more feature for a single test: `pattern` is its one `match` entry.
    fn feature_toml(id: &str, status: &str, pattern: &str) -> String {
        format!(
            r#"
[[feature]]
id = "{id}"
group = "g"
description = "d"
complexity = "low"
effort_minutes = 5
remediation = "r"
docs = "https://example.org"
status = {{ "1.0" = "{status}" }}
match = [{pattern}]
"#
        )
    }

    /// The test catalog with `extra` features.
    fn catalog_with(extra: &[String]) -> Catalog {
        let features = format!("{FEATURES}{}", extra.concat());
        Catalog::from_sources(&[("v.toml", VERSIONS), ("f.toml", features.as_str())]).unwrap()
    }

    fn obs(
        kind: ObservationKind,
        name: &str,
        detail: Option<&str>,
        statement: &str,
        offset: usize,
    ) -> Observation {
        Observation {
            kind,
            name: name.into(),
            detail: detail.map(str::to_string),
            statement: statement.into(),
            offset,
            len: name.len(),
            in_string: false,
        }
    }

    fn ids(classified: &[Classified<'_>]) -> Vec<(String, Status, usize)> {
        classified
            .iter()
            .map(|c| (c.feature.id.clone(), c.status, c.offset))
            .collect()
    }

    /// A script with one call of STR().
    fn str_call() -> Script {
        Script {
            observations: vec![obs(
                ObservationKind::Function,
                "STR",
                Some("1"),
                "SELECT",
                7,
            )],
            objects: vec![],
        }
    }

    #[test]
    fn status_depends_on_target() {
        let catalog = catalog();
        let script = str_call();
        let old = Matcher::new(&catalog, Version::parse("1.0").unwrap());
        let new = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        assert_eq!(old.classify("", &script)[0].status, Status::NotSupported);
        assert_eq!(new.classify("", &script)[0].status, Status::Supported);
    }

    #[test]
    fn a_setting_changes_a_status_only_where_its_default_behaviour_holds() {
        const SETTING: &str = r#"
[[setting]]
name = "escape_hatch_x"
description = "d"
docs = "https://example.org"
example = "SELECT STR(1);"
values = ["ignore", "strict"]
default = "ignore"
[[setting.effect]]
features = ["function.str"]
status = { ignore = "supported", strict = "review_semantics" }
"#;
        let catalog = Catalog::from_sources(&[
            ("v.toml", VERSIONS),
            ("f.toml", FEATURES),
            ("s.toml", SETTING),
        ])
        .unwrap();
        let script = str_call();
        let status = |v: &str, given: &[&str]| {
            let settings = catalog.resolve_settings(given).unwrap();
            Matcher::with_settings(&catalog, Version::parse(v).unwrap(), &settings)
                .classify("", &script)[0]
                .status
        };
        // Defaults: the catalog's statuses.
        assert_eq!(status("2.4", &[]), Status::Supported);
        assert_eq!(status("2.4", &["escape_hatch_x=ignore"]), Status::Supported);
        // Strict: supported (the default's behaviour) becomes review_semantics.
        assert_eq!(
            status("2.4", &["escape_hatch_x=strict"]),
            Status::ReviewSemantics
        );
        // In 1.0 the feature is not the default's behaviour: left alone.
        assert_eq!(
            status("1.0", &["escape_hatch_x=strict"]),
            Status::NotSupported
        );
    }

    #[test]
    fn exact_name_beats_glob_and_unknown_names_yield_nothing() {
        let catalog = catalog();
        let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        let script = Script {
            observations: vec![
                obs(
                    ObservationKind::SystemObject,
                    "SYS.DM_EXEC_SESSIONS",
                    None,
                    "SELECT",
                    0,
                ),
                obs(
                    ObservationKind::SystemObject,
                    "SYS.DM_OS_WAIT_STATS",
                    None,
                    "SELECT",
                    10,
                ),
                obs(ObservationKind::Function, "MY_UDF", None, "SELECT", 20),
            ],
            objects: vec![],
        };
        assert_eq!(
            ids(&m.classify("", &script)),
            vec![
                ("dmv.sessions".into(), Status::Supported, 0),
                ("dmv.any".into(), Status::NotSupported, 10)
            ]
        );
    }

    #[test]
    fn between_equally_specific_patterns_the_worse_status_wins_whatever_the_order() {
        let pattern = r#"{ kind = "function", name = "MY_FN" }"#;
        let mild = feature_toml("fn.mild", "ignored", pattern);
        let worst = feature_toml("fn.worst", "not_supported", pattern);
        let review = feature_toml("fn.review", "review_semantics", pattern);
        let call = obs(ObservationKind::Function, "MY_FN", None, "SELECT", 0);
        let script = Script {
            observations: vec![call.clone()],
            objects: vec![],
        };
        for order in [
            [mild.clone(), worst.clone(), review.clone()],
            [worst.clone(), review.clone(), mild.clone()],
            [review.clone(), mild.clone(), worst.clone()],
        ] {
            let catalog = catalog_with(&order);
            let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
            assert_eq!(
                ids(&m.classify("", &script)),
                vec![("fn.worst".into(), Status::NotSupported, 0)]
            );
            let fact = m.classify_fact(&call).map(|(f, s)| (f.id.clone(), s));
            assert_eq!(fact, Some(("fn.worst".into(), Status::NotSupported)));
        }
        // Specificity still comes first: an exact name beats a worse glob.
        let glob = feature_toml(
            "fn.any",
            "not_supported",
            r#"{ kind = "function", name = "MY_*" }"#,
        );
        let catalog = catalog_with(&[glob, mild]);
        let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        assert_eq!(
            ids(&m.classify("", &script)),
            vec![("fn.mild".into(), Status::Ignored, 0)]
        );
    }

    #[test]
    fn unparsed_and_sqlcmd_always_need_review() {
        let catalog = catalog();
        let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        let script = Script {
            observations: vec![
                obs(ObservationKind::Sqlcmd, ":SETVAR", None, "", 0),
                obs(ObservationKind::Unparsed, "", None, "", 5),
            ],
            objects: vec![],
        };
        let got = ids(&m.classify("", &script));
        assert_eq!(
            got,
            vec![
                ("sqlcmd.other".into(), Status::ReviewManually, 0),
                ("code.unparsed".into(), Status::ReviewManually, 5)
            ]
        );
    }

    #[test]
    fn object_context_selects_the_security_definer_variant() {
        let catalog = catalog();
        let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        let object = |start, end| ObjectSpan {
            object: ObjectRef {
                schema: None,
                name: "p".into(),
                kind: ObjectKind::Procedure,
            },
            start,
            end,
        };
        let script = Script {
            observations: vec![
                obs(
                    ObservationKind::Statement,
                    "CREATE PROCEDURE",
                    None,
                    "CREATE PROCEDURE",
                    0,
                ),
                obs(
                    ObservationKind::Option,
                    "EXECUTE AS",
                    Some("OWNER"),
                    "CREATE PROCEDURE",
                    20,
                ),
                obs(
                    ObservationKind::Statement,
                    "BEGIN TRANSACTION",
                    None,
                    "BEGIN TRANSACTION",
                    40,
                ),
                obs(
                    ObservationKind::Statement,
                    "CREATE PROCEDURE",
                    None,
                    "CREATE PROCEDURE",
                    100,
                ),
                obs(
                    ObservationKind::Statement,
                    "BEGIN TRANSACTION",
                    None,
                    "BEGIN TRANSACTION",
                    140,
                ),
            ],
            objects: vec![object(0, 99), object(100, 200)],
        };
        let got = ids(&m.classify("", &script));
        assert_eq!(
            got,
            vec![
                (
                    "transaction.begin.security_definer".into(),
                    Status::NotSupported,
                    40
                ),
                ("transaction.begin".into(), Status::Supported, 140)
            ]
        );
    }

    #[test]
    fn statement_anchor_and_text_constraint() {
        let catalog = catalog();
        let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        let text = "ALTER DATABASE x\n SET RECOVERY SIMPLE\nEXEC sp_addextendedproperty @level2type = N'INDEX'\nEXEC sp_addextendedproperty @level1type = N'TABLE'";
        let exec1 = text.find("EXEC").unwrap();
        let exec2 = text.rfind("EXEC").unwrap();
        let script = Script {
            observations: vec![
                obs(
                    ObservationKind::Statement,
                    "ALTER DATABASE",
                    None,
                    "ALTER DATABASE",
                    0,
                ),
                obs(
                    ObservationKind::Option,
                    "RECOVERY",
                    Some("SIMPLE"),
                    "ALTER DATABASE",
                    22,
                ),
                obs(
                    ObservationKind::Statement,
                    "EXECUTE",
                    None,
                    "EXECUTE",
                    exec1,
                ),
                obs(
                    ObservationKind::Procedure,
                    "SP_ADDEXTENDEDPROPERTY",
                    None,
                    "EXECUTE",
                    exec1 + 5,
                ),
                obs(
                    ObservationKind::Statement,
                    "EXECUTE",
                    None,
                    "EXECUTE",
                    exec2,
                ),
                obs(
                    ObservationKind::Procedure,
                    "SP_ADDEXTENDEDPROPERTY",
                    None,
                    "EXECUTE",
                    exec2 + 5,
                ),
            ],
            objects: vec![],
        };
        let got = ids(&m.classify(text, &script));
        assert_eq!(
            got,
            vec![
                ("database.option.recovery".into(), Status::NotSupported, 0),
                (
                    "extended_property.index".into(),
                    Status::NotSupported,
                    exec1 + 5
                ),
            ]
        );
    }

    #[test]
    fn object_anchor_reports_at_the_enclosing_create() {
        let catalog = catalog_with(&[feature_toml(
            "view.check_option",
            "not_supported",
            r#"{ kind = "clause", name = "WITH CHECK OPTION", anchor = "object" }"#,
        )]);
        let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        let text =
            "CREATE VIEW v AS\nSELECT a FROM t\nWITH CHECK OPTION\nSELECT 1 WITH CHECK OPTION";
        let select = text.find("SELECT").unwrap();
        let clause = text.find("WITH CHECK").unwrap();
        let outside = text.rfind("WITH CHECK").unwrap();
        let span = ObjectSpan {
            object: ObjectRef {
                schema: None,
                name: "v".into(),
                kind: ObjectKind::View,
            },
            start: 0,
            end: clause + 17,
        };
        let script = Script {
            observations: vec![
                obs(ObservationKind::Statement, "SELECT", None, "SELECT", select),
                obs(
                    ObservationKind::Clause,
                    "WITH CHECK OPTION",
                    None,
                    "SELECT",
                    clause,
                ),
                obs(
                    ObservationKind::Clause,
                    "WITH CHECK OPTION",
                    None,
                    "SELECT",
                    outside,
                ),
            ],
            objects: vec![span],
        };
        // Inside the view: at its CREATE; outside any object: at the clause.
        assert_eq!(
            ids(&m.classify(text, &script)),
            vec![
                ("view.check_option".into(), Status::NotSupported, 0),
                ("view.check_option".into(), Status::NotSupported, outside),
            ]
        );
    }

    #[test]
    fn a_superseded_catch_all_gives_way_only_to_an_as_severe_precise_finding() {
        // `superseded_by` is a feature-level key: written before `match`.
        let catch_all = |superseding: &str| {
            feature_toml(
                "collate.unlisted",
                "not_supported",
                r#"{ kind = "clause", name = "COLLATE", text_starts_without = ["COLLATELATIN1_GENERAL_CI_AS"] }"#,
            )
            .replace(
                "match = [",
                &format!("superseded_by = [\"{superseding}\"]\nmatch = ["),
            )
        };
        let precise = |status: &str| {
            feature_toml(
                "collate.ws",
                status,
                r#"{ kind = "clause", name = "COLLATE", detail = "*_WS" }"#,
            )
        };
        let text = "SELECT a COLLATE Japanese_CI_AS_WS, b COLLATE Czech_CI_AS FROM t";
        let at = |needle: &str| text.find(needle).unwrap();
        let collate = |name: &str| {
            let mut o = obs(
                ObservationKind::Clause,
                "COLLATE",
                Some(name),
                "SELECT",
                at(&format!("COLLATE {name}")),
            );
            o.len = "COLLATE".len();
            o
        };
        let script = Script {
            observations: vec![collate("Japanese_CI_AS_WS"), collate("Czech_CI_AS")],
            objects: vec![],
        };
        let found = |features: &[String]| {
            let catalog = catalog_with(features);
            let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
            ids(&m.classify(text, &script))
                .into_iter()
                .map(|(id, _, offset)| (id, offset))
                .collect::<Vec<_>>()
        };
        let (ws, czech) = (at("COLLATE Japanese"), at("COLLATE Czech"));
        // The precise reading says why; the catch-all stays quiet there and
        // still reports the name nothing else explains.
        assert_eq!(
            found(&[precise("not_supported"), catch_all("collate.ws")]),
            vec![
                ("collate.ws".into(), ws),
                ("collate.unlisted".into(), czech)
            ]
        );
        // A milder precise reading does not hide a blocker.
        assert_eq!(
            found(&[precise("review_semantics"), catch_all("collate.ws")]),
            vec![
                ("collate.ws".into(), ws),
                ("collate.unlisted".into(), ws),
                ("collate.unlisted".into(), czech)
            ]
        );
        // A name that is not a feature is refused when the catalog loads.
        let err = Catalog::from_sources(&[
            ("v.toml", VERSIONS),
            (
                "f.toml",
                &format!("{FEATURES}{}", catch_all("no.such.feature")),
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("superseded_by") && err.contains("no.such.feature"),
            "{err}"
        );
    }

    #[test]
    fn text_lacks_and_starts_with_split_one_construct_into_two_features() {
        let catalog = catalog_with(&[
            feature_toml(
                "index.inline",
                "not_supported",
                r#"{ kind = "clause", name = "INLINE INDEX", text_lacks = ["COLUMNSTORE"] }"#,
            ),
            feature_toml(
                "index.inline.columnstore",
                "review_performance",
                r#"{ kind = "clause", name = "INLINE INDEX", text_starts_with = ["INDEX ix CLUSTERED COLUMNSTORE"] }"#,
            ),
        ]);
        let m = Matcher::new(&catalog, Version::parse("2.4").unwrap());
        let text = "CREATE TABLE t (a int, INDEX ix CLUSTERED COLUMNSTORE)
CREATE TABLE u (a int, INDEX iy (a))";
        let first = text.find("INDEX ix").unwrap();
        let second_stmt = text.find("CREATE TABLE u").unwrap();
        let second = text.find("INDEX iy").unwrap();
        let script = Script {
            observations: vec![
                obs(
                    ObservationKind::Statement,
                    "CREATE TABLE",
                    None,
                    "CREATE TABLE",
                    0,
                ),
                obs(
                    ObservationKind::Clause,
                    "INLINE INDEX",
                    None,
                    "CREATE TABLE",
                    first,
                ),
                obs(
                    ObservationKind::Statement,
                    "CREATE TABLE",
                    None,
                    "CREATE TABLE",
                    second_stmt,
                ),
                obs(
                    ObservationKind::Clause,
                    "INLINE INDEX",
                    None,
                    "CREATE TABLE",
                    second,
                ),
            ],
            objects: vec![],
        };
        assert_eq!(
            ids(&m.classify(text, &script)),
            vec![
                (
                    "index.inline.columnstore".into(),
                    Status::ReviewPerformance,
                    first
                ),
                ("index.inline".into(), Status::NotSupported, second),
            ]
        );
    }

    #[test]
    fn find_object_respects_span_ends() {
        let spans = [(0, 10), (20, 30)];
        assert_eq!(find_object(&spans, 5), Some(0));
        assert_eq!(find_object(&spans, 15), None);
        assert_eq!(find_object(&spans, 20), Some(1));
        assert_eq!(find_object(&spans, 30), None);
    }
}
