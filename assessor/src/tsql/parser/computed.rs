//! Computed columns: whether `name AS expr` concatenates strings with `+`,
//! and whether it calls something PostgreSQL will not accept in a generated
//! column (a function that is not immutable).
//!
//! `+` means concatenation only when both operands are strings, so the
//! decision needs operand types: literals, functions whose result type is
//! fixed, `CAST`/`CONVERT` to a character type, and the columns the same
//! column list declares with a character type. An operand of unknown type
//! never counts (as in Compass): `pos AS CHARINDEX('.', v) + 1` is
//! arithmetic, `s AS a + b` over two nvarchar columns is concatenation.
//!
//! Guarantees: bounded scans (`MAX_SCAN` tokens), no allocation beyond the
//! set of string column names.

use std::collections::HashSet;

use super::Parser;
use crate::tsql::lexer::TokenKind;

/// How far the scans look, in tokens.
const MAX_SCAN: usize = 4096;

const CHARACTER_TYPES: &[&str] = &[
    "CHAR",
    "CHARACTER",
    "NCHAR",
    "NTEXT",
    "NVARCHAR",
    "SYSNAME",
    "TEXT",
    "VARCHAR",
];

/// Built-in functions that return a character string whatever their input.
const STRING_FUNCTIONS: &[&str] = &[
    "CHAR",
    "CONCAT",
    "CONCAT_WS",
    "FORMAT",
    "LEFT",
    "LOWER",
    "LTRIM",
    "NCHAR",
    "QUOTENAME",
    "REPLACE",
    "REPLICATE",
    "REVERSE",
    "RIGHT",
    "RTRIM",
    "SPACE",
    "STR",
    "STRING_AGG",
    "STUFF",
    "SUBSTRING",
    "TRANSLATE",
    "TRIM",
    "UPPER",
];

const DATETIME_TYPES: &[&str] = &[
    "DATE",
    "DATETIME",
    "DATETIME2",
    "DATETIMEOFFSET",
    "SMALLDATETIME",
    "TIME",
];

/// Built-in functions whose result changes between calls or with the
/// session: PostgreSQL refuses them in a generated column, which is how
/// Babelfish stores every computed column.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "GETDATE",
    "GETUTCDATE",
    "NEWID",
    "NEWSEQUENTIALID",
    "RAND",
    "SYSDATETIME",
    "SYSDATETIMEOFFSET",
    "SYSUTCDATETIME",
];

/// The type of one operand of `+`, as far as the text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operand {
    /// A string literal.
    Literal,
    String,
    Other,
    Unknown,
}

