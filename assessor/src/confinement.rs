//! Landlock confinement of `assessor run`, applied by the binary to itself
//! before the job reads a secret or opens a connection, and inherited by
//! every program the job starts (initdb, the session PostgreSQL, pg_ctl).
//!
//! Guarantees:
//! - After [`confine`], the process and its children can open, create,
//!   delete or execute files only as the allow-list says: [`SYSTEM_RULES`]
//!   (fixed here, each entry with its reason), [`ROOT_RULES`] when running
//!   as root (never on the appliance), plus [`job_rules`] (the session
//!   directory, the PostgreSQL installation and the CA bundles the config
//!   names; files the process environment names for the AWS SDK and the
//!   trust store, which whoever starts the process controls anyway).
//!   Everything else is denied by the kernel (`EACCES`), whatever the Unix
//!   permissions and whatever systemd's sandbox leaves readable or
//!   writable. No TCP port can be bound (Landlock ABI 4, Linux 6.7, and
//!   later).
//! - Writable: the session directory, `/dev/shm` and `/dev/null` only (and
//!   in the session directory's parent, deleting an empty directory, which
//!   the wipe needs to delete the session directory itself). Nothing
//!   outside the allow-list is executable.
//! - Confinement can be dropped by nothing: Landlock domains only ever
//!   narrow, across `exec`, `setuid` (runuser) and `fork` alike.
//! - [`Policy::Required`] (the appliance's) refuses to run on a kernel that
//!   enforces nothing, naming the kernel requirement; [`Policy::BestEffort`]
//!   runs and says so. Either way the outcome is recorded ([`Outcome`]) in
//!   the run summary and the status lines.
//!
//! What is deliberately not restricted: connecting to TCP ports (a target's
//! port comes from its secret, read after confinement; the unit's
//! IPAddressAllow and nftables bound the destinations) and signals (the
//! wipe must stop a PostgreSQL left running by a crashed earlier run, which
//! is outside this run's Landlock domain).
//!
//! Landlock confines the calling thread and what it creates afterwards, so
//! [`confine`] must run before the async runtime starts its threads
//! (`cmd/run.rs` does).

use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus,
    PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
};
use serde::Serialize;

use crate::config::{Confinement as Policy, JobConfig};

/// The newest Landlock ABI whose rights the job asks for: ABI 5 (Linux
/// 6.10) adds device ioctls; older kernels enforce what they know (the
/// outcome says `partial`).
const TARGET_ABI: ABI = ABI::V5;

/// What an allow-list entry permits beneath its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// Read files and list directories.
    Read,
    /// Read, list and execute.
    ReadExec,
    /// Everything but execute: create, write, rename, delete, make sockets.
    ReadWrite,
    /// Delete empty directories only: Landlock checks a deletion against
    /// the parent directory, and the wipe deletes the session directory.
    RemoveEmptyDir,
}

impl Allow {
    fn rights(self) -> BitFlags<AccessFs> {
        let all = AccessFs::from_all(TARGET_ABI);
        match self {
            Allow::Read => AccessFs::from_read(TARGET_ABI) & !AccessFs::Execute,
            Allow::ReadExec => AccessFs::from_read(TARGET_ABI),
            Allow::ReadWrite => all & !AccessFs::Execute,
            Allow::RemoveEmptyDir => AccessFs::RemoveDir.into(),
        }
    }
}

/// One allow-list entry: a path (a directory covers everything beneath it),
/// what it permits, and why the job needs it. A path that does not exist on
/// this machine is skipped (e.g. `/lib64`, or `/lib` where it is a link into
/// `/usr` the rule for `/usr` already covers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub path: PathBuf,
    pub allow: Allow,
    pub why: &'static str,
}

