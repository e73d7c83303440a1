//! Every example in the rule catalog goes through the real parser and
//! matcher: an `examples` snippet must produce its feature, a
//! `counter_examples` snippet must not. A rule whose pattern the parser never
//! emits (a dead rule) fails here as soon as it has an example.

mod rule_support;

use assessor::analyze::Analyzer;
use assessor::findings::Status;
use assessor::rules::Catalog;
use rule_support::features_of;

#[test]
fn every_example_produces_its_feature_and_no_counter_example_does() {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, catalog.latest());
    let mut failures = Vec::new();
    let (mut examples, mut counter_examples, mut with_examples) = (0usize, 0usize, 0usize);
    for feature in catalog.features() {
        with_examples += usize::from(!feature.examples.is_empty());
        for text in &feature.examples {
            examples += 1;
            let found = features_of(&analyzer, text);
            if !found.contains(&feature.id) {
                failures.push(format!(
                    "{}: example {text:?} does not produce it (it produces {found:?})",
                    feature.id
                ));
            }
        }
        for text in &feature.counter_examples {
            counter_examples += 1;
            if features_of(&analyzer, text).contains(&feature.id) {
                failures.push(format!(
                    "{}: counter-example {text:?} produces it",
                    feature.id
                ));
            }
        }
    }
    println!(
        "{with_examples} of {} features have examples; {examples} examples, \
         {counter_examples} counter-examples",
        catalog.features().len()
    );
    assert!(examples > 20, "only {examples} examples in the catalog");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rewrite_uses_its_feature_before_and_runs_on_the_target_after() {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, catalog.latest());
    let mut failures = Vec::new();
    let mut rewrites = 0usize;
    for feature in catalog.features() {
        let Some(rewrite) = &feature.rewrite else {
            continue;
        };
        rewrites += 1;
        if !features_of(&analyzer, &rewrite.before).contains(&feature.id) {
            failures.push(format!("{}: `before` does not produce it", feature.id));
        }
        // The rewrite must not trade one blocker for another.
        let after = analyzer.analyze_text("after.sql", &rewrite.after);
        for f in &after.findings {
            if f.feature == feature.id || f.status == Status::NotSupported {
                failures.push(format!(
                    "{}: `after` line {} produces {} ({})",
                    feature.id,
                    f.line,
                    f.feature,
                    f.status.as_str()
                ));
            }
        }
    }
    println!("{rewrites} features have a worked rewrite");
    assert!(rewrites >= 10, "only {rewrites} rewrites in the catalog");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
