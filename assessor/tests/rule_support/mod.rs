//! Running T-SQL through the real parser and matcher, shared by the catalog
//! tests (`rule_examples`, `rule_reachability`).

use std::collections::BTreeSet;

use assessor::analyze::Analyzer;
use assessor::tsql::parse_script;

/// The features a snippet produces, at any status.
pub fn features_of(analyzer: &Analyzer<'_>, text: &str) -> BTreeSet<String> {
    let script = parse_script(text);
    analyzer
        .matcher()
        .classify(text, &script)
        .iter()
        .map(|c| c.feature.id.clone())
        .collect()
}
