//! The report bundle's format: which files a bundle holds and its
//! `manifest.json`, read as untrusted input.
//!
//! Guarantees: [`Manifest::parse`] accepts a manifest only when every entry
//! names one of [`BUNDLE_FILES`], once, with a hex SHA-256 and a size within
//! the caller's limit; anything else is a [`ManifestProblem`] naming the
//! entry. It reads nothing but the bytes given (no file system, no network),
//! which is what lets the fuzz target `bundle_manifest` drive it.
//! [`crate::deliver`] moves bundles to and from S3 on top of it.

use serde::{Deserialize, Serialize};

/// Name of the manifest inside a bundle.
pub const MANIFEST: &str = "manifest.json";
/// The run summary; a failed run's bundle holds it alone.
pub const SUMMARY_FILE: &str = "run-summary.json";
/// What was collected, per target (no code, no secrets).
pub const INVENTORY_FILE: &str = "inventory.json";

/// Every file a bundle may list in its manifest: the report in each
/// [`crate::report::Format`] (`Format::file_name`), the inventory and the
/// run summary. The one list that uploads and downloads check names against.
pub const BUNDLE_FILES: [&str; 6] = [
    "report.html",
    "report.json",
    "findings.csv",
    "report.sarif",
    INVENTORY_FILE,
    SUMMARY_FILE,
];

/// The [`BUNDLE_FILES`] entry equal to `name`, if any.
pub fn bundle_file(name: &str) -> Option<&'static str> {
    BUNDLE_FILES.into_iter().find(|known| *known == name)
}

/// One file of a bundle in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// The bundle's table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub run_id: String,
    pub files: Vec<ManifestEntry>,
}

/// Why a manifest is refused. Names are the manifest's own text: show them
/// through [`crate::display_safe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestProblem {
    /// Not JSON of the manifest's shape.
    Syntax(String),
    /// An entry that is not one of [`BUNDLE_FILES`].
    UnexpectedFile(String),
    /// A file listed twice.
    Duplicate(&'static str),
    /// A file whose stated size is over the limit.
    TooLarge { name: &'static str, limit: u64 },
    /// A checksum that is not 64 hex digits.
    BadChecksum(&'static str),
}

impl Manifest {
    /// Parses and checks a manifest; every file must be at most
    /// `max_file_bytes`. Returns it with each entry's [`BUNDLE_FILES`] name.
    pub fn parse(
        raw: &[u8],
        max_file_bytes: u64,
    ) -> Result<(Manifest, Vec<&'static str>), ManifestProblem> {
        let manifest: Manifest =
            serde_json::from_slice(raw).map_err(|e| ManifestProblem::Syntax(e.to_string()))?;
        let mut names: Vec<&'static str> = Vec::with_capacity(manifest.files.len());
        for entry in &manifest.files {
            let name = bundle_file(&entry.name)
                .ok_or_else(|| ManifestProblem::UnexpectedFile(entry.name.clone()))?;
            if names.contains(&name) {
                return Err(ManifestProblem::Duplicate(name));
            }
            if entry.size > max_file_bytes {
                return Err(ManifestProblem::TooLarge {
                    name,
                    limit: max_file_bytes,
                });
            }
            let hex =
                entry.sha256.len() == 64 && entry.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                return Err(ManifestProblem::BadChecksum(name));
            }
            names.push(name);
        }
        Ok((manifest, names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(files: &str) -> String {
        format!(r#"{{"schema_version":1,"run_id":"r","files":[{files}]}}"#)
    }

    fn entry(name: &str) -> String {
        format!(
            r#"{{"name":"{name}","sha256":"{}","size":3}}"#,
            "a".repeat(64)
        )
    }

    #[test]
    fn a_manifest_of_bundle_files_is_accepted() {
        let text = manifest(&[entry("report.html"), entry(SUMMARY_FILE)].join(","));
        let (m, names) = Manifest::parse(text.as_bytes(), 10).unwrap();
        assert_eq!(names, ["report.html", SUMMARY_FILE]);
        assert_eq!(m.files.len(), 2);
    }

    #[test]
    fn foreign_names_duplicates_sizes_and_checksums_are_refused() {
        for name in [".bashrc", "../report.html", "/etc/passwd", MANIFEST] {
            let text = manifest(&entry(name));
            assert_eq!(
                Manifest::parse(text.as_bytes(), 10),
                Err(ManifestProblem::UnexpectedFile(name.into()))
            );
        }
        let twice = manifest(&[entry("report.json"), entry("report.json")].join(","));
        assert_eq!(
            Manifest::parse(twice.as_bytes(), 10),
            Err(ManifestProblem::Duplicate("report.json"))
        );
        let big = manifest(&entry("report.json"));
        assert!(matches!(
            Manifest::parse(big.as_bytes(), 2),
            Err(ManifestProblem::TooLarge { limit: 2, .. })
        ));
        let bad = manifest(r#"{"name":"report.json","sha256":"xyz","size":1}"#);
        assert_eq!(
            Manifest::parse(bad.as_bytes(), 10),
            Err(ManifestProblem::BadChecksum("report.json"))
        );
        assert!(matches!(
            Manifest::parse(b"\xff{", 10),
            Err(ManifestProblem::Syntax(_))
        ));
    }
}
