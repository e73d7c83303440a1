//! Which source tree an image was built from: the manifest's
//! `build.source_commit`.
//!
//! By default, `git rev-parse HEAD` of the checkout that holds the profile,
//! with `-dirty` appended when `git status --porcelain` lists anything
//! (changes or untracked files), and [`UNKNOWN`] only outside a git
//! checkout. An explicit value (`--source-commit` or `SOURCE_COMMIT`) wins,
//! for builds from a source tarball.
//!
//! The commit is recorded in `manifest.json` and `build-info.json`, never
//! inside the image's partitions: two builds of the same inputs give the
//! same disk whatever the commit says (the image test builds twice with
//! different values and compares the disks).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Recorded when the tree is not a git checkout and no value was given.
pub const UNKNOWN: &str = "unknown";

/// Longest explicit value accepted.
const MAX_OVERRIDE: usize = 128;

/// Why the source commit could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "the source commit {value:?} (--source-commit or SOURCE_COMMIT) is not usable: {reason}"
    )]
    BadOverride { value: String, reason: &'static str },
    #[error(
        "{dir} is inside a git checkout but git cannot be run ({source}): install git, or pass --source-commit"
    )]
    NoGit {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`git {args}` failed in {dir}: {stderr}; fix the checkout (for \"dubious ownership\": git config --global --add safe.directory DIR), or pass --source-commit"
    )]
    Git {
        dir: PathBuf,
        args: String,
        stderr: String,
    },
}

/// The value to record: `explicit` if given (checked), else the git commit
/// of the checkout holding `dir`, else [`UNKNOWN`].
pub fn resolve(explicit: Option<&str>, dir: &Path) -> Result<String, SourceError> {
    match explicit {
        Some(v) => check_override(v),
        None => Ok(git_commit(dir)?.unwrap_or_else(|| UNKNOWN.to_owned())),
    }
}

/// An explicit value: one token of printable ASCII (a commit id, a tag, a
/// tarball's version), so that it cannot break the manifest or a log line.
pub fn check_override(value: &str) -> Result<String, SourceError> {
    let bad = |reason| SourceError::BadOverride {
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() {
        return Err(bad("it is empty"));
    }
    if value.len() > MAX_OVERRIDE {
        return Err(bad("it is longer than 128 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.+:/@".contains(&b))
    {
        return Err(bad(
            "use letters, digits and - _ . + : / @ only (e.g. a commit id or a tag)",
        ));
    }
    Ok(value.to_owned())
}

fn git(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    // No fsmonitor daemon (the build runs as root in someone's checkout) and
    // no optional index lock (another process may be using the tree).
    cmd.args(["-c", "core.fsmonitor=false", "-C"])
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0");
    cmd
}

fn run_git(dir: &Path, args: &[&str]) -> Result<String, SourceError> {
    let out = git(dir, args)
        .output()
        .map_err(|source| SourceError::NoGit {
            dir: dir.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(SourceError::Git {
            dir: dir.to_owned(),
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `HEAD` of the git checkout holding `dir`, with `-dirty` if the tree has
/// changes or untracked files; `None` when `dir` is not in a git checkout.
pub fn git_commit(dir: &Path) -> Result<Option<String>, SourceError> {
    let inside = match git(dir, &["rev-parse", "--is-inside-work-tree"]).output() {
        Ok(out) => out,
        // No git: fine outside a checkout, an error inside one.
        Err(source) => {
            let in_checkout = dir
                .canonicalize()
                .unwrap_or_else(|_| dir.to_owned())
                .ancestors()
                .any(|a| a.join(".git").exists());
            return if in_checkout {
                Err(SourceError::NoGit {
                    dir: dir.to_owned(),
                    source,
                })
            } else {
                Ok(None)
            };
        }
    };
    let stderr = String::from_utf8_lossy(&inside.stderr);
    if !inside.status.success() {
        if stderr.contains("not a git repository") {
            return Ok(None);
        }
        return Err(SourceError::Git {
            dir: dir.to_owned(),
            args: "rev-parse --is-inside-work-tree".into(),
            stderr: stderr.trim().to_owned(),
        });
    }
    if String::from_utf8_lossy(&inside.stdout).trim() != "true" {
        return Ok(None); // inside .git itself
    }
    let head = run_git(dir, &["rev-parse", "--verify", "HEAD"])?
        .trim()
        .to_owned();
    let status = run_git(dir, &["status", "--porcelain"])?;
    Ok(Some(if status.trim().is_empty() {
        head
    } else {
        format!("{head}-dirty")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh_git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[test]
    fn a_clean_checkout_gives_head_and_changes_make_it_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        sh_git(repo, &["init", "-q"]);
        std::fs::create_dir(repo.join("profiles")).unwrap();
        std::fs::write(repo.join("profiles/p.toml"), "name = 'x'\n").unwrap();
        sh_git(repo, &["add", "."]);
        sh_git(repo, &["commit", "-q", "-m", "one"]);
        let head = sh_git(repo, &["rev-parse", "HEAD"]);
        assert_eq!(head.len(), 40);
        // From a subfolder, as the build asks (the profile's folder).
        let sub = repo.join("profiles");
        assert_eq!(git_commit(&sub).unwrap(), Some(head.clone()));
        assert_eq!(resolve(None, &sub).unwrap(), head);

        std::fs::write(repo.join("untracked"), "x").unwrap();
        assert_eq!(git_commit(&sub).unwrap(), Some(format!("{head}-dirty")));
        std::fs::remove_file(repo.join("untracked")).unwrap();
        std::fs::write(repo.join("profiles/p.toml"), "name = 'y'\n").unwrap();
        assert_eq!(resolve(None, &sub).unwrap(), format!("{head}-dirty"));

        // An explicit value wins over the checkout.
        assert_eq!(resolve(Some("v0.1.0"), &sub).unwrap(), "v0.1.0");
    }

    #[test]
    fn outside_a_checkout_it_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(git_commit(dir.path()).unwrap(), None);
        assert_eq!(resolve(None, dir.path()).unwrap(), UNKNOWN);
    }

    #[test]
    fn explicit_values_are_single_printable_tokens() {
        for ok in [
            "0123456789abcdef0123456789abcdef01234567",
            "v1.2.3+tarball",
            "release/2026-01@abc",
        ] {
            assert_eq!(check_override(ok).unwrap(), ok);
        }
        for bad in ["", "two words", "line\nbreak", "quote\"", &"a".repeat(129)] {
            let err = check_override(bad).unwrap_err();
            assert!(err.to_string().contains("--source-commit"), "{err}");
        }
    }
}
