//! The Lynis gate: Lynis's verdict on the booted audit image, judged by a
//! reviewed policy (`profiles/lynis.toml`).
//!
//! The audit image (`profiles/appliance-audit.toml`: the shipped image plus
//! Lynis and `sqlassess-audit.service`) runs `lynis audit system --quick`
//! once the boot has finished and prints its report on the serial console:
//!
//! ```text
//! sqlassess-audit: hardening_index=91
//! sqlassess-audit: warning=TEST-ID|text|details|solution|
//! sqlassess-audit: suggestion=TEST-ID|text|details|solution|
//! sqlassess-audit: points=TEST-ID|EARNED|POSSIBLE
//! sqlassess-audit: done
//! ```
//!
//! then powers off. [`Audit`] reads those lines; [`Policy::check`] fails on
//! a hardening index under the minimum, on more warnings than allowed, on
//! every suggestion whose test ID the policy does not accept with a reason,
//! and on a report that did not finish.
//!
//! Two indexes: Lynis's own (earned over possible points of every test it
//! ran) and the *applicable* index, the same sum without the tests the
//! policy lists under `[not_scored]`, each with the reason it does not apply
//! (most reward installing a tool the appliance must not carry: a file
//! integrity checker on a dm-verity root, automatic upgrades on a read-only
//! one). Lynis still runs those tests and their suggestions still need a
//! reason. The per-test points must add up to Lynis's index, or the gate
//! fails: the applicable index is Lynis's arithmetic, not ours.
//!
//! The audit image is never shipped: the shipped image carries no audit tool.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::boot::{self, BootError, BootOptions, BootOutcome};

/// The prefix of the audit unit's console lines.
pub const PREFIX: &str = "sqlassess-audit: ";

