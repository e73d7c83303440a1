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
//! Chromium is a real component installed by scripts/dev-env; when it is
//! missing the tests fail, they never skip.

// Helpers outside #[test] functions too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chromium_support;
mod report_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assessor::findings::Status;
use assessor::report::{self, Format};
use chromium_support::{console_messages, run_chromium};
use report_support::{XSS_IMG, XSS_SCRIPT, sample};

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
