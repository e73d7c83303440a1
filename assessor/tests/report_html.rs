//! The HTML report's static guarantees, checked on the page text: strict
//! CSP whose hashes match the inline blocks, nothing external, customer text
//! escaped. The browser-side checks are in report_chromium.rs.

// Helpers outside #[test] functions too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod report_support;

use assessor::report::html::{csp_hash, escape};
use assessor::report::{Format, ReportInput};
use base64::Engine as _;
use report_support::{XSS_IMG, XSS_SCRIPT, sample};

fn render(input: &ReportInput<'_>) -> String {
    let mut out = Vec::new();
    Format::Html.write(&mut out, input).unwrap();
    String::from_utf8(out).unwrap()
}

/// The contents of every `<tag ...>…</tag>` element, with its opening tag.
fn elements<'p>(page: &'p str, tag: &str) -> Vec<(&'p str, &'p str)> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start..];
        let head_end = after.find('>').unwrap() + 1;
        let body_end = after[head_end..].find(&close).unwrap();
        out.push((&after[..head_end], &after[head_end..head_end + body_end]));
        rest = &after[head_end + body_end + close.len()..];
    }
    out
}

fn csp_of(page: &str) -> String {
    let marker = "<meta http-equiv=\"Content-Security-Policy\" content=\"";
    let start = page.find(marker).expect("a CSP meta tag") + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&#39;", "'")
}

