//! The Rust crates compiled into the assessor binary, for the SBOM.
//!
//! Source: `cargo metadata --format-version 1 --locked --filter-platform
//! TRIPLE` of the workspace. Cargo evaluates the target-specific
//! dependencies (`[target.'cfg(...)'.dependencies]`) for the triple; the
//! rest is done here.
//!
//! Why not simply walk cargo's resolve graph: it is the *whole workspace's*
//! graph (every member, dev-dependencies included, features unified across
//! them and across platforms), which holds more than one binary links.
//! Walked naively from `assessor` it adds `ring` and three other crates that
//! no `cargo build -p assessor` for the target compiles. So [`closure`] resolves features itself, as cargo's
//! feature resolver 2 does for that build: start from the package's
//! `default` feature, follow normal dependencies only (no dev, no build
//! dependencies), and activate an optional dependency only when an enabled
//! feature asks for it (`dep:x`, `x/f`, an implicit feature `x`); `x?/f`
//! enables `f` only if `x` is active anyway. Proc macros and their
//! dependencies are resolved apart from the target's, as resolver 2 does;
//! they are listed too (their generated code is in the binary).
//!
//! Workspace members (the assessor itself) are left out: they are this
//! repository, identified by the manifest's `build.source_commit`. A crate
//! vendored into the repository (a path package that is not a member, such as
//! the patched `vendor/tiberius`) is third-party code and is listed, with its
//! source as `path:` and its folder relative to the workspace root.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::tool::{self, ToolError};

/// The target the appliance's binaries are built for.
pub const TARGET_X86_64: &str = "x86_64-unknown-linux-gnu";

/// crates.io's index, as cargo names it in `source` (git and sparse protocols).
const CRATES_IO: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// Why the crate list could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CratesError {
    #[error(
        "cannot list the assessor's crates for the SBOM: `cargo metadata` failed in {dir} (is it inside this workspace, with Cargo.lock up to date?): {source}"
    )]
    Cargo {
        dir: PathBuf,
        #[source]
        source: ToolError,
    },
    #[error("cargo metadata output is not the JSON this builder reads: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cargo metadata has no resolve graph: run it without --no-deps")]
    NoResolve,
    #[error("no workspace member named {package} in cargo metadata: build from this workspace")]
    NoRoot { package: String },
    #[error("cargo metadata is inconsistent: {0}")]
    Inconsistent(String),
    #[error(
        "no Rust target for the Debian architecture {arch}: the SBOM's crate list knows amd64 and arm64"
    )]
    Architecture { arch: String },
}

/// One crate of the closure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Crate {
    pub name: String,
    pub version: String,
    /// SPDX license expression from the crate's manifest (legacy `A/B`
    /// written as `A OR B`); `None` when the crate gives only a license file.
    pub license: Option<String>,
    /// `None` for crates.io; otherwise cargo's source id (another registry,
    /// git), or `path:FOLDER` for a crate vendored into this repository.
    pub source: Option<String>,
}

/// The Rust target triple for a Debian architecture.
pub fn target_for(debian_arch: &str) -> Result<&'static str, CratesError> {
    match debian_arch {
        "amd64" => Ok(TARGET_X86_64),
        "arm64" => Ok("aarch64-unknown-linux-gnu"),
        other => Err(CratesError::Architecture {
            arch: other.to_owned(),
        }),
    }
}

/// Runs `cargo metadata` in `dir` (any folder of the workspace) for `target`
/// and returns the crates compiled into `package` with its default features.
/// `offline` adds `--offline` (the sources must then be in cargo's cache).
pub fn from_workspace(
    dir: &Path,
    package: &str,
    target: &str,
    offline: bool,
) -> Result<Vec<Crate>, CratesError> {
    // Under `cargo run` / `cargo test`, CARGO names the cargo in use.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args([
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--filter-platform",
        target,
    ]);
    if offline {
        cmd.arg("--offline");
    }
    cmd.current_dir(dir);
    let out = tool::run(&mut cmd).map_err(|source| CratesError::Cargo {
        dir: dir.to_owned(),
        source,
    })?;
    closure(&out.stdout, package)
}

#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    #[serde(default)]
    workspace_root: Option<PathBuf>,
    resolve: Option<Resolve>,
}