impl Parser<'_> {
    /// Whether the computed column expression `from..to` (token indices,
    /// exclusive end) adds two string operands.
    pub(super) fn computed_concatenates(&self, from: usize, to: usize) -> bool {
        let columns = self.typed_columns(from, CHARACTER_TYPES);
        self.concatenates(from, to, &columns)
    }

    /// The first construct in the computed column expression `from..to`
    /// that is not immutable, as `(token index, what)`: a volatile function
    /// (`GETDATE`, `RAND`, ... and `CURRENT_TIMESTAMP`), or a CAST/CONVERT
    /// to or from a date/time type (`CAST(DATETIME)`, `CONVERT(DATETIME)`),
    /// whose result depends on the session's date settings.
    pub(super) fn computed_non_immutable(&self, from: usize, to: usize) -> Option<(usize, String)> {
        let datetime_columns = self.typed_columns(from, DATETIME_TYPES);
        (from..to).find_map(|j| {
            if !self.is_name(j) || self.is_op(j.wrapping_sub(1), ".") {
                return None;
            }
            let word = self.unquoted(j).to_ascii_uppercase();
            let call = self.is_op(j + 1, "(");
            match word.as_str() {
                "CURRENT_TIMESTAMP" if !call => Some((j, word)),
                w if call && VOLATILE_FUNCTIONS.contains(&w) => Some((j, word)),
                // Not TRY_CAST/TRY_CONVERT: Compass does not flag them in a
                // computed column and we have no evidence that they fail
                // (WideWorldImporters' Invoices table has one).
                "CAST" | "CONVERT" if call => {
                    let close = self.group_end(j + 1, to);
                    let args = self.arguments(j + 2, close);
                    let (target, source) = if word == "CAST" {
                        let at = (j + 2..close).rev().find(|&k| self.is_word(k, "AS"))?;
                        (at + 1, (j + 2, at))
                    } else {
                        (args.first()?.0, *args.get(1)?)
                    };
                    let to_datetime = DATETIME_TYPES
                        .contains(&self.unquoted(target).to_ascii_uppercase().as_str());
                    let from_datetime = source.1 == source.0 + 1
                        && datetime_columns.contains(&self.unquoted(source.0).to_ascii_uppercase());
                    (to_datetime || from_datetime).then(|| (j, format!("{word}(DATETIME)")))
                }
                _ => None,
            }
        })
    }

    fn concatenates(&self, from: usize, to: usize, columns: &HashSet<String>) -> bool {
        let mut operands = Vec::new();
        let mut groups = Vec::new();
        let mut start = from;
        let mut depth = 0usize;
        for j in from..to {
            if self.is_op(j, "(") {
                if depth == 0 {
                    groups.push(j);
                }
                depth += 1;
            } else if self.is_op(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.is_op(j, "+") && j > start {
                operands.push(self.operand(start, j, columns));
                start = j + 1;
            } else if depth == 0 && self.is_op(j, "+") {
                start = j + 1; // unary plus
            }
        }
        if start < to {
            operands.push(self.operand(start, to, columns));
        }
        let adds_strings = operands.windows(2).any(|w| match (w[0], w[1]) {
            (Operand::String | Operand::Literal, Operand::String | Operand::Literal) => true,
            // `'AW' + dbo.f(x)`: a string literal added to what we cannot
            // type is concatenation in practice (the other reading, a
            // numeric string converted to a number, is vanishingly rare).
            (Operand::Literal, Operand::Unknown) | (Operand::Unknown, Operand::Literal) => true,
            _ => false,
        });
        // Otherwise look inside each parenthesised group's arguments:
        // `ISNULL('AW' + x, '')`.
        adds_strings
            || groups.into_iter().any(|open| {
                let close = self.group_end(open, to);
                self.arguments(open + 1, close)
                    .into_iter()
                    .any(|(a, b)| self.concatenates(a, b, columns))
            })
    }

    /// The `)` closing the `(` at `open`, or `to` if it is not before it.
    fn group_end(&self, open: usize, to: usize) -> usize {
        self.close_paren(open).filter(|&c| c < to).unwrap_or(to)
    }

    /// The comma-separated ranges of `from..to` at depth 0.
    fn arguments(&self, from: usize, to: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let (mut start, mut depth) = (from, 0usize);
        for j in from..to {
            if self.is_op(j, "(") {
                depth += 1;
            } else if self.is_op(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.is_op(j, ",") {
                out.push((start, j));
                start = j + 1;
            }
        }
        if start < to {
            out.push((start, to));
        }
        out
    }

    fn operand(&self, from: usize, to: usize, columns: &HashSet<String>) -> Operand {
        let single = to == from + 1;
        match self.kind(from) {
            Some(TokenKind::String | TokenKind::NString) if single => return Operand::Literal,
            Some(TokenKind::Integer) if single => return Operand::Other,
            _ => {}
        }
        if self.is_op(from, "(") && self.is_op(to - 1, ")") {
            // `(a + b)`: a string if it concatenates.
            let inner = self.arguments(from + 1, to - 1);
            if let [(a, b)] = inner[..] {
                let single = self.operand(a, b, columns);
                if single != Operand::Unknown || !self.concatenates(a, b, columns) {
                    return single;
                }
            }
            return if self.concatenates(from + 1, to - 1, columns) {
                Operand::String
            } else {
                Operand::Unknown
            };
        }
        if !self.is_name(from) {
            return Operand::Unknown;
        }
        let word = self.unquoted(from).to_ascii_uppercase();
        if single {
            return if columns.contains(&word) {
                Operand::String
            } else {
                Operand::Unknown
            };
        }
        if !self.is_op(from + 1, "(") {
            return Operand::Unknown;
        }
        match word.as_str() {
            "CAST" | "TRY_CAST" => {
                // CAST(x AS type): the word after the last top-level AS.
                let ty = (from + 2..to)
                    .rev()
                    .find(|&j| self.is_word(j, "AS"))
                    .map(|j| self.unquoted(j + 1).to_ascii_uppercase());
                type_operand(ty.as_deref())
            }
            "CONVERT" | "TRY_CONVERT" => {
                type_operand(Some(&self.unquoted(from + 2).to_ascii_uppercase()))
            }
            w if STRING_FUNCTIONS.contains(&w) => Operand::String,
            // The type of the first argument.
            "ISNULL" | "COALESCE" => {
                let close = self.group_end(from + 1, to);
                match self.arguments(from + 2, close).first() {
                    Some(&(a, b)) => match self.operand(a, b, columns) {
                        Operand::Literal => Operand::String,
                        other => other,
                    },
                    None => Operand::Unknown,
                }
            }
            _ => Operand::Other,
        }
    }

    /// The upper-case names of the columns declared with one of `types` in
    /// the column list around token `at`.
    fn typed_columns(&self, at: usize, types: &[&str]) -> HashSet<String> {
        let mut names = HashSet::new();
        // The `(` that opens the column list.
        let mut depth = 0usize;
        let mut open = None;
        for j in (at.saturating_sub(MAX_SCAN)..at).rev() {
            if self.is_op(j, ")") {
                depth += 1;
            } else if self.is_op(j, "(") {
                if depth == 0 {
                    open = Some(j);
                    break;
                }
                depth -= 1;
            }
        }
        let Some(open) = open else {
            return names;
        };
        // Each item: `name type ...` at depth 1.
        let mut depth = 0usize;
        let mut item_start = true;
        for j in open + 1..(open + MAX_SCAN).min(self.toks.len()) {
            if self.is_op(j, "(") {
                depth += 1;
            } else if self.is_op(j, ")") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if depth == 0 && self.is_op(j, ",") {
                item_start = true;
                continue;
            } else if depth == 0 && item_start {
                item_start = false;
                let ty = self.unquoted(j + 1).to_ascii_uppercase();
                if self.is_name(j) && types.contains(&ty.as_str()) {
                    names.insert(self.unquoted(j).to_ascii_uppercase());
                }
            }
        }
        names
    }
}

fn type_operand(ty: Option<&str>) -> Operand {
    match ty {
        Some(t) if CHARACTER_TYPES.contains(&t) => Operand::String,
        Some(_) => Operand::Other,
        None => Operand::Unknown,
    }
}