fn sha256_source(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

#[test]
fn csp_is_strict_and_its_hashes_match_the_inline_blocks() {
    let s = sample("http://127.0.0.1:9");
    let page = render(&s.input());
    let csp = csp_of(&page);
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    assert!(directives.contains(&"default-src 'none'"), "{csp}");
    assert!(directives.contains(&"img-src data:"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    // The meta tag comes before any style or script.
    let meta_at = page.find("Content-Security-Policy").unwrap();
    assert!(meta_at < page.find("<style").unwrap());
    assert!(meta_at < page.find("<script").unwrap());

    let styles = elements(&page, "style");
    assert_eq!(styles.len(), 1);
    let style_src = directives
        .iter()
        .find(|d| d.starts_with("style-src "))
        .unwrap();
    assert_eq!(
        *style_src,
        format!("style-src {}", sha256_source(styles[0].1))
    );

    let scripts = elements(&page, "script");
    let executable: Vec<_> = scripts
        .iter()
        .filter(|(head, _)| !head.contains("type=\"application/json\""))
        .collect();
    assert_eq!(executable.len(), 1, "one executable script");
    let script_src = directives
        .iter()
        .find(|d| d.starts_with("script-src "))
        .unwrap();
    assert_eq!(
        *script_src,
        format!("script-src {}", sha256_source(executable[0].1))
    );
    // The library's own hash function agrees with this test's.
    assert_eq!(csp_hash(executable[0].1), sha256_source(executable[0].1));
}

#[test]
fn nothing_is_loaded_from_outside_the_file() {
    let s = sample("http://127.0.0.1:9");
    let page = render(&s.input());
    let lower = page.to_ascii_lowercase();
    for needle in [
        "<img",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "<audio",
        "<video",
        "<source",
        "<frame",
        "<form action",
        "<meta http-equiv=\"refresh",
    ] {
        assert!(!lower.contains(needle), "page contains {needle:?}");
    }
    let css = elements(&page, "style")[0].1;
    assert!(
        !css.contains("url(") && !css.contains("@import"),
        "CSS loads a resource"
    );
    assert!(
        !page.contains(" style=\""),
        "style attributes would need unsafe-inline"
    );
    // The only absolute URLs are documentation links (navigation, on click).
    let urls = lower
        .match_indices("http://")
        .chain(lower.match_indices("https://"));
    assert!(!lower.contains("=\"//"), "protocol-relative URL");
    for (i, _) in urls {
        let before = &lower[i.saturating_sub(6)..i];
        let in_data = elements(&page, "script").iter().any(|(_, body)| {
            let start = body.as_ptr() as usize - page.as_ptr() as usize;
            (start..start + body.len()).contains(&i)
        });
        assert!(
            before.ends_with("href=\"") || in_data,
            "an absolute URL outside a link or the data block at byte {i}"
        );
    }
}

#[test]
fn customer_text_is_escaped_everywhere() {
    let s = sample("http://127.0.0.1:9");
    let page = render(&s.input());
    // The hostile names appear only escaped in markup...
    for hostile in [XSS_SCRIPT, XSS_IMG] {
        assert!(!page.contains(hostile), "raw {hostile:?} in the page");
        assert!(
            page.contains(&escape(hostile)),
            "escaped {hostile:?} missing"
        );
    }
    // ...and in the JSON data block, which cannot be closed early.
    let data = elements(&page, "script")
        .into_iter()
        .find(|(head, _)| head.contains("application/json"))
        .unwrap()
        .1;
    assert!(!data.contains('<') && !data.contains('>') && !data.contains('&'));
    assert!(!data.contains('\u{2028}') && !data.contains('\u{2029}'));
    let parsed: serde_json::Value = serde_json::from_str(data).unwrap();
    let snippets: Vec<&str> = parsed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[8].as_str().unwrap())
        .collect();
    let want: Vec<&str> = s.findings.iter().map(|f| f.snippet.as_str()).collect();
    assert_eq!(snippets, want, "snippets reach the script unchanged");
    // Exactly two script elements: the data and the page's script. A
    // snippet's "</script><script>" did not open a third.
    assert_eq!(page.matches("<script").count(), 2);
    // A javascript: documentation URL is shown as text, never as a link.
    assert!(!page.to_ascii_lowercase().contains("href=\"javascript:"));
}

#[test]
fn summary_numbers_are_on_the_page() {
    let s = sample("http://127.0.0.1:9");
    let page = render(&s.input());
    assert!(page.contains("<p class=\"big\" id=\"readiness\">40.0%</p>"));
    assert!(page.contains("2 of 5 objects have no blocker"));
    // Every feature is cross-referenced to its filtered findings.
    for f in &s.findings {
        let href = format!("href=\"#feature={}\"", f.feature);
        assert!(page.contains(&href), "no link {href}");
    }
}

#[test]
fn an_appliance_report_shows_each_server_and_its_databases() {
    let s = sample("http://127.0.0.1:9");
    let page = render(&s.input());
    let start = page
        .find("<section id=\"servers\"")
        .expect("no servers section");
    let section = &page[start..start + page[start..].find("</section>").unwrap()];
    for fact in [
        "<h3>sql-01</h3>",
        "16.0.4125.3 RTM",
        "Enterprise Edition (64-bit)",
        "<dd>8</dd>",
        "<dd>64.0 GB</dd>",
        "Always On enabled",
        // SalesDb: 20,480 + 1,024 MB, level 150, FULL, 2 blockers of 3.
        "data-v=\"21504\">21,504</td><td class=\"num\">150</td><td>FULL</td>",
        "<td class=\"num\">2</td><td class=\"num\" data-v=\"3\"><a class=\"xref\" href=\"#q=sql-01%2FSalesDb.\">3</a>",
        // What was not collected, with the permission that would fix it.
        "<code>agent_jobs</code>: error 229, class 14; needs SQLAgentReaderRole in msdb",
    ] {
        assert!(section.contains(fact), "{fact:?} not in {section}");
    }
    // A hostile database name is text, and a database without findings has
    // no link to an empty view.
    assert!(section.contains(&escape(XSS_SCRIPT)));
    assert!(!section.contains(XSS_SCRIPT));
    assert_eq!(section.matches("class=\"xref\"").count(), 1);
    assert!(page.contains("<a href=\"#servers\">Servers</a>"));

    // An offline analysis has no server: no section, no menu entry.
    let mut offline = s.input();
    offline.servers = &[];
    let page = render(&offline);
    assert!(!page.contains("id=\"servers\"") && !page.contains("href=\"#servers\""));
}

#[test]
fn a_worked_rewrite_is_shown_with_its_feature_and_escaped() {
    let s = sample("http://127.0.0.1:9");
    let page = render(&s.input());
    let at = page
        .find("<code class=\"fid\">query_hint.nolock</code>")
        .unwrap();
    let row = &page[at..at + page[at..].find("</tr>").unwrap()];
    assert!(row.contains("<div class=\"rewrite\">"), "{row}");
    assert!(row.contains(&escape("SELECT * FROM t WITH (NOLOCK) -- ")));
    assert!(row.contains(&escape(XSS_IMG)) && !row.contains(XSS_IMG));
    assert!(row.contains("SELECT * FROM t -- rewritten"));
    // Features without one show none.
    assert_eq!(page.matches("<div class=\"rewrite\">").count(), 1);
}

#[test]
fn a_documentation_link_names_its_page_and_the_name_is_text() {
    let s = sample("http://127.0.0.1:9");
    let page = render(&s.input());
    assert!(
        page.contains(">Documentation: Service Broker SEND &amp; &lt;b&gt;limits&lt;/b&gt;</a>"),
        "the listed page's subject is the link's text"
    );
    // A page the catalog does not describe keeps the plain label, and an
    // unsafe URL is never a link.
    assert!(!page.contains("<b>limits</b>"));
    assert!(!page.contains("href=\"javascript:"));
}
