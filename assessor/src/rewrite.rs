//! Mechanical rewrites (`assessor analyze --rewrite DIR`): edits that make a
//! script run on Babelfish without changing what it means, applied to a
//! copy.
//!
//! Guarantees:
//! - Only constructs whose rewrite is mechanical are touched; everything
//!   else (MERGE, `##` tables, ...) needs a person, and the report's worked
//!   rewrites show how.
//! - An edit is made only where the analysis reported the feature it fixes
//!   on that line ([`Rewriter::edits`] takes the file's findings), so a
//!   rewrite never acts on code the report does not name.
//! - Line numbers survive: an edit never adds or removes a line break, so a
//!   finding's line in the report is its line in the rewritten copy.
//! - Each edit is marked in the copy with a comment naming the feature, and
//!   text inside comments and strings is never edited (rewrites work on the
//!   significant tokens of [`crate::tsql::batch::split`]).
//!
//! The rewrites:
//! - `statement.raiserror.with_log`: `LOG` leaves the option list
//!   (`WITH LOG` goes; `WITH NOWAIT, LOG` keeps `WITH NOWAIT`). The message
//!   still reaches the caller; it no longer goes to the Windows log.
//! - `ddl.alter_table.add_multiple`: `ALTER TABLE t ADD a ..., b ...`
//!   becomes one `ALTER TABLE t ADD` per item, on the same lines.
//! - `ddl.alter_table.drop_multiple`: `ALTER TABLE t DROP COLUMN a, b,
//!   CONSTRAINT c` becomes one `ALTER TABLE t DROP` per item, each with the
//!   kind (`COLUMN`, `CONSTRAINT`, `IF EXISTS`) the list gave it.
//! - `statement.drop_multiple_unsupported`: `DROP INDEX a ON t, b ON t` (and
//!   `DROP TRIGGER`, `DROP DATABASE`) becomes one `DROP` per object. A DDL
//!   trigger list (`DROP TRIGGER a, b ON DATABASE`) is left alone: its `ON`
//!   belongs to every name.
//! - The ANSI type synonyms Babelfish rejects become the T-SQL type they
//!   stand for: `CHAR[ACTER] VARYING` → `VARCHAR`, `NATIONAL CHARACTER
//!   [VARYING]`, `NATIONAL CHAR VARYING` and `NCHAR[ACTER] [VARYING]` →
//!   `NCHAR` / `NVARCHAR` (length and collation stay as written).
//!
//! A split list runs as several statements: should one fail, the ones
//! before it have run (the single statement would have changed nothing).
//! The report's remediation says so for each feature.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::findings::Finding;
use crate::source::LineIndex;
use crate::tsql::batch;
use crate::tsql::lexer::{Token, TokenKind};

/// The features this module can rewrite.
pub const REWRITABLE: [&str; 9] = [
    RAISERROR_WITH_LOG,
    ALTER_TABLE_ADD_MULTIPLE,
    ALTER_TABLE_DROP_MULTIPLE,
    DROP_MULTIPLE,
    // One entry per feature (several spellings share one).
    TYPE_SYNONYMS[0].1,
    TYPE_SYNONYMS[2].1,
    TYPE_SYNONYMS[3].1,
    TYPE_SYNONYMS[5].1,
    TYPE_SYNONYMS[7].1,
];

const RAISERROR_WITH_LOG: &str = "statement.raiserror.with_log";
const ALTER_TABLE_ADD_MULTIPLE: &str = "ddl.alter_table.add_multiple";
const ALTER_TABLE_DROP_MULTIPLE: &str = "ddl.alter_table.drop_multiple";
const DROP_MULTIPLE: &str = "statement.drop_multiple_unsupported";

/// The ANSI type synonyms Babelfish rejects: the words, the feature that
/// reports them, and the T-SQL type they name. Longer forms first, so
/// `NATIONAL CHARACTER VARYING` is never taken for `NATIONAL CHARACTER`.
const TYPE_SYNONYMS: [(&[&str], &str, &str); 8] = [
    (
        &["NATIONAL", "CHARACTER", "VARYING"],
        "data_type.national_character_varying",
        "NVARCHAR",
    ),
    (
        &["NATIONAL", "CHAR", "VARYING"],
        "data_type.national_character_varying",
        "NVARCHAR",
    ),
    (
        &["NATIONAL", "CHARACTER"],
        "data_type.national_character",
        "NCHAR",
    ),
    (
        &["NCHARACTER", "VARYING"],
        "data_type.ncharacter_varying",
        "NVARCHAR",
    ),
    (
        &["NCHAR", "VARYING"],
        "data_type.ncharacter_varying",
        "NVARCHAR",
    ),
    (
        &["CHARACTER", "VARYING"],
        "data_type.character_varying",
        "VARCHAR",
    ),
    (
        &["CHAR", "VARYING"],
        "data_type.character_varying",
        "VARCHAR",
    ),
    (&["NCHARACTER"], "data_type.ncharacter", "NCHAR"),
];