/// Why the policy could not be loaded or the audit could not run (an audit
/// that fails the gate is a [`Verdict`] with failures, not an error).
#[derive(Debug, thiserror::Error)]
pub enum LynisError {
    #[error("cannot read the Lynis policy {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the Lynis policy {path} is invalid: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("the Lynis policy {path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("cannot read the audit image's console log {path}: {source}")]
    Console {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Boot(#[from] BootError),
}

/// What the audit of the image must show (`profiles/lynis.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Lowest acceptable Lynis hardening index, over every test (0..=100).
    pub min_hardening_index: u32,
    /// Lowest acceptable index over the tests that apply (0..=100).
    pub min_applicable_index: u32,
    /// Most Lynis warnings allowed.
    pub max_warnings: usize,
    /// Lynis test ID -> why the test does not apply to the appliance; its
    /// points are left out of the applicable index.
    #[serde(default)]
    pub not_scored: BTreeMap<String, String>,
    /// Lynis test ID -> why its suggestion does not apply to the appliance.
    /// Any other suggestion fails the gate.
    pub suggestions: BTreeMap<String, String>,
}

/// A Lynis test ID: `AUTH-9230`, or `LYNIS` for Lynis's notes about itself.
fn is_test_id(id: &str) -> bool {
    if id == "LYNIS" {
        return true;
    }
    match id.split_once('-') {
        Some((area, number)) => {
            !area.is_empty()
                && area.chars().all(|c| c.is_ascii_uppercase())
                && number.len() == 4
                && number.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

impl Policy {
    /// Reads and validates the policy file.
    pub fn load(path: &Path) -> Result<Policy, LynisError> {
        let text = std::fs::read_to_string(path).map_err(|source| LynisError::Read {
            path: path.to_owned(),
            source,
        })?;
        Policy::parse(&text, path)
    }

    /// Parses policy text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Policy, LynisError> {
        let policy: Policy = toml::from_str(text).map_err(|source| LynisError::Parse {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |problem: String| LynisError::Invalid {
            path: path.to_owned(),
            problem,
        };
        for (key, value) in [
            ("min_hardening_index", policy.min_hardening_index),
            ("min_applicable_index", policy.min_applicable_index),
        ] {
            if value > 100 {
                return Err(invalid(format!(
                    "{key} = {value} is above 100, the highest Lynis index"
                )));
            }
        }
        for (table, entries) in [
            ("suggestions", &policy.suggestions),
            ("not_scored", &policy.not_scored),
        ] {
            for (id, reason) in entries {
                if !is_test_id(id) {
                    return Err(invalid(format!(
                        "[{table}] key {id:?} is not a Lynis test ID (like \"AUTH-9230\")"
                    )));
                }
                if reason.trim().is_empty() {
                    return Err(invalid(format!(
                        "[{table}] {id} has no reason; write why it does not apply"
                    )));
                }
            }
        }
        Ok(policy)
    }

    /// The gate's failures for `audit`, in words; empty when it passes.
    pub fn check(&self, audit: &Audit) -> Vec<String> {
        let mut f = Vec::new();
        if !audit.done {
            f.push(format!(
                "the audit did not finish (no `{PREFIX}done` on the console)"
            ));
        }
        match audit.hardening_index {
            Some(i) if i >= self.min_hardening_index => {}
            Some(i) => f.push(format!(
                "Lynis hardening index {i} is below the minimum {}",
                self.min_hardening_index
            )),
            None => f.push("Lynis reported no hardening index".to_owned()),
        }
        // Lynis computes its index as floor(100 * earned / possible).
        match (audit.index(|_| true), audit.hardening_index) {
            (Some(sum), Some(lynis)) if sum == lynis => {}
            (sum, lynis) => f.push(format!(
                "the per-test points give an index of {sum:?}, Lynis reported {lynis:?}: \
                 the points lines are incomplete"
            )),
        }
        match self.applicable_index(audit) {
            Some(i) if i >= self.min_applicable_index => {}
            Some(i) => f.push(format!(
                "applicable hardening index {i} (without the [not_scored] tests) is below \
                 the minimum {}",
                self.min_applicable_index
            )),
            None => f.push("no Lynis points were reported".to_owned()),
        }
        if audit.warnings.len() > self.max_warnings {
            for w in &audit.warnings {
                f.push(format!("Lynis warning {w}"));
            }
            f.push(format!(
                "{} Lynis warning(s), at most {} allowed",
                audit.warnings.len(),
                self.max_warnings
            ));
        }
        for s in self.unaccepted(audit) {
            f.push(format!(
                "Lynis suggestion {s}: not accepted; harden the image, or add {} to \
                 [suggestions] of the Lynis policy with the reason it does not apply",
                s.test
            ));
        }
        f
    }

    /// The index over the tests that apply: Lynis's points without the
    /// `[not_scored]` tests.
    pub fn applicable_index(&self, audit: &Audit) -> Option<u32> {
        audit.index(|id| !self.not_scored.contains_key(id))
    }

    /// Suggestions whose test ID the policy does not accept.
    pub fn unaccepted<'a>(&self, audit: &'a Audit) -> Vec<&'a Finding> {
        audit
            .suggestions
            .iter()
            .filter(|s| !self.suggestions.contains_key(&s.test))
            .collect()
    }

    /// Accepted test IDs Lynis no longer raised: reasons that may be removed.
    pub fn unused(&self, audit: &Audit) -> Vec<String> {
        self.suggestions
            .keys()
            .filter(|id| !audit.suggestions.iter().any(|s| &s.test == *id))
            .cloned()
            .collect()
    }
}

/// One Lynis warning or suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub test: String,
    pub text: String,
    /// Lynis's details field (`-` when it has none).
    pub details: String,
}

impl Finding {
    /// Parses `TEST-ID|text|details|solution|` (the report's field order).
    fn parse(value: &str) -> Finding {
        let mut fields = value.split('|').map(str::trim);
        let mut next = || fields.next().unwrap_or_default().to_owned();
        Finding {
            test: next(),
            text: next(),
            details: next(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.test, self.text)?;
        if !self.details.is_empty() && self.details != "-" {
            write!(f, " ({})", self.details)?;
        }
        Ok(())
    }
}

/// The hardening points one Lynis test earned, of those it could.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Points {
    pub earned: u32,
    pub possible: u32,
}

/// What the audit unit printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// Lynis's own index, over every test it ran.
    pub hardening_index: Option<u32>,
    /// Test ID -> its points, from Lynis's log.
    pub points: BTreeMap<String, Points>,
    /// Tests Lynis ran (`lynis_tests_done`).
    pub tests_done: Option<u32>,
    pub warnings: Vec<Finding>,
    pub suggestions: Vec<Finding>,
    /// The `done` line was seen: the report is complete.
    pub done: bool,
}

impl Audit {
    /// Reads the audit lines out of a whole console log.
    pub fn from_console(text: &str) -> Audit {
        let mut audit = Audit::default();
        for line in text.lines() {
            audit.observe(line);
        }
        audit
    }