#[derive(Debug, Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    dependencies: Vec<Dependency>,
    #[serde(default)]
    features: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Target {
    #[serde(default)]
    kind: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    name: String,
    #[serde(default)]
    rename: Option<String>,
    /// `None` for a normal dependency, `dev` or `build` otherwise.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default = "yes")]
    uses_default_features: bool,
    #[serde(default)]
    features: Vec<String>,
    /// The `cfg(...)` or triple the dependency is limited to.
    #[serde(default)]
    target: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    id: String,
    #[serde(default)]
    deps: Vec<NodeDep>,
}

#[derive(Debug, Deserialize)]
struct NodeDep {
    /// The name the dependent uses (`rename` or the library's name, `_` for `-`).
    name: String,
    pkg: String,
    #[serde(default)]
    dep_kinds: Vec<DepKind>,
}

#[derive(Debug, Deserialize)]
struct DepKind {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

impl Package {
    fn is_proc_macro(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.kind.iter().any(|k| k == "proc-macro"))
    }

    fn is_optional_dep(&self, toml_name: &str) -> bool {
        self.dependencies
            .iter()
            .any(|d| d.optional && d.toml_name() == toml_name)
    }
}

impl Dependency {
    /// The key in the dependent's Cargo.toml, which features refer to.
    fn toml_name(&self) -> &str {
        self.rename.as_deref().unwrap_or(&self.name)
    }
}

/// What is enabled in one compiled instance of a package (target or host).
#[derive(Debug, Default)]
struct Unit {
    features: BTreeSet<String>,
    /// Optional dependencies (Cargo.toml keys) an enabled feature activated.
    active: BTreeSet<String>,
    /// Features to enable on a dependency (`dep/feature`).
    dep_features: BTreeMap<String, BTreeSet<String>>,
    /// Features to enable on a dependency if it is active (`dep?/feature`).
    weak_features: BTreeMap<String, BTreeSet<String>>,
}

impl Unit {
    /// Enables `feature` of `pkg`; false when it was already on.
    fn enable(&mut self, pkg: &Package, feature: &str) -> bool {
        if !self.features.insert(feature.to_owned()) {
            return false;
        }
        match pkg.features.get(feature) {
            Some(values) => {
                for v in values {
                    self.apply(pkg, v);
                }
            }
            // An optional dependency's implicit feature, if cargo did not list it.
            None if pkg.is_optional_dep(feature) => {
                self.active.insert(feature.to_owned());
            }
            None => {}
        }
        true
    }

    fn apply(&mut self, pkg: &Package, value: &str) {
        if let Some(dep) = value.strip_prefix("dep:") {
            self.active.insert(dep.to_owned());
        } else if let Some((dep, feature)) = value.split_once('/') {
            match dep.strip_suffix('?') {
                Some(weak) => {
                    self.weak_features
                        .entry(weak.to_owned())
                        .or_default()
                        .insert(feature.to_owned());
                }
                None => {
                    if pkg.is_optional_dep(dep) {
                        self.active.insert(dep.to_owned());
                    }
                    self.dep_features
                        .entry(dep.to_owned())
                        .or_default()
                        .insert(feature.to_owned());
                }
            }
        } else {
            self.enable(pkg, value);
        }
    }
}

/// Turns legacy `MIT/Apache-2.0` into the SPDX expression `MIT OR Apache-2.0`.
pub fn spdx_license(license: &str) -> String {
    if license.contains('/') {
        license
            .split('/')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" OR ")
    } else {
        license.trim().to_owned()
    }
}

