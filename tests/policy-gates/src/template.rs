//! A CloudFormation template read as data.
//!
//! The project's templates write intrinsics in their long form (`Ref:`,
//! `Fn::Sub:`), so they are plain YAML and need no CloudFormation-aware
//! parser; a short-form tag (`!Ref`) is an error here, which keeps it so.

use std::path::Path;

use serde_json::Value;

use crate::{GateError, Result};

/// The appliance stack, relative to the repository root.
pub const APPLIANCE: &str = "cloudformation/appliance.yaml";
/// The deliberately bad template (one violation per cfn-guard rule).
pub const BAD: &str = "tests/policy/bad-appliance.yaml";

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The file, relative to the repository root.
    pub path: String,
    /// The whole document.
    pub doc: Value,
    /// The text as written.
    pub text: String,
}

impl Template {
    /// Reads and parses a template below the repository root.
    pub fn load(relative: &str) -> Result<Template> {
        let text = crate::read_repo_file(relative)?;
        let doc: Value = serde_yaml_ng::from_str(&text).map_err(|e| GateError::Parse {
            what: relative.to_owned(),
            detail: format!("not plain YAML ({e}); write intrinsics in long form"),
        })?;
        if !doc.get("Resources").is_some_and(Value::is_object) {
            return Err(GateError::Parse {
                what: relative.to_owned(),
                detail: "no Resources mapping".into(),
            });
        }
        Ok(Template {
            path: relative.to_owned(),
            doc,
            text,
        })
    }

    /// The appliance stack.
    pub fn appliance() -> Result<Template> {
        Template::load(APPLIANCE)
    }

    /// The absolute path, for checkers.
    pub fn absolute_path(&self) -> std::path::PathBuf {
        crate::repo_root().join(Path::new(&self.path))
    }

    /// One resource by logical id.
    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.doc.get("Resources")?.get(logical_id)
    }

    /// A resource's `Properties`, or `Null` when absent.
    pub fn properties(&self, logical_id: &str) -> &Value {
        self.resource(logical_id)
            .and_then(|r| r.get("Properties"))
            .unwrap_or(&Value::Null)
    }

    /// Every resource as (logical id, resource), in file order.
    pub fn resources(&self) -> Vec<(&str, &Value)> {
        self.doc
            .get("Resources")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    /// The logical ids of the resources of one type, in file order.
    pub fn ids_of_type(&self, resource_type: &str) -> Vec<&str> {
        self.resources()
            .into_iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(resource_type))
            .map(|(id, _)| id)
            .collect()
    }

    /// The parameter names.
    pub fn parameters(&self) -> Vec<&str> {
        self.doc
            .get("Parameters")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

/// `{"Ref": name}`, the shape a reference has in a long-form template.
pub fn reference(name: &str) -> Value {
    serde_json::json!({ "Ref": name })
}

/// `{"Fn::GetAtt": [id, attribute]}`.
pub fn get_att(logical_id: &str, attribute: &str) -> Value {
    serde_json::json!({ "Fn::GetAtt": [logical_id, attribute] })
}

/// A value as a list: a list stays, a scalar or map becomes a list of one.
pub fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}
