//! The HTML report in a real browser: headless Chromium renders a report
//! full of hostile names and we check the DOM it built.
//!
//! What each check proves:
//! - rows in the dumped DOM: the script ran under the page's CSP (its hash
//!   is right) and built the findings table;
//! - a filter in the URL fragment leaves only matching rows: filtering works,
//!   with no browser driver;
//! - no `<img>`/extra `<script>` element, the title unchanged, the hostile
//!   text present as text: no payload ran or became markup;
//! - no console message: no CSP violation and no script error;
//! - a TCP listener on loopback, planted as `<img src>`/`<link href>` in a
//!   snippet, receives no connection: no request left the page. A control
//!   page without CSP, fetching the same listener, proves the listener sees
//!   a fetch when there is one.
//!
//! - a probe script, added to a copy of the page and allowed by its hash,
//!   opens every finding and measures the page: the drill-down shows the
//!   numbered source around each finding, and nothing is wider than the
//!   window at 1024, 1280 and 1920 pixels;
//! - printed to PDF (read back with pypdf), the report holds the summary
//!   first, then every finding with its code and remediation.
//!
//! Chromium is a real component installed by scripts/dev-env; when it is
//! missing the tests fail, they never skip.

// Helpers outside #[test] functions too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chromium_support;
mod report_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assessor::findings::Status;
use assessor::report::{self, Format};
use chromium_support::{console_messages, run_chromium};
use report_support::{Sample, XSS_IMG, XSS_SCRIPT, orders_line, sample};

