//! The HTML report: one self-contained file for people (consultants,
//! customers, their security reviewers).
//!
//! Guarantees:
//! - **Self-contained.** No external resource of any kind: the CSS, the
//!   script and the SVG charts are inline, and the page's
//!   Content-Security-Policy (`default-src 'none'`) forbids every fetch.
//! - **Strict CSP, no `unsafe-inline`.** The inline `<style>` and `<script>`
//!   blocks are allowed by their SHA-256 hashes, computed at render time
//!   from the exact bytes written; nothing else may run or style the page.
//!   The page uses no `style` attributes (SVG uses presentation attributes).
//! - **Customer text is inert.** Every piece of input text (object and file
//!   names, snippets, feature text) is HTML-escaped where the page shows it.
//!   The findings reach the script as JSON in a
//!   `<script type="application/json">` block with `<`, `>`, `&`, U+2028 and
//!   U+2029 escaped, so `</script>` inside data cannot end the block; the
//!   script builds the table with `textContent` and never parses data as
//!   HTML.
//! - **Works without a server.** Filters and the sort order live in the URL
//!   fragment (`#status=not_supported&feature=…&object=…&q=…&sort=effort&dir=desc`),
//!   so a filtered view is a link, and the page reads it on load. `object`
//!   names one object exactly (as the cross-reference links do) or else
//!   matches as a case-insensitive substring; `q` searches file, object,
//!   feature and code.
//!
//! The executive summary, charts, features and objects are rendered here
//! (readable without script); the findings table, which can be large, is
//! built by the script from the embedded JSON, a page at a time.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;
use serde::Serialize;

use super::overview::ServerOverview;
use super::summary::rank;
use super::{Excerpt, FeatureText, ReportInput, Summary, kind_str, object_display, summarize};
use crate::findings::{Complexity, ObjectRef, Status};
use crate::rules::EffortOverrides;
use crate::workload::{SkipReason, WorkloadSummary};

/// The page's stylesheet (inlined; allowed by hash).
pub(crate) const CSS: &str = include_str!("report.css");
/// The page's script (inlined; allowed by hash).
const JS: &str = include_str!("report.js");

/// Writes the HTML report.
pub fn write_html(w: &mut dyn Write, input: &ReportInput<'_>) -> io::Result<()> {
    let summary = summarize(input);
    write_html_with(w, input, &summary)
}

pub(crate) fn write_html_with(
    w: &mut dyn Write,
    input: &ReportInput<'_>,
    summary: &Summary,
) -> io::Result<()> {
    // The page up to the data block is small; the data (every finding and
    // excerpt) is streamed through the script escaper, never held as text:
    // on a 100k-finding report that was two copies of 75 MB.
    let mut page = Page::new(&mut *w);
    let rendered = render_page(&mut page, input, summary);
    page.finish(rendered)?;
    write_embedded_data(&mut ScriptSafe::new(&mut *w), input, summary)?;
    writeln!(w, "</script>\n<script>{JS}</script>\n</body>\n</html>")
}

/// The CSP source for an inline block: `'sha256-<base64>'`.
pub fn csp_hash(block: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, block.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// The Content-Security-Policy of the page.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; \
         base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// Escapes text for an HTML text node or a double- or single-quoted
/// attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes JSON safe inside a `<script>` element: no `<`, `>` or `&` (so no
/// `</script>` or `<!--`), and no U+2028/U+2029. These characters only
/// occur inside JSON strings, where the `\u` escapes mean the same.
pub fn json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page as it is rendered: text collects in a buffer that goes to the
/// writer whenever it passes 64 KiB, so a report with 100,000 objects is
/// never held whole. `fmt::Write`, so the renderers use `write!`; an I/O
/// error is kept and ends the rendering as `fmt::Error`.
struct Page<'w> {
    buf: String,
    out: &'w mut dyn Write,
    error: Option<io::Error>,
}

impl<'w> Page<'w> {
    const FLUSH_AT: usize = 64 * 1024;

    fn new(out: &'w mut dyn Write) -> Page<'w> {
        Page {
            buf: String::with_capacity(Self::FLUSH_AT + 4096),
            out,
            error: None,
        }
    }

    fn push_str(&mut self, s: &str) {
        self.buf.push_str(s);
        if self.buf.len() >= Self::FLUSH_AT && self.error.is_none() {
            if let Err(e) = self.out.write_all(self.buf.as_bytes()) {
                self.error = Some(e);
            }
            self.buf.clear();
        }
    }

    /// Writes what is left; the first I/O error wins over the render's.
    fn finish(mut self, rendered: Out) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        rendered.map_err(io::Error::other)?;
        self.out.write_all(self.buf.as_bytes())
    }
}

impl std::fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        if self.error.is_some() {
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

/// A writer that passes JSON on with `<`, `>`, `&`, U+2028 and U+2029
/// written as `\u` escapes, as [`json_for_script`] does, while it streams.
/// U+2028/U+2029 are three bytes (`E2 80 A8`/`A9`); a sequence split across
/// writes is held back until it is complete.
struct ScriptSafe<W: Write> {
    inner: W,
    /// Bytes of a possible `E2 80 A8|A9` seen at the end of the last write.
    pending: Vec<u8>,
}

impl<W: Write> ScriptSafe<W> {
    fn new(inner: W) -> ScriptSafe<W> {
        ScriptSafe {
            inner,
            pending: Vec::with_capacity(2),
        }
    }
}

impl<W: Write> Write for ScriptSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = std::mem::take(&mut self.pending);
        bytes.extend_from_slice(buf);
        let mut out = Vec::with_capacity(bytes.len() + 16);
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'<' => out.extend_from_slice(b"\\u003c"),
                b'>' => out.extend_from_slice(b"\\u003e"),
                b'&' => out.extend_from_slice(b"\\u0026"),
                0xE2 => match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(0x80), Some(0xA8)) => {
                        out.extend_from_slice(b"\\u2028");
                        i += 2;
                    }
                    (Some(0x80), Some(0xA9)) => {
                        out.extend_from_slice(b"\\u2029");
                        i += 2;
                    }
                    // The rest of the sequence is in the next write.
                    (None, _) | (Some(0x80), None) => {
                        self.pending.extend_from_slice(&bytes[i..]);
                        break;
                    }
                    _ => out.push(0xE2),
                },
                b => out.push(b),
            }
            i += 1;
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.inner.write_all(&pending)?;
        self.inner.flush()
    }
}

