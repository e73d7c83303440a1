//! Offline gates on the hardened tree, run by `build` before the root file
//! system is sealed (a failing gate fails the build) and by `verify`.
//!
//! - `systemd-analyze security --offline=true --root=TREE` exposure of
//!   `assessor.service` and of every other enabled service, against the
//!   profile's ceilings;
//! - no setuid/setgid file outside the profile's allow-list;
//! - no world-writable file, and no world-writable folder without the sticky bit;
//! - the OpenSCAP rules of the profile's `[verify.openscap]` ([`crate::scap`]).
//!
//! What runs only inside the booted VM (failed units, listening sockets,
//! dm-verity status) is in [`crate::boot`].

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::profile::Profile;
use crate::rootfs::RootfsError;
use crate::scap::{ScapError, ScapReport};
use crate::tool::{self, ToolError};

/// Why the gates could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Tree(#[from] RootfsError),
    #[error(transparent)]
    Scap(#[from] ScapError),
    #[error("systemd-analyze security printed no exposure for {unit}:\n{output}")]
    NoExposure { unit: String, output: String },
}

/// The outcome of the offline gates.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OfflineReport {
    /// Unit -> exposure (0.0 best .. 10.0 worst).
    pub exposure: BTreeMap<String, f64>,
    /// Files with a setuid/setgid bit outside the allow-list.
    pub setuid: Vec<String>,
    /// World-writable files, and world-writable folders without the sticky bit.
    pub world_writable: Vec<String>,
    /// The OpenSCAP evaluation, when the profile asks for one.
    pub openscap: Option<ScapReport>,
    /// Each failed gate, in words.
    pub failures: Vec<String>,
}

impl OfflineReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Parses `Overall exposure level for UNIT: 1.2 OK`.
pub fn parse_exposure(output: &str) -> Option<f64> {
    output
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for"))
        .and_then(|(_, rest)| rest.split_once(':'))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The exposure of one unit of the tree.
pub fn exposure(root: &Path, unit: &str) -> Result<f64, VerifyError> {
    let mut cmd = tool::command(
        "systemd-analyze",
        [
            "security".to_owned(),
            "--offline=true".to_owned(),
            format!("--root={}", root.display()),
            "--no-pager".to_owned(),
            unit.to_owned(),
        ],
    );
    // A unit above the default threshold makes systemd-analyze exit non-zero;
    // the comparison with the profile's ceiling is ours, so read the output
    // whatever the status.
    let out = cmd.output().map_err(|source| ToolError::Spawn {
        program: "systemd-analyze".into(),
        package: tool::package_of("systemd-analyze"),
        source,
    })?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    parse_exposure(&text).ok_or(VerifyError::NoExposure {
        unit: unit.to_owned(),
        output: text,
    })
}

/// Services enabled in the tree: symlinks in the `*.wants` folders of
/// /etc/systemd/system, i.e. what `systemctl enable` (the profile, package
/// presets) turned on. systemd's own static boot units (`/usr/lib/.../*.wants`:
/// udevd, journald, tmpfiles, ...) are not counted: they are the service
/// manager itself, not services of the appliance.
pub fn enabled_services(root: &Path) -> Vec<String> {
    let mut units = Vec::new();
    for base in ["etc/systemd/system"] {
        let Ok(dirs) = fs::read_dir(root.join(base)) else {
            continue;
        };
        for dir in dirs.filter_map(|e| e.ok()) {
            let name = dir.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".target.wants") {
                continue;
            }
            let Ok(links) = fs::read_dir(dir.path()) else {
                continue;
            };
            for link in links.filter_map(|e| e.ok()) {
                let unit = link.file_name().to_string_lossy().into_owned();
                let masked = fs::read_link(root.join("etc/systemd/system").join(&unit))
                    .is_ok_and(|t| t == Path::new("/dev/null"));
                if unit.ends_with(".service")
                    && !unit.contains('@')
                    && !masked
                    && !units.contains(&unit)
                {
                    units.push(unit);
                }
            }
        }
    }
    units.sort();
    units
}

/// Runs the offline gates on `root` (the root tree) and `extra` (other trees
/// that end up in the image, e.g. the /var tree, with their mount point).
/// `work/openscap` receives the OpenSCAP results.
/// The paths of `absent` that exist in `root` (a dangling symlink counts).
fn present<'a>(root: &Path, absent: &'a [String]) -> Vec<&'a str> {
    absent
        .iter()
        .filter(|p| {
            let rel = p.trim_start_matches('/');
            !rel.is_empty() && fs::symlink_metadata(root.join(rel)).is_ok()
        })
        .map(String::as_str)
        .collect()
}