/// A loopback HTTP listener that counts the requests it receives and
/// answers each with an empty 404, so a page that fetches it still loads.
struct Beacon {
    addr: std::net::SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Beacon {
    fn new() -> Beacon {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        // Lives until the test binary exits.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Beacon { addr, hits }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections received so far (the browser has exited when we ask).
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Renders the hostile sample with `beacon` planted in it; returns the
/// report's file URL.
fn render_sample(dir: &Path, beacon: &Beacon) -> (String, PathBuf) {
    let s = sample(&beacon.url());
    let paths = report::write_all(&dir.join("out"), &[Format::Html], &s.input()).unwrap();
    let path = paths[0].clone();
    (format!("file://{}", path.display()), path)
}

fn finding_rows(dom: &str) -> Vec<&str> {
    dom.match_indices("<tr class=\"finding-row")
        .map(|(i, _)| {
            let end = i + dom[i..].find('>').unwrap();
            &dom[i..=end]
        })
        .collect()
}

fn escaped(text: &str) -> String {
    // How Chromium serialises a text node: &, <, > and no-break spaces.
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn report_renders_runs_no_injected_code_and_fetches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let (url, _) = render_sample(tmp.path(), &beacon);
    let run = run_chromium(&tmp.path().join("profile"), &["--dump-dom"], &url);
    let dom = &run.dom;
    let s = sample(&beacon.url());

    // The page rendered and the script built the whole table.
    assert!(dom.contains("Executive summary"), "summary missing");
    assert!(dom.contains("id=\"readiness\">40.0%<"), "readiness missing");
    assert_eq!(
        finding_rows(dom).len(),
        s.findings.len(),
        "rows built by the script"
    );
    assert!(dom.contains(&format!(
        "Showing {n} of {n} findings.",
        n = s.findings.len()
    )));

    // Nothing injected: no element from the payloads, no extra script, the
    // title untouched, the payloads present as text.
    let lower = dom.to_ascii_lowercase();
    assert!(!lower.contains("<img"), "an <img> element was injected");
    assert!(!lower.contains("<link"), "a <link> element was injected");
    assert_eq!(lower.matches("<script").count(), 2, "script elements");
    assert!(
        !dom.contains("PWNED-DOCS'\""),
        "javascript: URL became a link"
    );
    let title_start = dom.find("<title>").unwrap() + "<title>".len();
    let title = &dom[title_start..title_start + dom[title_start..].find('<').unwrap()];
    assert_eq!(title, "Babelfish compatibility assessment: babelfish-5.5");
    for hostile in [XSS_SCRIPT, XSS_IMG] {
        assert!(
            dom.contains(&escaped(hostile)),
            "{hostile:?} not shown as text"
        );
    }

    // No CSP violation or script error, and nothing fetched.
    assert_eq!(console_messages(&run.stderr), Vec::<&str>::new());
    assert_eq!(beacon.hits(), 0, "the page made a network request");
}

#[test]
fn filters_in_the_fragment_leave_only_matching_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let (url, _) = render_sample(tmp.path(), &beacon);
    let s = sample(&beacon.url());
    let profile = tmp.path().join("profile");

    let run = run_chromium(
        &profile,
        &["--dump-dom"],
        &format!("{url}#status=not_supported"),
    );
    let rows = finding_rows(&run.dom);
    let want = s
        .findings
        .iter()
        .filter(|f| f.status.as_str() == "not_supported")
        .count();
    assert!(want > 0 && want < s.findings.len());
    assert_eq!(rows.len(), want, "rows after #status=not_supported");
    assert!(
        rows.iter()
            .all(|r| r.contains("data-status=\"not_supported\""))
    );
    assert!(run.dom.contains(&format!(
        "Showing {want} of {want} matching findings ({} in total).",
        s.findings.len()
    )));

    // An object filter on a hostile name, percent-encoded in the URL.
    let mut encoded = String::new();
    for b in format!("dbo.{XSS_SCRIPT}").bytes() {
        encoded.push_str(&format!("%{b:02X}"));
    }
    let run = run_chromium(
        &profile,
        &["--dump-dom"],
        &format!("{url}#object={encoded}"),
    );
    let want = s
        .findings
        .iter()
        .filter(|f| f.object.as_ref().is_some_and(|o| o.name == XSS_SCRIPT))
        .count();
    assert_eq!(finding_rows(&run.dom).len(), want, "rows after #object=…");

    // Free text over the snippets, combined with a feature.
    let run = run_chromium(
        &profile,
        &["--dump-dom"],
        &format!("{url}#feature=service_broker.send&q=conversation"),
    );
    assert_eq!(finding_rows(&run.dom).len(), 1, "rows after feature + text");
    assert_eq!(console_messages(&run.stderr), Vec::<&str>::new());
    assert_eq!(beacon.hits(), 0, "the page made a network request");
}

#[test]
fn the_network_check_sees_a_fetch_when_there_is_one() {
    // Control: the same browser flags on a page without CSP that loads the
    // beacon. If this fails, "no hits" above would prove nothing.
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let page = tmp.path().join("control.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html><title>control</title><img src=\"{}/control.png\">",
            beacon.url()
        ),
    )
    .unwrap();
    run_chromium(
        &tmp.path().join("profile"),
        &["--dump-dom"],
        &format!("file://{}", page.display()),
    );
    assert!(beacon.hits() > 0, "the control page's fetch was not seen");
}

#[test]
fn screenshot_of_a_sample_report() {
    // A picture for people to look at: set ASSESSOR_REPORT_SCREENSHOT to a
    // path to keep it.
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let (url, _) = render_sample(tmp.path(), &beacon);
    let png = tmp.path().join("report.png");
    run_chromium(
        &tmp.path().join("profile"),
        &[
            "--window-size=1280,2200",
            &format!("--screenshot={}", png.display()),
        ],
        &url,
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank page compresses to a few kilobytes; a rendered report does not.
    assert!(
        bytes.len() > 50_000,
        "screenshot looks blank ({} bytes)",
        bytes.len()
    );
    if let Some(keep) = std::env::var_os("ASSESSOR_REPORT_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
    assert_eq!(beacon.hits(), 0, "the page made a network request");
}

#[test]
fn a_partial_object_name_filters_as_a_substring() {
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let (url, _) = render_sample(tmp.path(), &beacon);
    let s = sample(&beacon.url());
    let run = run_chromium(
        &tmp.path().join("profile"),
        &["--dump-dom"],
        &format!("{url}#object=getorders"),
    );
    let want = s
        .findings
        .iter()
        .filter(|f| f.object.as_ref().is_some_and(|o| o.name == "usp_GetOrders"))
        .count();
    assert!(want > 1);
    assert_eq!(
        finding_rows(&run.dom).len(),
        want,
        "rows after #object=getorders"
    );
}

#[test]
fn sort_order_from_the_fragment() {
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let (url, _) = render_sample(tmp.path(), &beacon);
    let s = sample(&beacon.url());
    let run = run_chromium(
        &tmp.path().join("profile"),
        &["--dump-dom"],
        &format!("{url}#sort=status&dir=desc"),
    );
    let rank = |row: &str| {
        Status::ALL
            .iter()
            .position(|st| row.contains(&format!("data-status=\"{}\"", st.as_str())))
            .unwrap()
    };
    let ranks: Vec<usize> = finding_rows(&run.dom).iter().map(|r| rank(r)).collect();
    assert_eq!(ranks.len(), s.findings.len());
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "not sorted worst-last: {ranks:?}"
    );
    assert!(
        ranks[0] > ranks[ranks.len() - 1],
        "the order did not change"
    );
    assert!(run.dom.contains("aria-sort=\"descending\""));
}

/// Writes `input` as an HTML report into `dir`; returns its path.
fn render(dir: &Path, s: &Sample) -> PathBuf {
    report::write_all(&dir.join("out"), &[Format::Html], &s.input())
        .unwrap()
        .remove(0)
}

/// A copy of the report at `path` that runs `probe` after the report's own
/// script, allowed by its hash in the page's CSP: how a test clicks and
/// measures without a browser driver. Returns the copy's file URL.
fn with_probe(path: &Path, probe: &str) -> String {
    let page = std::fs::read_to_string(path).unwrap();
    let hash = report::html::csp_hash(probe);
    assert!(page.contains("script-src "), "no script-src in the CSP");
    let page = page
        .replacen("script-src ", &format!("script-src {hash} "), 1)
        .replacen("</body>", &format!("<script>{probe}</script></body>"), 1);
    let copy = path.with_file_name("probe.html");
    std::fs::write(&copy, page).unwrap();
    format!("file://{}", copy.display())
}

/// Opens every finding (as a click does) and every `<details>`.
const OPEN_ALL: &str = "var r = document.querySelectorAll('tr.finding-row');\
    for (var i = 0; i < r.length; i++) { r[i].click(); }\
    document.querySelectorAll('details').forEach(function (d) { d.open = true; });";

/// The `<pre>` the drill-down of `file` at `line` shows.
fn drill_down<'d>(dom: &'d str, file: &str, line: u32) -> &'d str {
    let loc = format!("{}, line {line},", escaped(file));
    let at = dom
        .find(&loc)
        .unwrap_or_else(|| panic!("no detail for {file}:{line}"));
    let pre = at + dom[at..].find("<pre").unwrap();
    &dom[pre..pre + dom[pre..].find("</pre>").unwrap()]
}

