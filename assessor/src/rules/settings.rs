//! Babelfish settings that change how a feature fares: the
//! `babelfishpg_tsql.escape_hatch_*` settings, modelled as data
//! (`assessor/rules/settings.toml`) and chosen per run as a target option
//! (`--setting NAME=VALUE`, `report.settings` in the job config).
//!
//! Guarantees:
//! - A [`SettingDef`] comes only from validated data: a unique name, at least
//!   two values, a default among them, and effects that name existing
//!   features and give a status for every value (see
//!   [`crate::rules::Catalog`]).
//! - [`Settings`] can only be built by [`crate::rules::Catalog::resolve_settings`],
//!   so every name and value in it is one the catalog models; an unknown name
//!   or value is a [`SettingError`] naming it and what is allowed.
//! - No setting chosen means Babelfish's defaults, and then no status
//!   changes: a setting acts on a feature only where the catalog's status at
//!   the target is the one its effect lists for the default value (the
//!   feature behaves as the setting's default makes it behave), and replaces
//!   it with the status for the chosen value.

use std::collections::BTreeMap;

use crate::findings::Status;

/// The prefix Babelfish gives its settings; accepted and dropped.
pub const SETTING_PREFIX: &str = "babelfishpg_tsql.";

/// One Babelfish setting the catalog models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDef {
    /// Name without the `babelfishpg_tsql.` prefix, e.g.
    /// `escape_hatch_table_hints`.
    pub name: String,
    pub description: String,
    /// Public documentation of the setting.
    pub docs: String,
    /// Allowed values, lower case, e.g. `["ignore", "strict"]`.
    pub values: Vec<String>,
    /// Babelfish's default value.
    pub default: String,
    /// T-SQL whose findings change when the setting leaves its default
    /// (`example` in the data; run by the tests).
    pub example: String,
    pub effects: Vec<Effect>,
}

/// Features and their status under each value of a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub features: Vec<String>,
    /// Status per value; every value of the setting has one.
    pub status: BTreeMap<String, Status>,
}

impl SettingDef {
    /// The `(feature id, from, to)` changes choosing `value` makes: the
    /// status under the default and the status under `value`, for every
    /// feature of every effect where they differ.
    pub fn changes(&self, value: &str) -> Vec<(&str, Status, Status)> {
        let mut out = Vec::new();
        for effect in &self.effects {
            let (Some(from), Some(to)) =
                (effect.status.get(&self.default), effect.status.get(value))
            else {
                continue;
            };
            if from == to {
                continue;
            }
            out.extend(effect.features.iter().map(|f| (f.as_str(), *from, *to)));
        }
        out
    }
}

/// The settings chosen for a run (name -> value), validated against the
/// catalog. Empty: Babelfish's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    chosen: BTreeMap<String, String>,
}

impl Settings {
    pub(crate) fn from_validated(chosen: BTreeMap<String, String>) -> Settings {
        Settings { chosen }
    }

    /// `(name, value)` pairs, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.chosen.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.chosen.is_empty()
    }

    /// The chosen settings as a map, for reports.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.chosen.clone()
    }
}

/// Why a setting given on the command line or in the job config was
/// refused. Each names the setting and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error(
        "setting `{given}` is not of the form NAME=VALUE; write it like \
         escape_hatch_table_hints=strict"
    )]
    Malformed { given: String },
    #[error("unknown Babelfish setting `{name}`; the settings the rule catalog models: {known}")]
    UnknownSetting { name: String, known: String },
    #[error("setting `{name}` has no value `{value}`; allowed values: {allowed}")]
    UnknownValue {
        name: String,
        value: String,
        allowed: String,
    },
    #[error("setting `{name}` is given twice (`{first}` and `{second}`); give it once")]
    Conflict {
        name: String,
        first: String,
        second: String,
    },
}

/// Splits `NAME=VALUE`, lower-cases both and drops the `babelfishpg_tsql.`
/// prefix.
pub(crate) fn split(given: &str) -> Result<(String, String), SettingError> {
    let malformed = || SettingError::Malformed {
        given: given.to_string(),
    };
    let (name, value) = given.split_once('=').ok_or_else(malformed)?;
    let name = name.trim().to_ascii_lowercase();
    let name = name
        .strip_prefix(SETTING_PREFIX)
        .map_or(name.clone(), str::to_string);
    let value = value.trim().to_ascii_lowercase();
    if name.is_empty() || value.is_empty() {
        return Err(malformed());
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_accepts_the_prefix_and_any_case() {
        assert_eq!(
            split("BabelfishPG_TSQL.Escape_Hatch_Table_Hints = Strict"),
            Ok(("escape_hatch_table_hints".into(), "strict".into()))
        );
        assert_eq!(
            split("escape_hatch_table_hints=ignore"),
            Ok(("escape_hatch_table_hints".into(), "ignore".into()))
        );
    }

    #[test]
    fn split_refuses_what_is_not_name_equals_value() {
        for bad in ["escape_hatch_table_hints", "=strict", "escape_hatch_x=", ""] {
            assert!(
                matches!(split(bad), Err(SettingError::Malformed { .. })),
                "{bad}"
            );
        }
    }
}