pub fn offline(
    root: &Path,
    extra: &[(PathBuf, &str)],
    profile: &Profile,
    work: &Path,
) -> Result<OfflineReport, VerifyError> {
    let mut report = OfflineReport::default();
    let policy = &profile.verify;
    for unit in enabled_services(root) {
        let value = exposure(root, &unit)?;
        let ceiling = if unit == "assessor.service" {
            policy.max_exposure_assessor
        } else {
            *policy
                .exposure_exceptions
                .get(&unit)
                .unwrap_or(&policy.max_exposure_other)
        };
        if value > ceiling {
            report
                .failures
                .push(format!("{unit}: exposure {value} above {ceiling}"));
        }
        report.exposure.insert(unit, value);
    }
    if !report.exposure.contains_key("assessor.service") {
        report
            .failures
            .push("assessor.service is not enabled".to_owned());
    }
    let mut trees: Vec<(PathBuf, String)> = vec![(root.to_owned(), String::new())];
    trees.extend(extra.iter().map(|(p, m)| (p.clone(), (*m).to_owned())));
    for (tree, mount) in trees {
        for (path, meta) in crate::harden::walk(&tree)? {
            let rel = format!(
                "{mount}/{}",
                path.strip_prefix(&tree).unwrap_or(&path).display()
            );
            let mode = meta.mode();
            if meta.is_file() && mode & 0o6000 != 0 && !policy.setuid_allow.contains(&rel) {
                report.setuid.push(rel.clone());
            }
            let world_writable = mode & 0o002 != 0 && (meta.is_file() || meta.is_dir());
            let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
            if world_writable && !sticky_dir {
                report.world_writable.push(rel);
            }
        }
    }
    let present = present(root, &policy.absent);
    if !present.is_empty() {
        report.failures.push(format!(
            "present but listed in [verify] absent (a package brought it back; prune it): {}",
            present.join(", ")
        ));
    }
    if !report.setuid.is_empty() {
        report.failures.push(format!(
            "setuid/setgid files outside the allow-list: {}",
            report.setuid.join(", ")
        ));
    }
    if !report.world_writable.is_empty() {
        report.failures.push(format!(
            "world-writable files: {}",
            report.world_writable.join(", ")
        ));
    }
    if let Some(policy) = &policy.openscap {
        let scap = policy.evaluate(root, &work.join("openscap"))?;
        if !scap.unexpected.is_empty() {
            report.failures.push(format!(
                "OpenSCAP rules of {} failed without an accepted reason \
                 (fix the image, or add the rule and why it does not apply to \
                 [verify.openscap.accepted]): {}",
                scap.profile,
                scap.unexpected.join(", ")
            ));
        }
        report.openscap = Some(scap);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposure_line_is_parsed() {
        let out = "  NAME  DESCRIPTION  EXPOSURE\n→ Overall exposure level for assessor.service: 0.9 SAFE 😀\n";
        assert_eq!(parse_exposure(out), Some(0.9));
        assert_eq!(parse_exposure("nothing"), None);
    }

    #[test]
    fn a_path_listed_as_absent_is_found_even_as_a_dangling_link() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("usr/bin")).unwrap();
        fs::write(dir.path().join("usr/bin/dash"), "").unwrap();
        std::os::unix::fs::symlink("perl5.40", dir.path().join("usr/bin/perl")).unwrap();
        let absent: Vec<String> = ["/usr/bin/perl", "/usr/bin/apt", "/usr/bin/dash", "/"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            present(dir.path(), &absent),
            ["/usr/bin/perl", "/usr/bin/dash"]
        );
    }

    #[test]
    fn enabled_services_are_found_through_wants_links() {
        let dir = tempfile::tempdir().unwrap();
        let wants = dir
            .path()
            .join("etc/systemd/system/multi-user.target.wants");
        fs::create_dir_all(&wants).unwrap();
        std::os::unix::fs::symlink("/x", wants.join("a.service")).unwrap();
        std::os::unix::fs::symlink("/x", wants.join("b.timer")).unwrap();
        std::os::unix::fs::symlink("/x", wants.join("m.service")).unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("etc/systemd/system/m.service"))
            .unwrap();
        assert_eq!(enabled_services(dir.path()), vec!["a.service".to_owned()]);
    }
}
