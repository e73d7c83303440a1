//! The estate report's three files: `estate.json` (the whole [`Estate`],
//! documented in `docs/report-schema.md`), `estate.html` (for people) and
//! `estate.csv` (a row per server, database and failed run).
//!
//! Guarantees, as for the per-run report ([`crate::report`]):
//! - The HTML is self-contained: the run report's stylesheet inline, no
//!   script at all, and a Content-Security-Policy (`default-src 'none'`,
//!   the stylesheet allowed by its hash, `script-src 'none'`) that forbids
//!   every fetch. Every bundle text (server, database, object and feature
//!   names, errors) is HTML-escaped ([`crate::report::html::escape`]).
//! - CSV cells are quoted per RFC 4180 and neutralised against formulas
//!   ([`crate::report::csv`]), with a UTF-8 byte-order mark.
//! - Files are written atomically, mode 0600 (each through a temporary file
//!   and a rename), only once the whole estate is computed.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::EstateError;
use super::model::{Estate, Readiness};
use crate::report::csv::{BOM, write_row};
use crate::report::html::{CSS, csp_hash, escape};

/// The files [`write_all`] writes, in order.
pub const FILES: [&str; 3] = ["estate.json", "estate.html", "estate.csv"];

/// The CSV header row.
pub const CSV_COLUMNS: [&str; 13] = [
    "kind",
    "server",
    "database",
    "run_id",
    "babelfish_target",
    "objects_total",
    "objects_ready",
    "readiness_percent",
    "effort_minutes",
    "blockers",
    "version_mismatch",
    "source",
    "error",
];

/// Writes `estate.json`, `estate.html` and `estate.csv` into `dir`
/// (created 0700 if missing); returns the paths.
pub fn write_all(dir: &Path, estate: &Estate) -> Result<Vec<PathBuf>, EstateError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| EstateError::Write {
            path: dir.to_owned(),
            source,
        })?;
    let mut written = Vec::with_capacity(FILES.len());
    for name in FILES {
        let path = dir.join(name);
        crate::report::write_atomically(&path, |w| match name {
            "estate.json" => write_json(w, estate),
            "estate.html" => write_html(w, estate),
            _ => write_csv(w, estate),
        })
        .map_err(|source| EstateError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// `estate.json`: pretty-printed, with a trailing newline.
pub fn write_json(w: &mut dyn Write, estate: &Estate) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, estate).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

fn percent_text(p: Option<f64>) -> String {
    p.map_or_else(String::new, |p| format!("{p:.1}"))
}

/// `estate.csv`: one row per server, per database and per failed run.
pub fn write_csv(w: &mut dyn Write, estate: &Estate) -> io::Result<()> {
    w.write_all(BOM)?;
    write_row(w, CSV_COLUMNS)?;
    let row = |w: &mut dyn Write,
               kind: &str,
               server: &str,
               database: &str,
               s: &super::model::ServerRow,
               r: &Readiness|
     -> io::Result<()> {
        write_row(
            w,
            [
                kind,
                server,
                database,
                &s.run_id,
                &s.babelfish_target,
                &r.objects_total.to_string(),
                &r.objects_ready.to_string(),
                &percent_text(r.readiness_percent),
                &r.effort_minutes.to_string(),
                &r.blockers.to_string(),
                if s.version_mismatch { "yes" } else { "" },
                &s.source,
                "",
            ],
        )
    };
    for s in &estate.servers {
        row(w, "server", &s.server, "", s, &s.readiness)?;
        for d in &s.databases {
            row(w, "database", &s.server, &d.database, s, &d.readiness)?;
        }
    }
    for b in estate.bundles.iter().filter(|b| b.outcome == "failed") {
        write_row(
            w,
            [
                "failed_run",
                "",
                "",
                &b.run_id,
                "",
                "",
                "",
                "",
                "",
                "",
                if b.version_mismatch.is_some() {
                    "yes"
                } else {
                    ""
                },
                &b.source,
                b.error.as_deref().unwrap_or(""),
            ],
        )?;
    }
    Ok(())
}

/// The page's Content-Security-Policy: no script, no fetch, the stylesheet
/// by hash.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src 'none'; base-uri 'none'; \
         form-action 'none'",
        csp_hash(CSS)
    )
}

/// `estate.html`.
pub fn write_html(w: &mut dyn Write, estate: &Estate) -> io::Result<()> {
    let mut p = String::with_capacity(64 * 1024);
    render(&mut p, estate).map_err(io::Error::other)?;
    w.write_all(p.as_bytes())
}

