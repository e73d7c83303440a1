//! Detection patterns: which observations are occurrences of a feature.
//!
//! A pattern names an observation kind and a normalised name (exact, or a
//! glob with `*`), optionally constrains the observation's detail and
//! statement, and may require context: another observation in the same
//! statement or in the same enclosing object, or words in the statement text.
//!
//! Guarantees: every pattern is checked when the catalog loads (known kind,
//! non-empty name, context patterns without nested context), so matching
//! never meets a malformed pattern; glob matching is linear in the name.

use super::checks::Check;
use crate::tsql::observation::{Observation, ObservationKind};

/// Parses the snake_case word the catalog uses for an observation kind.
pub fn parse_kind(word: &str) -> Option<ObservationKind> {
    use ObservationKind::*;
    Some(match word {
        "statement" => Statement,
        "function" => Function,
        "data_type" => DataType,
        "global_variable" => GlobalVariable,
        "system_object" => SystemObject,
        "procedure" => Procedure,
        "table_hint" => TableHint,
        "query_hint" => QueryHint,
        "join_hint" => JoinHint,
        "set_option" => SetOption,
        "option" => Option,
        "clause" => Clause,
        "method" => Method,
        "sqlcmd" => Sqlcmd,
        "unparsed" => Unparsed,
        "server_object" => ServerObject,
        _ => return None,
    })
}

/// An upper-case name, matched exactly or as a glob where `*` matches any
/// run of characters (including none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
}

impl Glob {
    pub fn new(text: &str) -> Glob {
        Glob {
            text: normalise(text),
        }
    }

    /// Whether the pattern contains a wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.text.contains('*')
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches an already normalised (upper-case) value.
    pub fn matches(&self, value: &str) -> bool {
        if !self.is_wildcard() {
            return self.text == value;
        }
        wildcard_match(self.text.as_bytes(), value.as_bytes())
    }
}

/// Upper case, single spaces: the observation naming convention.
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Iterative wildcard match with single backtrack point: O(len(p) * len(v))
/// worst case, linear in practice.
fn wildcard_match(pattern: &[u8], value: &[u8]) -> bool {
    let (mut p, mut v) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, v));
            p += 1;
        } else if p < pattern.len() && pattern[p] == value[v] {
            p += 1;
            v += 1;
        } else if let Some((sp, sv)) = star {
            p = sp + 1;
            v = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Where a finding is reported: at the construct, at the start of the
/// statement containing it (for options that only make sense as a whole
/// statement, e.g. `ALTER DATABASE ... SET` options), or at the start of the
/// enclosing object's CREATE (for options of the whole object whose clause
/// the parser sees inside its body, e.g. a view's `WITH CHECK OPTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anchor {
    #[default]
    Construct,
    Statement,
    Object,
}

/// A context-free pattern: kind + name, optional detail and statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple {
    pub kind: ObservationKind,
    pub name: Glob,
    pub detail: Option<Glob>,
    pub statement: Option<Glob>,
}

impl Simple {
    pub fn matches(&self, obs: &Observation) -> bool {
        self.matches_named(obs, &obs.name)
    }

    /// Like [`Simple::matches`], with `name` standing for the observation's
    /// name (a shorter form of a qualified name).
    pub fn matches_named(&self, obs: &Observation, name: &str) -> bool {
        obs.kind == self.kind
            && self.name.matches(name)
            && self.detail.as_ref().is_none_or(|d| {
                obs.detail
                    .as_deref()
                    .is_some_and(|value| d.matches(&normalise(value)))
            })
            && self
                .statement
                .as_ref()
                .is_none_or(|s| s.matches(&obs.statement))
    }

    /// How specific the pattern is; the most specific match wins.
    fn score(&self) -> u32 {
        // Exact beats a glob with literal text, which beats a bare `*`.
        let name = if !self.name.is_wildcard() {
            4
        } else if self.name.as_str().chars().any(|c| c != '*') {
            2
        } else {
            1
        };
        name + u32::from(self.detail.is_some()) * 2 + u32::from(self.statement.is_some())
    }
}