/// The line numbers a drill-down shows.
fn numbered_lines(pre: &str) -> Vec<u32> {
    pre.match_indices("<span class=\"ln\">")
        .map(|(i, m)| {
            let rest = &pre[i + m.len()..];
            rest[..rest.find('<').unwrap()].parse().unwrap()
        })
        .collect()
}

#[test]
fn a_finding_opens_the_numbered_source_around_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let s = sample(&beacon.url());
    let url = with_probe(&render(tmp.path(), &s), OPEN_ALL);
    let run = run_chromium(&tmp.path().join("profile"), &["--dump-dom"], &url);
    let dom = &run.dom;

    // Three lines either side, numbered; the finding's line highlighted,
    // its construct marked from the finding's column.
    let pre = drill_down(dom, "procs/orders.sql", 12);
    assert_eq!(numbered_lines(pre), (9..=15).collect::<Vec<_>>());
    assert!(
        pre.contains("<span class=\"src hit\"><span class=\"ln\">12</span><span class=\"tx\">    <mark>SEND</mark> ON CONVERSATION"),
        "line 12 not highlighted: {pre}"
    );
    assert!(pre.contains(&escaped(&orders_line(11))));
    assert_eq!(pre.matches("class=\"src hit\"").count(), 1);
    // A finding near another shares its lines; each shows its own window.
    assert_eq!(
        numbered_lines(drill_down(dom, "procs/orders.sql", 20)),
        (17..=23).collect::<Vec<_>>()
    );
    // A feature with a worked rewrite shows it, its markup as text.
    let at = dom.find("procs/orders.sql, line 20,").unwrap();
    let detail = &dom[at..at + dom[at..].find("</tr>").unwrap()];
    assert!(detail.contains("SELECT * FROM t -- rewritten"), "{detail}");
    assert!(detail.contains(&escaped(XSS_IMG)));
    // A finding the caller gave no excerpt for shows its snippet.
    let pre = drill_down(dom, "scripts/setup.sql", 1);
    assert!(numbered_lines(pre).is_empty());
    assert!(pre.contains("FOR XML EXPLICIT"));

    // Hostile source lines stay text: no element, no fetch, no error.
    let hostile = drill_down(dom, "hostile/<b>evil</b>.sql", 3);
    assert_eq!(numbered_lines(hostile), (1..=6).collect::<Vec<_>>());
    assert!(hostile.contains(&escaped(XSS_SCRIPT)));
    let lower = dom.to_ascii_lowercase();
    assert!(
        !lower.contains("<img") && !lower.contains("<b>x"),
        "markup from an excerpt"
    );
    assert_eq!(
        lower.matches("<script").count(),
        3,
        "report, data and probe scripts"
    );
    assert_eq!(console_messages(&run.stderr), Vec::<&str>::new());
    assert_eq!(beacon.hits(), 0, "the page made a network request");
}