fn render(p: &mut String, e: &Estate) -> std::fmt::Result {
    let s = &e.summary;
    writeln!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Babelfish estate assessment</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <header class=\"top\"><div class=\"wrap\">\n\
         <p class=\"kicker\">SQL Server to Babelfish for Aurora PostgreSQL</p>\n\
         <h1>Estate assessment</h1>\n<dl class=\"meta\">\
         <div><dt>Runs</dt><dd id=\"runs\">{runs}</dd></div>\
         <div><dt>Servers</dt><dd id=\"servers\">{servers}</dd></div>\
         <div><dt>Databases</dt><dd>{dbs}</dd></div>\
         <div><dt>Tool</dt><dd>assessor {version}</dd></div></dl>\n</div></header>\n\
         <nav class=\"toc\"><div class=\"wrap\"><a href=\"#summary\">Summary</a>\
         <a href=\"#servers-table\">Servers</a><a href=\"#blockers\">Blockers</a>\
         <a href=\"#shared\">Shared code</a><a href=\"#runs-table\">Runs</a></div></nav>\n<main>",
        csp = escape(&content_security_policy()),
        runs = s.bundles,
        servers = s.servers,
        dbs = s.databases,
        version = escape(e.tool.version),
    )?;
    let readiness = s
        .readiness_percent
        .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}%"));
    writeln!(
        p,
        "<section id=\"summary\" class=\"wrap\"><h2>Estate summary</h2>\n<div class=\"cards\">\
         <div class=\"card\"><h3>Readiness</h3><p class=\"big\" id=\"readiness\">{readiness}</p>\
         <p class=\"sub\">{} of {} objects have no blocker</p></div>\
         <div class=\"card\"><h3>Estimated effort</h3><p class=\"big\" id=\"effort\">{:.1} \
         <small>person-days</small></p><p class=\"sub\">{:.1} h remediation with shared code \
         counted once ({:.1} h as the runs report it), {:.1} h learning</p></div>\
         <div class=\"card\"><h3>Blocker features</h3><p class=\"big\">{}</p></div>\
         <div class=\"card\"><h3>Failed runs</h3><p class=\"big\" id=\"failed\">{}</p>\
         <p class=\"sub\">{} run(s) of another version</p></div></div></section>",
        s.objects_ready,
        s.objects_total,
        s.effort.person_days,
        s.effort.remediation_minutes as f64 / 60.0,
        s.effort.remediation_minutes_reported as f64 / 60.0,
        s.effort.learning_minutes as f64 / 60.0,
        s.blocker_features,
        s.failed_runs,
        s.mixed_version_bundles,
    )?;

    p.push_str(
        "<section id=\"servers-table\" class=\"wrap\"><h2>Servers and databases</h2>\n\
         <table><thead><tr><th>Server / database</th><th>Run</th><th>Target</th>\
         <th>Objects</th><th>Ready</th><th>Readiness</th><th>Effort (h)</th><th>Blockers</th>\
         </tr></thead><tbody>\n",
    );
    for srv in &e.servers {
        let flag = if srv.version_mismatch {
            " <em>(other version)</em>"
        } else {
            ""
        };
        readiness_row(
            p,
            "server-row",
            &format!("<strong>{}</strong>{flag}", escape(&srv.server)),
            &escape(&srv.run_id),
            &escape(&srv.babelfish_target),
            &srv.readiness,
        )?;
        for d in &srv.databases {
            readiness_row(
                p,
                "database-row",
                &format!("&nbsp;&nbsp;{}", escape(&d.database)),
                "",
                "",
                &d.readiness,
            )?;
        }
    }
    p.push_str("</tbody></table></section>\n");

    p.push_str(
        "<section id=\"blockers\" class=\"wrap\"><h2>Blockers across the estate</h2>\n\
         <p>Ranked by the servers, then the databases they affect.</p>\n\
         <table><thead><tr><th>Feature</th><th>Servers</th><th>Databases</th><th>Objects</th>\
         <th>Occurrences</th></tr></thead><tbody>\n",
    );
    for b in &e.blockers {
        writeln!(
            p,
            "<tr class=\"blocker-row\"><td>{}<br><code>{}</code></td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&b.title),
            escape(&b.feature),
            b.servers,
            b.databases,
            b.objects,
            b.occurrences
        )?;
    }
    p.push_str("</tbody></table></section>\n");

    writeln!(
        p,
        "<section id=\"shared\" class=\"wrap\"><h2>Code shared across the estate</h2>\n\
         <p>{} pieces of code occur in more than one place (same fingerprint of the \
         normalised source); each is counted once in the effort, saving {:.1} h.</p>\n\
         <table><thead><tr><th>Fingerprint</th><th>Copies</th><th>Servers</th>\
         <th>Effort (h, once)</th><th>Where</th></tr></thead><tbody>",
        s.shared_code_groups,
        s.effort.shared_code_minutes_saved as f64 / 60.0
    )?;
    for c in &e.shared_code {
        let places: Vec<String> = c
            .locations
            .iter()
            .map(|l| {
                format!(
                    "{} / {}",
                    escape(&l.server),
                    escape(l.file.get(l.server.len() + 1..).unwrap_or(&l.file))
                )
            })
            .collect();
        writeln!(
            p,
            "<tr class=\"shared-row\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:.1}</td>\
             <td>{}</td></tr>",
            escape(c.code_sha256.get(..12).unwrap_or(&c.code_sha256)),
            c.copies,
            c.servers,
            c.effort_minutes as f64 / 60.0,
            places.join("<br>")
        )?;
    }
    p.push_str("</tbody></table></section>\n");

    p.push_str(
        "<section id=\"runs-table\" class=\"wrap\"><h2>Runs merged</h2>\n\
         <table><thead><tr><th>Run</th><th>Outcome</th><th>Servers</th><th>Assessor</th>\
         <th>Source</th><th>Notes</th></tr></thead><tbody>\n",
    );
    for b in &e.bundles {
        let mut notes: Vec<String> = Vec::new();
        if let Some(m) = &b.version_mismatch {
            notes.push(format!("other version: {}", escape(m)));
        }
        if let Some(err) = &b.error {
            notes.push(escape(err));
        }
        for t in &b.failed_targets {
            notes.push(format!(
                "{} failed: {}",
                escape(&t.target),
                escape(t.error.as_deref().unwrap_or("(no reason given)"))
            ));
        }
        writeln!(
            p,
            "<tr class=\"run-row run-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"path\">{}</td><td>{}</td></tr>",
            if b.outcome == "failed" {
                "failed"
            } else {
                "ok"
            },
            escape(&b.run_id),
            escape(&b.outcome),
            b.servers,
            escape(&b.tool_version),
            escape(&b.source),
            notes.join("<br>")
        )?;
    }
    p.push_str("</tbody></table></section>\n</main>\n");
    writeln!(
        p,
        "<footer><p>Generated by assessor {} from {} verified bundle(s). This file is \
         self-contained and makes no network requests. Object and database names are the \
         customer's metadata: handle this report as confidential.</p></footer>\n</body>\n</html>",
        escape(e.tool.version),
        s.bundles
    )
}

