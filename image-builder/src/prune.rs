//! Takes out of the tree what was installed but never runs on the appliance
//! (the profile's `prune_packages` and `prune_paths`): package management,
//! Perl, the openssl command line, LLVM. Other packages depend on them, or
//! their maintainer scripts ran while building, so they cannot simply be
//! left out of the package list.
//!
//! Guarantees:
//! - A pruned package's files are those dpkg's own file list
//!   (`var/lib/dpkg/info/NAME[:ARCH].list`) names; regular files and
//!   symlinks are removed, and then its folders that are left empty. No
//!   maintainer script runs (Perl may already be gone, and nothing here must
//!   depend on what is being removed).
//! - The dpkg database stays: it is the record of what was installed (the
//!   lock and the SBOM, which leaves pruned packages out, say what ships).
//! - A name that is not installed, or a path that does not exist, is an
//!   error naming it: the profile says exactly what goes, and a package
//!   update that moves a file fails the build instead of shipping it.
//! - Every removal stays inside the tree: list entries are absolute paths
//!   without `..`, joined to the root; anything else is refused.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::path_error::{PathError, io_err};

/// Why a prune failed.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error(
        "prune_packages names {package}, which is not installed in the tree (no dpkg file list \
         under {dir}); remove it from the profile or check its name in the lock"
    )]
    NotInstalled { package: String, dir: PathBuf },
    #[error(
        "prune_paths names {path}, which is not in the tree; a package update may have moved it: \
         find where it went and update the profile"
    )]
    NoSuchPath { path: String },
    #[error("{what} {entry:?} is not a plain path inside the tree: refused")]
    Unsafe { what: &'static str, entry: String },
    #[error(transparent)]
    Io(#[from] PathError),
}

/// What was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub files: usize,
    pub folders: usize,
}

/// Removes the files of `packages` and the `paths` (relative to the root,
/// folders with their contents) from the tree at `root`.
pub fn prune(root: &Path, packages: &[String], paths: &[String]) -> Result<Pruned, PruneError> {
    // Everything is checked before anything is removed: a bad entry leaves
    // the tree as it was.
    let mut listed = Vec::new();
    for package in packages {
        for entry in file_list(root, package)? {
            // `/.`: every list's first line, the root itself.
            if entry != "/." && entry != "/" {
                listed.push(inside(root, &entry, "a dpkg file list entry")?);
            }
        }
    }
    let mut named = Vec::with_capacity(paths.len());
    for rel in paths {
        let path = inside(root, &format!("/{rel}"), "a prune_paths entry")?;
        if fs::symlink_metadata(&path).is_err() {
            return Err(PruneError::NoSuchPath { path: rel.clone() });
        }
        named.push(path);
    }

    let mut pruned = Pruned::default();
    let mut folders: Vec<PathBuf> = Vec::new();
    for path in listed {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => folders.push(path),
            Ok(_) => {
                fs::remove_file(&path).map_err(io_err("cannot remove", &path))?;
                pruned.files += 1;
            }
            // Listed but already gone (another pruned package shared it, or
            // a diversion moved it): nothing to do.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("cannot stat", &path)(e).into()),
        }
    }
    // Deepest first, so a folder emptied by its children goes too; a folder
    // another package still uses keeps its files and stays.
    // (dedup needs equal paths side by side: sort by path within a depth.)
    folders.sort_by(|a, b| (b.components().count(), a).cmp(&(a.components().count(), b)));
    folders.dedup();
    for folder in folders {
        if fs::remove_dir(&folder).is_ok() {
            pruned.folders += 1;
        }
    }
    for path in named {
        let meta = fs::symlink_metadata(&path).map_err(io_err("cannot stat", &path))?;
        if meta.is_dir() {
            fs::remove_dir_all(&path).map_err(io_err("cannot remove", &path))?;
            pruned.folders += 1;
        } else {
            fs::remove_file(&path).map_err(io_err("cannot remove", &path))?;
            pruned.files += 1;
        }
    }
    Ok(pruned)
}

