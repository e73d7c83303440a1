//! The image profile: a declarative description of the appliance image.
//!
//! Guarantees: a profile that parses is complete (no defaults are guessed for
//! security settings) and unknown keys are errors, so a typo cannot silently
//! drop a hardening setting.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What the image contains.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Image name, used in the manifest and the AMI name.
    pub name: String,
    /// Debian suite to build from.
    pub suite: String,
    /// Debian architecture.
    pub architecture: String,
    /// Debian packages to install (their dependencies follow).
    pub packages: Vec<String>,
    /// Whether the break-glass SSH profile is enabled (off by default).
    pub ssh: bool,
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read image profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("image profile {path} is invalid: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("image profile {path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

impl Profile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Profile::parse(&text, path)
    }

    /// Parses and validates profile text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|source| ProfileError::Parse {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |problem: &str| ProfileError::Invalid {
            path: path.to_owned(),
            problem: problem.to_owned(),
        };
        if profile.packages.is_empty() {
            return Err(invalid(
                "`packages` is empty; list at least the kernel and systemd",
            ));
        }
        if profile.packages.iter().any(|p| p == "openssh-server") && !profile.ssh {
            return Err(invalid(
                "`openssh-server` is listed but `ssh = false`; remove it or enable the break-glass SSH profile",
            ));
        }
        Ok(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_appliance_profile_loads_without_ssh() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml");
        let profile = Profile::load(&path).unwrap();
        assert!(!profile.ssh);
        assert!(profile.packages.iter().any(|p| p == "postgresql"));
        assert!(!profile.packages.iter().any(|p| p.contains("ssh")));
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_file() {
        let err = Profile::parse(
            "name='x'\nsuite='bookworm'\narchitecture='amd64'\npackages=['systemd']\nssh=false\nshh=true\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("p.toml") && text.contains("shh"), "{text}");
    }

    #[test]
    fn ssh_server_without_break_glass_is_refused() {
        let err = Profile::parse(
            "name='x'\nsuite='bookworm'\narchitecture='amd64'\npackages=['openssh-server']\nssh=false\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("break-glass"));
    }
}