fn readiness_row(
    p: &mut String,
    class: &str,
    name_html: &str,
    run_html: &str,
    target_html: &str,
    r: &Readiness,
) -> std::fmt::Result {
    writeln!(
        p,
        "<tr class=\"{class}\"><td>{name_html}</td><td>{run_html}</td><td>{target_html}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
        r.objects_total,
        r.objects_ready,
        r.readiness_percent
            .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}%")),
        r.effort_minutes as f64 / 60.0,
        r.blockers
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::model::{EstateSummary, ServerRow, Tool};

    fn estate(server: &str) -> Estate {
        Estate {
            schema_version: 1,
            tool: Tool {
                name: "assessor",
                version: "0",
            },
            summary: EstateSummary::default(),
            bundles: Vec::new(),
            servers: vec![ServerRow {
                server: server.to_owned(),
                run_id: "run-1".into(),
                source: "dir".into(),
                babelfish_target: "babelfish-6.1".into(),
                version_mismatch: false,
                readiness: Readiness::default(),
                databases: Vec::new(),
            }],
            blockers: Vec::new(),
            shared_code: Vec::new(),
        }
    }

    #[test]
    fn server_names_are_inert_in_csv_and_html() {
        let e = estate("=HYPERLINK(\"x\")<b>");
        let mut csv = Vec::new();
        write_csv(&mut csv, &e).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.contains("server,\"'=HYPERLINK(\"\"x\"\")<b>\""),
            "{csv}"
        );
        let mut html = Vec::new();
        write_html(&mut html, &e).unwrap();
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("=HYPERLINK(&quot;x&quot;)&lt;b&gt;"));
        assert!(!html.contains("<b>") && !html.contains("<script"));
    }
}