/// The findings and lookup tables the script renders, compactly: findings
/// are arrays of indexes into the tables, so a large report stays small.
#[derive(Serialize)]
struct Data<'a> {
    statuses: Vec<&'static str>,
    complexities: [&'static str; 3],
    files: Vec<&'a str>,
    /// `[display name, kind, file index]`.
    objects: Vec<(String, &'static str, usize)>,
    /// `[id, title, group, remediation, rewrite before, rewrite after]`
    /// (the rewrite's texts empty when the catalog has none).
    features: Vec<(&'a str, &'a str, &'a str, &'a str, &'a str, &'a str)>,
    /// `[file, line, column, object, feature, status, complexity, effort,
    /// snippet]`, indexes into the tables above.
    findings: Vec<CompactFinding<'a>>,
    /// Per file index: `[[first line, [line text, …]], …]`, the source
    /// around that file's findings (empty when the caller had none).
    excerpts: Vec<Vec<(u32, &'a [String])>>,
}

/// See [`Data::findings`].
type CompactFinding<'a> = (usize, u32, u32, usize, usize, usize, usize, u32, &'a str);

/// Serialises the [`Data`] of the report into `w` (the caller escapes).
fn write_embedded_data<'a>(
    w: &mut impl Write,
    input: &ReportInput<'a>,
    summary: &'a Summary,
) -> io::Result<()> {
    let mut files: Vec<&'a str> = Vec::new();
    let mut file_index: HashMap<&'a str, usize> = HashMap::new();
    let mut file_of = |file: &'a str| -> usize {
        if let Some(&i) = file_index.get(file) {
            return i;
        }
        files.push(file);
        file_index.insert(file, files.len() - 1);
        files.len() - 1
    };
    let mut objects = Vec::with_capacity(summary.objects.len());
    let mut object_index: HashMap<(&str, Option<&ObjectRef>), usize> = HashMap::new();
    for (i, o) in summary.objects.iter().enumerate() {
        let kind = o
            .object
            .as_ref()
            .map(|o| kind_str(o.kind))
            .unwrap_or("script");
        objects.push((
            object_label(&o.file, o.object.as_ref()),
            kind,
            file_of(&o.file),
        ));
        object_index.insert((o.file.as_str(), o.object.as_ref()), i);
    }
    let features: Vec<_> = summary
        .features
        .iter()
        .map(|f| {
            let info = input.features.feature_text(&f.feature);
            let rewrite = info.and_then(|i| i.rewrite);
            (
                f.feature.as_str(),
                info.map(|i| i.title).unwrap_or(&f.feature),
                f.group.as_str(),
                info.map(|i| i.remediation).unwrap_or(""),
                rewrite.map(|r| r.before).unwrap_or(""),
                rewrite.map(|r| r.after).unwrap_or(""),
            )
        })
        .collect();
    let feature_index: HashMap<&str, usize> = summary
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| (f.feature.as_str(), i))
        .collect();
    let findings = input
        .findings
        .iter()
        .map(|f| {
            // The summary has an entry for every finding's object and
            // feature; 0 is never reached but keeps this total.
            let object = object_index
                .get(&(f.file.as_str(), f.object.as_ref()))
                .copied()
                .unwrap_or(0);
            let feature = feature_index.get(f.feature.as_str()).copied().unwrap_or(0);
            (
                file_of(&f.file),
                f.line,
                f.column,
                object,
                feature,
                rank(f.status),
                complexity_index(f.complexity),
                f.effort_minutes,
                f.snippet.as_str(),
            )
        })
        .collect();
    let by_file: HashMap<&str, &'a Excerpt> = input
        .excerpts
        .iter()
        .map(|e| (e.file.as_str(), e))
        .collect();
    let excerpts = files
        .iter()
        .map(|file| {
            by_file.get(file).map_or_else(Vec::new, |e| {
                e.blocks
                    .iter()
                    .map(|b| (b.first_line, b.lines.as_slice()))
                    .collect()
            })
        })
        .collect();
    let data = Data {
        excerpts,
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        complexities: ["low", "medium", "high"],
        files,
        objects,
        features,
        findings,
    };
    serde_json::to_writer(&mut *w, &data).map_err(io::Error::from)?;
    w.flush()
}

/// The name the page shows and filters on: `schema.name`, or for code
/// outside any object, "(top-level code of <file>)", so that each file's
/// top-level code is a distinct filter.
fn object_label(file: &str, object: Option<&ObjectRef>) -> String {
    match object {
        Some(_) => object_display(object),
        None => format!("(top-level code of {file})"),
    }
}

fn complexity_index(c: Complexity) -> usize {
    match c {
        Complexity::Low => 0,
        Complexity::Medium => 1,
        Complexity::High => 2,
    }
}

/// Display label of a status.
fn status_label(status: Status) -> &'static str {
    match status {
        Status::NotSupported => "Not supported",
        Status::ReviewManually => "Review manually",
        Status::ReviewSemantics => "Review semantics",
        Status::ReviewPerformance => "Review performance",
        Status::Ignored => "Ignored",
        Status::Supported => "Supported",
    }
}

/// Chart colour of a status (also in report.css, `.st-*`).
fn status_colour(status: Status) -> &'static str {
    match status {
        Status::NotSupported => "#c62828",
        Status::ReviewManually => "#e65100",
        Status::ReviewSemantics => "#b58100",
        Status::ReviewPerformance => "#6a3fb5",
        Status::Ignored => "#78808a",
        Status::Supported => "#2e7d32",
    }
}

/// Display label of a complexity.
fn complexity_label(c: Complexity) -> &'static str {
    match c {
        Complexity::Low => "Low",
        Complexity::Medium => "Medium",
        Complexity::High => "High",
    }
}

fn complexity_colour(c: Complexity) -> &'static str {
    match c {
        Complexity::Low => "#5b8def",
        Complexity::Medium => "#2f5fc4",
        Complexity::High => "#173a80",
    }
}

/// `12345` -> `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn count(n: usize) -> String {
    thousands(n as u64)
}

/// An escaped path that may wrap after each `/` (and nowhere else).
fn path_html(path: &str) -> String {
    escape(path).replace('/', "/<wbr>")
}

