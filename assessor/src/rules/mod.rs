//! The rule catalog: which T-SQL features Babelfish supports, since which
//! version, how hard they are to change, and how to recognise them.
//!
//! The catalog is data (`assessor/rules/*.toml`, shipped in the binary with
//! `include_str!`), validated when loaded ([`Catalog::shipped`]); the
//! [`Matcher`] indexes it for one target version and classifies a parsed
//! script's observations. See docs/rules.md for the file format and the
//! effort model.
//!
//! Guarantees: a catalog that loads is well-formed (see [`catalog`]); the
//! matcher classifies each observation as at most one feature, and never
//! classifies a construct the catalog does not name (unknown = supported),
//! except unparsed code and sqlcmd directives, which always need review.

pub mod catalog;
pub mod checks;
pub mod effort;
pub mod matcher;
pub mod pattern;
pub mod settings;
pub mod version;

pub use catalog::{Catalog, CatalogError, DocsPage, Feature, TargetInfo};
pub use effort::{EffortFileError, EffortOverrides};
pub use matcher::{Classified, Matcher};
pub use settings::{SettingDef, SettingError, Settings};
pub use version::Version;