/// The entries of a package's dpkg file list (`NAME.list`, or
/// `NAME:ARCH.list` for a multi-arch package).
fn file_list(root: &Path, package: &str) -> Result<Vec<String>, PruneError> {
    let dir = root.join("var/lib/dpkg/info");
    if package.is_empty() || package.contains('/') || package.starts_with('.') {
        return Err(PruneError::Unsafe {
            what: "package name",
            entry: package.to_owned(),
        });
    }
    let plain = dir.join(format!("{package}.list"));
    let list = if plain.is_file() {
        plain
    } else {
        let prefix = format!("{package}:");
        let mut found: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io_err("cannot list", &dir))?
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name().to_str().is_some_and(|n| {
                    n.strip_prefix(&prefix)
                        .is_some_and(|arch| arch.ends_with(".list") && !arch.contains(':'))
                })
            })
            .map(|e| e.path())
            .collect();
        found.sort();
        match found.into_iter().next() {
            Some(list) => list,
            None => {
                return Err(PruneError::NotInstalled {
                    package: package.to_owned(),
                    dir,
                });
            }
        }
    };
    let text = fs::read_to_string(&list).map_err(io_err("cannot read", &list))?;
    Ok(text
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// `root` joined with an absolute `entry` that has no `..`, `.` or prefix
/// component; `/` itself is refused too.
fn inside(root: &Path, entry: &str, what: &'static str) -> Result<PathBuf, PruneError> {
    let unsafe_entry = || PruneError::Unsafe {
        what,
        entry: entry.to_owned(),
    };
    let path = Path::new(entry);
    let mut parts = path.components();
    if parts.next() != Some(Component::RootDir) {
        return Err(unsafe_entry());
    }
    let rest: Vec<_> = parts.collect();
    if rest.is_empty() || !rest.iter().all(|c| matches!(c, Component::Normal(_))) {
        return Err(unsafe_entry());
    }
    Ok(rest.iter().fold(root.to_owned(), |p, c| p.join(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "var/lib/dpkg/info",
            "usr/bin",
            "usr/share/perl/5.40/x",
            "usr/share/doc/shared",
            "usr/lib/postgresql/17/lib/bitcode/a",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "usr/bin/sh",
            "usr/bin/perl",
            "usr/share/perl/5.40/x/Y.pm",
            "usr/share/doc/shared/other-package",
            "usr/lib/postgresql/17/lib/llvmjit.so",
            "usr/lib/postgresql/17/lib/bitcode/a/b.bc",
            "var/lib/dpkg/status",
        ] {
            fs::write(root.join(f), "x").unwrap();
        }
        std::os::unix::fs::symlink("perl", root.join("usr/bin/perl5.40")).unwrap();
        fs::write(
            root.join("var/lib/dpkg/info/perl-base.list"),
            "/.\n/usr\n/usr/bin\n/usr/bin/perl\n/usr/bin/perl5.40\n/usr/share\n/usr/share/perl\n\
             /usr/share/perl/5.40\n/usr/share/perl/5.40/x\n/usr/share/perl/5.40/x/Y.pm\n\
             /usr/share/doc\n/usr/share/doc/shared\n/usr/bin/gone-already\n",
        )
        .unwrap();
        fs::write(
            root.join("var/lib/dpkg/info/libperl5.40:amd64.list"),
            "/usr/bin\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn a_package_loses_its_files_and_emptied_folders_and_shared_folders_stay() {
        let dir = tree();
        let root = dir.path();
        let pruned = prune(
            root,
            &["perl-base".into(), "libperl5.40".into()],
            &[
                "usr/lib/postgresql/17/lib/llvmjit.so".into(),
                "usr/lib/postgresql/17/lib/bitcode".into(),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!root.join("usr/bin/perl").exists());
        assert!(root.join("usr/bin/perl5.40").symlink_metadata().is_err());
        assert!(!root.join("usr/share/perl").exists(), "emptied folders go");
        assert!(root.join("usr/share/doc/shared/other-package").exists());
        assert!(
            root.join("usr/bin/sh").exists(),
            "a folder still in use stays"
        );
        assert!(!root.join("usr/lib/postgresql/17/lib/llvmjit.so").exists());
        assert!(!root.join("usr/lib/postgresql/17/lib/bitcode").exists());
        // The database stays: the record of what was installed.
        assert!(root.join("var/lib/dpkg/status").exists());
        assert!(root.join("var/lib/dpkg/info/perl-base.list").exists());
        assert_eq!(pruned.files, 4);
    }

    #[test]
    fn what_is_not_there_is_an_error_naming_it() {
        let dir = tree();
        let err = prune(dir.path(), &["python3".into()], &[]).unwrap_err();
        assert!(
            err.to_string().contains("prune_packages names python3"),
            "{err}"
        );
        let err = prune(dir.path(), &[], &["usr/bin/openssl".into()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("prune_paths names usr/bin/openssl"),
            "{err}"
        );
    }

    #[test]
    fn nothing_outside_the_tree_is_ever_removed() {
        let dir = tree();
        let root = dir.path();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("keep");
        fs::write(&victim, "x").unwrap();
        let escape = format!("/usr/../../{}", victim.display());
        fs::write(
            root.join("var/lib/dpkg/info/evil.list"),
            format!("{escape}\n"),
        )
        .unwrap();
        let err = prune(root, &["evil".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("not a plain path"), "{err}");
        for bad in ["../keep", "usr/../../keep", ""] {
            assert!(prune(root, &[], &[bad.into()]).is_err(), "{bad:?}");
        }
        assert!(prune(root, &["../evil".into()], &[]).is_err());
        assert!(victim.exists());
        assert!(
            root.join("usr/bin/perl").exists(),
            "a refused prune removes nothing before it"
        );
    }
}