/// The system paths every run needs, the same on every machine.
pub const SYSTEM_RULES: &[(&str, Allow, &str)] = &[
    (
        "/usr",
        Allow::ReadExec,
        "programs and libraries (libc, runuser, chown, initdb, postgres, pg_ctl, /bin/sh that \
         initdb runs its steps through), PostgreSQL's share files, time zones, and the CA \
         certificates /etc/ssl/certs links to",
    ),
    (
        "/lib",
        Allow::ReadExec,
        "the dynamic loader and libraries where /lib is not a link into /usr",
    ),
    (
        "/lib64",
        Allow::ReadExec,
        "the dynamic loader's path on amd64 where /lib64 is not a link into /usr",
    ),
    (
        "/bin",
        Allow::ReadExec,
        "/bin/sh and chown where /bin is not a link into /usr",
    ),
    (
        "/sbin",
        Allow::ReadExec,
        "runuser where /sbin is not a link into /usr",
    ),
    (
        "/etc/ld.so.cache",
        Allow::Read,
        "the dynamic loader's cache, read by every program the job starts",
    ),
    (
        "/etc/ssl",
        Allow::Read,
        "the system trust store: AWS endpoints, and SQL Servers under tls.ca = \"system\"",
    ),
    (
        "/etc/resolv.conf",
        Allow::Read,
        "DNS servers, to resolve AWS endpoints and SQL Server host names",
    ),
    ("/etc/hosts", Allow::Read, "host names resolved locally"),
    (
        "/etc/nsswitch.conf",
        Allow::Read,
        "which sources glibc asks for hosts, users and groups",
    ),
    ("/etc/host.conf", Allow::Read, "glibc's resolver options"),
    ("/etc/gai.conf", Allow::Read, "glibc's address ordering"),
    (
        "/etc/passwd",
        Allow::Read,
        "user names: initdb and postgres look up their own user, the wipe the owner of a \
         leftover cluster",
    ),
    ("/etc/group", Allow::Read, "group names, as for /etc/passwd"),
    (
        "/etc/localtime",
        Allow::Read,
        "the system time zone, which initdb gives the session cluster",
    ),
    (
        "/dev/null",
        Allow::ReadWrite,
        "the session server's standard input and the discarded output of tools",
    ),
    (
        "/dev/urandom",
        Allow::Read,
        "the session cluster's random password",
    ),
    (
        "/dev/shm",
        Allow::ReadWrite,
        "PostgreSQL's dynamic shared memory (dynamic_shared_memory_type = posix, initdb's \
         choice on Linux; the cluster does not override it)",
    ),
    (
        "/proc/self",
        Allow::Read,
        "the assessor's own status (whether it runs as root, which decides runuser)",
    ),
];

/// Where a developer machine's run as root needs more: the session cluster
/// then runs as `postgres` through `runuser`, which reads PAM's
/// configuration. The appliance never runs the job as root.
pub const ROOT_RULES: &[(&str, Allow, &str)] = &[
    (
        "/etc/pam.d",
        Allow::Read,
        "runuser's PAM configuration (as root only)",
    ),
    ("/etc/pam.conf", Allow::Read, "PAM's legacy configuration"),
    (
        "/etc/security",
        Allow::Read,
        "pam_limits' limits, read by runuser (as root only)",
    ),
    (
        "/etc/login.defs",
        Allow::Read,
        "shadow-utils defaults, read by runuser (as root only)",
    ),
    (
        "/etc/environment",
        Allow::Read,
        "pam_env's environment, read by runuser (as root only)",
    ),
];

