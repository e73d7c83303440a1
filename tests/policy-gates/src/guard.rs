//! cfn-guard's structured report (`--structured -S none -o json`), reduced to
//! what the gates assert: each rule's status and the resources it blamed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::{GateError, Result};

/// The guard rules directory, relative to the repository root.
pub const RULES_DIR: &str = "policies/guard";

/// Rules for the standalone policy documents (deployer, publisher): each file
/// `NAME.guard` is run on `policies/NAME.json`, never on the stack.
pub const DOCUMENT_RULES_DIR: &str = "policies/guard-documents";

/// How one rule came out on one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail {
        /// Logical ids of the resources the failed checks point at.
        resources: BTreeSet<String>,
    },
    /// The rule did not apply (nothing it looks at is in the template).
    Skip,
}

/// Runs the rules of `rules` (a file or directory below the repository
/// root) on `data` (a path below the root, or absolute): cfn-guard's exit
/// code and each rule's outcome.
pub fn validate(rules: &str, data: &str) -> Result<(Option<i32>, BTreeMap<String, Status>)> {
    let out = crate::checkers::Checker::CfnGuard.run(
        [
            "validate",
            "--rules",
            rules,
            "--data",
            data,
            "--structured",
            "--show-summary",
            "none",
            "--output-format",
            "json",
        ],
        None,
    )?;
    let rules = parse_report(&out.stdout).map_err(|e| GateError::Parse {
        what: "cfn-guard's report".into(),
        detail: format!("{e}\n{}", out.transcript()),
    })?;
    Ok((out.code, rules))
}

/// Reads the report of one data file into rule name -> status.
pub fn parse_report(json: &str) -> Result<BTreeMap<String, Status>> {
    let bad = |detail: String| GateError::Parse {
        what: "cfn-guard's structured report".into(),
        detail,
    };
    let files: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let [file] = files.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err(bad(format!("expected one data file, got: {files}")));
    };
    let mut rules = BTreeMap::new();
    for (key, status) in [
        ("compliant", Status::Pass),
        ("not_applicable", Status::Skip),
    ] {
        for name in file
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().ok_or_else(|| bad(format!("{key}: {name}")))?;
            rules.insert(name.to_owned(), status.clone());
        }
    }
    for failed in file
        .get("not_compliant")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let rule = failed.get("Rule").ok_or_else(|| bad(failed.to_string()))?;
        let name = rule
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(rule.to_string()))?;
        let mut resources = BTreeSet::new();
        blamed_resources(rule.get("checks").unwrap_or(&Value::Null), &mut resources);
        rules.insert(name.to_owned(), Status::Fail { resources });
    }
    Ok(rules)
}

