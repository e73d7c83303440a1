//! IDENTITY columns: the type an identity is declared with.
//!
//! Babelfish creates every identity as an integer sequence: a NUMERIC or
//! DECIMAL identity becomes BIGINT (a precision above 18 cannot be held), and
//! an identity of a user-defined (alias) type is refused. The type is read
//! from the tokens before `IDENTITY` in a column definition, or from the
//! first argument of the `IDENTITY(type, seed, increment)` function.
//!
//! Guarantees: the look-behind is bounded (`MAX_LOOK_BEHIND` tokens) and
//! stops at the column's start; nothing is reported when the type cannot be
//! told.

use super::Parser;
use crate::tsql::lexer::TokenKind;
use crate::tsql::observation::ObservationKind as K;

const MAX_LOOK_BEHIND: usize = 16;

/// The built-in types an identity may have on SQL Server.
const INTEGER_TYPES: &[&str] = &["BIGINT", "INT", "INTEGER", "SMALLINT", "TINYINT"];
const NUMERIC_TYPES: &[&str] = &["DEC", "DECIMAL", "NUMERIC"];

/// Words that may stand between a column's type and `IDENTITY`.
const ATTRIBUTE_WORDS: &[&str] = &["NOT", "NULL", "COLLATE", "SPARSE", "ROWGUIDCOL"];

impl Parser<'_> {
    /// Reports the type of the identity at token `at` (the `IDENTITY`
    /// word): `IDENTITY TYPE` with detail `NUMERIC` or `USER TYPE` (and
    /// `TINYINT` for the function), and, for a column, `IDENTITY PRECISION
    /// ABOVE 18`.
    pub(super) fn identity_type(&mut self, at: usize, function: bool) {
        let ty = if function {
            self.is_op(at + 1, "(").then_some(at + 2)
        } else {
            self.identity_column_type(at)
        };
        let Some(ty) = ty.filter(|&t| self.is_name(t)) else {
            return;
        };
        let name = self.read_name(ty);
        let word = self.name_string(&name);
        let class = if function && word == "TINYINT" {
            // The IDENTITY() function cannot make a TINYINT sequence
            // (Compass's "TINYINT datatype for IDENTITY() function").
            "TINYINT"
        } else if INTEGER_TYPES.contains(&word.as_str()) {
            return;
        } else if NUMERIC_TYPES.contains(&word.as_str()) {
            "NUMERIC"
        } else {
            "USER TYPE"
        };
        self.emit(
            K::Clause,
            "IDENTITY TYPE",
            Some(class.to_owned()),
            ty,
            name.last,
        );
        let precision = (class == "NUMERIC" && self.is_op(name.last + 1, "("))
            .then(|| self.text(name.last + 2).parse::<u32>().ok())
            .flatten();
        // In the IDENTITY() function the precision is not checked: Compass
        // does not flag it and the value is created as BIGINT either way.
        if !function && precision.is_some_and(|p| p > 18) {
            self.emit(
                K::Clause,
                "IDENTITY PRECISION ABOVE 18",
                None,
                ty,
                name.last,
            );
        }
    }

    /// The first token of the type in `name type [(p, s)] [attributes]
    /// IDENTITY`, if the tokens before `at` read that way.
    fn identity_column_type(&self, at: usize) -> Option<usize> {
        let floor = at.saturating_sub(MAX_LOOK_BEHIND);
        let mut j = at.checked_sub(1)?;
        // Skip the attributes, then an argument list.
        while j > floor && self.is_any_word(j, ATTRIBUTE_WORDS) {
            j -= 1;
        }
        if self.is_word(j.wrapping_sub(1), "COLLATE") {
            j = j.checked_sub(2)?;
        }
        if self.is_op(j, ")") {
            let open = (floor..j).rev().find(|&k| self.is_op(k, "("))?;
            let numbers = (open + 1..j)
                .all(|k| self.kind(k) == Some(TokenKind::Integer) || self.is_op(k, ","));
            if !numbers {
                return None;
            }
            j = open.checked_sub(1)?;
        }
        // The type may be qualified (`dbo.t_id`): walk back to its start.
        while j >= 2 && self.is_op(j - 1, ".") && self.is_name(j - 2) {
            j -= 2;
        }
        // Before the type: the column's name, which starts the item.
        let column = j.checked_sub(1)?;
        let starts_item = self.is_op(column.wrapping_sub(1), "(")
            || self.is_op(column.wrapping_sub(1), ",")
            || self.is_any_word(column.wrapping_sub(1), &["ADD", "COLUMN"]);
        (self.is_name(column) && self.is_name(j) && starts_item).then_some(j)
    }
}
