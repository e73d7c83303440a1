//! The root file system tree: mmdebstrap from Debian packages, and the package
//! lock that makes a rebuild install exactly the same versions.
//!
//! mmdebstrap runs in root mode (the build runs as root; fakechroot would
//! leave PostgreSQL's files owned by root). Downloaded packages are kept in a
//! cache directory between builds, so a warm rebuild does not download.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::path_error::PathError;
pub(crate) use crate::path_error::io_err;
use crate::profile::Profile;
use crate::tool::{self, ToolError};

/// Why the root file system could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Io(#[from] PathError),
    #[error("package lock {path} is invalid: {problem}")]
    Lock { path: PathBuf, problem: String },
    #[error(
        "the packages installed differ from the lock {path}: {difference}. \
         The mirror no longer serves a locked version, or the profile changed; \
         rebuild with --update-lock to take the current versions and review the lock diff"
    )]
    LockMismatch { path: PathBuf, difference: String },
    #[error("mmdebstrap did not produce {what} in {path}")]
    Missing { what: &'static str, path: PathBuf },
}

/// Exact package versions of an image, written by the first build and
/// honoured by rebuilds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageLock {
    /// SOURCE_DATE_EPOCH of every timestamp in the image.
    pub source_date_epoch: u64,
    /// `name=version`, sorted, every package installed while building
    /// (including the build-only packages, which are purged afterwards).
    pub packages: Vec<String>,
}

impl PackageLock {
    /// The lock file that belongs to a profile: `appliance.toml` -> `appliance.lock`.
    pub fn path_for(profile_path: &Path) -> PathBuf {
        profile_path.with_extension("lock")
    }

    /// Reads a lock; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<PackageLock>, RootfsError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("cannot read package lock", path)(e).into()),
        };
        let lock: PackageLock = toml::from_str(&text).map_err(|e| RootfsError::Lock {
            path: path.to_owned(),
            problem: e.to_string(),
        })?;
        if let Some(bad) = lock.packages.iter().find(|p| !is_pin(p)) {
            return Err(RootfsError::Lock {
                path: path.to_owned(),
                problem: format!("{bad:?} is not name=version"),
            });
        }
        Ok(Some(lock))
    }

    /// Writes the lock with a header saying where it comes from.
    pub fn store(&self, path: &Path) -> Result<(), RootfsError> {
        let body = toml::to_string(self).map_err(|e| RootfsError::Lock {
            path: path.to_owned(),
            problem: e.to_string(),
        })?;
        let text = format!(
            "# Exact package versions of the image, written by `image-builder build`\n\
             # and honoured by rebuilds. Refresh with `image-builder build --update-lock`.\n{body}"
        );
        Ok(fs::write(path, text).map_err(io_err("cannot write package lock", path))?)
    }
}

fn is_pin(p: &str) -> bool {
    match p.split_once('=') {
        Some((name, version)) => {
            !name.is_empty()
                && !version.is_empty()
                && !p.contains(char::is_whitespace)
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | ':'))
        }
        None => false,
    }
}

/// What mmdebstrap is asked to do.
#[derive(Debug, Clone)]
pub struct Bootstrap<'a> {
    pub profile: &'a Profile,
    /// The profile's `pre_install` tree, resolved.
    pub pre_install: Option<PathBuf>,
    /// Where the tree goes (must not exist).
    pub target: PathBuf,
    /// Downloaded .deb files kept between builds.
    pub apt_cache: PathBuf,
    /// Exact versions to install, from the lock.
    pub pins: Option<&'a PackageLock>,
    pub source_date_epoch: u64,
}