/// A context condition: an observation, optionally with words in the text
/// that follows it (see [`Pattern::text_contains`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub what: Simple,
    pub text_contains: Vec<String>,
}

/// A full detection pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub what: Simple,
    /// Another observation that must occur in the same statement.
    pub in_statement: Option<Condition>,
    /// Another observation that must occur in the enclosing object.
    pub in_object: Option<Condition>,
    /// Words that must occur in the text from the construct to the end of
    /// its statement (upper case, whitespace removed); any one suffices.
    pub text_contains: Vec<String>,
    /// Like `text_contains`, but the text must start with one of them.
    pub text_starts_with: Vec<String>,
    /// Words that must NOT occur in the same text.
    pub text_lacks: Vec<String>,
    /// The text must start with none of them (a list of what is allowed
    /// right after the construct, e.g. supported collation names), each as
    /// a whole name: `X` does not allow `X_UTF8` or `X2`.
    pub text_starts_without: Vec<String>,
    /// A named structural check on the same text (see [`super::checks`]).
    pub check: Option<Check>,
    pub anchor: Anchor,
}

impl Pattern {
    /// Specificity used to choose between several matching features.
    pub fn score(&self) -> u32 {
        self.what.score() * 4
            + u32::from(self.in_statement.is_some()) * 3
            + u32::from(self.in_object.is_some()) * 3
            + u32::from(!self.text_contains.is_empty()) * 3
            + u32::from(!self.text_starts_with.is_empty()) * 3
            + u32::from(!self.text_lacks.is_empty()) * 3
            + u32::from(!self.text_starts_without.is_empty()) * 3
            + u32::from(self.check.is_some()) * 3
    }

    /// Whether the pattern reads the source text after the construct.
    pub fn needs_text(&self) -> bool {
        !self.text_contains.is_empty()
            || !self.text_starts_with.is_empty()
            || !self.text_lacks.is_empty()
            || !self.text_starts_without.is_empty()
            || self.check.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_prefix_suffix_and_infix() {
        assert!(Glob::new("sys.dm_*").matches("SYS.DM_EXEC_SESSIONS"));
        assert!(Glob::new("*_STATS").matches("SYS.DM_OS_WAIT_STATS"));
        assert!(Glob::new("SP_*PROPERTY").matches("SP_ADDEXTENDEDPROPERTY"));
        assert!(!Glob::new("SP_*PROPERTY").matches("SP_ADDEXTENDEDPROPERTIES"));
        assert!(!Glob::new("SYS.DM_*").matches("SYS.OBJECTS"));
        assert!(Glob::new("STR").matches("STR"));
        assert!(!Glob::new("STR").matches("STRING_AGG"));
        assert!(Glob::new("*").matches(""));
    }

    #[test]
    fn exact_beats_literal_glob_beats_bare_star() {
        let simple = |name: &str| Simple {
            kind: ObservationKind::Sqlcmd,
            name: Glob::new(name),
            detail: None,
            statement: None,
        };
        assert!(simple(":SETVAR").score() > simple("$(*").score());
        assert!(simple("$(*").score() > simple("*").score());
    }

    #[test]
    fn normalise_uppercases_and_collapses_spaces() {
        assert_eq!(normalise("  create\n  procedure "), "CREATE PROCEDURE");
    }

    #[test]
    fn every_kind_word_parses() {
        for word in [
            "statement",
            "function",
            "data_type",
            "global_variable",
            "system_object",
            "procedure",
            "table_hint",
            "query_hint",
            "join_hint",
            "set_option",
            "option",
            "clause",
            "method",
            "sqlcmd",
            "unparsed",
        ] {
            let kind = parse_kind(word).unwrap();
            // The catalog word is the JSON word of the kind.
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{word}\""));
        }
        assert_eq!(parse_kind("Function"), None);
    }
}
