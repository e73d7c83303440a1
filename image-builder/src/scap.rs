//! The OpenSCAP gate: the SCAP Security Guide's rules for Debian, evaluated
//! offline on the hardened root tree (`oscap xccdf eval` with
//! `OSCAP_PROBE_ROOT`, which is what `oscap-chroot` does).
//!
//! Guarantees:
//! - every rule that fails (or errors) must be listed in the policy file with
//!   the reason it does not apply to the appliance; anything else fails the
//!   gate, naming the rule;
//! - the content file is found, hashed and recorded, so a report says exactly
//!   which rules were run;
//! - when the content has no product for the image's Debian release, the
//!   policy may *retarget* it: the single platform check `^N.[0-9]+$` on
//!   `/etc/debian_version` is rewritten to the tree's release, in a copy.
//!   Exactly one occurrence must exist, so a changed content file is noticed
//!   instead of silently evaluating nothing (every rule `notapplicable`).
//!
//! What an offline evaluation cannot see (live mounts, sysctls, services'
//! runtime state) is checked inside the booted VM by [`crate::boot`].

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::manifest::Sha256;
use crate::path_error::{PathError, io_err};
use crate::tool::{self, ToolError};

/// Where SSG content is looked for after `IMAGE_BUILDER_SCAP_CONTENT` (which
/// scripts/lib.sh points at the copy scripts/dev-env unpacks): Debian's
/// `ssg-debian` package.
const CONTENT_DIRS: [&str; 1] = ["/usr/share/xml/scap/ssg/content"];

/// SSG's rule id prefix; the policy file lists rules without it.
const RULE_PREFIX: &str = "xccdf_org.ssgproject.content_rule_";

/// The gate's policy (the profile's `[verify.openscap]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScapPolicy {
    /// The SSG data stream file name, e.g. `ssg-debian12-ds.xml`.
    pub content: String,
    /// The XCCDF profile id, e.g. `xccdf_org.ssgproject.content_profile_anssi_bp28_high`.
    pub profile: String,
    /// The Debian major release the content targets, when it is not the
    /// image's own (the content is then retargeted to the tree's release).
    #[serde(default)]
    pub content_release: Option<u32>,
    /// Rule (without the `xccdf_org.ssgproject.content_rule_` prefix) ->
    /// why its failure does not apply to the appliance.
    #[serde(default)]
    pub accepted: BTreeMap<String, String>,
}

/// Why the OpenSCAP gate could not run.
#[derive(Debug, thiserror::Error)]
pub enum ScapError {
    #[error(
        "SCAP content {file} not found in {searched}: install ssg-debian (scripts/dev-env \
         unpacks the trixie package) or set IMAGE_BUILDER_SCAP_CONTENT to its folder"
    )]
    ContentMissing { file: String, searched: String },
    #[error(transparent)]
    Io(#[from] PathError),
    #[error(
        "cannot retarget {content} from Debian {from} to {to}: expected exactly one platform \
         check `{pattern}`, found {found}; the content changed, review the policy"
    )]
    Retarget {
        content: PathBuf,
        from: u32,
        to: u32,
        pattern: String,
        found: usize,
    },
    #[error("cannot tell the tree's Debian release from {path} ({found:?})")]
    Release { path: PathBuf, found: String },
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("oscap evaluated no rule of profile {profile}; output:\n{output}")]
    NoResults { profile: String, output: String },
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScapReport {
    pub profile: String,
    pub content: String,
    pub content_sha256: String,
    /// Set when the content was retargeted: `"12 -> 13"`.
    pub retargeted: Option<String>,
    /// Result (`pass`, `fail`, `notapplicable`, ...) -> number of rules.
    pub counts: BTreeMap<String, usize>,
    /// Failed rules that the policy accepts, with its reason.
    pub accepted: BTreeMap<String, String>,
    /// Failed (or errored) rules the policy does not list: each fails the gate.
    pub unexpected: Vec<String>,
    /// Accepted rules that no longer fail: the policy can drop them.
    pub stale: Vec<String>,
    /// The XCCDF results file, for a reader who wants every rule.
    pub results: PathBuf,
}

impl ScapPolicy {
    /// Compares rule results with the accepted list.
    pub fn judge(&self, results: &[(String, String)]) -> ScapReport {
        let mut report = ScapReport {
            profile: self.profile.clone(),
            content: self.content.clone(),
            ..ScapReport::default()
        };
        let mut failed = Vec::new();
        for (rule, result) in results {
            *report.counts.entry(result.clone()).or_default() += 1;
            if matches!(result.as_str(), "fail" | "error" | "unknown") {
                let short = rule.strip_prefix(RULE_PREFIX).unwrap_or(rule);
                failed.push(short.to_owned());
                match self.accepted.get(short) {
                    Some(reason) => {
                        report.accepted.insert(short.to_owned(), reason.clone());
                    }
                    None => report.unexpected.push(format!("{short} ({result})")),
                }
            }
        }
        report.stale = self
            .accepted
            .keys()
            .filter(|r| !failed.contains(r))
            .cloned()
            .collect();
        report
    }

