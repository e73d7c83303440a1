//! The Lynis gate, measured inside the booted image: build the audit variant
//! (`profiles/appliance-audit.toml`: the shipped profile plus Lynis and the
//! unit that runs it), boot it under qemu (TCG, OVMF) until it powers off
//! after `lynis audit system --quick`, and judge the report it printed on
//! the serial console by `profiles/lynis.toml`: hardening index, warnings,
//! and a written reason for every remaining suggestion.
//!
//! Slow (a build, then Lynis under TCG: 7 minutes on 2 quiet cores, 15 on
//! busy ones) and needs root, the tools of `scripts/dev-env` and the Debian
//! mirror. A missing prerequisite fails the test with what to do; nothing is
//! skipped.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use image_builder::build::{StepEvent, build};
use image_builder::lynis::{self, Policy};
use image_builder::rootfs::PackageLock;

mod whole_image;
use whole_image::profile;

fn quiet(_: &StepEvent) {}

fn packages(lock: &Path) -> BTreeSet<String> {
    let lock = PackageLock::load(lock)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{} is missing", lock.display()));
    lock.packages.into_iter().collect()
}

#[test]
fn the_booted_image_passes_the_lynis_gate() {
    let out = whole_image::work_dir("lynis_audit", "IMAGE_BUILDER_LYNIS_TEST_DIR").join("image");
    fs::create_dir_all(&out).expect("create the test folder");
    let policy = Policy::load(&profile("lynis.toml")).unwrap_or_else(|e| panic!("{e}"));
    // The placeholder assessor: Lynis audits the system around it.
    let opts = whole_image::options("appliance-audit.toml", &out);
    let info = build(&opts, &mut quiet).unwrap_or_else(|e| panic!("build failed: {e}"));

    // What is audited is the shipped image plus Lynis: the same package
    // versions (the two locks differ by `lynis` alone) and the same
    // hardening (a variant can only add, see profile.rs).
    let shipped = packages(&profile("appliance.lock"));
    let audit = packages(&profile("appliance-audit.lock"));
    let extra: Vec<&String> = audit.difference(&shipped).collect();
    let missing: Vec<&String> = shipped.difference(&audit).collect();
    assert!(
        missing.is_empty() && extra.len() == 1 && extra[0].starts_with("lynis="),
        "appliance-audit.lock must be appliance.lock plus lynis; refresh it after \
         refreshing appliance.lock (build --profile profiles/appliance-audit.toml \
         --update-lock). Only in the audit lock: {extra:?}; only in the shipped one: {missing:?}"
    );
    assert!(
        info.offline_gates.passed(),
        "{:?}",
        info.offline_gates.failures
    );

    let verdict = lynis::audit_dir(&out, &policy).unwrap_or_else(|e| panic!("{e}"));
    let a = &verdict.audit;
    eprintln!(
        "Lynis hardening index {:?} (minimum {}), applicable index {:?} (minimum {}), \
         {} tests, {} warning(s), {} suggestion(s) ({} accepted in lynis.toml), \
         audit boot {:.0} s; console: {}",
        a.hardening_index,
        policy.min_hardening_index,
        verdict.applicable_index,
        policy.min_applicable_index,
        a.tests_done.unwrap_or_default(),
        a.warnings.len(),
        a.suggestions.len(),
        a.suggestions.len() - policy.unaccepted(a).len(),
        verdict.boot.seconds,
        verdict.boot.console_log.display()
    );
    for s in &a.suggestions {
        eprintln!("  suggestion {s}");
    }
    for (id, p) in a.lost_points() {
        let scored = if policy.not_scored.contains_key(id) {
            "not scored"
        } else {
            "scored"
        };
        eprintln!("  points {id}: {} of {} ({scored})", p.earned, p.possible);
    }
    if !verdict.unused.is_empty() {
        eprintln!(
            "accepted in lynis.toml but not raised this time: {}",
            verdict.unused.join(", ")
        );
    }
    assert!(
        verdict.passed(),
        "the Lynis gate failed:\n  {}\nconsole: {}",
        verdict.failures.join("\n  "),
        verdict.boot.console_log.display()
    );
    // The audit image boots like the shipped one (the unit that runs Lynis
    // included: no failed unit before the audit).
    assert!(
        verdict.boot.verity_verified && verdict.boot.failed_units.is_empty(),
        "{:?}",
        verdict.boot
    );
}