/// `#key=value` link to a filtered findings view.
fn filter_href(key: &str, value: &str) -> String {
    let mut encoded = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(char::from(b))
            }
            b => {
                let _ = write!(encoded, "%{b:02X}");
            }
        }
    }
    escape(&format!("#{key}={encoded}"))
}

type Out = std::fmt::Result;

/// The page up to and including the opening tag of the data block.
fn render_page(p: &mut Page<'_>, input: &ReportInput<'_>, s: &Summary) -> Out {
    let title = format!("Babelfish compatibility assessment: {}", input.target);
    writeln!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"assessor {version}\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        csp = escape(&content_security_policy()),
        version = escape(input.tool_version),
        title = escape(&title),
    )?;
    render_header(p, input, s)?;
    p.push_str("<main>\n");
    render_summary(p, input, s)?;
    if !input.servers.is_empty() {
        render_servers(p, input.servers)?;
    }
    if let Some(w) = input.workload {
        render_workload(p, input, w)?;
    }
    render_features(p, input, s)?;
    render_objects(p, s)?;
    render_findings(p, input, s)?;
    p.push_str("</main>\n");
    writeln!(
        p,
        "<footer><p>Generated by assessor {} for {}. This file is self-contained and makes \
         no network requests. Snippets are the customer's code: handle this report as \
         confidential.</p></footer>",
        escape(input.tool_version),
        escape(input.target)
    )?;
    p.push_str("<script type=\"application/json\" id=\"report-data\">");
    Ok(())
}

/// The files listed but not analysed: said next to the numbers they are
/// missing from, so the summary cannot pass for the whole input.
fn render_skipped(p: &mut Page<'_>, input: &ReportInput<'_>, s: &Summary) -> Out {
    if s.files_skipped == 0 {
        return Ok(());
    }
    writeln!(
        p,
        "<div class=\"notice\" id=\"skipped\"><p><strong>{} {} skipped</strong> ({}): \
         not analysed, so not counted above.</p>\n<ul>",
        count(s.files_skipped),
        if s.files_skipped == 1 {
            "file"
        } else {
            "files"
        },
        escape(&s.skipped_by_kind.describe())
    )?;
    for f in input.skipped {
        writeln!(
            p,
            "<li><span class=\"path\">{}</span>: {}</li>",
            escape(&f.file),
            escape(&f.reason)
        )?;
    }
    p.push_str("</ul></div>\n");
    Ok(())
}

