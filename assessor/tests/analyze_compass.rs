//! Accuracy against Babelfish Compass: line-level agreement with the Compass
//! 5.5.0 reports of the shared sample corpora at target babelfish-5.5.
//!
//! Prints a table (per Compass item: lines Compass marks NOTSUPPORTED, how
//! many we also mark `not_supported` on the same file and line) and asserts
//! the recall we reached, rounded down, so it cannot regress. Run with
//! `cargo test -p assessor --no-default-features --test analyze_compass -- --nocapture`
//! to see the table; docs/compass-comparison.md explains the differences.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assessor::analyze::Analyzer;
use assessor::findings::Status;
use assessor::rules::{Catalog, Version};

/// The recall reached (percent, rounded down); raise it when it improves.
const MIN_RECALL_PERCENT: f64 = 100.0;

const CORPORA: &str = "/work/shared/corpora/tsql";

/// Splits one CSV record (RFC 4180 quoting).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

#[derive(Default)]
struct Row {
    compass_lines: usize,
    matched: usize,
    missed: Vec<String>,
}

#[test]
fn recall_of_compass_not_supported_lines() {
    let catalog = Catalog::shipped().unwrap();
    let target = Version::parse("5.5").unwrap();
    let analyzer = Analyzer::new(&catalog, target);
    let mut by_item: BTreeMap<String, Row> = BTreeMap::new();
    let mut total = 0usize;
    let mut matched = 0usize;
    let mut ours_only: BTreeMap<String, usize> = BTreeMap::new();
    let reference = Path::new(CORPORA).join("reference/compass-5.5.0");
    let mut csvs: Vec<PathBuf> = std::fs::read_dir(&reference)
        .unwrap_or_else(|e| panic!("{}: {e}", reference.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    csvs.sort();
    for csv in csvs {
        let name = csv.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = Path::new(CORPORA).join(&name);
        let analysis = analyzer
            .analyze_paths(std::slice::from_ref(&dir), &mut |_| {})
            .unwrap();
        assert!(
            analysis.skipped.is_empty(),
            "{name}: {:?}",
            analysis.skipped
        );
        let ours: BTreeSet<(String, u32)> = analysis
            .findings
            .iter()
            .filter(|f| f.status == Status::NotSupported)
            .map(|f| (f.file.clone(), f.line))
            .collect();
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut compass_lines: BTreeSet<(String, u32)> = BTreeSet::new();
        let mut line_items: BTreeMap<(String, u32), BTreeSet<String>> = BTreeMap::new();
        for record in text.lines().skip(1) {
            let f = csv_fields(record);
            if f.len() < 5 || f[2] != "NOTSUPPORTED" {
                continue;
            }
            let key = (f[0].clone(), f[1].parse::<u32>().unwrap());
            compass_lines.insert(key.clone());
            line_items
                .entry(key)
                .or_default()
                .insert(format!("{}: {}", f[3], f[4]));
        }
        for (key, items) in &line_items {
            let hit = ours.contains(key);
            total += 1;
            matched += usize::from(hit);
            for item in items {
                let row = by_item.entry(item.clone()).or_default();
                row.compass_lines += 1;
                if hit {
                    row.matched += 1;
                } else if row.missed.len() < 3 {
                    row.missed.push(format!("{name}/{}:{}", key.0, key.1));
                }
            }
        }
        for f in analysis
            .findings
            .iter()
            .filter(|f| f.status == Status::NotSupported)
        {
            if !compass_lines.contains(&(f.file.clone(), f.line)) {
                *ours_only.entry(f.feature.clone()).or_default() += 1;
            }
        }
    }
    println!("\n| Compass item (NOTSUPPORTED) | lines | we flag | missed examples |");
    println!("|---|---:|---:|---|");
    for (item, row) in &by_item {
        println!(
            "| {item} | {} | {} | {} |",
            row.compass_lines,
            row.matched,
            row.missed.join(", ")
        );
    }
    println!("\n| our not_supported feature, lines Compass does not flag | lines |");
    println!("|---|---:|");
    for (feature, n) in &ours_only {
        println!("| {feature} | {n} |");
    }
    let recall = 100.0 * matched as f64 / total.max(1) as f64;
    println!("\nrecall: {matched}/{total} = {recall:.1}%");
    assert!(total > 400, "the Compass reference lists {total} lines");
    assert!(
        recall >= MIN_RECALL_PERCENT,
        "recall {recall:.1}% < {MIN_RECALL_PERCENT}%"
    );
}