/// Collects the resources a failed check points at: the `/Resources/<id>`
/// prefix of each property path, or, for a check on the resource's key
/// itself (path `/Resources`), the key's value. Paths under `to` are what
/// the property was compared with (other resources), not the culprit.
fn blamed_resources(check: &Value, out: &mut BTreeSet<String>) {
    match check {
        Value::Object(map) => {
            if let Some(path) = map.get("path").and_then(Value::as_str) {
                if path == "/Resources" {
                    if let Some(id) = map.get("value").and_then(Value::as_str) {
                        out.insert(id.to_owned());
                    }
                } else if let Some(rest) = path.strip_prefix("/Resources/") {
                    let id = rest.split('/').next().unwrap_or(rest);
                    out.insert(id.to_owned());
                }
            }
            for (key, value) in map {
                if key != "to" {
                    blamed_resources(value, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| blamed_resources(v, out)),
        _ => {}
    }
}

/// A change to a template that must make `rule` fail, blaming `resource`.
pub struct Breakage {
    pub rule: &'static str,
    pub resource: &'static str,
    pub change: Box<dyn FnOnce(&mut Value)>,
}

impl std::fmt::Debug for Breakage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breakage")
            .field("rule", &self.rule)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl Breakage {
    pub fn new(
        rule: &'static str,
        resource: &'static str,
        change: impl FnOnce(&mut Value) + 'static,
    ) -> Self {
        Self {
            rule,
            resource,
            change: Box::new(change),
        }
    }
}

/// Holds the rules of `rules` (a directory below the repository root) to a
/// template: every rule passes on `template` as written, and each breakage,
/// applied alone to a copy written as JSON in `scratch`, fails its own rule
/// naming its resource while every other rule still passes (so a rule can
/// fail, and fails for the reason it states). Returns what did not hold,
/// empty when everything did.
pub fn breakages_caught(
    rules: &str,
    template: &str,
    scratch: &std::path::Path,
    breakages: Vec<Breakage>,
) -> Result<Vec<String>> {
    let defined = defined_rules_in(rules)?;
    let mut problems = Vec::new();
    let clean = validate(rules, template)?.1;
    for rule in &defined {
        if clean.get(rule) != Some(&Status::Pass) {
            problems.push(format!("{rule} on {template}: {:?}", clean.get(rule)));
        }
    }
    let path = scratch.join("template-changed.json");
    for Breakage {
        rule,
        resource,
        change,
    } in breakages
    {
        let mut doc = crate::template::Template::load(template)?.doc;
        change(&mut doc);
        let json = serde_json::to_vec_pretty(&doc).map_err(|e| GateError::Parse {
            what: template.to_owned(),
            detail: e.to_string(),
        })?;
        std::fs::write(&path, json).map_err(|source| GateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let outcome = validate(rules, &path.to_string_lossy())?.1;
        match outcome.get(rule) {
            Some(Status::Fail { resources }) if resources.contains(resource) => {}
            other => problems.push(format!(
                "{rule} did not fail naming {resource} on its breakage: {other:?}"
            )),
        }
        for other in defined.iter().filter(|r| *r != rule) {
            if outcome.get(other) != Some(&Status::Pass) {
                problems.push(format!(
                    "{other} on {rule}'s breakage of {resource}: {:?}",
                    outcome.get(other)
                ));
            }
        }
    }
    Ok(problems)
}

/// The top-level rules defined in the guard files (parameterised helper rules,
/// `rule name(arg)`, are not reported on their own and are left out).
pub fn defined_rules() -> Result<BTreeSet<String>> {
    defined_rules_in(RULES_DIR)
}

/// The top-level rules defined in the guard files of `dir` (below the
/// repository root).
pub fn defined_rules_in(dir: &str) -> Result<BTreeSet<String>> {
    let dir = crate::repo_root().join(dir);
    let entries = std::fs::read_dir(&dir).map_err(|source| GateError::Read {
        path: dir.display().to_string(),
        source,
    })?;
    let mut rules = BTreeSet::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("guard") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| GateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("rule ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !rest[name.len()..].starts_with('(') {
                rules.insert(name);
            }
        }
    }
    Ok(rules)
}

/// `s3_bucket_tls_only` -> `ViolatesS3BucketTlsOnly`: the logical id of the
/// resource in the bad template that breaks that rule.
pub fn violating_resource(rule: &str) -> String {
    let mut id = String::from("Violates");
    for word in rule.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.extend(first.to_uppercase());
            id.push_str(chars.as_str());
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violating_resource_names_follow_the_rule_names() {
        assert_eq!(
            violating_resource("s3_bucket_tls_only"),
            "ViolatesS3BucketTlsOnly"
        );
        assert_eq!(
            violating_resource("ec2_imdsv2_required"),
            "ViolatesEc2Imdsv2Required"
        );
    }

    #[test]
    fn blamed_resources_skip_the_compared_values() {
        let check = serde_json::json!({
            "InResolved": {
                "from": { "path": "/Resources", "value": "BadBucket" },
                "to": [{ "path": "/Resources/OtherPolicy/Properties/Bucket/Ref", "value": "Good" }]
            },
            "Resolved": { "from": { "path": "/Resources/Lt/Properties/X", "value": 1 } }
        });
        let mut out = BTreeSet::new();
        blamed_resources(&check, &mut out);
        assert_eq!(
            out,
            BTreeSet::from(["BadBucket".to_owned(), "Lt".to_owned()])
        );
    }
}
