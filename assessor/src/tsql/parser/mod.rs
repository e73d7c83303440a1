//! The error-tolerant T-SQL parser.
//!
//! It walks the significant tokens of one batch and emits [`Observation`]s
//! and [`ObjectSpan`]s. Statements are recognised by their leading keywords
//! (see [`statement`]); their bodies are walked by a flat scanner
//! ([`body`]) that tracks parentheses on an explicit, bounded stack, so no
//! input can overflow the call stack. Only control-of-flow blocks (`BEGIN`
//! / `IF` / `WHILE`) and dynamic SQL recurse, each with a depth limit.
//!
//! Guarantees: every call to [`Parser::statement`] consumes at least one
//! token, so parsing ends; what cannot be understood becomes one
//! `Unparsed` observation and parsing resumes at the next statement start,
//! `;` or batch end. Names in observations are normalised (upper case,
//! unquoted); they hold no literal values except option values such as
//! `ON` / `SIMPLE` / a style number.

mod body;
mod computed;
mod identity;
pub(crate) mod keywords;
mod statement;

use super::ObjectSpan;
use super::lexer::{Token, TokenKind};
use super::observation::{Observation, ObservationKind};
use keywords::in_sorted;

/// Nesting of `BEGIN`/`IF`/`WHILE` blocks beyond which a batch's rest is
/// reported as unparsed (bounds recursion).
const MAX_BLOCK_DEPTH: usize = 200;
/// Block nesting allowed inside dynamic SQL (which already runs nested).
const MAX_DYNAMIC_BLOCK_DEPTH: usize = 32;
/// Nesting of parentheses beyond which the rest of the batch is reported as
/// unparsed (bounds the frame stack and all per-frame work).
const MAX_PAREN_DEPTH: usize = 2_000;
/// Nesting of dynamic SQL literals parsed recursively.
const MAX_DYNAMIC_DEPTH: usize = 4;

/// Parser state for one batch.
#[derive(Debug)]
pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
    pub(crate) obs: Vec<Observation>,
    pub(crate) objects: Vec<ObjectSpan>,
    /// Name of the statement being parsed.
    stmt: String,
    block_depth: usize,
    dyn_depth: usize,
    /// Objects may not overlap: no new span starts before this offset.
    object_end: usize,
    /// After `CREATE SCHEMA s` with no `;` yet (the token index of its
    /// CREATE): a following CREATE TABLE, CREATE VIEW, GRANT, REVOKE or DENY
    /// is an element of that statement.
    schema_elements: Option<usize>,
    /// Cursors declared so far in the batch (normalised names): an OPEN of
    /// any other cursor opens one declared elsewhere, e.g. in dynamic SQL.
    cursors: Vec<String>,
}

/// An upper-cased copy of a short word on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Upper {
    buf: [u8; 40],
    len: usize,
}

impl Upper {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII bytes were upper-cased, so the buffer is still UTF-8;
        // a cut inside a multi-byte char cannot happen because words longer
        // than the buffer are not copied.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// A dotted name: up to four parts (token indices; `None` for an empty part
/// as in `db..table`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Name {
    parts: [Option<usize>; 4],
    n: usize,
    first: usize,
    last: usize,
}

impl Name {
    pub(crate) fn part(&self, i: usize) -> Option<usize> {
        self.parts.get(i).copied().flatten()
    }
    pub(crate) fn last_part(&self) -> Option<usize> {
        self.n.checked_sub(1).and_then(|i| self.part(i.min(3)))
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, toks: &'a [Token], dyn_depth: usize) -> Parser<'a> {
        Parser {
            src,
            toks,
            pos: 0,
            obs: Vec::new(),
            objects: Vec::new(),
            stmt: String::new(),
            block_depth: 0,
            dyn_depth,
            object_end: 0,
            schema_elements: None,
            cursors: Vec::new(),
        }
    }

    /// Parses all statements of the batch.
    pub(crate) fn parse_batch(&mut self) {
        while self.pos < self.toks.len() {
            self.statement();
        }
        self.special_characters();
    }

    /// Identifiers Babelfish cannot name: a delimited identifier holding
    /// `]]` (an escaped bracket), a regular identifier holding `@`, and a
    /// variable or parameter name holding `#` (reported once per name).
    /// Found by token, wherever the name stands; each observation takes the
    /// statement it falls in.
    fn special_characters(&mut self) {
        let mut found: Vec<(usize, usize, &'static str, &'static str)> = Vec::new();
        let mut variables = std::collections::HashSet::new();
        for t in self.toks {
            let text = t.text(self.src);
            match t.kind {
                TokenKind::QuotedIdent if text.starts_with('[') && text.contains("]]") => {
                    found.push((t.start, t.end, "SPECIAL CHARACTER IN IDENTIFIER", "]]"));
                    if text.contains('@') {
                        found.push((t.start, t.end, "SPECIAL CHARACTER IN IDENTIFIER", "@"));
                    }
                }
                TokenKind::Word if text.contains('@') => {
                    found.push((t.start, t.end, "SPECIAL CHARACTER IN IDENTIFIER", "@"));
                }
                TokenKind::Variable
                    if text.trim_start_matches('@').contains('#')
                        && variables.insert(text.to_ascii_uppercase()) =>
                {
                    found.push((t.start, t.end, "SPECIAL CHARACTER IN PARAMETER", "#"));
                }
                _ => {}
            }
        }
        if found.is_empty() {
            return;
        }
        for (start, end, name, detail) in found {
            let statement = self
                .obs
                .iter()
                .rev()
                .find(|o| o.kind == ObservationKind::Statement && o.offset <= start)
                .map(|o| o.statement.clone())
                .unwrap_or_default();
            self.obs.push(Observation {
                kind: ObservationKind::Clause,
                name: name.to_owned(),
                detail: Some(detail.to_owned()),
                statement,
                offset: start,
                len: end - start,
                in_string: false,
            });
        }
        // Observations stay in source order (stable: same-offset ones keep
        // the order the parser gave them).
        self.obs.sort_by_key(|o| o.offset);
    }

    // ---- token access ----

    fn tok(&self, i: usize) -> Option<Token> {
        self.toks.get(i).copied()
    }

    fn kind(&self, i: usize) -> Option<TokenKind> {
        self.toks.get(i).map(|t| t.kind)
    }

    fn text(&self, i: usize) -> &'a str {
        self.toks.get(i).map_or("", |t| t.text(self.src))
    }