fn render_header(p: &mut Page<'_>, input: &ReportInput<'_>, s: &Summary) -> Out {
    p.push_str("<header class=\"top\">\n<div class=\"wrap\">\n");
    p.push_str("<p class=\"kicker\">SQL Server to Babelfish for Aurora PostgreSQL</p>\n");
    p.push_str("<h1>Compatibility assessment</h1>\n<dl class=\"meta\">\n");
    let mut item = |k: &str, v: &str| {
        let _ = writeln!(p, "<div><dt>{}</dt><dd>{}</dd></div>", escape(k), escape(v));
    };
    item("Target", input.target);
    item(
        "Babelfish settings",
        &if s.settings.is_empty() {
            "Babelfish defaults".to_string()
        } else {
            s.settings
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    item(
        "Input",
        &if input.inputs.is_empty() {
            "(none named)".to_string()
        } else {
            input.inputs.join(", ")
        },
    );
    if let Some(at) = input.generated_at {
        item("Generated", at);
    }
    item("Files", &count(s.files_analyzed));
    if s.files_skipped > 0 {
        item(
            "Skipped",
            &format!(
                "{} ({})",
                count(s.files_skipped),
                s.skipped_by_kind.describe()
            ),
        );
    }
    item("Lines", &thousands(s.lines_analyzed));
    if let Some(e) = &s.effort_overrides {
        item("Effort", &calibration_line(e));
    }
    item("Tool", &format!("assessor {}", input.tool_version));
    p.push_str("</dl>\n</div>\n</header>\n");
    p.push_str("<nav class=\"toc\"><div class=\"wrap\"><a href=\"#summary\">Summary</a>");
    if !input.servers.is_empty() {
        p.push_str("<a href=\"#servers\">Servers</a>");
    }
    if input.workload.is_some() {
        p.push_str("<a href=\"#workload\">Workload</a>");
    }
    p.push_str(
        "<a href=\"#features\">Features</a><a href=\"#objects\">Objects</a>\
         <a href=\"#findings\">Findings</a></div></nav>\n",
    );
    Ok(())
}

fn render_summary(p: &mut Page<'_>, input: &ReportInput<'_>, s: &Summary) -> Out {
    p.push_str("<section id=\"summary\" class=\"wrap\">\n<h2>Executive summary</h2>\n");
    p.push_str("<div class=\"cards\">\n");

    // Readiness card with a gauge ring.
    let (readiness_text, share) = match s.readiness_percent {
        Some(pct) => (format!("{pct:.1}%"), pct / 100.0),
        None => ("n/a".to_string(), 0.0),
    };
    p.push_str("<div class=\"card card-readiness\">\n");
    gauge(p, share)?;
    writeln!(
        p,
        "<div><h3>Readiness</h3><p class=\"big\" id=\"readiness\">{}</p>\
         <p class=\"sub\">{} of {} objects have no blocker</p></div>\n</div>",
        escape(&readiness_text),
        count(s.objects_ready),
        count(s.objects_total)
    )?;
    let blocked_objects = s.objects_total - s.objects_ready;
    writeln!(
        p,
        "<div class=\"card\"><h3>Blockers</h3><p class=\"big st-text-not_supported\">{}</p>\
         <p class=\"sub\">not-supported findings in {} objects</p></div>",
        count(s.by_status.not_supported),
        count(blocked_objects)
    )?;
    writeln!(
        p,
        "<div class=\"card\"><h3>Estimated effort</h3><p class=\"big\">{:.1} <small>person-days</small></p>\
         <p class=\"sub\">{:.1} hours at 8 hours a day: {:.1} h remediation, {:.1} h learning</p></div>",
        s.effort.person_days,
        s.effort.hours,
        s.effort.remediation_minutes as f64 / 60.0,
        s.effort.learning_minutes as f64 / 60.0,
    )?;
    writeln!(
        p,
        "<div class=\"card\"><h3>Findings</h3><p class=\"big\">{}</p>\
         <p class=\"sub\">in {} files, {} lines analysed</p></div>",
        count(s.findings_total),
        count(s.files_analyzed),
        thousands(s.lines_analyzed)
    )?;
    p.push_str("</div>\n");
    render_skipped(p, input, s)?;
    render_calibration(p, s)?;
    if let Some(sc) = &s.supported_constructs {
        writeln!(
            p,
            "<p class=\"sub\" id=\"supported\">{} constructs recognised as supported \
             (they run unchanged, so are not findings) in {} features.</p>",
            count(sc.total),
            count(sc.by_feature.len())
        )?;
    }
    render_object_types(p, s)?;
    p.push_str("<div class=\"charts\">\n");
    status_chart(p, s)?;
    complexity_chart(p, s)?;
    p.push_str("</div>\n");

    p.push_str("<h3 id=\"blockers\">Top blockers</h3>\n");
    if s.top_blockers.is_empty() {
        p.push_str("<p class=\"empty\">No feature blocks the migration.</p>\n");
    } else {
        p.push_str(
            "<table class=\"sortable\"><thead><tr><th data-type=\"text\">Feature</th>\
             <th data-type=\"num\" class=\"num\">Occurrences</th><th data-type=\"num\" class=\"num\">Objects</th>\
             <th data-type=\"num\" class=\"num\">Effort (h)</th><th>Findings</th></tr></thead><tbody>\n",
        );
        for f in &s.top_blockers {
            feature_row_start(p, input, &f.feature)?;
            writeln!(
                p,
                "<td class=\"num\" data-v=\"{occ}\">{occ_s}</td><td class=\"num\" data-v=\"{obj}\">{obj_s}</td>\
                 <td class=\"num\" data-v=\"{eff}\">{hours:.1}</td>\
                 <td><a class=\"xref\" href=\"{href}\">Show</a></td></tr>",
                occ = f.by_status.not_supported,
                occ_s = count(f.by_status.not_supported),
                obj = f.objects,
                obj_s = count(f.objects),
                eff = f.effort_minutes,
                hours = f.effort_minutes as f64 / 60.0,
                href = filter_href("feature", &f.feature),
            )?;
        }
        p.push_str("</tbody></table>\n");
    }
    p.push_str("</section>\n");
    Ok(())
}

/// "calibrated with FILE: N overrides".
fn calibration_line(e: &EffortOverrides) -> String {
    format!(
        "calibrated with {}: {} override{}",
        e.file,
        count(e.overrides),
        if e.overrides == 1 { "" } else { "s" }
    )
}

/// The effort calibration (`--effort`) and every override it made.
fn render_calibration(p: &mut Page<'_>, s: &Summary) -> Out {
    let Some(e) = &s.effort_overrides else {
        return Ok(());
    };
    writeln!(
        p,
        "<div class=\"notice\" id=\"calibration\"><p><strong>Effort {}</strong>; every \
         number below uses them.</p>\n<ul>",
        escape(&calibration_line(e))
    )?;
    for (complexity, minutes) in &e.complexity {
        writeln!(
            p,
            "<li>{} complexity: {} min per occurrence (features without their own)</li>",
            complexity_label(*complexity),
            thousands(u64::from(*minutes))
        )?;
    }
    for (feature, o) in &e.features {
        let mut parts = Vec::new();
        if let Some(st) = o.status {
            parts.push(format!("status {}", status_label(st)));
        }
        if let Some(m) = o.effort_minutes {
            parts.push(format!("{} min per occurrence", thousands(u64::from(m))));
        }
        if let Some(m) = o.learning_minutes {
            parts.push(format!("{} min learning", thousands(u64::from(m))));
        }
        writeln!(
            p,
            "<li><code>{}</code>: {}</li>",
            escape(feature),
            escape(&parts.join(", "))
        )?;
    }
    p.push_str("</ul></div>\n");
    Ok(())
}

/// Readiness and remediation effort by object type.
fn render_object_types(p: &mut Page<'_>, s: &Summary) -> Out {
    if s.by_object_type.is_empty() {
        return Ok(());
    }
    p.push_str(
        "<h3 id=\"by-object-type\">Readiness by object type</h3>\n\
         <table class=\"sortable\"><thead><tr><th data-type=\"text\">Object type</th>\
         <th data-type=\"num\" class=\"num\">Objects</th><th data-type=\"num\" class=\"num\">Ready</th>\
         <th data-type=\"num\" class=\"num\">Readiness</th><th data-type=\"num\" class=\"num\">Findings</th>\
         <th data-type=\"num\" class=\"num\">Blockers</th>\
         <th data-type=\"num\" class=\"num\">Remediation (h)</th></tr></thead><tbody>\n",
    );
    for (kind, t) in &s.by_object_type {
        let label = if kind == super::summary::TOP_LEVEL {
            "top-level code"
        } else {
            kind.as_str()
        };
        writeln!(
            p,
            "<tr><td>{}</td><td class=\"num\" data-v=\"{}\">{}</td>\
             <td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{:.1}%</td>\
             <td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{}</td>\
             <td class=\"num\" data-v=\"{}\">{:.1}</td></tr>",
            escape(label),
            t.objects_total,
            count(t.objects_total),
            t.objects_ready,
            count(t.objects_ready),
            t.readiness_percent,
            t.readiness_percent,
            t.findings,
            count(t.findings),
            t.by_status.not_supported,
            count(t.by_status.not_supported),
            t.effort_minutes,
            t.hours,
        )?;
    }
    p.push_str("</tbody></table>\n");
    Ok(())
}

/// Most statements listed in the workload section (all are in the JSON).
const WORKLOAD_STATEMENTS_SHOWN: usize = 50;

/// The workload section: what the captures cover, readiness by executions
/// and by statements, and blockers ranked by the executions that would fail.
fn render_workload(p: &mut Page<'_>, input: &ReportInput<'_>, w: &WorkloadSummary) -> Out {
    p.push_str("<section id=\"workload\" class=\"wrap\">\n<h2>Captured workload</h2>\n");
    let pct = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}%"));
    writeln!(
        p,
        "<div class=\"cards\">\
         <div class=\"card\"><h3>Readiness by executions</h3><p class=\"big\" id=\"workload-readiness-executions\">{}</p>\
         <p class=\"sub\">{} of {} executions ran code with no blocker</p></div>\
         <div class=\"card\"><h3>Readiness by statements</h3><p class=\"big\" id=\"workload-readiness-statements\">{}</p>\
         <p class=\"sub\">{} of {} distinct statements have no blocker</p></div>\
         <div class=\"card\"><h3>Events</h3><p class=\"big\">{}</p>\
         <p class=\"sub\">read; {} counted as executions, {} skipped (other events {}, no text {}, text too long {})</p></div>\
         </div>",
        escape(&pct(w.readiness_by_executions_percent)),
        thousands(w.executions_ready),
        thousands(w.executions_total),
        escape(&pct(w.readiness_by_statements_percent)),
        count(w.statements_ready),
        count(w.statements_distinct),
        thousands(w.events_read),
        thousands(w.events_used),
        thousands(w.events_skipped),
        thousands(skipped(w, SkipReason::OtherEvent)),
        thousands(skipped(w, SkipReason::NoText)),
        thousands(skipped(w, SkipReason::TextTooLong)),
    )?;
    if w.modules_run > 0 {
        writeln!(
            p,
            "<p class=\"sub\" id=\"workload-modules\">Modules weighed by the executions the \
             server recorded: {} of {} have no blocker.</p>",
            count(w.modules_ready),
            count(w.modules_run)
        )?;
    }
    let interval = match (&w.first_event, &w.last_event) {
        (Some(first), Some(last)) => format!("from {first} to {last}"),
        _ => "no event time recorded".to_string(),
    };
    writeln!(
        p,
        "<p class=\"sub\">Captures: {}; {}. Each counted event is one execution of its \
         statement; literals were replaced before anything was kept.</p>",
        escape(
            &w.captures
                .iter()
                .map(|c| c.file.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        escape(&interval)
    )?;
    match &w.headline {
        Some(h) => writeln!(
            p,
            "<p id=\"workload-headline\"><strong>{}</strong> ({} executions would fail).</p>",
            escape(&h.sentence()),
            thousands(w.executions_failing)
        )?,
        None => p.push_str("<p class=\"empty\">No blocker in the captured workload.</p>\n"),
    }
    if !w.blockers.is_empty() {
        p.push_str(
            "<table class=\"sortable\"><thead><tr><th data-type=\"text\">Blocker</th>\
             <th data-type=\"num\" class=\"num\">Executions</th><th data-type=\"num\" class=\"num\">% of failing</th>\
             <th data-type=\"num\" class=\"num\">Cumulative %</th><th data-type=\"num\" class=\"num\">Statements</th>\
             <th data-type=\"num\" class=\"num\">Modules</th><th data-type=\"num\" class=\"num\">CPU (ms)</th>\
             </tr></thead><tbody>\n",
        );
        for b in &w.blockers {
            feature_row_start(p, input, &b.feature)?;
            writeln!(
                p,
                "<td class=\"num\" data-v=\"{e}\">{es}</td><td class=\"num\">{:.1}</td>\
                 <td class=\"num\">{:.1}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                b.executions_percent,
                b.cumulative_percent,
                count(b.statements),
                count(b.modules),
                thousands(b.cpu_ms),
                e = b.executions,
                es = thousands(b.executions),
            )?;
        }
        p.push_str("</tbody></table>\n");
    }
    p.push_str(
        "<h3>Most executed statements and modules</h3>\n<table class=\"sortable\"><thead><tr>\
         <th data-type=\"text\">Statement or module</th><th data-type=\"num\" class=\"num\">Executions</th>\
         <th data-type=\"num\" class=\"num\">% of executions</th><th data-type=\"num\" class=\"num\">CPU (ms)</th>\
         <th data-type=\"text\">Ready</th></tr></thead><tbody>\n",
    );
    for s in w.statements.iter().take(WORKLOAD_STATEMENTS_SHOWN) {
        writeln!(
            p,
            "<tr><td><a class=\"xref path\" href=\"{}\">{}</a>{}</td><td class=\"num\" data-v=\"{e}\">{es}</td>\
             <td class=\"num\">{:.1}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            filter_href("q", &s.file),
            path_html(&s.file),
            if s.module {
                " <span class=\"fid\">(module)</span>"
            } else {
                ""
            },
            s.executions_percent,
            thousands(s.cpu_ms),
            if s.ready { "yes" } else { "no" },
            e = s.executions,
            es = thousands(s.executions),
        )?;
    }
    p.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

fn skipped(w: &WorkloadSummary, reason: SkipReason) -> u64 {
    w.skipped_by_reason.get(&reason).copied().unwrap_or(0)
}

fn feature_row_start(p: &mut Page<'_>, input: &ReportInput<'_>, feature: &str) -> Out {
    let title = input
        .features
        .feature_text(feature)
        .map(|i| i.title)
        .unwrap_or(feature);
    write!(
        p,
        "<tr><td data-v=\"{t}\"><span class=\"ftitle\">{t}</span> <code class=\"fid\">{id}</code></td>",
        t = escape(title),
        id = escape(feature)
    )
}

/// A ring showing `share` (0..=1) in green, the rest in red.
fn gauge(p: &mut Page<'_>, share: f64) -> Out {
    // r = 15.9155 makes the circumference 100, so dash lengths are percent.
    let ready = (share.clamp(0.0, 1.0) * 100.0 * 10.0).round() / 10.0;
    writeln!(
        p,
        "<svg class=\"gauge\" viewBox=\"0 0 42 42\" width=\"96\" height=\"96\" role=\"img\" \
         aria-label=\"Readiness {ready:.1} percent\">\
         <circle cx=\"21\" cy=\"21\" r=\"15.9155\" fill=\"none\" stroke=\"#e3e6ea\" stroke-width=\"5\"/>\
         <circle cx=\"21\" cy=\"21\" r=\"15.9155\" fill=\"none\" stroke=\"#2e7d32\" stroke-width=\"5\" \
         stroke-dasharray=\"{ready:.1} {rest:.1}\" transform=\"rotate(-90 21 21)\"/></svg>",
        rest = 100.0 - ready,
    )
}

fn status_chart(p: &mut Page<'_>, s: &Summary) -> Out {
    let total = s.findings_total.max(1) as f64;
    p.push_str(
        "<figure class=\"chart\"><figcaption>Findings by status</figcaption><div class=\"donut-wrap\">\
         <svg viewBox=\"0 0 42 42\" width=\"160\" height=\"160\" role=\"img\" aria-label=\"Findings by status\">\
         <circle cx=\"21\" cy=\"21\" r=\"15.9155\" fill=\"none\" stroke=\"#e3e6ea\" stroke-width=\"6\"/>",
    );
    let mut offset = 0.0;
    for status in Status::ALL {
        let n = s.by_status.get(status);
        if n == 0 {
            continue;
        }
        let len = n as f64 * 100.0 / total;
        write!(
            p,
            "<circle cx=\"21\" cy=\"21\" r=\"15.9155\" fill=\"none\" stroke=\"{c}\" stroke-width=\"6\" \
             stroke-dasharray=\"{len:.3} {rest:.3}\" stroke-dashoffset=\"{off:.3}\" \
             transform=\"rotate(-90 21 21)\"><title>{label}: {n}</title></circle>",
            c = status_colour(status),
            rest = 100.0 - len,
            off = -offset,
            label = status_label(status),
        )?;
        offset += len;
    }
    write!(
        p,
        "<text x=\"21\" y=\"21\" text-anchor=\"middle\" class=\"donut-n\">{}</text>\
         <text x=\"21\" y=\"26.5\" text-anchor=\"middle\" class=\"donut-l\">findings</text></svg>\n<ul class=\"legend\">",
        count(s.findings_total)
    )?;
    for status in Status::ALL {
        let n = s.by_status.get(status);
        write!(
            p,
            "<li><a href=\"{href}\"><span class=\"swatch st-{w}\"></span>{label}</a><span class=\"n\">{n}</span></li>",
            href = filter_href("status", status.as_str()),
            w = status.as_str(),
            label = status_label(status),
            n = count(n),
        )?;
    }
    p.push_str("</ul></div></figure>\n");
    Ok(())
}

fn complexity_chart(p: &mut Page<'_>, s: &Summary) -> Out {
    let levels = [Complexity::High, Complexity::Medium, Complexity::Low];
    let max = levels
        .iter()
        .map(|&c| s.by_complexity.get(c))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    p.push_str(
        "<figure class=\"chart\"><figcaption>Findings by complexity</figcaption>\
         <svg viewBox=\"0 0 320 120\" width=\"100%\" height=\"120\" role=\"img\" \
         aria-label=\"Findings by complexity\" preserveAspectRatio=\"xMinYMid meet\">",
    );
    for (i, c) in levels.into_iter().enumerate() {
        let n = s.by_complexity.get(c);
        let y = 10 + i * 36;
        let width = n as f64 / max * 200.0;
        write!(
            p,
            "<text x=\"0\" y=\"{ty}\" class=\"bar-l\">{label}</text>\
             <rect x=\"64\" y=\"{y}\" width=\"200\" height=\"22\" rx=\"3\" fill=\"#eef1f5\"/>\
             <rect x=\"64\" y=\"{y}\" width=\"{width:.1}\" height=\"22\" rx=\"3\" fill=\"{col}\"><title>{label}: {n}</title></rect>\
             <text x=\"272\" y=\"{ty}\" class=\"bar-n\">{ns}</text>",
            ty = y + 16,
            label = complexity_label(c),
            col = complexity_colour(c),
            ns = count(n),
        )?;
    }
    p.push_str("</svg></figure>\n");
    Ok(())
}

fn status_badge(status: Status) -> String {
    format!(
        "<span class=\"badge st-{}\">{}</span>",
        status.as_str(),
        status_label(status)
    )
}

/// Only http(s) links are rendered as links; anything else is shown as text.
fn safe_link(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| escape(url))
}

fn render_features(p: &mut Page<'_>, input: &ReportInput<'_>, s: &Summary) -> Out {
    p.push_str(
        "<section id=\"features\" class=\"wrap\">\n<h2>Features found</h2>\n\
         <p class=\"lead\">Each catalog feature found in the code, worst status first. \
         Open a feature for what it means and how to remediate it.</p>\n",
    );
    if s.features.is_empty() {
        p.push_str("<p class=\"empty\">No findings.</p>\n</section>\n");
        return Ok(());
    }
    p.push_str(
        "<table class=\"sortable\"><thead><tr><th data-type=\"text\">Feature</th>\
         <th data-type=\"text\">Group</th><th data-type=\"num\">Status</th>\
         <th data-type=\"num\" class=\"num\">Occurrences</th><th data-type=\"num\" class=\"num\">Objects</th>\
         <th data-type=\"num\" class=\"num\">Effort (h)</th><th>Findings</th></tr></thead><tbody>\n",
    );
    for f in &s.features {
        let info: Option<FeatureText<'_>> = input.features.feature_text(&f.feature);
        let title = info.map(|i| i.title).unwrap_or(&f.feature);
        write!(
            p,
            "<tr><td data-v=\"{t}\"><details><summary><span class=\"ftitle\">{t}</span> \
             <code class=\"fid\">{id}</code></summary>",
            t = escape(title),
            id = escape(&f.feature)
        )?;
        match info {
            Some(info) => {
                write!(
                    p,
                    "<p>{}</p><p><strong>Remediation.</strong> {}</p>",
                    escape(info.description),
                    escape(info.remediation)
                )?;
                if let Some(r) = info.rewrite {
                    write!(
                        p,
                        "<div class=\"rewrite\"><p class=\"rw-l\">Before</p><pre class=\"code\">{}</pre>\
                         <p class=\"rw-l\">After (runs on the target)</p><pre class=\"code\">{}</pre></div>",
                        escape(r.before),
                        escape(r.after)
                    )?;
                }
                if let Some(url) = info.docs_url {
                    // The page's subject says where the link leads; a page
                    // the catalog does not list keeps the plain label.
                    let label = match info.docs_title {
                        Some(title) => format!("Documentation: {}", escape(title)),
                        None => "Documentation".to_owned(),
                    };
                    match safe_link(url) {
                        Some(href) => write!(
                            p,
                            "<p><a href=\"{href}\" rel=\"noreferrer noopener\" target=\"_blank\">{label}</a></p>"
                        )?,
                        None => write!(p, "<p>{label}: {}</p>", escape(url))?,
                    }
                }
            }
            None => p.push_str("<p>The catalog has no description of this feature.</p>"),
        }
        writeln!(
            p,
            "</details></td><td>{group}</td><td data-v=\"{rank}\">{badge}</td>\
             <td class=\"num\" data-v=\"{occ}\">{occ_s}</td><td class=\"num\" data-v=\"{obj}\">{obj_s}</td>\
             <td class=\"num\" data-v=\"{eff}\">{hours:.1}</td>\
             <td><a class=\"xref\" href=\"{href}\">Show</a></td></tr>",
            group = escape(&f.group),
            rank = rank(f.status),
            badge = status_badge(f.status),
            occ = f.occurrences,
            occ_s = count(f.occurrences),
            obj = f.objects,
            obj_s = count(f.objects),
            eff = f.effort_minutes,
            hours = f.effort_minutes as f64 / 60.0,
            href = filter_href("feature", &f.feature),
        )?;
    }
    p.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// The servers an appliance run assessed: what each is, its databases
/// with the findings in each, and what could not be collected.
fn render_servers(p: &mut Page<'_>, servers: &[ServerOverview]) -> Out {
    p.push_str(
        "<section id=\"servers\" class=\"wrap\">\n<h2>Servers</h2>\n\
         <p class=\"lead\">What was assessed on each server. inventory.json in the same \
         bundle holds the full record.</p>\n",
    );
    for server in servers {
        write!(
            p,
            "<h3>{}</h3>\n<dl class=\"facts\">",
            escape(&server.target)
        )?;
        let mut fact = |k: &str, v: &str| {
            let _ = write!(p, "<div><dt>{}</dt><dd>{}</dd></div>", escape(k), escape(v));
        };
        fact(
            "Version",
            &format!("{} {}", server.version, server.product_level),
        );
        fact("Edition", &server.edition);
        fact("Collation", &server.collation);
        fact(
            "CPUs",
            &server
                .cpu_count
                .map_or_else(|| "not reported".to_string(), |n| n.to_string()),
        );
        fact(
            "Memory",
            &server.memory_mb.map_or_else(
                || "not reported".to_string(),
                |mb| format!("{:.1} GB", mb as f64 / 1024.0),
            ),
        );
        fact(
            "High availability",
            match (server.clustered, server.hadr_enabled) {
                (true, true) => "failover cluster, Always On enabled",
                (true, false) => "failover cluster",
                (false, true) => "Always On enabled",
                (false, false) => "none",
            },
        );
        p.push_str("</dl>\n");
        if server.databases.is_empty() {
            p.push_str("<p class=\"empty\">No user database was collected.</p>\n");
        } else {
            p.push_str(
                "<table class=\"sortable\"><thead><tr><th data-type=\"text\">Database</th>\
                 <th data-type=\"num\" class=\"num\">Size (MB)</th>\
                 <th data-type=\"num\" class=\"num\">Compatibility</th>\
                 <th data-type=\"text\">Recovery</th><th data-type=\"text\">Collation</th>\
                 <th data-type=\"num\" class=\"num\">Not supported</th>\
                 <th data-type=\"num\" class=\"num\">Findings</th></tr></thead><tbody>\n",
            );
            for db in &server.databases {
                let total: usize = Status::ALL.iter().map(|&st| db.findings.get(st)).sum();
                let size = db.data_mb.saturating_add(db.log_mb);
                writeln!(
                    p,
                    "<tr><td class=\"obj\">{name}</td><td class=\"num\" data-v=\"{size}\">{size_s}</td>\
                     <td class=\"num\">{compat}</td><td>{recovery}</td><td>{collation}</td>\
                     <td class=\"num\">{ns}</td><td class=\"num\" data-v=\"{total}\">{link}</td></tr>",
                    name = escape(&db.name),
                    size_s = thousands(u64::try_from(size).unwrap_or(0)),
                    compat = db.compatibility_level,
                    recovery = escape(&db.recovery_model),
                    collation = escape(&db.collation),
                    ns = count(db.findings.not_supported),
                    // The count links to the findings it counts.
                    link = if total == 0 {
                        "0".to_string()
                    } else {
                        format!(
                            "<a class=\"xref\" href=\"{}\">{}</a>",
                            filter_href("q", &db.filter),
                            count(total)
                        )
                    },
                )?;
            }
            p.push_str("</tbody></table>\n");
        }
        if !server.not_collected.is_empty() {
            p.push_str(
                "<div class=\"notice\"><p><strong>Not collected</strong>: these steps could not \
                 run, so what they read is missing from this report.</p>\n<ul>",
            );
            for step in &server.not_collected {
                write!(p, "<li><code>{}</code>", escape(&step.step))?;
                if let Some(db) = &step.database {
                    write!(p, " in {}", escape(db))?;
                }
                writeln!(
                    p,
                    ": {}; needs {}</li>",
                    escape(&step.reason),
                    escape(&step.permission)
                )?;
            }
            p.push_str("</ul></div>\n");
        }
    }
    p.push_str("</section>\n");
    Ok(())
}

fn render_objects(p: &mut Page<'_>, s: &Summary) -> Out {
    writeln!(
        p,
        "<section id=\"objects\" class=\"wrap\">\n<h2>Objects</h2>\n\
         <p class=\"lead\">Every object analysed ({} in all; {} ready). An object is ready when \
         none of its findings is <em>not supported</em>. Top-level code is the code of a file \
         outside any object definition.</p>",
        count(s.objects_total),
        count(s.objects_ready)
    )?;
    if s.objects.is_empty() {
        p.push_str("<p class=\"empty\">No objects.</p>\n</section>\n");
        return Ok(());
    }
    p.push_str(
        "<table class=\"sortable\"><thead><tr><th data-type=\"text\">Object</th>\
         <th data-type=\"text\">Kind</th><th data-type=\"text\">File</th>\
         <th data-type=\"num\" class=\"num\">Line</th><th data-type=\"num\">Ready</th>\
         <th data-type=\"num\" class=\"num\">Blockers</th><th data-type=\"num\" class=\"num\">Review</th>\
         <th data-type=\"num\" class=\"num\">Findings</th><th data-type=\"num\" class=\"num\">Effort (h)</th>\
         </tr></thead><tbody>\n",
    );
    for o in &s.objects {
        let name = object_label(&o.file, o.object.as_ref());
        let kind = o
            .object
            .as_ref()
            .map(|o| kind_str(o.kind))
            .unwrap_or("script");
        let review = o.by_status.review_manually
            + o.by_status.review_semantics
            + o.by_status.review_performance;
        let ready = if o.ready {
            "<span class=\"badge st-supported\">Ready</span>"
        } else {
            "<span class=\"badge st-not_supported\">Blocked</span>"
        };
        // The name links to the object's findings (cross-reference).
        let shown = if o.findings > 0 {
            format!(
                "<a class=\"xref\" href=\"{}\">{}</a>",
                filter_href("object", &name),
                escape(&name)
            )
        } else {
            escape(&name)
        };
        writeln!(
            p,
            "<tr><td data-v=\"{n}\" class=\"obj\">{shown}</td><td>{kind}</td><td data-v=\"{f}\" class=\"path\">{fp}</td>\
             <td class=\"num\" data-v=\"{line}\">{line}</td><td data-v=\"{r}\">{ready}</td>\
             <td class=\"num\" data-v=\"{ns}\">{ns_s}</td><td class=\"num\" data-v=\"{rv}\">{rv_s}</td>\
             <td class=\"num\" data-v=\"{fc}\">{fc_s}</td><td class=\"num\" data-v=\"{eff}\">{hours:.1}</td></tr>",
            n = escape(&name),
            f = escape(&o.file),
            fp = path_html(&o.file),
            line = o.line,
            r = u8::from(o.ready),
            ns = o.by_status.not_supported,
            ns_s = count(o.by_status.not_supported),
            rv = review,
            rv_s = count(review),
            fc = o.findings,
            fc_s = count(o.findings),
            eff = o.effort_minutes,
            hours = o.effort_minutes as f64 / 60.0,
        )?;
    }
    p.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

fn render_findings(p: &mut Page<'_>, input: &ReportInput<'_>, s: &Summary) -> Out {
    p.push_str(
        "<section id=\"findings\" class=\"wrap\">\n<h2>Findings</h2>\n\
         <p class=\"lead\">Filter, sort (click a column header) and open a finding to see its code. \
         Filters are kept in the address, so a filtered view can be bookmarked.</p>\n\
         <form class=\"filters\" id=\"filters\" autocomplete=\"off\">\n\
         <label>Status<select id=\"f-status\"><option value=\"\">All statuses</option>",
    );
    for status in Status::ALL {
        write!(
            p,
            "<option value=\"{}\">{}</option>",
            status.as_str(),
            status_label(status)
        )?;
    }
    p.push_str(
        "</select></label>\n<label>Feature<select id=\"f-feature\"><option value=\"\">All features</option>",
    );
    for f in &s.features {
        let title = input
            .features
            .feature_text(&f.feature)
            .map(|t| t.title)
            .unwrap_or(&f.feature);
        write!(
            p,
            "<option value=\"{id}\">{title} ({id})</option>",
            id = escape(&f.feature),
            title = escape(title),
        )?;
    }
    p.push_str(
        "</select></label>\n<label>Object<input id=\"f-object\" type=\"search\" list=\"object-names\" \
         placeholder=\"schema.name\"></label>\n<datalist id=\"object-names\">",
    );
    let mut names: Vec<String> = s
        .objects
        .iter()
        .filter(|o| o.findings > 0)
        .map(|o| object_label(&o.file, o.object.as_ref()))
        .collect();
    names.sort();
    names.dedup();
    for name in &names {
        write!(p, "<option value=\"{}\">", escape(name))?;
    }
    p.push_str(
        "</datalist>\n<label class=\"grow\">Search<input id=\"f-q\" type=\"search\" \
         placeholder=\"file, object, feature or code\"></label>\n\
         <button type=\"button\" id=\"f-clear\">Clear</button>\n</form>\n\
         <p class=\"count\" id=\"findings-count\" aria-live=\"polite\"></p>\n\
         <noscript><p class=\"empty\">The findings table needs JavaScript. The JSON and CSV \
         reports hold the same findings.</p></noscript>\n\
         <table id=\"findings-table\"><thead><tr>\
         <th data-key=\"status\">Status</th><th data-key=\"feature\">Feature</th>\
         <th data-key=\"object\">Object</th><th data-key=\"file\">Location</th>\
         <th data-key=\"complexity\">Complexity</th><th data-key=\"effort\" class=\"num\">Effort (min)</th>\
         </tr></thead><tbody id=\"findings-body\"></tbody></table>\n\
         <p><button type=\"button\" id=\"more\" hidden>Show more</button></p>\n</section>\n",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror='a'>&"),
            "&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;&amp;"
        );
    }

    #[test]
    fn json_for_script_cannot_close_the_block() {
        let json = serde_json::to_string("</script><!-- \u{2028}\u{2029}&").unwrap();
        let safe = json_for_script(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        assert!(!safe.contains('\u{2028}') && !safe.contains('\u{2029}'));
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "</script><!-- \u{2028}\u{2029}&");
    }

    #[test]
    fn the_streaming_escaper_writes_what_json_for_script_does_however_split() {
        let text = "a</script><!--\u{2028}b\u{2029}&\u{2027}€é\u{2028}";
        let json = serde_json::to_string(text).unwrap();
        let want = json_for_script(&json);
        for chunk in [1, 2, 3, 5, json.len()] {
            let mut out = Vec::new();
            {
                let mut w = ScriptSafe::new(&mut out);
                for piece in json.as_bytes().chunks(chunk) {
                    w.write_all(piece).unwrap();
                }
                w.flush().unwrap();
            }
            assert_eq!(
                String::from_utf8(out).unwrap(),
                want,
                "in pieces of {chunk}"
            );
        }
    }

    #[test]
    fn inline_blocks_cannot_end_early() {
        assert!(!JS.to_ascii_lowercase().contains("</script"));
        assert!(!CSS.to_ascii_lowercase().contains("</style"));
        assert!(!JS.contains("innerHTML") && !JS.contains("outerHTML"));
        assert!(!JS.contains("insertAdjacentHTML") && !JS.contains("document.write"));
    }

    #[test]
    fn csp_hash_matches_known_vector() {
        // sha256("") in base64.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
