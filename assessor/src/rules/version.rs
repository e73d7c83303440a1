//! Babelfish target versions: parsing the `--target` word and ordering versions.
//!
//! Guarantees: a [`Version`] is `major.minor` (Babelfish patch releases add no
//! T-SQL features, so the catalog never distinguishes them); `babelfish-5.5`,
//! `5.5` and `5.5.0` parse to the same version.

use std::fmt;

/// A Babelfish version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
}

impl Version {
    /// Parses `5.5`, `5.5.0` or `babelfish-5.5` (case-insensitive prefix).
    /// A patch number, when present, must be numeric and is dropped.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let bare = lower.strip_prefix("babelfish-").unwrap_or(&lower);
        let mut parts = bare.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        if let Some(patch) = parts.next() {
            patch.parse::<u16>().ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Version { major, minor })
    }

    /// The word used on the command line and in reports: `babelfish-5.5`.
    pub fn target_name(self) -> String {
        format!("babelfish-{self}")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_spellings_to_the_same_version() {
        let v = Version { major: 5, minor: 5 };
        assert_eq!(Version::parse("5.5"), Some(v));
        assert_eq!(Version::parse("5.5.0"), Some(v));
        assert_eq!(Version::parse("babelfish-5.5"), Some(v));
        assert_eq!(Version::parse("Babelfish-5.5.2"), Some(v));
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in [
            "",
            "5",
            "5.x",
            "babelfish-",
            "5.5.0.1",
            "sqlserver-5.5",
            "5.5.a",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn orders_numerically_not_lexically() {
        assert!(Version::parse("1.10").unwrap() > Version::parse("1.9").unwrap());
        assert!(Version::parse("2.1").unwrap() > Version::parse("1.6").unwrap());
    }
}