/// The paths this job's config and environment name.
pub fn job_rules(config: &JobConfig) -> Vec<Rule> {
    let mut rules = vec![Rule {
        path: config.job.session_dir.clone(),
        allow: Allow::ReadWrite,
        why: "the session: PostgreSQL's data, socket and log (job.session_dir)",
    }];
    if let Some(parent) = config.job.session_dir.parent() {
        rules.push(Rule {
            path: parent.to_owned(),
            allow: Allow::RemoveEmptyDir,
            why: "the session directory's parent, only so the wipe can delete the emptied \
                  session directory itself at the end",
        });
    }
    // The installation the cluster runs (ASSESSOR_PG_BIN may put it outside
    // /usr); a missing one fails the run later, with its own error.
    if let Ok(bin) = crate::store::cluster::pg_bin() {
        let install = bin.parent().map_or_else(|| bin.clone(), Path::to_owned);
        rules.push(Rule {
            path: install,
            allow: Allow::ReadExec,
            why: "the PostgreSQL installation the session cluster runs",
        });
    }
    for target in &config.targets {
        if let Some(bundle) = &target.tls.ca_bundle {
            rules.push(Rule {
                path: bundle.clone(),
                allow: Allow::Read,
                why: "a target's CA bundle (targets.tls.ca_bundle)",
            });
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let env_or = |name: &str, default: Option<PathBuf>| {
        std::env::var_os(name).map(PathBuf::from).or(default)
    };
    for (path, why) in [
        (
            env_or(
                "AWS_SHARED_CREDENTIALS_FILE",
                home.as_ref().map(|h| h.join(".aws/credentials")),
            ),
            "the AWS SDK's shared credentials file (a developer's AWS_PROFILE)",
        ),
        (
            env_or(
                "AWS_CONFIG_FILE",
                home.as_ref().map(|h| h.join(".aws/config")),
            ),
            "the AWS SDK's shared config file (a developer's AWS_PROFILE)",
        ),
        (
            std::env::var_os("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from),
            "the AWS SDK's web identity token",
        ),
        (
            std::env::var_os("SSL_CERT_FILE").map(PathBuf::from),
            "a trust store named by SSL_CERT_FILE",
        ),
        (
            std::env::var_os("SSL_CERT_DIR").map(PathBuf::from),
            "a trust store named by SSL_CERT_DIR",
        ),
    ] {
        if let Some(path) = path {
            rules.push(Rule {
                path,
                allow: Allow::Read,
                why,
            });
        }
    }
    rules
}

/// Every rule for this run: the system's, the root-only ones when running
/// as root, and the job's.
pub fn rules_for(config: &JobConfig, as_root: bool) -> Vec<Rule> {
    let fixed = SYSTEM_RULES
        .iter()
        .chain(if as_root { ROOT_RULES } else { &[] });
    fixed
        .map(|&(path, allow, why)| Rule {
            path: PathBuf::from(path),
            allow,
            why,
        })
        .chain(job_rules(config))
        .collect()
}

/// How confinement went, for the run summary and the status lines. Holds
/// no path and no value from the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Landlock restricts this run.
    pub enforced: bool,
    /// `full` (every requested restriction), `partial` (an older kernel
    /// enforces what it knows) or `none`.
    pub status: &'static str,
    /// The Landlock ABI the kernel offers (0: none).
    pub landlock_abi: i32,
    /// The policy in force (`job.confinement`).
    pub policy: &'static str,
    /// Why nothing is enforced, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Outcome {
    /// One line for the console.
    pub fn describe(&self) -> String {
        match &self.reason {
            None => format!(
                "confinement: Landlock ABI {} enforced ({}; policy {})",
                self.landlock_abi, self.status, self.policy
            ),
            Some(reason) => format!(
                "confinement: Landlock NOT enforced ({reason}; policy {})",
                self.policy
            ),
        }
    }
}

/// Why the run could not be confined.
#[derive(Debug, thiserror::Error)]
pub enum ConfinementError {
    #[error(
        "job.confinement = \"required\" but this kernel enforces no Landlock ruleset ({reason}): \
         boot a Linux 5.13 or newer kernel built with CONFIG_SECURITY_LANDLOCK and with \
         `landlock` in its LSM list (CONFIG_LSM or the lsm= boot parameter), let the \
         landlock_* system calls through any seccomp filter (systemd's SystemCallFilter), \
         or set job.confinement = \"best-effort\" outside the appliance"
    )]
    Unsupported { reason: String },
    #[error("cannot build the Landlock ruleset: {detail}; this is a bug in the allow-list")]
    Ruleset { detail: String },
    #[error("cannot open {} for its Landlock rule ({why}): {detail}", path.display())]
    Path {
        path: PathBuf,
        why: &'static str,
        detail: String,
    },
}

