//! The `${Name}` placeholders of the standalone documents in `policies/`.
//!
//! - [`substitute`] replaces them with realistic values, because the checkers
//!   validate ARNs (parliament reports a malformed ARN as a finding) and a
//!   placeholder left behind is an error, not a silent pass.
//! - [`render`] turns the intrinsics of the template's policies into the same
//!   placeholders, so a document and the template statement it mirrors can be
//!   compared for equality: the documents are what customers read and
//!   parliament checks, the template is what is deployed, and they must not
//!   drift apart.

use serde_json::Value;

use crate::{GateError, Result};

/// Every placeholder and the value the checkers see instead.
pub const EXAMPLE_VALUES: &[(&str, &str)] = &[
    ("Partition", "aws"),
    ("Region", "eu-west-1"),
    ("AccountId", "111122223333"),
    ("StackName", "sqlassess"),
    (
        "SecretArn",
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/sql-01-AbCdEf",
    ),
    (
        "KeyArn",
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    (
        "ImageKeyArn",
        "arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09ba-87dc-65fe-0987654321ba",
    ),
    ("BucketName", "example-assessment-reports"),
    ("ReportPrefix", "assessments"),
    ("LogGroupName", "/sqlassess/sqlassess"),
    (
        "InstanceRoleArn",
        "arn:aws:iam::111122223333:role/sqlassess-InstanceRole-1A2B3C4D5E6F",
    ),
    ("VpcId", "vpc-0a1b2c3d4e5f67890"),
    ("SubnetId", "subnet-0a1b2c3d4e5f67890"),
    ("RouteTableId", "rtb-0a1b2c3d4e5f67890"),
    ("AmiId", "ami-0a1b2c3d4e5f67890"),
    (
        "BoundaryArn",
        "arn:aws:iam::111122223333:policy/sqlassess-appliance-boundary",
    ),
    (
        "ReportReaderRoleArn",
        "arn:aws:iam::111122223333:role/assessment-report-reader",
    ),
    ("ShareAccountId", "444455556666"),
    // Central delivery (docs/deploy.md, "Many accounts"): the central
    // account's report key, and that account (the boundary's second resource
    // account; for one account, the appliance's own).
    (
        "ReportKeyArn",
        "arn:aws:kms:eu-west-1:999988887777:key/5678abcd-56ef-78ab-90cd-5678901234ef",
    ),
    ("ReportAccountId", "999988887777"),
    // cloudformation/estate.yaml's DatabaseName (also its workgroup's name).
    ("EstateDatabase", "sqlassess_estate"),
];

/// The example value of one placeholder.
pub fn example(name: &str) -> Option<&'static str> {
    EXAMPLE_VALUES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// Replaces every `${Name}` in `text`; an unknown placeholder is an error.
/// IAM policy variables (`${aws:VpcSourceIp}`) are kept: IAM resolves them.
pub fn substitute(text: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| GateError::Parse {
            what: "a policy document".into(),
            detail: "an unterminated ${ placeholder".into(),
        })?;
        let name = &after[..end];
        if name.starts_with("aws:") {
            out.push_str(&format!("${{{name}}}"));
        } else {
            out.push_str(example(name).ok_or_else(|| GateError::Parse {
                what: "a policy document".into(),
                detail: format!("unknown placeholder ${{{name}}}; add it to EXAMPLE_VALUES"),
            })?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholder text a template reference stands for.
fn render_ref(name: &str) -> Result<String> {
    let placeholder = match name {
        "AWS::Partition" => "${Partition}",
        "AWS::Region" => "${Region}",
        "AWS::AccountId" => "${AccountId}",
        "AWS::StackName" => "${StackName}",
        "DbSecretArn" => "${SecretArn}",
        "KmsKeyArn" | "Key" => "${KeyArn}",
        "ReportKmsKeyArn" => "${ReportKeyArn}",
        "ReportBucketName" | "ReportBucket" => "${BucketName}",
        "ReportPrefix" => "${ReportPrefix}",
        "LogGroup" => "${LogGroupName}",
        "VpcId" => "${VpcId}",
        "ReportReaderRoleArn" => "${ReportReaderRoleArn}",
        other => {
            return Err(GateError::Parse {
                what: "a template policy".into(),
                detail: format!("no placeholder for Ref {other}"),
            });
        }
    };
    Ok(placeholder.to_owned())
}

/// The placeholder text of `Fn::GetAtt [id, attribute]`.
fn render_get_att(id: &str, attribute: &str) -> Result<String> {
    match (id, attribute) {
        ("Key", "Arn") => Ok("${KeyArn}".into()),
        ("InstanceRole", "Arn") => Ok("${InstanceRoleArn}".into()),
        ("ReportBucket", "Arn") => Ok("arn:${Partition}:s3:::${BucketName}".into()),
        _ => Err(GateError::Parse {
            what: "a template policy".into(),
            detail: format!("no placeholder for Fn::GetAtt {id}.{attribute}"),
        }),
    }
}

fn render_sub(
    template: &str,
    vars: &serde_json::Map<String, Value>,
    central: bool,
) -> Result<String> {
    // The log group's name is built from the stack name in the key policy
    // (the group cannot be referenced there without a cycle).
    let template = template.replace("/sqlassess/${AWS::StackName}", "${LogGroupName}");
    let mut out = String::with_capacity(template.len());
    let mut rest = template.as_str();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| GateError::Parse {
            what: "a template policy".into(),
            detail: "an unterminated ${ in Fn::Sub".into(),
        })?;
        let token = &after[..end];
        let rendered = if token == "LogGroupName" {
            "${LogGroupName}".to_owned()
        } else if let Some(value) = vars.get(token) {
            match render_for(value, central)? {
                Value::String(s) => s,
                other => {
                    return Err(GateError::Parse {
                        what: "a template policy".into(),
                        detail: format!("Fn::Sub variable {token} renders to {other}"),
                    });
                }
            }
        } else if let Some((id, attribute)) = token.split_once('.') {
            render_get_att(id, attribute)?
        } else {
            render_ref(token)?
        };
        out.push_str(&rendered);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders a template value (a policy document, typically) with every
/// intrinsic replaced by placeholder text, as deployed without central
/// delivery (the standalone documents describe that stack). `Fn::If` must
/// render to the same text on both branches (the stack's key or the
/// customer's, for example): anything else is an error, because a document
/// cannot say both.
pub fn render(value: &Value) -> Result<Value> {
    render_for(value, false)
}

/// [`render`] with the template's `CentralDelivery` condition true
/// (`ReportKmsKeyArn` given) or false: that condition's `Fn::If` takes its
/// branch instead of needing both to agree, and a `Ref: AWS::NoValue` it
/// picks drops out of its list.
pub fn render_for(value: &Value, central: bool) -> Result<Value> {
    let render = |v: &Value| render_for(v, central);
    match value {
        Value::Object(map) if map.len() == 1 => {
            let Some((key, arg)) = map.iter().next() else {
                return Ok(value.clone());
            };
            match key.as_str() {
                // Only in a list, which drops it (below).
                "Ref" if arg == "AWS::NoValue" => Ok(Value::Null),
                "Ref" => {
                    let name = arg.as_str().unwrap_or_default();
                    Ok(Value::String(render_ref(name)?))
                }
                // The central account, taken from the central key's ARN.
                "Fn::Select"
                    if *arg
                        == serde_json::json!([4, { "Fn::Split": [":", { "Ref": "ReportKmsKeyArn" }] }]) =>
                {
                    Ok(Value::String("${ReportAccountId}".into()))
                }
                "Fn::GetAtt" => {
                    let id = arg.get(0).and_then(Value::as_str).unwrap_or_default();
                    let attribute = arg.get(1).and_then(Value::as_str).unwrap_or_default();
                    Ok(Value::String(render_get_att(id, attribute)?))
                }
                "Fn::Sub" => {
                    let empty = serde_json::Map::new();
                    let (template, vars) = match arg {
                        Value::String(s) => (s.as_str(), &empty),
                        Value::Array(parts) => (
                            parts.first().and_then(Value::as_str).unwrap_or_default(),
                            parts.get(1).and_then(Value::as_object).unwrap_or(&empty),
                        ),
                        _ => ("", &empty),
                    };
                    Ok(Value::String(render_sub(template, vars, central)?))
                }
                "Fn::If" if arg.get(0).and_then(Value::as_str) == Some("CentralDelivery") => {
                    render(arg.get(if central { 1 } else { 2 }).unwrap_or(&Value::Null))
                }
                "Fn::If" => {
                    let yes = render(arg.get(1).unwrap_or(&Value::Null))?;
                    let no = render(arg.get(2).unwrap_or(&Value::Null))?;
                    if yes == no {
                        Ok(yes)
                    } else {
                        Err(GateError::Parse {
                            what: "a template policy".into(),
                            detail: format!("Fn::If branches differ: {yes} vs {no}"),
                        })
                    }
                }
                _ => Ok(Value::Object(
                    std::iter::once(Ok((key.clone(), render(arg)?)))
                        .collect::<Result<serde_json::Map<_, _>>>()?,
                )),
            }
        }
        Value::Object(map) => Ok(Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render(v)?)))
                .collect::<Result<serde_json::Map<_, _>>>()?,
        )),
        Value::Array(items) => Ok(Value::Array(
            items
                .iter()
                .map(render)
                .filter(|item| !matches!(item, Ok(Value::Null)))
                .collect::<Result<Vec<_>>>()?,
        )),
        other => Ok(other.clone()),
    }
}

/// Reads `policies/<name>` as JSON with its placeholders kept.
pub fn document(name: &str) -> Result<Value> {
    let relative = format!("policies/{name}");
    let text = crate::read_repo_file(&relative)?;
    serde_json::from_str(&text).map_err(|e| GateError::Parse {
        what: relative,
        detail: e.to_string(),
    })
}

/// The policy documents in `policies/` (every `*.json`), sorted.
pub fn document_names() -> Result<Vec<String>> {
    let dir = crate::repo_root().join("policies");
    let entries = std::fs::read_dir(&dir).map_err(|source| GateError::Read {
        path: dir.display().to_string(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    Ok(names)
}
