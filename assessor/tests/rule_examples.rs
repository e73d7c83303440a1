//! Every example in the rule catalog goes through the real parser and
//! matcher: an `examples` snippet must produce its feature, a
//! `counter_examples` snippet must not. A rule whose pattern the parser never
//! emits (a dead rule) fails here as soon as it has an example.

mod rule_support;

use assessor::analyze::Analyzer;
use assessor::findings::Status;
use assessor::rewrite::{REWRITABLE, Rewriter, apply};
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

/// `--rewrite` on every catalog example of a feature it rewrites: the copy
/// no longer has the feature, has no blocker the example did not have, and
/// keeps its lines; and the feature's remediation offers the rewrite.
#[test]
fn every_mechanical_rewrite_removes_its_feature_from_each_example() {
    let catalog = Catalog::shipped().unwrap();
    let analyzer = Analyzer::new(&catalog, catalog.latest());
    let mut failures = Vec::new();
    let mut rewritten = 0usize;
    for id in REWRITABLE {
        let feature = catalog
            .feature(id)
            .unwrap_or_else(|| panic!("{id} is not in the catalog"));
        if !feature.remediation.contains("--rewrite") {
            failures.push(format!("{id}: the remediation does not offer `--rewrite`"));
        }
        assert!(
            !feature.examples.is_empty(),
            "{id} has no example to rewrite"
        );
        for example in &feature.examples {
            let before = analyzer.analyze_text("a.sql", example).findings;
            let edits = Rewriter::new(example).edits(&before);
            if edits.is_empty() {
                failures.push(format!("{id}: no rewrite of {example:?}"));
                continue;
            }
            rewritten += 1;
            let copy = apply(example, &edits);
            if copy.lines().count() != example.lines().count() {
                failures.push(format!("{id}: {example:?} changed its line count"));
            }
            let blockers_before: Vec<_> = before
                .iter()
                .filter(|f| f.status == Status::NotSupported && f.feature != *id)
                .map(|f| f.feature.clone())
                .collect();
            for f in analyzer.analyze_text("a.sql", &copy).findings {
                let new_blocker =
                    f.status == Status::NotSupported && !blockers_before.contains(&f.feature);
                if f.feature == *id || new_blocker {
                    failures.push(format!("{id}: the copy of {example:?} has {}", f.feature));
                }
            }
        }
    }
    println!(
        "{rewritten} examples of {} features rewritten",
        REWRITABLE.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A construct inside a statement spread over many lines is reported on
/// the line Compass reports it on: statement-level items where the
/// statement starts, a FOR XML directive where its clause starts, a hash
/// index option where its constraint starts.
#[test]
fn constructs_of_multi_line_statements_are_reported_where_compass_reports_them() {
    let catalog = Catalog::shipped().unwrap();
    // Compass 5.5's target: FOR XML ELEMENTS is a finding there.
    let analyzer = Analyzer::new(&catalog, catalog.resolve_target("5.5").unwrap());
    let cases: [(&str, &str, u32); 6] = [
        (
            "cursor_option.global",
            "DECLARE c CURSOR\n  LOCAL\n  FORWARD_ONLY\n  GLOBAL\nFOR SELECT 1;",
            1,
        ),
        (
            "statement.global_temp_table",
            "SELECT 1;\nINSERT INTO\n  ##g\n  (a)\nVALUES (1);",
            2,
        ),
        (
            "statement.global_temp_table",
            "DELETE\nFROM\n  ##g\nWHERE a = 1;",
            1,
        ),
        (
            "clause.for_xml.elements",
            "SELECT a\nFROM t\nFOR XML\n  PATH('r'),\n  ELEMENTS;",
            3,
        ),
        (
            "index.nonclustered_hash",
            "CREATE TABLE t (\n  a int NOT NULL,\n  CONSTRAINT pk\n    PRIMARY KEY\n    NONCLUSTERED HASH (a)\n    WITH (BUCKET_COUNT = 8)\n) WITH (MEMORY_OPTIMIZED = ON);",
            3,
        ),
        (
            "statement.execute_with_result_sets_schema",
            "EXEC dbo.p\n  @a = 1\nWITH RESULT SETS\n  ((x int));",
            1,
        ),
    ];
    for (feature, text, line) in cases {
        let lines: Vec<u32> = analyzer
            .analyze_text("m.sql", text)
            .findings
            .iter()
            .filter(|f| f.feature == feature)
            .map(|f| f.line)
            .collect();
        assert_eq!(lines, [line], "{feature} in {text:?}");
    }
    // A source table in a SELECT is reported where it is named.
    let lines: Vec<u32> = analyzer
        .analyze_text("m.sql", "SELECT a\nFROM t\nJOIN ##g ON 1 = 1;")
        .findings
        .iter()
        .filter(|f| f.feature == "statement.global_temp_table")
        .map(|f| f.line)
        .collect();
    assert_eq!(lines, [3]);
}