/// Applies the allow-list to the calling thread (and so to every thread and
/// process it creates afterwards). Call it before any other thread exists.
pub fn confine(config: &JobConfig) -> Result<Outcome, ConfinementError> {
    let policy = config.job.confinement;
    let rules = rules_for(config, crate::store::cluster::running_as_root());
    let ruleset_error = |e: landlock::RulesetError| ConfinementError::Ruleset {
        detail: e.to_string(),
    };
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(TARGET_ABI))
        .and_then(|r| r.handle_access(AccessNet::BindTcp))
        .and_then(Ruleset::create)
        .map_err(ruleset_error)?;
    for rule in &rules {
        let fd = match PathFd::new(&rule.path) {
            Ok(fd) => fd,
            // Not on this machine: nothing to allow there.
            Err(_) if !rule.path.exists() => continue,
            Err(e) => {
                return Err(ConfinementError::Path {
                    path: rule.path.clone(),
                    why: rule.why,
                    detail: e.to_string(),
                });
            }
        };
        let rights = if rule.path.is_dir() {
            rule.allow.rights()
        } else {
            rule.allow.rights() & AccessFs::from_file(TARGET_ABI)
        };
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, rights))
            .map_err(ruleset_error)?;
    }
    let status = ruleset.restrict_self().map_err(ruleset_error)?;
    judge(policy, status.ruleset, status.landlock)
}

