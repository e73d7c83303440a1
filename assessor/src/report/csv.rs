//! The CSV report: one row per finding, for spreadsheets.
//!
//! RFC 4180: a header row, comma-separated cells, CRLF line ends; a cell is
//! quoted when it contains a comma, a quote, CR or LF, and quotes inside are
//! doubled. UTF-8, starting with a byte-order mark: without it Excel, the
//! spreadsheet most of our readers open it in, reads the file as the
//! system's ANSI code page and garbles every non-ASCII name and snippet.
//!
//! Formula injection: spreadsheet programs run a cell that begins with `=`,
//! `+`, `-` or `@` (and some also after a leading tab or CR) as a formula.
//! Object names and snippets are customer text, so every text cell that
//! begins with one of those characters gets a leading `'`, which spreadsheets
//! show as text (OWASP "CSV injection"). Numeric cells are unsigned numbers
//! we write ourselves, so they never begin with one.

use std::io::{self, Write};

use super::{ReportInput, complexity_str, kind_str};

/// The header row, in column order.
pub const COLUMNS: [&str; 17] = [
    "file",
    "line",
    "column",
    "object_schema",
    "object_name",
    "object_kind",
    "status",
    "feature",
    "feature_title",
    "group",
    "complexity",
    "effort_minutes",
    "snippet",
    "remediation",
    "in_dynamic_sql",
    // Workload findings only (`--workload`): the statement's use.
    "executions",
    "cpu_ms",
];

/// The UTF-8 byte-order mark the file starts with.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes one row per finding, in input order, after the header row.
pub fn write_csv(w: &mut dyn Write, input: &ReportInput<'_>) -> io::Result<()> {
    w.write_all(BOM)?;
    write_row(w, COLUMNS.iter().copied())?;
    for f in input.findings {
        let info = input.features.feature_text(&f.feature);
        let line = f.line.to_string();
        let column = f.column.to_string();
        let effort = f.effort_minutes.to_string();
        let (executions, cpu_ms) = f.workload.map_or((String::new(), String::new()), |w| {
            (w.executions.to_string(), w.cpu_ms.to_string())
        });
        let (schema, name, kind) = match &f.object {
            Some(o) => (
                o.schema.as_deref().unwrap_or(""),
                o.name.as_str(),
                kind_str(o.kind),
            ),
            None => ("", "", ""),
        };
        write_row(
            w,
            [
                f.file.as_str(),
                &line,
                &column,
                schema,
                name,
                kind,
                f.status.as_str(),
                &f.feature,
                info.map(|i| i.title).unwrap_or(""),
                &f.group,
                complexity_str(f.complexity),
                &effort,
                &f.snippet,
                info.map(|i| i.remediation).unwrap_or(""),
                if f.in_dynamic_sql { "yes" } else { "" },
                &executions,
                &cpu_ms,
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn write_row<'a>(
    w: &mut dyn Write,
    cells: impl IntoIterator<Item = &'a str>,
) -> io::Result<()> {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_cell(w, cell)?;
    }
    w.write_all(b"\r\n")
}

/// Writes one cell, neutralised and quoted as needed.
fn write_cell(w: &mut dyn Write, cell: &str) -> io::Result<()> {
    let neutralise = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = cell.contains([',', '"', '\r', '\n']);
    if quote {
        w.write_all(b"\"")?;
    }
    if neutralise {
        w.write_all(b"'")?;
    }
    if quote {
        w.write_all(cell.replace('"', "\"\"").as_bytes())?;
        w.write_all(b"\"")
    } else {
        w.write_all(cell.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> String {
        let mut out = Vec::new();
        write_cell(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_per_rfc_4180() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn neutralises_formula_starters() {
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\t=1"), "'\t=1");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        assert_eq!(
            cell("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
        // Only the first character matters.
        assert_eq!(cell("a=1"), "a=1");
    }
}