/// The sample with the longest text each field can hold: a 250-character
/// feature title (the filter's option label), unbroken file and object
/// names and code lines.
fn wide_sample(beacon: &str) -> Sample {
    let mut s = sample(beacon);
    let title = "A feature whose title goes on ".repeat(9);
    s.features.insert(
        "wide.feature".into(),
        report::FeatureInfo {
            title: title.trim().into(),
            description: "d".repeat(400),
            remediation: "r".repeat(400),
            docs_url: None,
            docs_title: None,
            learning_minutes: 0,
            rewrite: None,
        },
    );
    let file = format!("{}.sql", "f".repeat(180));
    let code = format!("SELECT {}", "x".repeat(400));
    let mut f = s.findings[0].clone();
    f.file = file.clone();
    f.line = 2;
    f.feature = "wide.feature".into();
    f.snippet = code.clone();
    if let Some(o) = f.object.as_mut() {
        o.name = "o".repeat(150);
    }
    s.findings.push(f);
    s.excerpts.extend(report::Excerpt::around(
        &file,
        &format!("{code}\n{code}\n"),
        [2],
    ));
    s
}

/// The value of the first `name="…"` attribute in the dumped DOM.
fn attribute<'d>(dom: &'d str, name: &str) -> &'d str {
    let key = format!("{name}=\"");
    let at = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} attribute"))
        + key.len();
    &dom[at..at + dom[at..].find('"').unwrap()]
}

