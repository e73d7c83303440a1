//! The image profile: a declarative description of the appliance image.
//!
//! Guarantees: a profile that parses is complete (no defaults are guessed for
//! security settings) and unknown keys are errors, so a typo cannot silently
//! drop a hardening setting.
//!
//! A *variant* profile (`extends = "appliance.toml"`, in the same folder)
//! starts from its base and can only add: lists are appended to, tables are
//! merged key by key, and only single values (the name, `ssh`, a ceiling) are
//! replaced. A variant therefore cannot quietly drop a sysctl, a masked unit or
//! a kernel argument of the image it derives from. Its base may not itself be
//! a variant.

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
    /// Installed packages whose files are removed before the root is sealed:
    /// what other packages depend on, or what ran while building, but the
    /// appliance never runs (package management, Perl, LLVM...). See
    /// [`crate::prune`]; the SBOM leaves them out.
    #[serde(default)]
    pub prune_packages: Vec<String>,
    /// Files or folders (relative to the root) removed with them, from
    /// packages that otherwise ship.
    #[serde(default)]
    pub prune_paths: Vec<String>,
    /// Whether the break-glass SSH profile is enabled (off by default).
    pub ssh: bool,
    /// Tree copied in before the packages are installed, relative to the profile.
    #[serde(default)]
    pub pre_install: Option<PathBuf>,
    /// Trees copied over the root after the packages are installed, in order,
    /// relative to the profile (`overlay = "dir"` or a list; a variant's
    /// overlay is applied after its base's).
    #[serde(default, deserialize_with = "one_or_many")]
    pub overlay: Vec<PathBuf>,
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
    /// For a variant, the base profile file it extends (set by [`Profile::parse`]).
    #[serde(skip)]
    pub base: Option<PathBuf>,
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
    /// The OpenSCAP gate (content, XCCDF profile, accepted failures).
    #[serde(default)]
    pub openscap: Option<crate::scap::ScapPolicy>,
    /// Listening sockets the booted image may have besides the DHCP client,
    /// as `tcp:PORT` or `udp:PORT` on any address (the break-glass image's
    /// `tcp:22`). The boot test fails on any other.
    #[serde(default)]
    pub listening_allow: Vec<String>,
    /// Absolute paths that must not exist in the root (`/usr/bin/perl`): the
    /// offline gate fails a build in which a package brought one back.
    #[serde(default)]
    pub absent: Vec<String>,
}