/// The crates compiled into workspace member `package` with its default
/// features, from `cargo metadata --format-version 1 --filter-platform
/// TRIPLE` output: normal dependencies only, features resolved as above.
/// Sorted by name and version; path packages are left out.
pub fn closure(metadata_json: &[u8], package: &str) -> Result<Vec<Crate>, CratesError> {
    let meta: Metadata = serde_json::from_slice(metadata_json)?;
    let resolve = meta.resolve.as_ref().ok_or(CratesError::NoResolve)?;
    let index: HashMap<&str, usize> = meta
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let nodes: HashMap<&str, &Node> = resolve.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let root = meta
        .workspace_members
        .iter()
        .filter_map(|id| index.get(id.as_str()).copied())
        .find(|&i| meta.packages[i].name == package)
        .ok_or_else(|| CratesError::NoRoot {
            package: package.to_owned(),
        })?;

    // (package index, built for the host) -> what is enabled in it.
    let mut units: HashMap<(usize, bool), Unit> = HashMap::new();
    let mut queue: VecDeque<(usize, bool)> = VecDeque::new();
    let root_unit = units.entry((root, false)).or_default();
    if meta.packages[root].features.contains_key("default") {
        root_unit.enable(&meta.packages[root], "default");
    }
    queue.push_back((root, false));

    while let Some((pi, host)) = queue.pop_front() {
        let pkg = &meta.packages[pi];
        let node = nodes.get(pkg.id.as_str()).ok_or_else(|| {
            CratesError::Inconsistent(format!("{} has no node in the resolve graph", pkg.id))
        })?;
        // What the parent asks of each active dependency, computed first so
        // that the parent's unit is not borrowed while children change.
        let mut requests: Vec<((usize, bool), BTreeSet<String>)> = Vec::new();
        {
            let unit = units.entry((pi, host)).or_default();
            for nd in &node.deps {
                let targets: Vec<Option<&str>> = nd
                    .dep_kinds
                    .iter()
                    .filter(|k| k.kind.is_none())
                    .map(|k| k.target.as_deref())
                    .collect();
                if targets.is_empty() {
                    continue; // dev or build only
                }
                let ci = *index.get(nd.pkg.as_str()).ok_or_else(|| {
                    CratesError::Inconsistent(format!("{} depends on unknown {}", pkg.id, nd.pkg))
                })?;
                let child = &meta.packages[ci];
                let decls: Vec<&Dependency> = pkg
                    .dependencies
                    .iter()
                    .filter(|d| d.kind.is_none())
                    .filter(|d| match &d.rename {
                        Some(r) => r.replace('-', "_") == nd.name,
                        None => d.name == child.name,
                    })
                    .filter(|d| targets.contains(&d.target.as_deref()))
                    .filter(|d| !d.optional || unit.active.contains(d.toml_name()))
                    .collect();
                let Some(first) = decls.first() else {
                    continue; // an optional dependency nothing activated
                };
                let key = first.toml_name();
                let mut wanted: BTreeSet<String> = BTreeSet::new();
                for d in &decls {
                    wanted.extend(d.features.iter().cloned());
                    if d.uses_default_features {
                        wanted.insert("default".to_owned());
                    }
                }
                for map in [&unit.dep_features, &unit.weak_features] {
                    if let Some(fs) = map.get(key) {
                        wanted.extend(fs.iter().cloned());
                    }
                }
                requests.push(((ci, host || child.is_proc_macro()), wanted));
            }
        }
        for (child_key, wanted) in requests {
            let child = &meta.packages[child_key.0];
            let mut changed = !units.contains_key(&child_key);
            let unit = units.entry(child_key).or_default();
            for f in &wanted {
                if f == "default" && !child.features.contains_key("default") {
                    continue;
                }
                changed |= unit.enable(child, f);
            }
            if changed && !queue.contains(&child_key) {
                queue.push_back(child_key);
            }
        }
    }

    let members: BTreeSet<&str> = meta.workspace_members.iter().map(String::as_str).collect();
    let mut out: Vec<Crate> = units
        .keys()
        .map(|&(i, _)| &meta.packages[i])
        .filter(|p| !members.contains(p.id.as_str()))
        .map(|p| Crate {
            name: p.name.clone(),
            version: p.version.clone(),
            license: p.license.as_deref().map(spdx_license),
            source: match &p.source {
                Some(s) => Some(s.clone()).filter(|s| !CRATES_IO.contains(&s.as_str())),
                None => Some(vendored_source(p, meta.workspace_root.as_deref())),
            },
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// `path:vendor/NAME` for a vendored crate: its folder relative to the
/// workspace root (never an absolute path of the build machine).
fn vendored_source(package: &Package, root: Option<&Path>) -> String {
    let folder = package
        .manifest_path
        .as_deref()
        .and_then(Path::parent)
        .and_then(|dir| root.and_then(|root| dir.strip_prefix(root).ok()))
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|| package.name.clone());
    format!("path:{folder}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REG: &str = "registry+https://github.com/rust-lang/crates.io-index";

    fn id(name: &str) -> String {
        format!("{REG}#{name}@1.0.0")
    }

    fn pkg(
        name: &str,
        license: Option<&str>,
        deps: serde_json::Value,
        features: serde_json::Value,
    ) -> serde_json::Value {
        json!({
            "id": id(name), "name": name, "version": "1.0.0", "license": license,
            "source": REG, "dependencies": deps, "features": features,
            "targets": [{"kind": ["lib"]}],
        })
    }

    fn dep(name: &str, kind: Option<&str>, optional: bool, features: &[&str]) -> serde_json::Value {
        json!({"name": name, "rename": null, "kind": kind, "optional": optional,
               "uses_default_features": true, "features": features, "target": null})
    }

    fn edge(name: &str, kinds: serde_json::Value) -> serde_json::Value {
        json!({"name": name.replace('-', "_"), "pkg": id(name), "dep_kinds": kinds})
    }

    fn normal() -> serde_json::Value {
        json!([{"kind": null, "target": null}])
    }

    /// A workspace like ours in miniature: `app` (the assessor) with a
    /// default feature pulling an optional dependency, a dev-dependency, a
    /// build-dependency, a proc macro, a weak feature, and a second member
    /// (`bench`) whose features cargo unifies into the resolve graph.
    fn canned() -> Vec<u8> {
        let app_id = "path+file:///ws/app#0.1.0";
        let bench_id = "path+file:///ws/bench#0.1.0";
        let doc = json!({
            "packages": [
                {
                    "id": app_id, "name": "app", "version": "0.1.0", "license": "Apache-2.0",
                    "source": null,
                    "dependencies": [
                        dep("tls", None, false, &[]),
                        dep("sdk", None, true, &[]),
                        dep("unused-opt", None, true, &[]),
                        dep("derive", None, false, &[]),
                        dep("tempdir", Some("dev"), false, &[]),
                        dep("cc", Some("build"), false, &[]),
                    ],
                    "features": {"default": ["cloud"], "cloud": ["dep:sdk", "tls?/fast"], "extra": ["dep:unused-opt"]},
                    "targets": [{"kind": ["lib"]}, {"kind": ["bin"]}],
                },
                {
                    "id": bench_id, "name": "bench", "version": "0.1.0", "license": null,
                    "source": null,
                    "dependencies": [dep("tls", None, false, &["ring"]), dep("app", None, false, &["extra"])],
                    "features": {}, "targets": [{"kind": ["lib"]}],
                },
                pkg("tls", Some("MIT/Apache-2.0"),
                    json!([dep("ring", None, true, &[]), dep("aws-lc", None, true, &[]), dep("simd", None, true, &[])]),
                    json!({"default": ["aws-lc"], "aws-lc": ["dep:aws-lc"], "ring": ["dep:ring"], "fast": ["dep:simd"]})),
                pkg("sdk", Some("Apache-2.0"), json!([dep("tls", None, false, &[])]), json!({})),
                pkg("unused-opt", Some("MIT"), json!([]), json!({})),
                pkg("ring", Some("ISC"), json!([]), json!({})),
                pkg("aws-lc", Some("ISC AND (Apache-2.0 OR ISC)"), json!([]), json!({})),
                pkg("simd", None, json!([]), json!({})),
                {
                    "id": id("derive"), "name": "derive", "version": "1.0.0", "license": "MIT",
                    "source": REG,
                    "dependencies": [dep("syn", None, false, &[])],
                    "features": {}, "targets": [{"kind": ["proc-macro"]}],
                },
                pkg("syn", Some("MIT OR Apache-2.0"), json!([]), json!({})),
                pkg("tempdir", Some("MIT"), json!([]), json!({})),
                pkg("cc", Some("MIT"), json!([]), json!({})),
            ],
            "workspace_members": [app_id, bench_id],
            "resolve": {
                "nodes": [
                    {"id": app_id, "deps": [
                        edge("tls", normal()), edge("sdk", normal()), edge("unused-opt", normal()),
                        edge("derive", normal()),
                        edge("tempdir", json!([{"kind": "dev", "target": null}])),
                        edge("cc", json!([{"kind": "build", "target": null}])),
                    ]},
                    {"id": bench_id, "deps": [edge("tls", normal()),
                        {"name": "app", "pkg": app_id, "dep_kinds": normal()}]},
                    // The workspace-wide graph: ring is there because bench asks for it.
                    {"id": id("tls"), "deps": [edge("ring", normal()), edge("aws-lc", normal()), edge("simd", normal())]},
                    {"id": id("sdk"), "deps": [edge("tls", normal())]},
                    {"id": id("unused-opt"), "deps": []},
                    {"id": id("ring"), "deps": []},
                    {"id": id("aws-lc"), "deps": []},
                    {"id": id("simd"), "deps": []},
                    {"id": id("derive"), "deps": [edge("syn", normal())]},
                    {"id": id("syn"), "deps": []},
                    {"id": id("tempdir"), "deps": []},
                    {"id": id("cc"), "deps": []},
                ],
            },
        });
        serde_json::to_vec(&doc).unwrap()
    }

    fn names(crates: &[Crate]) -> Vec<&str> {
        crates.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn the_closure_follows_default_features_and_normal_dependencies_only() {
        let crates = closure(&canned(), "app").unwrap();
        // sdk: activated by the default feature; tls's default aws-lc; simd
        // through the weak `tls?/fast` (tls is active); derive and its syn.
        // Not: ring (only the other member asks for it), unused-opt (a
        // non-default feature), tempdir (dev), cc (build), the path packages.
        assert_eq!(
            names(&crates),
            ["aws-lc", "derive", "sdk", "simd", "syn", "tls"]
        );
        let tls = crates.iter().find(|c| c.name == "tls").unwrap();
        assert_eq!(tls.license.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(tls.version, "1.0.0");
        assert_eq!(tls.source, None, "crates.io is the default source");
        let simd = crates.iter().find(|c| c.name == "simd").unwrap();
        assert_eq!(simd.license, None);
    }

    #[test]
    fn the_other_member_gets_its_own_closure_and_unknown_members_are_errors() {
        let crates = closure(&canned(), "bench").unwrap();
        assert!(names(&crates).contains(&"ring"), "{crates:?}");
        assert!(
            names(&crates).contains(&"unused-opt"),
            "bench enables app/extra"
        );
        let err = closure(&canned(), "tls").unwrap_err();
        assert!(matches!(err, CratesError::NoRoot { .. }), "{err}");
        let err = closure(
            br#"{"packages": [], "workspace_members": [], "resolve": null}"#,
            "app",
        )
        .unwrap_err();
        assert!(err.to_string().contains("--no-deps"), "{err}");
    }

    #[test]
    fn legacy_slash_licenses_become_spdx_or() {
        assert_eq!(spdx_license("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(spdx_license("Apache-2.0 / MIT"), "Apache-2.0 OR MIT");
        assert_eq!(
            spdx_license("(MIT OR Apache-2.0) AND Unicode-3.0"),
            "(MIT OR Apache-2.0) AND Unicode-3.0"
        );
    }

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The real workspace: `cargo metadata --offline` resolved here must
    /// give exactly what `cargo tree -p assessor -e normal` (cargo's own
    /// feature resolution of that build) prints.
    #[test]
    fn the_assessor_closure_of_this_workspace_matches_cargo_tree() {
        let crates = from_workspace(&workspace(), "assessor", TARGET_X86_64, true)
            .expect("cargo metadata --offline on this workspace");
        let have: BTreeSet<String> = crates
            .iter()
            .map(|c| format!("{} v{}", c.name, c.version))
            .collect();
        for present in [
            "tiberius",
            "rustls",
            "aws-lc-rs",
            "aws-sdk-s3",
            "tokio",
            "serde",
        ] {
            assert!(
                crates.iter().any(|c| c.name == present),
                "{present} missing"
            );
        }
        // Dev-dependencies, other members, and `ring`, which the
        // workspace-wide resolve graph holds but no build for the target
        // compiles (one crypto provider: aws-lc-rs).
        for absent in [
            "criterion",
            "tempfile",
            "testbed",
            "assessor",
            "image-builder",
            "ring",
            "rcgen",
        ] {
            assert!(!crates.iter().any(|c| c.name == absent), "{absent} present");
        }
        // The patched driver is listed, as vendored, with a relative folder.
        let tiberius = crates.iter().find(|c| c.name == "tiberius").unwrap();
        assert_eq!(tiberius.source.as_deref(), Some("path:vendor/tiberius"));
        let rustls = crates.iter().find(|c| c.name == "rustls").unwrap();
        assert!(
            rustls
                .license
                .as_deref()
                .is_some_and(|l| l.contains("Apache-2.0"))
        );

        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let tree = std::process::Command::new(cargo)
            .args([
                "tree",
                "-p",
                "assessor",
                "-e",
                "normal",
                "--target",
                TARGET_X86_64,
            ])
            .args([
                "--prefix",
                "none",
                "--format",
                "{p}",
                "--locked",
                "--offline",
            ])
            .current_dir(workspace())
            .output()
            .expect("run cargo tree");
        assert!(
            tree.status.success(),
            "{}",
            String::from_utf8_lossy(&tree.stderr)
        );
        let want: BTreeSet<String> = String::from_utf8_lossy(&tree.stdout)
            .lines()
            // Path packages other than the vendored ones are members.
            .filter(|l| !l.contains("(/") || l.contains("/vendor/"))
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some(format!("{} {}", w.next()?, w.next()?))
            })
            .collect();
        assert_eq!(have, want);
    }
}