    /// Finds the content, retargets it if needed and evaluates `root`.
    /// Scratch files go to `work` (the results file stays there).
    pub fn evaluate(&self, root: &Path, work: &Path) -> Result<ScapReport, ScapError> {
        let content = find_content(&self.content)?;
        let bytes = fs::read(&content).map_err(io_err("cannot read", &content))?;
        fs::create_dir_all(work).map_err(io_err("cannot create", work))?;
        let mut retargeted = None;
        let data_stream = match self.content_release {
            Some(from) => {
                let to = debian_release(root)?;
                let text = String::from_utf8_lossy(&bytes);
                let changed =
                    retarget(&text, from, to).map_err(|(pattern, found)| ScapError::Retarget {
                        content: content.clone(),
                        from,
                        to,
                        pattern,
                        found,
                    })?;
                let path = work.join(format!("retargeted-{}", self.content));
                fs::write(&path, changed).map_err(io_err("cannot write", &path))?;
                retargeted = Some(format!("{from} -> {to}"));
                path
            }
            None => content.clone(),
        };
        let results_file = work.join("openscap-results.xml");
        // oscap writes into the root it probes (an APT cache with a random
        // name, /root/.rpmdb): it gets a copy, so the sealed tree stays
        // exactly what the build made (and the rebuild bit-identical).
        let probe_root = work.join("root");
        remove_tree(&probe_root)?;
        tool::run(
            tool::command("cp", ["-a", "--reflink=auto"])
                .arg(root)
                .arg(&probe_root),
        )?;
        let mut cmd = Command::new("oscap");
        cmd.args(["xccdf", "eval", "--profile", &self.profile, "--results"])
            .arg(&results_file)
            .arg(&data_stream)
            .env("OSCAP_PROBE_ROOT", &probe_root);
        let out = cmd.output().map_err(|source| ToolError::Spawn {
            program: "oscap".into(),
            package: tool::package_of("oscap"),
            source,
        });
        remove_tree(&probe_root)?;
        let out = out?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        // 0: all passed, 2: some rule failed; anything else is oscap failing.
        if !matches!(out.status.code(), Some(0 | 2)) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            return Err(ToolError::Failed {
                command: format!("oscap xccdf eval --profile {}", self.profile),
                status: out.status.to_string(),
                stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            }
            .into());
        }
        let results = parse_results(&stdout);
        if results.is_empty() {
            return Err(ScapError::NoResults {
                profile: self.profile.clone(),
                output: stdout.chars().take(2000).collect(),
            });
        }
        let mut report = self.judge(&results);
        report.content_sha256 = Sha256::of(&bytes).to_string();
        report.retargeted = retargeted;
        report.results = results_file;
        Ok(report)
    }
}

fn remove_tree(path: &Path) -> Result<(), ScapError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("cannot remove", path)(e).into()),
    }
}

