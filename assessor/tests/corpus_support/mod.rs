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
    pub set: Set,
    /// For a `split` corpus: the floor of its held-out half alone.
    #[serde(default)]
    pub min_held_out_recall_percent: Option<f64>,
    /// Unparsed spots allowed in held-out files that are not SSMS
    /// templates (a template is not T-SQL until its values are filled in).
    #[serde(default)]
    pub max_held_out_unparsed_outside_templates: usize,
    /// Batches of tuning files that Compass cannot parse and on which the
    /// analyzer reports nothing not_supported or review_manually, keyed
    /// `file:line` (Compass's error line), each with why that is right
    /// (not T-SQL: a template, a fragment, a deliberate error).
    #[serde(default)]
    pub compass_unparsable_silent: BTreeMap<String, String>,
    /// Statements generated from a grammar, not written by people: their
    /// numbers are totalled apart, so that they do not dilute (or inflate)
    /// the numbers on real code.
    #[serde(default)]
    pub generated: bool,
}

/// Whether a corpus may be read while writing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Set {
    Tuning,
    HeldOut,
    /// Half of the files (by [`held_out_file`]) are held out, the rest tune.
    Split,
}

impl Expectation {
    /// Whether the file at `relative` (a path inside the corpus, `/`
    /// separated) belongs to the held-out set.
    pub fn holds_out(&self, relative: &str) -> bool {
        match self.set {
            Set::Tuning => false,
            Set::HeldOut => true,
            Set::Split => held_out_file(relative),
        }
    }

    /// Whether any file of the corpus is held out.
    pub fn has_held_out(&self) -> bool {
        self.set != Set::Tuning
    }
}

/// The split of a `split` corpus, fixed before anyone looked at a file: a
/// file is held out when the FNV-1a hash of its relative path is odd. The
/// rule is blind to content, so the held-out half is a fair sample.
pub fn held_out_file(relative: &str) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in relative.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash & 1 == 1
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

/// Whether `text` holds an SSMS template parameter, `<name, type, value>`
/// on one line: such a file is not T-SQL until SSMS fills the values in.
pub fn has_template_placeholder(text: &str) -> bool {
    text.lines().any(|line| {
        line.match_indices('<').any(|(at, _)| {
            let rest = &line[at + 1..];
            let Some(end) = rest.find(['<', '>']) else {
                return false;
            };
            let inner = &rest[..end];
            rest[end..].starts_with('>')
                && inner.matches(',').count() == 2
                && inner
                    .split(',')
                    .next()
                    .is_some_and(|n| !n.trim().is_empty() && !n.contains(['\'', '(', ' ']))
        })
    })
}