/// One replacement of `text[start..end]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub replacement: String,
    /// The feature the edit removes.
    pub feature: &'static str,
}

impl std::fmt::Debug for Edit {
    // The replacement is customer code: never in a Debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edit")
            .field("start", &self.start)
            .field("end", &self.end)
            .field("feature", &self.feature)
            .finish_non_exhaustive()
    }
}

/// Finds the edits for one script.
pub struct Rewriter<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    batches: Vec<std::ops::Range<usize>>,
}

impl std::fmt::Debug for Rewriter<'_> {
    // The text is customer code: counts only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rewriter")
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl<'t> Rewriter<'t> {
    pub fn new(text: &'t str) -> Rewriter<'t> {
        let split = batch::split(text);
        Rewriter {
            text,
            tokens: split.tokens,
            batches: split.batches,
        }
    }

    /// The edits for the findings of this script (`findings` of other
    /// files are ignored by line only: pass this file's), in text order,
    /// never overlapping.
    pub fn edits(&self, findings: &[Finding]) -> Vec<Edit> {
        let wanted: HashSet<(&str, u32)> = findings
            .iter()
            .map(|f| (f.feature.as_str(), f.line))
            .collect();
        if !REWRITABLE
            .iter()
            .any(|r| wanted.iter().any(|(f, _)| f == r))
        {
            return Vec::new();
        }
        let index = LineIndex::new(self.text);
        let line_of = |offset: usize| index.position(self.text, offset).0;
        let mut edits = Vec::new();
        for range in &self.batches {
            let toks = &self.tokens[range.clone()];
            for i in 0..toks.len() {
                let line = line_of(toks[i].start);
                let wants = |feature| wanted.contains(&(feature, line));
                if self.is_word(&toks[i], "RAISERROR") && wants(RAISERROR_WITH_LOG) {
                    edits.extend(self.raiserror_without_log(&toks[i..]));
                } else if self.is_word(&toks[i], "ALTER") {
                    for (action, feature) in [
                        ("ADD", ALTER_TABLE_ADD_MULTIPLE),
                        ("DROP", ALTER_TABLE_DROP_MULTIPLE),
                    ] {
                        if wants(feature) {
                            edits.extend(self.alter_table_split(&toks[i..], action, feature));
                        }
                    }
                } else if self.is_word(&toks[i], "DROP") && wants(DROP_MULTIPLE) {
                    edits.extend(self.drop_split(&toks[i..]));
                } else if let Some(edit) = self.type_synonym(&toks[i..], &wants) {
                    edits.push(edit);
                }
            }
        }
        edits.sort_by_key(|e| e.start);
        // Overlapping edits cannot both apply: keep the first.
        let mut kept: Vec<Edit> = Vec::with_capacity(edits.len());
        for e in edits {
            if kept.last().is_none_or(|k| k.end <= e.start) {
                kept.push(e);
            }
        }
        kept
    }

    fn word(&self, t: &Token) -> &'t str {
        &self.text[t.start..t.end]
    }

    fn is_word(&self, t: &Token, w: &str) -> bool {
        t.kind == TokenKind::Word && self.word(t).eq_ignore_ascii_case(w)
    }

    fn is_op(&self, t: &Token, op: &str) -> bool {
        t.kind == TokenKind::Operator && self.word(t) == op
    }

    /// `RAISERROR (...) WITH opt, LOG, opt`: the edit that drops `LOG`.
    fn raiserror_without_log(&self, toks: &[Token]) -> Option<Edit> {
        // RAISERROR ( args ) WITH
        toks.get(1).filter(|t| self.is_op(t, "("))?;
        let close = matching_paren(self, toks, 1)?;
        let with = close + 1;
        if !toks.get(with).is_some_and(|t| self.is_word(t, "WITH")) {
            return None;
        }
        // The option words, comma-separated.
        let mut options: Vec<usize> = Vec::new();
        let mut j = with + 1;
        while let Some(t) = toks.get(j) {
            if t.kind != TokenKind::Word {
                break;
            }
            options.push(j);
            if toks.get(j + 1).is_some_and(|c| self.is_op(c, ",")) {
                j += 2;
            } else {
                break;
            }
        }
        let at = options
            .iter()
            .position(|&k| self.is_word(&toks[k], "LOG"))?;
        let log = &toks[options[at]];
        let (start, end, replacement) = if options.len() == 1 {
            // `WITH LOG`: the whole clause goes.
            (toks[with].start, log.end, String::new())
        } else if at == 0 {
            // `WITH LOG, NOWAIT`: up to the next option.
            (log.start, toks[options[1]].start, String::new())
        } else {
            // `WITH NOWAIT, LOG`: from the comma before it.
            (toks[options[at] - 1].start, log.end, String::new())
        };
        Some(Edit {
            start,
            end,
            replacement: replacement + &marker(RAISERROR_WITH_LOG),
            feature: RAISERROR_WITH_LOG,
        })
    }

    /// `ALTER TABLE name ADD a ..., b ...` (or `DROP`): each top-level
    /// comma of the item list becomes `; ALTER TABLE name ADD`. A `DROP`
    /// item without its own kind gets the kind the list gave the one before
    /// it (`DROP COLUMN a, b` drops two columns).
    fn alter_table_split(&self, toks: &[Token], action: &str, feature: &'static str) -> Vec<Edit> {
        if !toks.get(1).is_some_and(|t| self.is_word(t, "TABLE")) {
            return Vec::new();
        }
        // The table name: words, quoted names and dots.
        let mut j = 2;
        while toks.get(j).is_some_and(|t| {
            matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent) || self.is_op(t, ".")
        }) && !toks.get(j).is_some_and(|t| self.is_word(t, action))
        {
            j += 1;
        }
        if j == 2 || !toks.get(j).is_some_and(|t| self.is_word(t, action)) {
            return Vec::new();
        }
        let head = &self.text[toks[0].start..toks[j].end];
        let commas = self.top_level_commas(toks, j + 1);
        if action == "ADD" {
            return self.split_at(toks, &commas, &[], head, feature);
        }
        // The kind each DROP item has: its own, or the one before it.
        let mut kinds = Vec::with_capacity(commas.len());
        let mut kind = self.drop_kind(toks, j + 1).unwrap_or("");
        for &c in &commas {
            match self.drop_kind(toks, c + 1) {
                Some(own) => {
                    kind = own;
                    kinds.push("");
                }
                None => kinds.push(kind),
            }
        }
        self.split_at(toks, &commas, &kinds, head, feature)
    }

    /// The kind words at the start of an `ALTER TABLE ... DROP` item
    /// (`COLUMN`, `CONSTRAINT`, either with `IF EXISTS`), if it has any.
    fn drop_kind(&self, toks: &[Token], at: usize) -> Option<&'t str> {
        let mut k = at;
        if toks
            .get(k)
            .is_some_and(|t| self.is_word(t, "COLUMN") || self.is_word(t, "CONSTRAINT"))
        {
            k += 1;
        }
        if toks.get(k).is_some_and(|t| self.is_word(t, "IF"))
            && toks.get(k + 1).is_some_and(|t| self.is_word(t, "EXISTS"))
        {
            k += 2;
        }
        (k > at).then(|| &self.text[toks[at].start..toks[k - 1].end])
    }

    /// `DROP INDEX|TRIGGER|DATABASE [IF EXISTS] a, b`: one `DROP` per name.
    fn drop_split(&self, toks: &[Token]) -> Vec<Edit> {
        let Some(ty) = toks.get(1).filter(|t| {
            ["INDEX", "TRIGGER", "DATABASE"]
                .iter()
                .any(|w| self.is_word(t, w))
        }) else {
            return Vec::new();
        };
        let mut j = 2;
        if toks.get(2).is_some_and(|t| self.is_word(t, "IF"))
            && toks.get(3).is_some_and(|t| self.is_word(t, "EXISTS"))
        {
            j = 4;
        }
        let head = &self.text[toks[0].start..toks[j - 1].end];
        let commas = self.top_level_commas(toks, j);
        if self.is_word(ty, "TRIGGER") {
            // `DROP TRIGGER a, b ON DATABASE`: the scope is every name's.
            let after = commas.last().map_or(j, |c| c + 1);
            if toks[after..]
                .iter()
                .take_while(|t| !self.is_op(t, ";") && !starts_statement(self.word(t)))
                .any(|t| self.is_word(t, "ON"))
            {
                return Vec::new();
            }
        }
        self.split_at(toks, &commas, &[], head, DROP_MULTIPLE)
    }

    /// The indexes in `toks` of the commas after `from` that separate the
    /// items of the statement starting at `toks[0]`: outside parentheses,
    /// before its end (`;` or a word that starts a statement).
    fn top_level_commas(&self, toks: &[Token], from: usize) -> Vec<usize> {
        let mut commas = Vec::new();
        let mut depth = 0usize;
        for (k, t) in toks.iter().enumerate().skip(from) {
            if self.is_op(t, "(") {
                depth += 1;
            } else if self.is_op(t, ")") {
                match depth.checked_sub(1) {
                    Some(d) => depth = d,
                    None => break,
                }
            } else if depth == 0
                && (self.is_op(t, ";")
                    || (starts_statement(self.word(t)) && !self.if_exists_clause(toks, k)))
            {
                break;
            } else if depth == 0 && self.is_op(t, ",") {
                commas.push(k);
            }
        }
        commas
    }

    /// Whether `toks[k]` is the `IF` of an `IF EXISTS name` clause (a DROP
    /// item's), not an `IF EXISTS (subquery)` statement.
    fn if_exists_clause(&self, toks: &[Token], k: usize) -> bool {
        self.is_word(&toks[k], "IF")
            && toks.get(k + 1).is_some_and(|t| self.is_word(t, "EXISTS"))
            && toks.get(k + 2).is_some_and(|t| !self.is_op(t, "("))
    }

    /// One edit per comma: `; HEAD KIND` in its place, where `kinds[i]`
    /// are the words item `i + 1` needs after the head (empty when it has
    /// its own, or when the statement has no kinds).
    fn split_at(
        &self,
        toks: &[Token],
        commas: &[usize],
        kinds: &[&str],
        head: &str,
        feature: &'static str,
    ) -> Vec<Edit> {
        // A head spanning lines would add line breaks: left alone.
        if head.contains('\n') {
            return Vec::new();
        }
        commas
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let words = kinds.get(i).copied().unwrap_or("");
                let sep = if words.is_empty() { "" } else { " " };
                Edit {
                    start: toks[c].start,
                    end: toks[c].end,
                    replacement: format!("; {}{head}{sep}{words}", marker(feature)),
                    feature,
                }
            })
            .collect()
    }

    /// `NATIONAL CHARACTER VARYING` and the other rejected synonyms at
    /// `toks[0]`, on a line the report names for that synonym, as the
    /// T-SQL type name.
    fn type_synonym(&self, toks: &[Token], wants: &impl Fn(&'static str) -> bool) -> Option<Edit> {
        let (words, feature, name) = TYPE_SYNONYMS.iter().find(|(words, _, _)| {
            words
                .iter()
                .enumerate()
                .all(|(k, w)| toks.get(k).is_some_and(|t| self.is_word(t, w)))
        })?;
        let (start, end) = (toks[0].start, toks[words.len() - 1].end);
        if !wants(feature) || self.text[start..end].contains('\n') {
            return None;
        }
        Some(Edit {
            start,
            end,
            replacement: format!("{}{name}", marker(feature)),
            feature,
        })
    }
}