fn find_content(file: &str) -> Result<PathBuf, ScapError> {
    let dirs: Vec<PathBuf> = std::env::var_os("IMAGE_BUILDER_SCAP_CONTENT")
        .map(PathBuf::from)
        .into_iter()
        .chain(CONTENT_DIRS.iter().map(PathBuf::from))
        .collect();
    dirs.iter()
        .map(|d| d.join(file))
        .find(|p| p.is_file())
        .ok_or_else(|| ScapError::ContentMissing {
            file: file.to_owned(),
            searched: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The major release in the tree's `/etc/debian_version` (`13.2` -> 13).
fn debian_release(root: &Path) -> Result<u32, ScapError> {
    let path = root.join("etc/debian_version");
    let text = fs::read_to_string(&path).map_err(io_err("cannot read", &path))?;
    text.trim()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or(ScapError::Release {
            path,
            found: text.trim().to_owned(),
        })
}

/// Rewrites the one `/etc/debian_version` platform pattern from `from` to
/// `to`; on a count other than one, the pattern and the count.
fn retarget(text: &str, from: u32, to: u32) -> Result<String, (String, usize)> {
    let pattern = format!(">^{from}.[0-9]+$<");
    match text.matches(&pattern).count() {
        1 => Ok(text.replacen(&pattern, &format!(">^{to}.[0-9]+$<"), 1)),
        found => Err((pattern.trim_matches(['>', '<']).to_owned(), found)),
    }
}

/// `(rule id, result)` pairs from `oscap xccdf eval`'s progress output
/// (`Title\t…`, `Rule\t<id>`, `Result\t<result>` blocks).
pub fn parse_results(stdout: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rule = None;
    // Without a terminal oscap still writes `Rule\r\t…` (a progress line it
    // means to overwrite).
    for line in stdout.lines().map(|l| l.replace('\r', "")) {
        if let Some(id) = line.strip_prefix("Rule\t") {
            rule = Some(id.trim().to_owned());
        } else if let Some(result) = line.strip_prefix("Result\t")
            && let Some(id) = rule.take()
        {
            out.push((id, result.trim().to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "--- Starting Evaluation ---\n\nTitle\tInstall AIDE\n\
        Rule\txccdf_org.ssgproject.content_rule_package_aide_installed\nResult\tnotapplicable\n\n\
        Title\tEnsure /home Located On Separate Partition\n\
        Rule\txccdf_org.ssgproject.content_rule_partition_for_home\n\
        Ident\tCCE-1234\nResult\tfail\n\n\
        Title\tsudo\nRule\r\txccdf_org.ssgproject.content_rule_sudo_add_noexec\nResult\r\tfail\n\n\
        Title\t64-bit\nRule\txccdf_org.ssgproject.content_rule_prefer_64bit_os\nResult\tpass\n";

    fn policy(accepted: &[&str]) -> ScapPolicy {
        ScapPolicy {
            content: "ssg-debian12-ds.xml".into(),
            profile: "p".into(),
            content_release: Some(12),
            accepted: accepted
                .iter()
                .map(|r| ((*r).to_owned(), "why".to_owned()))
                .collect(),
        }
    }

    #[test]
    fn results_are_read_from_the_progress_output() {
        let r = parse_results(OUTPUT);
        assert_eq!(r.len(), 4);
        assert_eq!(
            r[1],
            (
                format!("{RULE_PREFIX}partition_for_home"),
                "fail".to_owned()
            )
        );
    }

    #[test]
    fn an_unlisted_failure_fails_the_gate_and_a_passing_exception_is_stale() {
        let results = parse_results(OUTPUT);
        let report = policy(&["partition_for_home", "package_apparmor_installed"]).judge(&results);
        assert_eq!(report.unexpected, ["sudo_add_noexec (fail)"]);
        assert_eq!(report.accepted.len(), 1);
        assert_eq!(report.stale, ["package_apparmor_installed"]);
        assert_eq!(report.counts["fail"], 2);
        assert_eq!(report.counts["pass"], 1);
        let all = policy(&["partition_for_home", "sudo_add_noexec"]).judge(&results);
        assert!(all.unexpected.is_empty() && all.stale.is_empty());
    }

    #[test]
    fn retargeting_rewrites_exactly_one_platform_check() {
        let ds = "<ind:pattern operation=\"pattern match\">^12.[0-9]+$</ind:pattern>";
        assert_eq!(
            retarget(ds, 12, 13).unwrap(),
            "<ind:pattern operation=\"pattern match\">^13.[0-9]+$</ind:pattern>"
        );
        assert_eq!(retarget("nothing", 12, 13).unwrap_err().1, 0);
        assert_eq!(retarget(&ds.repeat(2), 12, 13).unwrap_err().1, 2);
    }

    #[test]
    fn shipped_policy_parses_and_gives_a_reason_for_every_rule() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/appliance.toml");
        let profile = crate::profile::Profile::load(&path).unwrap();
        let p = profile
            .verify
            .openscap
            .expect("the shipped profile runs the OpenSCAP gate");
        assert!(p.profile.contains("anssi_bp28"));
        assert!(!p.accepted.is_empty());
        assert!(p.accepted.values().all(|why| why.len() > 20), "{p:?}");
    }

    /// The real oscap and SSG content (scripts/dev-env) on a bare Debian 13 tree.
    #[test]
    fn retargeted_content_evaluates_a_debian_13_tree_that_the_original_skips() {
        let tree = tempfile::tempdir().unwrap();
        for dir in ["etc", "root", "var/lib/dpkg"] {
            fs::create_dir_all(tree.path().join(dir)).unwrap();
        }
        fs::write(tree.path().join("etc/debian_version"), "13.2\n").unwrap();
        fs::write(tree.path().join("var/lib/dpkg/status"), "").unwrap();
        let work = tempfile::tempdir().unwrap();
        let mut p = policy(&[]);
        // The high profile's rpm probe writes an rpm database into the root.
        p.profile = "xccdf_org.ssgproject.content_profile_anssi_bp28_high".into();
        let applicable = |r: &ScapReport| {
            r.counts
                .iter()
                .filter(|(k, _)| *k != "notapplicable")
                .map(|(_, n)| n)
                .sum::<usize>()
        };

        let listing = |dir: &Path| {
            let mut names: Vec<_> = crate::harden::walk(dir)
                .unwrap()
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            names.sort();
            names
        };
        let before = listing(tree.path());
        let report = p.evaluate(tree.path(), work.path()).expect("oscap runs");
        // oscap probed a copy: the tree gained no APT cache or rpm database.
        assert_eq!(listing(tree.path()), before);
        assert!(!work.path().join("root").exists());
        assert_eq!(report.retargeted.as_deref(), Some("12 -> 13"));
        assert_eq!(report.content_sha256.len(), 64);
        assert!(applicable(&report) > 5, "{:?}", report.counts);
        assert!(report.results.is_file());

        p.content_release = None;
        let original = p.evaluate(tree.path(), work.path()).expect("oscap runs");
        assert_eq!(applicable(&original), 0, "{:?}", original.counts);
    }
}