    /// Updates the audit from one console line (other lines are ignored).
    pub fn observe(&mut self, line: &str) {
        let Some((_, rest)) = line.split_once(PREFIX) else {
            return;
        };
        let rest = rest.trim();
        let Some((key, value)) = rest.split_once('=') else {
            self.done |= rest == "done";
            return;
        };
        match key {
            "hardening_index" => self.hardening_index = value.trim().parse().ok(),
            "lynis_tests_done" => self.tests_done = value.trim().parse().ok(),
            "warning" => self.warnings.push(Finding::parse(value)),
            "suggestion" => self.suggestions.push(Finding::parse(value)),
            "points" => {
                let mut f = value.split('|').map(str::trim);
                if let (Some(id), Some(Ok(earned)), Some(Ok(possible))) =
                    (f.next(), f.next().map(str::parse), f.next().map(str::parse))
                {
                    self.points
                        .insert(id.to_owned(), Points { earned, possible });
                }
            }
            _ => {}
        }
    }

    /// Lynis's formula, floor(100 * earned / possible), over the tests
    /// `include` keeps; `None` without points.
    pub fn index(&self, include: impl Fn(&str) -> bool) -> Option<u32> {
        let (earned, possible) = self
            .points
            .iter()
            .filter(|(id, _)| include(id))
            .fold((0u64, 0u64), |(e, p), (_, pts)| {
                (e + u64::from(pts.earned), p + u64::from(pts.possible))
            });
        (possible > 0).then(|| u32::try_from(earned * 100 / possible).unwrap_or(u32::MAX))
    }