/// The index in `toks` of the `)` closing the `(` at `open`.
fn matching_paren(r: &Rewriter<'_>, toks: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if r.is_op(t, "(") {
            depth += 1;
        } else if r.is_op(t, ")") {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(k);
            }
        }
    }
    None
}

/// Words that start a new statement where an `ALTER TABLE ... ADD` item
/// list could otherwise seem to go on (statements need no `;` in T-SQL).
fn starts_statement(word: &str) -> bool {
    const STARTS: [&str; 20] = [
        "ALTER",
        "BEGIN",
        "COMMIT",
        "CREATE",
        "DECLARE",
        "DELETE",
        "DROP",
        "ELSE",
        "END",
        "EXEC",
        "EXECUTE",
        "GRANT",
        "IF",
        "INSERT",
        "PRINT",
        "RAISERROR",
        "RETURN",
        "SELECT",
        "SET",
        "UPDATE",
    ];
    STARTS.iter().any(|s| s.eq_ignore_ascii_case(word))
}

/// The comment that marks an edit in the copy.
fn marker(feature: &str) -> String {
    format!("/* assessor rewrite: {feature} */")
}

/// Why `--rewrite` wrote nothing, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error(
        "--rewrite {}: the folder is not empty; name a new or empty folder (copies never replace files)",
        .0.display()
    )]
    NotEmpty(PathBuf),
    #[error(
        "--rewrite {}: the folder is inside the input {}; name a folder outside the inputs, so \
         the copies are never analysed as inputs or mistaken for them",
        .dir.display(), .input.display()
    )]
    InsideInput { dir: PathBuf, input: PathBuf },
    #[error("--rewrite: cannot {what} {}: {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `--rewrite` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub files: usize,
    /// Edits by feature, in [`REWRITABLE`] order.
    pub edits: Vec<(&'static str, usize)>,
}