/// The outcome of a `restrict_self`: what the kernel enforced, under
/// `policy`. Nothing enforced is an error under [`Policy::Required`].
pub fn judge(
    policy: Policy,
    ruleset: RulesetStatus,
    landlock: LandlockStatus,
) -> Result<Outcome, ConfinementError> {
    let (kernel_abi, missing) = match landlock {
        LandlockStatus::Available {
            kernel_abi: Some(newer),
            ..
        } => (newer, None),
        LandlockStatus::Available { effective_abi, .. } => (effective_abi as i32, None),
        LandlockStatus::NotEnabled => (
            0,
            Some("Landlock is built into the kernel but not enabled at boot"),
        ),
        LandlockStatus::NotImplemented => (0, Some("the kernel has no Landlock")),
    };
    let status = match (ruleset, missing) {
        (RulesetStatus::FullyEnforced, None) => "full",
        (RulesetStatus::PartiallyEnforced, None) => "partial",
        (_, missing) => {
            let reason = missing
                .unwrap_or("the kernel enforced none of the ruleset")
                .to_owned();
            return match policy {
                Policy::Required => Err(ConfinementError::Unsupported { reason }),
                Policy::BestEffort => Ok(Outcome {
                    enforced: false,
                    status: "none",
                    landlock_abi: kernel_abi,
                    policy: policy.word(),
                    reason: Some(reason),
                }),
            };
        }
    };
    Ok(Outcome {
        enforced: true,
        status,
        landlock_abi: kernel_abi,
        policy: policy.word(),
        reason: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn available(abi: ABI) -> LandlockStatus {
        LandlockStatus::Available {
            effective_abi: abi,
            kernel_abi: None,
        }
    }

    #[test]
    fn required_refuses_a_kernel_without_landlock_naming_the_requirement() {
        for landlock in [LandlockStatus::NotImplemented, LandlockStatus::NotEnabled] {
            let err = judge(Policy::Required, RulesetStatus::NotEnforced, landlock).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("CONFIG_SECURITY_LANDLOCK"), "{message}");
            assert!(message.contains("lsm="), "{message}");
            assert!(message.contains("\"required\""), "{message}");
        }
    }

    #[test]
    fn best_effort_runs_unconfined_and_says_why() {
        let outcome = judge(
            Policy::BestEffort,
            RulesetStatus::NotEnforced,
            LandlockStatus::NotEnabled,
        )
        .unwrap();
        assert!(!outcome.enforced);
        assert_eq!(outcome.status, "none");
        assert_eq!(outcome.landlock_abi, 0);
        assert!(outcome.describe().contains("NOT enforced"), "{outcome:?}");
        assert!(outcome.describe().contains("not enabled at boot"));
    }

    #[test]
    fn an_older_kernel_enforces_part_and_a_current_one_all() {
        let partial = judge(
            Policy::Required,
            RulesetStatus::PartiallyEnforced,
            available(ABI::V2),
        )
        .unwrap();
        assert_eq!((partial.enforced, partial.status), (true, "partial"));
        assert_eq!(partial.landlock_abi, 2);
        let full = judge(
            Policy::Required,
            RulesetStatus::FullyEnforced,
            available(ABI::V6),
        )
        .unwrap();
        assert_eq!((full.status, full.landlock_abi), ("full", 6));
        assert_eq!(
            full.describe(),
            "confinement: Landlock ABI 6 enforced (full; policy required)"
        );
    }

    fn config(extra_target: &str) -> JobConfig {
        let text = format!(
            "[job]\nregion = \"eu-west-1\"\nkms_key_id = \"k\"\nsession_dir = \"/srv/s\"\n\
             [report]\nbucket = \"reports\"\n\
             [[targets]]\nname = \"a\"\nsecret_id = \"s\"\n\
             [targets.tls]\nca_bundle = \"/etc/assessor/ca.pem\"\n{extra_target}"
        );
        JobConfig::parse(&text, Path::new("job.toml")).unwrap()
    }

    #[test]
    fn only_the_session_and_shared_memory_devices_are_writable() {
        let rules = rules_for(&config(""), true);
        let writable: Vec<&Path> = rules
            .iter()
            .filter(|r| r.allow == Allow::ReadWrite)
            .map(|r| r.path.as_path())
            .collect();
        assert_eq!(
            writable,
            [
                Path::new("/dev/null"),
                Path::new("/dev/shm"),
                Path::new("/srv/s")
            ]
        );
        assert!(
            rules
                .iter()
                .any(|r| r.path == Path::new("/etc/assessor/ca.pem") && r.allow == Allow::Read)
        );
        // In the session's parent: deleting the (empty) session directory.
        let parent: Vec<&Rule> = rules
            .iter()
            .filter(|r| r.path == Path::new("/srv"))
            .collect();
        assert_eq!(parent.len(), 1);
        assert_eq!(parent[0].allow, Allow::RemoveEmptyDir);
        assert_eq!(Allow::RemoveEmptyDir.rights(), AccessFs::RemoveDir);
        // Every entry is absolute and says why it is there.
        for rule in &rules {
            assert!(rule.path.is_absolute(), "{rule:?}");
            assert!(rule.why.len() > 10, "{rule:?}");
        }
        // Nothing grants execute but the system's program trees and the
        // PostgreSQL installation.
        for rule in rules.iter().filter(|r| r.allow == Allow::ReadExec) {
            assert!(
                ["/usr", "/lib", "/lib64", "/bin", "/sbin"]
                    .iter()
                    .any(|p| rule.path == Path::new(p))
                    || rule.why.contains("PostgreSQL installation"),
                "{rule:?}"
            );
        }
        assert!(!Allow::ReadWrite.rights().contains(AccessFs::Execute));
        assert!(!Allow::Read.rights().contains(AccessFs::Execute));
    }

    #[test]
    fn pam_files_are_allowed_only_to_a_run_as_root() {
        let pam = |as_root| {
            rules_for(&config(""), as_root)
                .iter()
                .any(|r| r.path == Path::new("/etc/pam.d"))
        };
        assert!(pam(true));
        assert!(!pam(false));
        // Nothing else of /etc is readable as a whole.
        assert!(
            !rules_for(&config(""), true)
                .iter()
                .any(|r| r.path == Path::new("/etc"))
        );
    }
}