    /// Tests that earned fewer points than they could, most lost first.
    pub fn lost_points(&self) -> Vec<(&str, Points)> {
        let mut lost: Vec<(&str, Points)> = self
            .points
            .iter()
            .filter(|(_, p)| p.earned < p.possible)
            .map(|(id, p)| (id.as_str(), *p))
            .collect();
        lost.sort_by_key(|(_, p)| std::cmp::Reverse(p.possible - p.earned));
        lost
    }
}

/// The audit and the gate's judgement.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub audit: Audit,
    /// Lynis's points without the `[not_scored]` tests.
    pub applicable_index: Option<u32>,
    /// Each failed condition, in words; empty: the gate passed.
    pub failures: Vec<String>,
    /// Accepted test IDs Lynis did not raise this time.
    pub unused: Vec<String>,
    /// The audit boot (console log, seconds).
    pub boot: BootOutcome,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Lynis under TCG on 2 shared cores: 323 s on a quiet machine, 652-687 s
/// while other VMs ran, after a 1-1.5 minute boot; room for a busier one.
pub const AUDIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Boots an audit image (`dir/disk.raw`, built from
/// `profiles/appliance-audit.toml`) until it powers off after its audit, and
/// judges the console's report by `policy`.
pub fn audit_dir(dir: &Path, policy: &Policy) -> Result<Verdict, LynisError> {
    let mut opts = BootOptions::new(dir.join("disk.raw"), dir.join("work").join("lynis-audit"));
    opts.timeout = AUDIT_TIMEOUT;
    opts.until_power_off = true;
    let outcome = boot::boot(&opts)?;
    let log = &outcome.console_log;
    let text = std::fs::read(log).map_err(|source| LynisError::Console {
        path: log.clone(),
        source,
    })?;
    let audit = Audit::from_console(&String::from_utf8_lossy(&text));
    let mut failures = policy.check(&audit);
    if outcome.timed_out {
        failures.push(format!(
            "the audit image did not power off within {} s (console: {})",
            AUDIT_TIMEOUT.as_secs(),
            log.display()
        ));
    }
    Ok(Verdict {
        unused: policy.unused(&audit),
        applicable_index: policy.applicable_index(&audit),
        audit,
        failures,
        boot: outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &str) -> Policy {
        Policy::parse(
            &format!(
                "min_hardening_index = 70\nmin_applicable_index = 90\nmax_warnings = 0\n\
                 [not_scored]\n\"FINT-4350\" = \"dm-verity\"\n[suggestions]\n\
                 \"BOOT-5264\" = \"our units are gated offline\"\n{extra}"
            ),
            Path::new("lynis.toml"),
        )
        .unwrap()
    }

    #[test]
    fn the_shipped_policy_loads_and_gives_a_reason_for_every_suggestion() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/lynis.toml");
        let p = Policy::load(&path).unwrap();
        assert!(p.min_applicable_index >= 90);
        assert_eq!(p.max_warnings, 0);
        assert!(p.suggestions.values().all(|r| r.len() > 20));
        assert!(p.not_scored.values().all(|r| r.len() > 20));
    }

    #[test]
    fn bad_policies_are_refused_naming_the_problem() {
        let err = |text: &str| {
            Policy::parse(text, Path::new("lynis.toml"))
                .unwrap_err()
                .to_string()
        };
        let base = "min_hardening_index = 70\nmin_applicable_index = 90\nmax_warnings = 0\n";
        let e = err(&format!("{base}[suggestions]\n\"AUTH-9230\" = \" \"\n"));
        assert!(e.contains("AUTH-9230 has no reason"), "{e}");
        let e = err(&format!("{base}[suggestions]\n\"auth 9230\" = \"x\"\n"));
        assert!(e.contains("not a Lynis test ID"), "{e}");
        let e = err(&format!(
            "{base}[not_scored]\n\"USB-3000\" = \"\"\n[suggestions]\n"
        ));
        assert!(e.contains("[not_scored] USB-3000 has no reason"), "{e}");
        let e = err(&format!("{}[suggestions]\n", base.replace("= 90", "= 101")));
        assert!(e.contains("min_applicable_index = 101 is above 100"), "{e}");
        let e = err(&format!("{base}max_warning = 1\n[suggestions]\n"));
        assert!(e.contains("lynis.toml") && e.contains("max_warning"), "{e}");
    }

    // Console lines of the audit image's first run (Lynis 3.1.4 under TCG),
    // with a warning in the report's format (the image raised none), points
    // lines that add up to its index, and a kernel message in between.
    const CONSOLE: &str = "\
[  OK  ] Started sqlassess-audit.service - Lynis audit of the running image (audit image only).
[   67.601617] audit[464]: sqlassess-audit: lynis 3.1.4 starting (system running)
[  720.514763] audit[464]: sqlassess-audit: lynis_exit=0 seconds=652
[  720.520000] audit[464]: sqlassess-audit: warning=KRNL-5830|Reboot of system is most likely needed|-|text:reboot|
[  720.763906] audit[464]: sqlassess-audit: suggestion=BOOT-5264|Consider hardening system services|Run '/usr/bin/systemd-analyze security SERVICE' for each service|-|
[  721.210834] audit[464]: sqlassess-audit: suggestion=AUTH-9286|Configure minimum password age in /etc/login.defs|-|-|
[  721.221645] audit[464]: sqlassess-audit: suggestion=AUTH-9286|Configure maximum password age in /etc/login.defs|-|-|
[  721.793711] audit[464]: sqlassess-audit: detail=KRNL-6000|sysctl|desc:Log all packages for which the host does not have a path back to the source;field:net.ipv4.conf.default.log_martians;prefval:1;value:0;|
[  721.800000] random: crng init done
[  721.812211] audit[464]: sqlassess-audit: suggestion=KRNL-6000|One or more sysctl values differ from the scan profile and could be tweaked||Change sysctl value or disable test (skip-test=KRNL-6000:<sysctl-key>)|
[  721.854448] audit[464]: sqlassess-audit: lynis_tests_done=243
[  722.100000] audit[464]: sqlassess-audit: points=KRNL-6000|16|18
[  722.100000] audit[464]: sqlassess-audit: points=AUTH-9286|0|2
[  722.100000] audit[464]: sqlassess-audit: points=FINT-4350|0|5
[  722.100000] audit[464]: sqlassess-audit: points=FIRE-4590|21|25
[  722.055146] audit[464]: sqlassess-audit: hardening_index=74
[  722.286730] audit[464]: sqlassess-audit: done
";

    #[test]
    fn console_lines_become_the_audit() {
        let a = Audit::from_console(CONSOLE);
        assert_eq!(a.hardening_index, Some(74));
        assert_eq!(a.tests_done, Some(243));
        assert!(a.done);
        assert_eq!(a.warnings.len(), 1);
        assert_eq!(a.warnings[0].test, "KRNL-5830");
        assert_eq!(a.warnings[0].text, "Reboot of system is most likely needed");
        let ids: Vec<&str> = a.suggestions.iter().map(|s| s.test.as_str()).collect();
        // The same test may suggest twice; details are kept for people.
        assert_eq!(ids, ["BOOT-5264", "AUTH-9286", "AUTH-9286", "KRNL-6000"]);
        assert_eq!(a.suggestions[3].details, "");
        assert_eq!(
            a.suggestions[0].to_string(),
            "BOOT-5264: Consider hardening system services \
             (Run '/usr/bin/systemd-analyze security SERVICE' for each service)"
        );
        assert_eq!(
            a.suggestions[1].to_string(),
            "AUTH-9286: Configure minimum password age in /etc/login.defs"
        );
        assert_eq!(
            a.points["FIRE-4590"],
            Points {
                earned: 21,
                possible: 25
            }
        );
        // 37 of 50 points, as Lynis counts them.
        assert_eq!(a.index(|_| true), Some(74));
        let lost: Vec<&str> = a.lost_points().iter().map(|(id, _)| *id).collect();
        assert_eq!(lost, ["FINT-4350", "FIRE-4590", "AUTH-9286", "KRNL-6000"]);
    }

    #[test]
    fn the_gate_names_the_index_each_warning_and_each_unaccepted_suggestion() {
        let a = Audit::from_console(CONSOLE);
        let f = policy("").check(&a).join("\n");
        // Lynis's 74 clears its floor of 70; without FINT-4350 (not scored),
        // 37 of 45 points give 82.
        assert!(!f.contains("Lynis hardening index"), "{f}");
        assert!(f.contains("applicable hardening index 82"), "{f}");
        assert!(f.contains("below the minimum 90"), "{f}");
        assert!(f.contains("warning KRNL-5830: Reboot of system"), "{f}");
        assert!(f.contains("1 Lynis warning(s), at most 0"), "{f}");
        assert!(
            f.contains("suggestion KRNL-6000: One or more sysctl values"),
            "{f}"
        );
        assert!(f.contains("suggestion AUTH-9286: Configure maximum"), "{f}");
        // BOOT-5264 is accepted with a reason.
        assert!(!f.contains("BOOT-5264"), "{f}");
    }

    #[test]
    fn a_clean_audit_passes_and_accepted_ids_not_raised_are_listed() {
        let mut a = Audit::from_console(CONSOLE);
        a.warnings.clear();
        a.points.insert(
            "FIRE-4590".into(),
            Points {
                earned: 25,
                possible: 25,
            },
        );
        // 41 of 50 over every test, 41 of 45 (91) over those that apply.
        a.hardening_index = Some(82);
        let p = policy(
            "\"KRNL-6000\" = \"x\"\n\"AUTH-9286\" = \"no passwords\"\n\"FILE-7524\" = \"x\"",
        );
        assert!(p.check(&a).is_empty(), "{:?}", p.check(&a));
        assert_eq!(p.unused(&a), ["FILE-7524"]);
    }

    #[test]
    fn an_unfinished_or_empty_audit_fails() {
        let f = policy("").check(&Audit::default()).join("\n");
        assert!(
            f.contains("did not finish") && f.contains("no hardening index"),
            "{f}"
        );
        assert!(f.contains("no Lynis points"), "{f}");
        let cut = CONSOLE.replace("sqlassess-audit: done\n", "");
        let f = policy("").check(&Audit::from_console(&cut)).join("\n");
        assert!(f.contains("did not finish"), "{f}");
        // Points that do not add up to Lynis's own index: lines were lost.
        let short = CONSOLE.replace("sqlassess-audit: points=FIRE-4590|21|25\n", "");
        let f = policy("").check(&Audit::from_console(&short)).join("\n");
        assert!(f.contains("Lynis reported Some(74)"), "{f}");
    }

    #[test]
    fn test_ids_are_recognised() {
        for ok in ["AUTH-9230", "KRNL-6000", "LYNIS", "HRDN-7222"] {
            assert!(is_test_id(ok), "{ok}");
        }
        for bad in ["", "AUTH", "auth-9230", "AUTH-92", "AUTH-92300", "-9230"] {
            assert!(!is_test_id(bad), "{bad}");
        }
    }
}