/// Checks that `dir` may receive the copies: new or empty, and outside
/// every input (before anything is analysed, so a mistake costs nothing).
pub fn check_target(dir: &Path, inputs: &[PathBuf]) -> Result<(), RewriteError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(RewriteError::NotEmpty(dir.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(RewriteError::Io {
                what: "read the folder",
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    let dir = absolute(dir);
    for input in inputs {
        let root = absolute(input);
        if dir.starts_with(&root) {
            return Err(RewriteError::InsideInput {
                dir,
                input: input.clone(),
            });
        }
    }
    Ok(())
}

/// The canonical form of `path`'s nearest existing ancestor, with the rest
/// appended (the target folder may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut at = path.to_path_buf();
    loop {
        if let Ok(real) = at.canonicalize() {
            return missing
                .iter()
                .rev()
                .fold(real, |p, c: &std::ffi::OsString| p.join(c));
        }
        match (at.file_name().map(|n| n.to_os_string()), at.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                at = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Writes a rewritten copy of each input file that has a rewritable
/// finding into `dir`, at its report path. Inputs are read, never written;
/// a copy is created new (never replacing a file) with the text as UTF-8.
pub fn write_copies(
    inputs: &[PathBuf],
    findings: &[Finding],
    dir: &Path,
) -> Result<Written, RewriteError> {
    let mut by_file: std::collections::BTreeMap<&str, Vec<Finding>> = Default::default();
    for f in findings
        .iter()
        .filter(|f| REWRITABLE.contains(&f.feature.as_str()))
    {
        by_file.entry(f.file.as_str()).or_default().push(f.clone());
    }
    let mut written = Written {
        files: 0,
        edits: REWRITABLE.iter().map(|f| (*f, 0)).collect(),
    };
    if by_file.is_empty() {
        return Ok(written);
    }
    let found = crate::source::discover_all(inputs).map_err(|e| RewriteError::Io {
        what: "list the inputs",
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    for file in &found.files {
        let Some(file_findings) = by_file.get(file.relative.as_str()) else {
            continue;
        };
        let io = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| RewriteError::Io { what, path, source }
        };
        let bytes = std::fs::read(&file.path).map_err(io("read", &file.path))?;
        let Ok(decoded) = crate::source::decode(&bytes) else {
            continue;
        };
        let edits = Rewriter::new(&decoded.text).edits(file_findings);
        if edits.is_empty() {
            continue;
        }
        let Some(target) = safe_join(dir, &file.relative) else {
            continue;
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io("create the folder", parent))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(io("create", &target))?;
        std::io::Write::write_all(&mut out, apply(&decoded.text, &edits).as_bytes())
            .map_err(io("write", &target))?;
        written.files += 1;
        for e in &edits {
            if let Some(slot) = written.edits.iter_mut().find(|(f, _)| *f == e.feature) {
                slot.1 += 1;
            }
        }
    }
    Ok(written)
}

/// `dir/relative` when `relative` is a plain relative path (no `..`, no
/// root): a report path can never place a copy outside `dir`.
fn safe_join(dir: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    rel.components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
        .then(|| dir.join(rel))
}

/// `text` with `edits` (sorted, not overlapping) applied.
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len() + edits.len() * 48);
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.replacement);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Complexity, Status};

    fn finding(feature: &str, line: u32) -> Finding {
        Finding {
            file: "a.sql".into(),
            line,
            column: 1,
            object: None,
            feature: feature.into(),
            group: String::new(),
            status: Status::NotSupported,
            complexity: Complexity::Low,
            effort_minutes: 0,
            snippet: String::new(),
            in_dynamic_sql: false,
            workload: None,
        }
    }

    fn rewrite(text: &str, findings: &[Finding]) -> String {
        apply(text, &Rewriter::new(text).edits(findings))
    }

    fn strip_markers(text: &str) -> String {
        let mut s = text.to_string();
        while let Some(i) = s.find("/* assessor rewrite: ") {
            let end = i + s[i..].find("*/").unwrap() + 2;
            s.replace_range(i..end, "");
        }
        s
    }

    #[test]
    fn log_leaves_the_option_list_wherever_it_stands() {
        let w = |line| [finding(RAISERROR_WITH_LOG, line)];
        for (before, after) in [
            ("RAISERROR('x', 16, 1) WITH LOG;", "RAISERROR('x', 16, 1) ;"),
            (
                "RAISERROR('x %d', 16, 1, @a) WITH LOG, NOWAIT;",
                "RAISERROR('x %d', 16, 1, @a) WITH NOWAIT;",
            ),
            (
                "RAISERROR (N'x', 16, 1) WITH NOWAIT, LOG, SETERROR",
                "RAISERROR (N'x', 16, 1) WITH NOWAIT, SETERROR",
            ),
        ] {
            let out = rewrite(before, &w(1));
            assert!(out.contains("/* assessor rewrite: statement.raiserror.with_log */"));
            assert_eq!(strip_markers(&out), after);
        }
    }

    #[test]
    fn alter_table_add_splits_on_top_level_commas_only() {
        let text = "ALTER TABLE [dbo].[t] ADD a decimal(10, 2) NULL, b int NOT NULL CONSTRAINT df DEFAULT (0)\nSELECT 1, 2";
        let out = rewrite(text, &[finding(ALTER_TABLE_ADD_MULTIPLE, 1)]);
        assert_eq!(
            strip_markers(&out),
            "ALTER TABLE [dbo].[t] ADD a decimal(10, 2) NULL; ALTER TABLE [dbo].[t] ADD b int NOT NULL CONSTRAINT df DEFAULT (0)\nSELECT 1, 2"
        );
        assert_eq!(out.lines().count(), text.lines().count());
    }

    #[test]
    fn alter_table_drop_gives_each_item_the_kind_the_list_gave_it() {
        let w = [finding(ALTER_TABLE_DROP_MULTIPLE, 1)];
        for (before, after) in [
            (
                "ALTER TABLE t DROP COLUMN a, b;",
                "ALTER TABLE t DROP COLUMN a; ALTER TABLE t DROP COLUMN b;",
            ),
            (
                "ALTER TABLE dbo.t DROP CONSTRAINT df, COLUMN b, c",
                "ALTER TABLE dbo.t DROP CONSTRAINT df; ALTER TABLE dbo.t DROP COLUMN b; ALTER TABLE dbo.t DROP COLUMN c",
            ),
            (
                "ALTER TABLE t DROP COLUMN IF EXISTS a, b",
                "ALTER TABLE t DROP COLUMN IF EXISTS a; ALTER TABLE t DROP COLUMN IF EXISTS b",
            ),
            (
                "ALTER TABLE t DROP pk WITH (ONLINE = ON, MAXDOP = 1), ck",
                "ALTER TABLE t DROP pk WITH (ONLINE = ON, MAXDOP = 1); ALTER TABLE t DROP ck",
            ),
        ] {
            assert_eq!(strip_markers(&rewrite(before, &w)), after);
        }
        // The ADD rewrite does not act on a DROP list, nor DROP on ADD.
        let add = "ALTER TABLE t ADD a int, b int;";
        assert_eq!(rewrite(add, &w), add);
    }

    #[test]
    fn drop_lists_split_per_object_except_a_ddl_trigger_list() {
        let w = [finding(DROP_MULTIPLE, 1)];
        for (before, after) in [
            (
                "DROP INDEX t.ix_a, t.ix_b;",
                "DROP INDEX t.ix_a; DROP INDEX t.ix_b;",
            ),
            (
                "DROP INDEX ix_a ON dbo.t, ix_b ON dbo.t",
                "DROP INDEX ix_a ON dbo.t; DROP INDEX ix_b ON dbo.t",
            ),
            (
                "DROP DATABASE IF EXISTS db1, db2",
                "DROP DATABASE IF EXISTS db1; DROP DATABASE IF EXISTS db2",
            ),
            (
                "DROP TRIGGER dbo.a, dbo.b\nGO",
                "DROP TRIGGER dbo.a; DROP TRIGGER dbo.b\nGO",
            ),
        ] {
            assert_eq!(strip_markers(&rewrite(before, &w)), after);
        }
        // A list over two lines splits without adding a line.
        let two = "DROP TRIGGER a\n, b;";
        assert_eq!(
            strip_markers(&rewrite(two, &w)),
            "DROP TRIGGER a\n; DROP TRIGGER b;"
        );
        assert_eq!(
            rewrite("DROP TRIGGER a, b ON DATABASE;", &w),
            "DROP TRIGGER a, b ON DATABASE;"
        );
        assert_eq!(rewrite("DROP TABLE a, b;", &w), "DROP TABLE a, b;");
    }

    #[test]
    fn every_synonym_feature_is_rewritable_once() {
        let mut synonyms: Vec<&str> = TYPE_SYNONYMS.iter().map(|(_, f, _)| *f).collect();
        synonyms.sort_unstable();
        synonyms.dedup();
        let mut listed: Vec<&str> = REWRITABLE
            .iter()
            .copied()
            .filter(|f| f.starts_with("data_type."))
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, synonyms);
        let mut all = REWRITABLE.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), REWRITABLE.len(), "a feature listed twice");
    }

    #[test]
    fn rejected_type_synonyms_become_the_type_they_name() {
        let text = "CREATE TABLE t (a NATIONAL CHARACTER VARYING(20) COLLATE Latin1_General_CI_AS,\n\
                    b national character(5), c CHARACTER VARYING(10), d NCHARACTER VARYING(3), e NCHARACTER(2))";
        let findings: Vec<_> = TYPE_SYNONYMS
            .iter()
            .flat_map(|(_, f, _)| [finding(f, 1), finding(f, 2)])
            .collect();
        let out = rewrite(text, &findings);
        assert_eq!(
            strip_markers(&out),
            "CREATE TABLE t (a NVARCHAR(20) COLLATE Latin1_General_CI_AS,\n\
             b NCHAR(5), c VARCHAR(10), d NVARCHAR(3), e NCHAR(2))"
        );
        // Only where the report names the synonym, and never across lines.
        let one = [finding("data_type.character_varying", 1)];
        assert_eq!(
            strip_markers(&rewrite(
                "DECLARE @a CHARACTER VARYING(5), @b NATIONAL CHARACTER(2)",
                &one
            )),
            "DECLARE @a VARCHAR(5), @b NATIONAL CHARACTER(2)"
        );
        let split = "DECLARE @a CHARACTER\nVARYING(5)";
        assert_eq!(rewrite(split, &one), split);
    }

    #[test]
    fn nothing_is_edited_without_a_finding_or_inside_comments_and_strings() {
        let text = "RAISERROR('x', 16, 1) WITH LOG;\nALTER TABLE t ADD a int, b int;";
        // No finding: no edit, even though the code has both constructs.
        assert_eq!(rewrite(text, &[]), text);
        // A finding on another line: no edit either.
        assert_eq!(rewrite(text, &[finding(RAISERROR_WITH_LOG, 2)]), text);
        let commented =
            "-- RAISERROR('x', 16, 1) WITH LOG;\nSELECT 'RAISERROR(''x'', 16, 1) WITH LOG';";
        assert_eq!(
            rewrite(
                commented,
                &[
                    finding(RAISERROR_WITH_LOG, 1),
                    finding(RAISERROR_WITH_LOG, 2)
                ]
            ),
            commented
        );
    }

    #[test]
    fn copies_never_land_outside_the_folder() {
        let dir = Path::new("/tmp/out");
        assert_eq!(
            safe_join(dir, "a/b.sql"),
            Some(PathBuf::from("/tmp/out/a/b.sql"))
        );
        assert_eq!(safe_join(dir, "../b.sql"), None);
        assert_eq!(safe_join(dir, "/etc/b.sql"), None);
    }

    #[test]
    fn debug_never_shows_the_replacement() {
        let text = "RAISERROR('canary', 16, 1) WITH LOG;";
        let edits = Rewriter::new(text).edits(&[finding(RAISERROR_WITH_LOG, 1)]);
        assert_eq!(edits.len(), 1);
        let shown = format!("{edits:?}");
        assert!(!shown.contains("assessor rewrite") && !shown.contains("canary"));
    }
}
