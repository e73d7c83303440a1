//! The image profile: a declarative description of the appliance image.
//!
//! Guarantees: a profile that parses is complete (no defaults are guessed for
//! security settings) and unknown keys are errors, so a typo cannot silently
//! drop a hardening setting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What the image contains.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Image name, used in the manifest and the AMI name.
    pub name: String,
    /// Debian suite to build from.
    pub suite: String,
    /// Debian architecture.
    pub architecture: String,
    /// apt sources lines (`deb URI SUITE COMPONENTS`), in order.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Debian packages to install (their dependencies follow).
    pub packages: Vec<String>,
    /// Packages needed only while building (e.g. the UKI stub); purged before
    /// the root file system is sealed.
    #[serde(default)]
    pub build_packages: Vec<String>,
    /// Whether the break-glass SSH profile is enabled (off by default).
    pub ssh: bool,
    /// Tree copied in before the packages are installed, relative to the profile.
    #[serde(default)]
    pub pre_install: Option<PathBuf>,
    /// Tree copied over the root after the packages are installed, relative to the profile.
    #[serde(default)]
    pub overlay: Option<PathBuf>,
    /// Kernel command line additions.
    #[serde(default)]
    pub kernel: Kernel,
    /// Partition sizes.
    #[serde(default)]
    pub disk: Disk,
    /// Units to enable, disable and mask.
    #[serde(default)]
    pub units: Units,
    /// Kernel parameters written to `/etc/sysctl.d/90-sqlassess.conf`.
    #[serde(default)]
    pub sysctl: BTreeMap<String, String>,
    /// Thresholds of the `verify` gates.
    #[serde(default)]
    pub verify: VerifyPolicy,
}

/// Kernel command line options (the builder adds root, verity and consoles).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    pub cmdline: Vec<String>,
}

/// Sizes of the partitions that are not sized by their content.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disk {
    /// EFI system partition, MiB; holds the unified kernel image.
    pub esp_mib: u64,
    /// Writable /var, MiB.
    pub var_mib: u64,
    /// The session volume (GPT name `session`), MiB, left blank: the
    /// appliance encrypts it with dm-crypt under a per-boot random key and
    /// formats it at every boot. 0: no session partition.
    #[serde(default)]
    pub session_mib: u64,
}

impl Default for Disk {
    fn default() -> Disk {
        Disk {
            esp_mib: 64,
            var_mib: 512,
            session_mib: 0,
        }
    }
}

/// systemd units to enable, disable and mask in the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Units {
    #[serde(default)]
    pub enable: Vec<String>,
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub mask: Vec<String>,
}

/// Thresholds of the offline `verify` gates.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyPolicy {
    /// Absolute paths allowed to keep a setuid or setgid bit.
    #[serde(default)]
    pub setuid_allow: Vec<String>,
    /// Highest `systemd-analyze security` exposure for `assessor.service`.
    pub max_exposure_assessor: f64,
    /// Highest exposure for every other enabled service the image adds.
    pub max_exposure_other: f64,
    /// Per-unit ceilings above `max_exposure_other`, each with its reason in
    /// the profile (e.g. a network daemon that needs its capabilities).
    #[serde(default)]
    pub exposure_exceptions: BTreeMap<String, f64>,
}

impl Default for VerifyPolicy {
    fn default() -> VerifyPolicy {
        VerifyPolicy {
            setuid_allow: Vec::new(),
            max_exposure_assessor: 1.0,
            max_exposure_other: 2.0,
            exposure_exceptions: BTreeMap::new(),
        }
    }
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
        if profile.disk.esp_mib < 32 || profile.disk.var_mib < 64 {
            return Err(invalid(
                "`[disk]` is too small: esp_mib must be at least 32 and var_mib at least 64",
            ));
        }
        for (key, value) in &profile.sysctl {
            let ok_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
            if !ok_key || value.contains(['\n', '=']) {
                return Err(invalid(&format!(
                    "`[sysctl]` entry {key:?} = {value:?} is not a plain kernel parameter"
                )));
            }
        }
        for arg in &profile.kernel.cmdline {
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                return Err(invalid(&format!(
                    "`[kernel] cmdline` entry {arg:?} must be one word"
                )));
            }
            let reserved = ["root=", "rootfstype=", "console=", "sqlassess.roothash="];
            if reserved.iter().any(|r| arg.starts_with(r)) {
                return Err(invalid(&format!(
                    "`[kernel] cmdline` entry {arg:?} is set by the builder; remove it"
                )));
            }
        }
        if profile.packages.iter().any(|p| p == "openssh-server") && !profile.ssh {
            return Err(invalid(
                "`openssh-server` is listed but `ssh = false`; remove it or enable the break-glass SSH profile",
            ));
        }
        Ok(profile)
    }

    /// Resolves a path from the profile (relative to the profile file's folder).
    pub fn resolve(profile_path: &Path, relative: &Path) -> PathBuf {
        match profile_path.parent() {
            Some(dir) => dir.join(relative),
            None => relative.to_owned(),
        }
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
    fn builder_owned_kernel_arguments_are_refused() {
        let err = Profile::parse(
            "name='x'\nsuite='trixie'\narchitecture='amd64'\npackages=['systemd']\nssh=false\n[kernel]\ncmdline=['console=tty0']\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("set by the builder"), "{err}");
    }

    #[test]
    fn shipped_profile_hardens_the_kernel_and_masks_logins() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml");
        let profile = Profile::load(&path).unwrap();
        assert_eq!(profile.sysctl["kernel.kptr_restrict"], "2");
        assert_eq!(profile.sysctl["net.ipv4.tcp_syncookies"], "1");
        assert!(
            profile
                .units
                .mask
                .iter()
                .any(|u| u == "serial-getty@.service")
        );
        assert!(
            profile
                .kernel
                .cmdline
                .iter()
                .any(|a| a == "lockdown=confidentiality")
        );
        assert!(profile.units.enable.iter().any(|u| u == "assessor.service"));
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