#[test]
fn nothing_is_wider_than_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let path = render(tmp.path(), &wide_sample(&beacon.url()));
    let url = with_probe(
        &path,
        &format!(
            // The width, and for the failure message the elements that
            // stick out (their own box; text overflow shows in the width).
            "{OPEN_ALL} document.body.setAttribute('data-width', \
             String(document.documentElement.scrollWidth));\
             var out = [];\
             document.querySelectorAll('body *').forEach(function (e) {{\
               if (e.getBoundingClientRect().right > innerWidth) {{ out.push(e.tagName + '.' + e.className); }}\
             }});\
             document.body.setAttribute('data-wide', out.slice(0, 20).join(' '));"
        ),
    );
    for width in [1024, 1280, 1920] {
        let run = run_chromium(
            &tmp.path().join(format!("profile-{width}")),
            &[&format!("--window-size={width},800"), "--dump-dom"],
            &url,
        );
        let scroll: u32 = attribute(&run.dom, "data-width").parse().unwrap();
        assert!(
            scroll <= width,
            "the page is {scroll} px wide in a {width} px window; elements past the edge: {}",
            attribute(&run.dom, "data-wide")
        );
        assert_eq!(console_messages(&run.stderr), Vec::<&str>::new());
    }
}

/// The text of a PDF, page after page, read with pypdf (installed into the
/// peers' environment by scripts/dev-env).
fn pdf_text(pdf: &Path) -> String {
    let python = std::env::var("ASSESSOR_PEERS_PYTHON")
        .expect("ASSESSOR_PEERS_PYTHON unset: run the tests through scripts/test");
    let out = Command::new(python)
        .args([
            "-c",
            // NFKC: the PDF's fonts use ligatures (\"ﬁ\" for \"fi\").
            "import sys, unicodedata, pypdf\n\
             r = pypdf.PdfReader(sys.argv[1])\n\
             t = '\\n'.join(p.extract_text() for p in r.pages)\n\
             sys.stdout.write(unicodedata.normalize('NFKC', t))",
        ])
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pypdf failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn printing_prints_the_summary_then_every_finding_with_code_and_remediation() {
    let tmp = tempfile::tempdir().unwrap();
    let beacon = Beacon::new();
    let mut s = sample(&beacon.url());
    // More findings than the screen shows at once (a page is 200).
    let template = s.findings[1].clone();
    for n in 0..450u32 {
        let mut f = template.clone();
        f.line = 100 + n;
        f.snippet = format!("SELECT * FROM t{n} WITH (NOLOCK) -- marker{n:04}");
        s.findings.push(f);
    }
    let url = format!("file://{}", render(tmp.path(), &s).display());
    let pdf = tmp.path().join("report.pdf");
    run_chromium(
        &tmp.path().join("profile"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ],
        &url,
    );
    // pypdf may break a long line; compare without line breaks.
    let text = pdf_text(&pdf).replace('\n', " ");
    let summary = text.find("Executive summary").expect("no summary printed");
    let mut first = usize::MAX;
    for n in 0..450 {
        let at = text
            .find(&format!("marker{n:04}"))
            .unwrap_or_else(|| panic!("finding {n} not printed"));
        first = first.min(at);
    }
    assert!(summary < first, "the summary is not printed first");
    let shown = format!("Showing {n} of {n} findings", n = s.findings.len());
    assert!(text.contains(&shown), "{shown:?} not printed");
    // Remediation is printed with each finding and in the features table.
    let remediation = "Rewrite uses of NOLOCK table hint.";
    assert!(
        text.matches(remediation).count() > 450,
        "remediation not printed with each finding"
    );
    // pypdf splits some words where the PDF kerns them: compare without spaces.
    let squashed: String = text.split_whitespace().collect();
    assert!(
        squashed.contains("WhatNOLOCKtablehintmeansonBabelfish."),
        "feature descriptions not printed open"
    );
    // The drill-down's source is printed too.
    assert!(text.contains(orders_line(12).trim()));
    assert_eq!(beacon.hits(), 0, "the page made a network request");
}
