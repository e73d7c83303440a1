//! No dead rules: every feature of the catalog must be produced by some
//! T-SQL through the real parser and matcher.
//!
//! A feature is proven reachable by one of its hand-written `examples`, or,
//! for a pattern that only names an observation of a kind with an obvious
//! shape (a catalog view, a function, a procedure, a `@@variable`, a data
//! type, a hint, a SET option), by a snippet written from that pattern:
//! `SELECT * FROM sys.x;`, `EXEC sp_x;` ... A rule whose name the parser never
//! emits in that shape (`*=` where the parser says `OLD STYLE OUTER JOIN`)
//! fails that snippet. A feature that neither proves fails the test; facts
//! only a live server's catalog yields (kind `server_object`) are counted
//! apart.

mod rule_support;

use assessor::analyze::Analyzer;
use assessor::rules::Catalog;
use assessor::rules::pattern::Pattern;
use assessor::tsql::observation::ObservationKind as K;
use rule_support::features_of;

/// Snippets that make the parser emit the observation `p` names, for the
/// kinds whose shape in T-SQL is fixed; none for patterns with context or
/// text conditions, or of a kind that needs a hand-written example.
fn snippets_for(p: &Pattern) -> Vec<String> {
    let plain = p.in_statement.is_none()
        && p.in_object.is_none()
        && !p.needs_text()
        && p.what.statement.is_none();
    if !plain {
        return Vec::new();
    }
    // A glob stands for any name: fill its wildcard with one.
    let name = p.what.name.as_str().replace('*', "X").to_lowercase();
    let detail = p.what.detail.as_ref().map(|d| d.as_str().to_owned());
    let arguments = |n: usize| vec!["1"; n].join(", ");
    let one = |s: String| vec![s];
    match (p.what.kind, detail.as_deref()) {
        (K::SystemObject, _) => one(format!("SELECT * FROM {name};")),
        (K::Function, None) => one(format!("SELECT {name}(1);")),
        (K::Function, Some(d)) => d.parse().map_or_else(
            |_| Vec::new(),
            |n| one(format!("SELECT {name}({});", arguments(n))),
        ),
        (K::Procedure, None) => one(format!("EXEC {name};")),
        (K::GlobalVariable, None) => one(format!("SELECT {name};")),
        (K::DataType, None) => one(format!("DECLARE @v {name};")),
        (K::TableHint, None) => one(format!("SELECT * FROM t WITH ({name});")),
        (K::QueryHint, None) => one(format!("SELECT 1 FROM t OPTION ({name});")),
        (K::SetOption, d) => one(format!("SET {name} {};", d.unwrap_or("ON"))),
        (K::Statement, None) => one(format!("{name} x;")),
        // `SERVERPROPERTY('Collation')`, `OBJECTPROPERTY(id, 'IsTable')`:
        // the property may be any of the first three arguments.
        (K::Clause, Some(value)) if name.ends_with(" argument") => {
            let function = name.trim_end_matches(" argument");
            let value = value.to_lowercase();
            (0..3)
                .map(|k| format!("SELECT {function}({}'{value}');", "1, ".repeat(k)))
                .collect()
        }
        _ => Vec::new(),
    }
}

#[test]
fn every_feature_is_produced_by_some_tsql() {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, catalog.latest());
    let mut unproven = Vec::new();
    let (mut by_example, mut by_pattern) = (0usize, 0usize);
    let mut facts = 0usize;
    for feature in catalog.features() {
        // Facts of a live server's catalog (a linked server, an Agent job):
        // the inventory tests produce them, no T-SQL can.
        if feature
            .patterns
            .iter()
            .all(|p| p.what.kind == K::ServerObject)
        {
            facts += 1;
            continue;
        }
        let produced = |text: &String| features_of(&analyzer, text).contains(&feature.id);
        if feature.examples.iter().any(produced) {
            by_example += 1;
            continue;
        }
        let snippets: Vec<String> = feature.patterns.iter().flat_map(snippets_for).collect();
        if snippets.iter().any(produced) {
            by_pattern += 1;
            continue;
        }
        unproven.push(format!(
            "{} (tried {} snippet(s){})",
            feature.id,
            snippets.len(),
            snippets
                .first()
                .map_or(String::new(), |s| format!(", e.g. {s:?}"))
        ));
    }
    println!(
        "{} features: {by_example} proven by their examples, {by_pattern} by a snippet \
         written from a pattern, {facts} live-server facts, {} unproven:\n  {}",
        catalog.features().len(),
        unproven.len(),
        unproven.join("\n  ")
    );
    assert!(
        unproven.is_empty(),
        "{} features are not produced by any example or pattern snippet: give each an \
         `examples` entry, or fix the rule the parser never feeds",
        unproven.len()
    );
}