impl Default for VerifyPolicy {
    fn default() -> VerifyPolicy {
        VerifyPolicy {
            setuid_allow: Vec::new(),
            max_exposure_assessor: 1.0,
            max_exposure_other: 2.0,
            exposure_exceptions: BTreeMap::new(),
            openscap: None,
            listening_allow: Vec::new(),
            absent: Vec::new(),
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

/// `overlay = "dir"` or `overlay = ["a", "b"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}

/// Adds `variant` to `base`: lists append, tables merge, single values replace.
fn merge(base: &mut toml::Table, variant: toml::Table) {
    for (key, value) in variant {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(v)) => merge(b, v),
            (Some(toml::Value::Array(b)), toml::Value::Array(v)) => b.extend(v),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
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

    /// Parses and validates profile text; `path` names the file in errors and
    /// locates a variant's base (`extends`, in the same folder).
    pub fn parse(text: &str, path: &Path) -> Result<Profile, ProfileError> {
        let invalid = |problem: &str| ProfileError::Invalid {
            path: path.to_owned(),
            problem: problem.to_owned(),
        };
        let parse_err = |path: &Path| {
            let path = path.to_owned();
            move |source| ProfileError::Parse { path, source }
        };
        let mut table: toml::Table = toml::from_str(text).map_err(parse_err(path))?;
        let mut base_file = None;
        if let Some(base) = table.remove("extends") {
            let Some(name) = base.as_str().filter(|n| {
                !n.is_empty() && !n.contains('/') && !n.contains('\\') && *n != ".." && *n != "."
            }) else {
                return Err(invalid(
                    "`extends` must name a profile file in the same folder, e.g. \"appliance.toml\"",
                ));
            };
            let base_path = Profile::resolve(path, Path::new(name));
            let base_text =
                std::fs::read_to_string(&base_path).map_err(|source| ProfileError::Read {
                    path: base_path.clone(),
                    source,
                })?;
            let mut merged: toml::Table =
                toml::from_str(&base_text).map_err(parse_err(&base_path))?;
            if merged.contains_key("extends") {
                return Err(invalid(&format!(
                    "its base {} is itself a variant; extend the base profile directly",
                    base_path.display()
                )));
            }
            // One overlay in either file is a list of one, so both apply.
            for t in [&mut merged, &mut table] {
                if let Some(toml::Value::String(dir)) = t.get("overlay") {
                    let one = toml::Value::Array(vec![toml::Value::String(dir.clone())]);
                    t.insert("overlay".into(), one);
                }
            }
            merge(&mut merged, table);
            table = merged;
            base_file = Some(base_path);
        }
        let mut profile: Profile = table.try_into().map_err(parse_err(path))?;
        profile.base = base_file;
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
        if profile.ssh && !profile.packages.iter().any(|p| p == "openssh-server") {
            return Err(invalid(
                "`ssh = true` but `openssh-server` is not in `packages`; add it (see profiles/appliance-ssh.toml)",
            ));
        }
        for entry in &profile.verify.listening_allow {
            if listening_port(entry).is_none() {
                return Err(invalid(&format!(
                    "`[verify] listening_allow` entry {entry:?} must be `tcp:PORT` or `udp:PORT`"
                )));
            }
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

/// `tcp:22` -> (`tcp`, 22): an entry of `[verify] listening_allow`.
pub fn listening_port(entry: &str) -> Option<(&str, u16)> {
    let (proto, port) = entry.split_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    matches!(proto, "tcp" | "udp").then_some((proto, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_break_glass_variant_loads_with_ssh_and_port_22_only() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let base = Profile::load(&dir.join("appliance.toml")).unwrap();
        let v = Profile::load(&dir.join("appliance-ssh.toml")).unwrap();
        assert!(v.ssh && !base.ssh);
        assert_ne!(v.name, base.name, "the break-glass image has its own name");
        assert!(v.packages.iter().any(|p| p == "openssh-server"));
        assert!(v.overlay.iter().any(|o| o.ends_with("ssh-overlay")));
        assert_eq!(v.verify.listening_allow, ["tcp:22"]);
        assert!(base.verify.listening_allow.is_empty());
        assert!(v.units.enable.iter().any(|u| u == "ssh.service"));
        assert!(v.verify.exposure_exceptions.contains_key("ssh.service"));
        // Everything of the base is still there.
        assert_eq!(v.sysctl, base.sysctl);
        assert!(v.units.mask.starts_with(&base.units.mask));
        assert!(v.units.mask.iter().any(|u| u == "ssh.socket"));
        assert_eq!(v.kernel, base.kernel);
    }

    #[test]
    fn ssh_without_its_server_and_odd_listening_entries_are_refused() {
        let err = Profile::parse(
            "name='x'\nsuite='trixie'\narchitecture='amd64'\npackages=['systemd']\nssh=true\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("openssh-server"), "{err}");
        for bad in ["22", "tcp:0", "sctp:22", "tcp:ssh", "tcp:70000"] {
            let err = Profile::parse(
                &format!(
                    "name='x'\nsuite='trixie'\narchitecture='amd64'\npackages=['systemd']\n\
                     ssh=false\n[verify]\nmax_exposure_assessor=1.0\nmax_exposure_other=2.0\n\
                     listening_allow=['{bad}']\n"
                ),
                Path::new("p.toml"),
            )
            .unwrap_err();
            assert!(err.to_string().contains("listening_allow"), "{bad}: {err}");
        }
        assert_eq!(listening_port("udp:123"), Some(("udp", 123)));
    }

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

    fn variant_of_shipped(text: &str) -> Result<Profile, ProfileError> {
        let dir = tempfile::tempdir().unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml");
        std::fs::copy(shipped, dir.path().join("appliance.toml")).unwrap();
        let path = dir.path().join("variant.toml");
        std::fs::write(&path, text).unwrap();
        Profile::load(&path)
    }

    #[test]
    fn a_variant_adds_to_its_base_and_replaces_only_single_values() {
        let base =
            Profile::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml"))
                .unwrap();
        let v = variant_of_shipped(
            "extends = 'appliance.toml'\nname = 'v'\nssh = true\npackages = ['openssh-server']\n\
             overlay = '../ssh'\n[units]\nmask = ['x.service']\n\
             [sysctl]\n'kernel.kptr_restrict' = '1'\n'vm.x' = '0'\n\
             [verify.exposure_exceptions]\n'ssh.service' = 9.0\n",
        )
        .unwrap();
        assert_eq!(v.name, "v");
        assert!(v.ssh);
        assert_eq!(v.packages.len(), base.packages.len() + 1);
        assert_eq!(v.packages.last().unwrap(), "openssh-server");
        assert_eq!(v.overlay.len(), 2, "{:?}", v.overlay);
        assert_eq!(v.overlay[0], base.overlay[0]);
        assert_eq!(v.units.mask.len(), base.units.mask.len() + 1);
        assert_eq!(v.units.enable, base.units.enable);
        assert_eq!(v.kernel, base.kernel);
        assert_eq!(v.sysctl.len(), base.sysctl.len() + 1);
        assert_eq!(v.sysctl["kernel.kptr_restrict"], "1");
        assert_eq!(v.verify.exposure_exceptions.len(), 2);
        assert_eq!(
            v.verify.max_exposure_assessor,
            base.verify.max_exposure_assessor
        );
        assert!(v.base.as_ref().unwrap().ends_with("appliance.toml"));
        assert_eq!(base.base, None);
    }

    #[test]
    fn a_variant_must_name_a_plain_base_in_its_folder() {
        for bad in ["'../profiles/appliance.toml'", "'/etc/passwd'", "''", "3"] {
            let err = variant_of_shipped(&format!("extends = {bad}\nname = 'v'\n")).unwrap_err();
            assert!(err.to_string().contains("same folder"), "{bad}: {err}");
        }
        let err = variant_of_shipped("extends = 'missing.toml'\n").unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");
        // Typos in a variant are still errors.
        let err = variant_of_shipped("extends = 'appliance.toml'\nshh = true\n").unwrap_err();
        assert!(err.to_string().contains("shh"), "{err}");
    }

    #[test]
    fn a_variant_of_a_variant_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = 'b.toml'\n").unwrap();
        std::fs::write(dir.path().join("c.toml"), "extends = 'a.toml'\n").unwrap();
        let err = Profile::load(&dir.path().join("c.toml")).unwrap_err();
        assert!(err.to_string().contains("itself a variant"), "{err}");
    }
}
