//! Building the collector's SQL safely.
//!
//! Names that come from the server (database names) are untrusted: a
//! database may be called `x]; DROP TABLE y;--`. They only ever enter SQL
//! through [`quote_ident`], which does what T-SQL's QUOTENAME does: wrap in
//! brackets and double every `]`. Nothing else from the server is
//! interpolated; values go as parameters.

/// `name` as a bracketed T-SQL identifier (QUOTENAME semantics).
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('[');
    for c in name.chars() {
        if c == ']' {
            out.push(']');
        }
        out.push(c);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_are_doubled_and_nothing_escapes() {
        assert_eq!(quote_ident("Sales"), "[Sales]");
        assert_eq!(quote_ident("x]; DROP TABLE y;--"), "[x]]; DROP TABLE y;--]");
        assert_eq!(quote_ident("a'b\"c"), "[a'b\"c]");
        assert_eq!(quote_ident("]]"), "[]]]]]");
        assert_eq!(quote_ident("Ünïcødé 名前"), "[Ünïcødé 名前]");
    }
}
