//! The vendored T-SQL corpora (`tests/corpora/tsql`) and what each must
//! reach (`tests/corpora/tsql/expectations.toml`), shared by the accuracy
//! and parser tests.

#![allow(dead_code)] // each test binary uses part of this module
#![allow(clippy::unwrap_used)] // test support: a panic is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What one corpus must reach; see the comments in expectations.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub min_recall_percent: f64,
    pub max_unparsed: usize,
    pub held_out: bool,
}

/// The corpora folder: `ASSESSOR_CORPORA`, or the repository's copy.
pub fn corpora() -> PathBuf {
    let dir = testbed::catalog_fixture::corpora_dir().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        dir.join("expectations.toml").is_file(),
        "{} has no expectations.toml",
        dir.display()
    );
    dir
}

/// Every corpus with its expectation, by name (the folder's name).
pub fn expectations(corpora: &Path) -> BTreeMap<String, Expectation> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        corpus: BTreeMap<String, Expectation>,
    }
    let path = corpora.join("expectations.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Every corpus folder is listed, so a new one cannot be skipped silently.
    let mut folders: Vec<String> = std::fs::read_dir(corpora)
        .unwrap_or_else(|e| panic!("{}: {e}", corpora.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "reference"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let listed: Vec<String> = file.corpus.keys().cloned().collect();
    assert_eq!(
        folders,
        listed,
        "every corpus folder in {} needs an entry in expectations.toml, and only those",
        corpora.display()
    );
    file.corpus
}