    fn is_word(&self, i: usize, kw: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_word(self.src, kw))
    }

    fn is_op(&self, i: usize, op: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_op(self.src, op))
    }

    fn is_any_word(&self, i: usize, kws: &[&str]) -> bool {
        self.kind(i) == Some(TokenKind::Word) && keywords::one_of(self.text(i), kws)
    }

    /// The upper-cased word at `i` (empty for non-words and long words).
    fn upper(&self, i: usize) -> Upper {
        let mut u = Upper {
            buf: [0; 40],
            len: 0,
        };
        if self.kind(i) == Some(TokenKind::Word) {
            let b = self.text(i).as_bytes();
            if b.len() <= u.buf.len() {
                for (d, s) in u.buf.iter_mut().zip(b) {
                    *d = s.to_ascii_uppercase();
                }
                u.len = b.len();
            }
        }
        u
    }

    /// Whether token `i` can be (part of) a name.
    fn is_name(&self, i: usize) -> bool {
        matches!(
            self.kind(i),
            Some(TokenKind::Word | TokenKind::QuotedIdent | TokenKind::SqlcmdVariable)
        )
    }

    /// Normalised text of a name part: unquoted, escapes undone, upper case.
    fn name_text(&self, i: usize) -> String {
        let t = self.text(i);
        let inner = match self.kind(i) {
            Some(TokenKind::QuotedIdent) if t.len() >= 2 => {
                let close = if t.starts_with('[') { "]]" } else { "\"\"" };
                let body = &t[1..t.len() - 1];
                body.replace(close, &close[..1])
            }
            _ => t.to_owned(),
        };
        inner.to_uppercase()
    }

    /// A name part without its quotes (escapes kept), for comparisons.
    fn unquoted(&self, i: usize) -> &'a str {
        let t = self.text(i);
        match self.kind(i) {
            Some(TokenKind::QuotedIdent) if t.len() >= 2 => &t[1..t.len() - 1],
            _ => t,
        }
    }

    /// A name part as written (unquoted, case kept), for object spans.
    fn name_as_written(&self, i: usize) -> String {
        let t = self.text(i);
        match self.kind(i) {
            Some(TokenKind::QuotedIdent) if t.len() >= 2 => {
                let close = if t.starts_with('[') { "]]" } else { "\"\"" };
                t[1..t.len() - 1].replace(close, &close[..1])
            }
            _ => t.to_owned(),
        }
    }

    /// Reads a dotted name starting at `i` (which must be a name token or a
    /// `.` for `..x`); does not consume.
    fn read_name(&self, i: usize) -> Name {
        let mut name = Name {
            parts: [None; 4],
            n: 0,
            first: i,
            last: i,
        };
        let mut j = i;
        loop {
            if self.is_name(j) {
                if name.n < 4 {
                    name.parts[name.n] = Some(j);
                }
                name.last = j;
                j += 1;
            } else if name.n < 4 {
                // empty part
            }
            name.n += 1;
            if self.is_op(j, ".") && name.n < 8 {
                name.last = j;
                j += 1;
                continue;
            }
            break;
        }
        name
    }

    /// Normalised dotted text of a name (`SYS.OBJECTS`, `DB..T`).
    fn name_string(&self, name: &Name) -> String {
        let mut s = String::new();
        for k in 0..name.n.min(4) {
            if k > 0 {
                s.push('.');
            }
            if let Some(i) = name.parts[k] {
                s.push_str(&self.name_text(i));
            }
        }
        s
    }

    // ---- output ----

    fn emit_span(
        &mut self,
        kind: ObservationKind,
        name: impl Into<String>,
        detail: Option<String>,
        start: usize,
        end: usize,
    ) {
        self.obs.push(Observation {
            kind,
            name: name.into(),
            detail,
            statement: self.stmt.clone(),
            offset: start,
            len: end.saturating_sub(start),
            in_string: false,
        });
    }

    /// Emits an observation covering tokens `first..=last`.
    fn emit(
        &mut self,
        kind: ObservationKind,
        name: impl Into<String>,
        detail: Option<String>,
        first: usize,
        last: usize,
    ) {
        let start = self.tok(first).map_or(0, |t| t.start);
        let end = self.tok(last.max(first)).map_or(start, |t| t.end);
        self.emit_span(kind, name, detail, start, end);
    }

    fn unparsed(&mut self, what: &str, at: usize) {
        self.emit(ObservationKind::Unparsed, what, None, at, at);
    }

    /// Offset of the end of the batch.
    fn batch_end(&self) -> usize {
        self.toks.last().map_or(0, |t| t.end)
    }

    /// Skips to the next `;`, statement start (at paren depth 0, or first
    /// on its line, since the broken code may leave parentheses open), or
    /// batch end.
    fn resync(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.tok(self.pos) {
            match t.kind {
                TokenKind::Operator if self.is_op(self.pos, "(") => depth += 1,
                TokenKind::Operator if self.is_op(self.pos, ")") => depth = depth.saturating_sub(1),
                TokenKind::Operator if self.is_op(self.pos, ";") => {
                    self.pos += 1;
                    return;
                }
                TokenKind::Word
                    if (depth == 0 || self.starts_line(self.pos))
                        && in_sorted(keywords::STATEMENT_STARTS, self.text(self.pos)) =>
                {
                    return;
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// Whether token `i` is the first on its line.
    fn starts_line(&self, i: usize) -> bool {
        let start = self.tok(i).map_or(0, |t| t.start);
        let prev_end = i
            .checked_sub(1)
            .and_then(|p| self.tok(p))
            .map_or(0, |t| t.end);
        self.src
            .get(prev_end..start)
            .is_none_or(|gap| gap.contains('\n'))
    }
}

/// Parses one batch's tokens, appending to `obs` and `objects`.
pub(crate) fn parse_tokens(
    src: &str,
    toks: &[Token],
    dyn_depth: usize,
    obs: &mut Vec<Observation>,
    objects: &mut Vec<ObjectSpan>,
) {
    let mut p = Parser::new(src, toks, dyn_depth);
    p.parse_batch();
    obs.append(&mut p.obs);
    objects.append(&mut p.objects);
}

/// Parses the text of string literals as dynamic SQL and reports its
/// observations at their offsets in the outer text. Several literals are
/// one string concatenated (`EXEC ('SELECT ' + 'x')`), as Compass reads it.
fn parse_dynamic(src: &str, lits: &[Token], dyn_depth: usize, obs: &mut Vec<Observation>) {
    if dyn_depth >= MAX_DYNAMIC_DEPTH {
        return;
    }
    // The string with doubled quotes undone, and where each run of it
    // starts in the outer text: (offset in `inner`, offset in `src`).
    let mut inner = String::new();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for lit in lits {
        let text = lit.text(src);
        let prefix = usize::from(text.starts_with(['N', 'n'])) + 1;
        if text.len() < prefix + 1 {
            continue;
        }
        let body = &text[prefix..text.len() - 1];
        let mut base = lit.start + prefix;
        let mut rest = body;
        runs.push((inner.len(), base));
        while let Some(i) = rest.find("''") {
            inner.push_str(&rest[..=i]);
            base += i + 2;
            rest = &rest[i + 2..];
            runs.push((inner.len(), base));
        }
        inner.push_str(rest);
    }
    if runs.is_empty() {
        return;
    }
    let batches = super::batch::split(&inner);
    let mut found = Vec::new();
    let mut objects = Vec::new();
    for range in &batches.batches {
        if let Some(toks) = batches.tokens.get(range.clone()) {
            parse_tokens(&inner, toks, dyn_depth + 1, &mut found, &mut objects);
        }
    }
    let map = |o: usize| {
        let k = runs.partition_point(|&(at, _)| at <= o).saturating_sub(1);
        let (at, outer) = runs[k];
        outer + (o - at)
    };
    for mut o in found {
        let end = map(o.offset + o.len);
        o.offset = map(o.offset);
        o.len = end.saturating_sub(o.offset);
        o.in_string = true;
        obs.push(o);
    }
}
