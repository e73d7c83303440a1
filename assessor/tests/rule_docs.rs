//! Every documentation link of the rule catalog names a page listed in
//! `rules/docs_pages.toml`, every listed page is used, and a feature
//! Babelfish does not fully support links to a page about it, not to a page
//! that covers everything.

use std::collections::BTreeMap;

use assessor::findings::Status;
use assessor::rules::Catalog;

#[test]
fn every_docs_link_names_a_listed_page_and_every_listed_page_is_used() {
    let catalog = Catalog::shipped().unwrap();
    let pages = catalog.docs_pages();
    let mut uses: BTreeMap<&str, usize> = pages.iter().map(|p| (p.url.as_str(), 0)).collect();
    let mut unlisted = Vec::new();
    let links = catalog
        .features()
        .iter()
        .map(|f| (f.id.as_str(), f.docs.as_str()))
        .chain(
            catalog
                .settings()
                .iter()
                .map(|s| (s.name.as_str(), s.docs.as_str())),
        );
    for (id, url) in links {
        match uses.get_mut(url) {
            Some(n) => *n += 1,
            None => unlisted.push(format!("{id}: {url}")),
        }
    }
    assert!(
        unlisted.is_empty(),
        "docs URLs not in rules/docs_pages.toml (check the page exists, then list it):\n{}",
        unlisted.join("\n")
    );
    let unused: Vec<_> = uses
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(u, _)| *u)
        .collect();
    assert!(
        unused.is_empty(),
        "listed pages no feature links to: {unused:?}"
    );
    for page in pages {
        assert!(
            !page.about.trim().is_empty(),
            "{}: say what the page covers",
            page.url
        );
        assert!(page.url.starts_with("https://"), "{}: not https", page.url);
    }
    // The top of the unsupported-functionality page covers everything: a
    // link goes to its section.
    assert!(
        !uses
            .keys()
            .any(|u| u.ends_with("limitations-unsupported.html")),
        "link a section of the unsupported-functionality page, not its top"
    );
}

#[test]
fn a_feature_babelfish_does_not_fully_support_links_to_a_page_about_it() {
    let catalog = Catalog::shipped().unwrap();
    let newest = catalog.latest();
    let pages = catalog.docs_pages();
    let mut generic_links = Vec::new();
    let mut specific = 0usize;
    let mut unsupported = 0usize;
    for feature in catalog.features() {
        if feature.status_at(newest) == Status::Supported {
            continue;
        }
        unsupported += 1;
        let Some(page) = pages.iter().find(|p| p.url == feature.docs) else {
            continue; // the other test names unlisted links
        };
        if !page.generic {
            specific += 1;
        } else if !page
            .not_supported_groups
            .iter()
            .any(|g| feature.group.starts_with(g.as_str()))
        {
            generic_links.push(format!(
                "{} ({}): {}",
                feature.id, feature.group, feature.docs
            ));
        }
    }
    println!(
        "{specific} of {unsupported} features not fully supported on {} link a topic page or \
         section; the rest are system procedures and @@ variables, which the version table lists",
        newest.target_name()
    );
    assert!(
        unsupported > 1000,
        "only {unsupported} unsupported features: catalog not loaded?"
    );
    assert!(
        generic_links.is_empty(),
        "features linking a page that covers everything:\n{}",
        generic_links.join("\n")
    );
}