/// dpkg path filters: no documentation, manuals or translations in the image
/// (copyright files stay).
const DPKG_EXCLUDES: &[&str] = &[
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/lintian/*",
];

/// The mmdebstrap arguments for a bootstrap (exposed for tests).
pub fn mmdebstrap_args(b: &Bootstrap<'_>) -> Vec<String> {
    let p = b.profile;
    let include: Vec<String> = match b.pins {
        Some(lock) => lock.packages.clone(),
        None => p
            .packages
            .iter()
            .chain(p.build_packages.iter())
            .cloned()
            .collect(),
    };
    let mut args = vec![
        "--mode=root".to_owned(),
        "--variant=minbase".to_owned(),
        "--format=directory".to_owned(),
        format!("--architectures={}", p.architecture),
        format!("--include={}", include.join(",")),
    ];
    for d in DPKG_EXCLUDES {
        args.push(format!("--dpkgopt={d}"));
    }
    if b.pins.is_some() {
        // The lock may name an older version than the essential set the
        // mirror's index would pick.
        args.push("--aptopt=APT::Get::allow-downgrades \"true\"".to_owned());
    }
    let cache = b.apt_cache.display();
    args.push("--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/".to_owned());
    args.push(format!(
        "--setup-hook=sync-in {cache} /var/cache/apt/archives/"
    ));
    if let Some(pre) = &b.pre_install {
        args.push(format!("--essential-hook=sync-in {} /", pre.display()));
    }
    args.push(format!(
        "--customize-hook=sync-out /var/cache/apt/archives {cache}"
    ));
    args.push(p.suite.clone());
    args.push(b.target.display().to_string());
    args.extend(p.mirrors.iter().cloned());
    args
}

/// Runs mmdebstrap; the tree is left at `b.target`.
pub fn bootstrap(b: &Bootstrap<'_>) -> Result<(), RootfsError> {
    fs::create_dir_all(&b.apt_cache).map_err(io_err("cannot create apt cache", &b.apt_cache))?;
    let mut cmd = tool::command("mmdebstrap", mmdebstrap_args(b));
    cmd.env("SOURCE_DATE_EPOCH", b.source_date_epoch.to_string());
    tool::run(&mut cmd)?;
    if !b.target.join("usr/lib/os-release").exists() {
        return Err(RootfsError::Missing {
            what: "usr/lib/os-release",
            path: b.target.clone(),
        });
    }
    Ok(())
}

/// The installed packages of a tree, as sorted `name=version` pins.
pub fn installed_packages(root: &Path) -> Result<Vec<String>, RootfsError> {
    let out = tool::stdout(&mut tool::command(
        "chroot",
        [
            root.as_os_str(),
            "dpkg-query".as_ref(),
            "-W".as_ref(),
            "-f=${db:Status-Abbrev} ${Package}=${Version}\\n".as_ref(),
        ],
    ))?;
    let mut pins: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("ii  "))
        .map(|s| s.trim().to_owned())
        .collect();
    pins.sort();
    Ok(pins)
}

/// Compares what was installed with the lock; names the first differences.
pub fn check_against_lock(
    installed: &[String],
    lock: &PackageLock,
    lock_path: &Path,
) -> Result<(), RootfsError> {
    let mut locked = lock.packages.clone();
    locked.sort();
    if installed == locked.as_slice() {
        return Ok(());
    }
    let extra: Vec<&String> = installed.iter().filter(|p| !locked.contains(p)).collect();
    let missing: Vec<&String> = locked.iter().filter(|p| !installed.contains(p)).collect();
    let show = |v: &[&String]| {
        v.iter()
            .take(5)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(RootfsError::LockMismatch {
        path: lock_path.to_owned(),
        difference: format!(
            "{} not in the lock (e.g. {}), {} locked but not installed (e.g. {})",
            extra.len(),
            show(&extra),
            missing.len(),
            show(&missing)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml");
        Profile::load(&path).unwrap()
    }

    #[test]
    fn mmdebstrap_gets_the_profile_packages_mirrors_and_cache_hooks() {
        let p = profile();
        let b = Bootstrap {
            profile: &p,
            pre_install: Some(PathBuf::from("/pre")),
            target: PathBuf::from("/t/rootfs"),
            apt_cache: PathBuf::from("/c"),
            pins: None,
            source_date_epoch: 1,
        };
        let args = mmdebstrap_args(&b);
        let include = args.iter().find(|a| a.starts_with("--include=")).unwrap();
        assert!(include.contains("postgresql") && include.contains("systemd-boot-efi"));
        assert!(args.contains(&"--mode=root".to_owned()));
        assert!(args.contains(&"--essential-hook=sync-in /pre /".to_owned()));
        assert!(args.iter().any(|a| a == "/t/rootfs"));
        assert_eq!(args.last().unwrap(), p.mirrors.last().unwrap());
    }

    #[test]
    fn a_lock_pins_every_package() {
        let p = profile();
        let lock = PackageLock {
            source_date_epoch: 5,
            packages: vec!["bash=5.2".into(), "systemd=257.1-1".into()],
        };
        let b = Bootstrap {
            profile: &p,
            pre_install: None,
            target: PathBuf::from("/t"),
            apt_cache: PathBuf::from("/c"),
            pins: Some(&lock),
            source_date_epoch: 5,
        };
        let args = mmdebstrap_args(&b);
        assert!(args.contains(&"--include=bash=5.2,systemd=257.1-1".to_owned()));
    }

    #[test]
    fn lock_round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.lock");
        let lock = PackageLock {
            source_date_epoch: 1_764_633_600,
            packages: vec!["libc6=2.41-12".into(), "systemd=257.9-1~deb13u1".into()],
        };
        lock.store(&path).unwrap();
        assert_eq!(PackageLock::load(&path).unwrap(), Some(lock));
        fs::write(&path, "source_date_epoch = 1\npackages = [\"bash 5\"]\n").unwrap();
        let err = PackageLock::load(&path).unwrap_err();
        assert!(err.to_string().contains("not name=version"), "{err}");
        assert_eq!(PackageLock::load(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn lock_mismatch_names_the_packages() {
        let lock = PackageLock {
            source_date_epoch: 1,
            packages: vec!["a=1".into(), "b=1".into()],
        };
        let err = check_against_lock(&["a=1".into(), "b=2".into()], &lock, Path::new("x.lock"))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("b=2") && text.contains("b=1") && text.contains("--update-lock"),
            "{text}"
        );
        check_against_lock(&["a=1".into(), "b=1".into()], &lock, Path::new("x.lock")).unwrap();
    }
}
