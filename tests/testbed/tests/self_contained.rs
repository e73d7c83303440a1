//! A clone of the repository works on its own: nothing the demo, the tests or
//! the benches read lives outside it.
//!
//! - No tracked file names the team's hand-over folder beside the checkout, or
//!   an absolute path into this machine's work tree.
//! - A `git clone` into an empty temporary folder (nothing beside it) holds
//!   the demo's inputs: the corpora load from inside the clone.
//! - The demo, asked to run without its corpora, exits 2 with a message that
//!   says what is missing, instead of panicking.

// Test helpers: a failure is a failed test with its location.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use testbed::catalog_fixture::{CORPORA, CatalogFixture};
use testbed::tools::repo_root;

/// Spelled in pieces so that this file does not match its own search.
fn forbidden() -> Vec<String> {
    let mut patterns = vec![
        format!("..{}shared", '/'),
        format!("{}work{}", '/', '/'),
        format!("shared{}corpora", '/'),
    ];
    // This checkout's own absolute path, wherever it is.
    if let Ok(root) = repo_root().canonicalize() {
        patterns.push(root.display().to_string());
    }
    patterns
}

/// Whether `line` holds `path` as the start of a path: `OUT/work/rootfs`
/// is a relative path that merely contains the same letters.
fn names_path(line: &str, path: &str) -> bool {
    line.match_indices(path).any(|(at, _)| {
        path.starts_with('.')
            || !line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || "_-.".contains(c))
    })
}

fn git(root: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("git prints UTF-8")
}

#[test]
fn no_tracked_file_reads_from_outside_the_repository() {
    let root = repo_root();
    let patterns = forbidden();
    let mut hits = Vec::new();
    let files = git(&root, &["ls-files", "-z"]);
    let files: Vec<&str> = files.split('\0').filter(|f| !f.is_empty()).collect();
    assert!(
        files.len() > 100,
        "git ls-files listed {} files",
        files.len()
    );
    for file in files {
        // The vendored corpora are third-party data, byte for byte.
        if file.starts_with(CORPORA) {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(file)) else {
            continue; // deleted in the work tree
        };
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if let Some(p) = patterns.iter().find(|p| names_path(line, p)) {
                hits.push(format!("{file}:{}: {p}", n + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "tracked files refer to paths outside the repository (vendor what they read, \
         under tests/ or assessor/):\n{}",
        hits.join("\n")
    );
}

#[test]
fn a_fresh_clone_with_nothing_beside_it_holds_the_demos_inputs() {
    let root = repo_root();
    let lonely = tempfile::tempdir().expect("a temporary folder");
    let clone = lonely.path().join("sqlassess");
    let out = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(&root)
        .arg(&clone)
        .output()
        .expect("running git clone");
    assert!(
        out.status.success(),
        "git clone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let beside: Vec<PathBuf> = std::fs::read_dir(lonely.path())
        .expect("listing the temporary folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert_eq!(beside, vec![clone.clone()], "the clone is alone");

    let corpora = clone.join(CORPORA);
    let fixture = CatalogFixture::wide_world_importers_from(&corpora)
        .unwrap_or_else(|e| panic!("the demo's catalog from the clone: {e}"));
    assert!(
        fixture.module_count() > 190,
        "{} modules",
        fixture.module_count()
    );
    // Each vendored corpus carries its licence, and the tests' expectations
    // name only corpora that are there.
    for licence in ["LICENSE-sql-server-samples.txt", "tsqlt/LICENSE"] {
        assert!(corpora.join(licence).is_file(), "{licence} is vendored");
    }
    let expectations =
        std::fs::read_to_string(corpora.join("expectations.toml")).expect("expectations.toml");
    for line in expectations.lines() {
        if let Some(name) = line
            .strip_prefix("[corpus.")
            .and_then(|l| l.strip_suffix(']'))
        {
            assert!(corpora.join(name).is_dir(), "corpus {name} is in the clone");
            assert!(
                corpora
                    .join(format!("reference/compass-5.5.0/{name}.csv"))
                    .is_file(),
                "corpus {name} has its Compass reference"
            );
        }
    }
}

#[test]
fn the_demo_without_its_corpora_says_what_is_missing_and_exits_2() {
    let empty = tempfile::tempdir().expect("a temporary folder");
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("ASSESSOR_CORPORA", empty.path())
        .arg("/nonexistent/assessor")
        .arg(empty.path().join("out"))
        .output()
        .expect("running the demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("T-SQL sample corpora") && stderr.contains("tests/corpora/tsql"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
