//! A small evaluator of policy statements, enough to ask of the shipped
//! documents whether one request is allowed: explicit Deny wins, then any
//! Allow, else the implicit deny.
//!
//! It covers what the documents in `policies/` and the templates' bucket and
//! key policies use: `Action`/`NotAction` and `Resource`/`NotResource` with
//! `*` and `?` wildcards, the String, Arn and Bool condition operators (with
//! `IfExists`), `Null`, the `ForAnyValue:` and `ForAllValues:` set operators,
//! and `${aws:...}` policy variables in resources and condition values.
//! A resource policy's `Principal` (`*`, or `AWS` ARNs and account roots) is
//! matched against the request's `aws:PrincipalArn` and
//! `aws:PrincipalAccount`, so those keys stand for who is asking. Anything
//! else is an error, never a guess: a document that grows an operator this
//! does not know fails the tests loudly.

use std::collections::BTreeMap;

use serde_json::Value;

/// Why a policy could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("statement {sid}: unsupported condition operator {operator}")]
    Operator { sid: String, operator: String },
    #[error("statement {sid}: {detail}")]
    Shape { sid: String, detail: String },
}

/// The outcome of one request against one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    ExplicitlyDenied,
    /// No statement allows it.
    NotAllowed,
}

/// One API request: the action, the resource ARN and the request context
/// (condition keys; a multivalued key has several values).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    pub fn new(action: &str, resource: &str) -> Self {
        Self {
            action: action.to_owned(),
            resource: resource.to_owned(),
            context: BTreeMap::new(),
        }
    }

    /// Adds a condition key with its value(s).
    pub fn with(mut self, key: &str, values: &[&str]) -> Self {
        self.context.insert(
            key.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        );
        self
    }

    /// The key's values; condition keys are case-insensitive.
    fn values(&self, key: &str) -> Option<&Vec<String>> {
        self.context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
}

/// Evaluates `request` against the statements of `policy`.
pub fn evaluate(policy: &Value, request: &Request) -> Result<Decision, EvalError> {
    let mut allowed = false;
    for statement in list(&policy["Statement"]) {
        if !applies(statement, request)? {
            continue;
        }
        match statement["Effect"].as_str() {
            Some("Deny") => return Ok(Decision::ExplicitlyDenied),
            Some("Allow") => allowed = true,
            other => {
                return Err(EvalError::Shape {
                    sid: sid(statement),
                    detail: format!("Effect {other:?}"),
                });
            }
        }
    }
    Ok(if allowed {
        Decision::Allowed
    } else {
        Decision::NotAllowed
    })
}

fn sid(statement: &Value) -> String {
    statement["Sid"].as_str().unwrap_or("(no Sid)").to_owned()
}

fn list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn strings(value: &Value) -> Vec<&str> {
    list(value).into_iter().filter_map(Value::as_str).collect()
}

/// Whether the statement matches the request's action, resource and conditions.
fn applies(statement: &Value, request: &Request) -> Result<bool, EvalError> {
    let action = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(a), None) => strings(a).iter().any(|p| {
            wildcard(
                &p.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        }),
        (None, Some(a)) => !strings(a).iter().any(|p| {
            wildcard(
                &p.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        }),
        _ => {
            return Err(EvalError::Shape {
                sid: sid(statement),
                detail: "needs exactly one of Action and NotAction".into(),
            });
        }
    };
    // A resource naming a policy variable the request does not carry matches nothing.
    let names = |r: &Value| {
        strings(r)
            .iter()
            .any(|p| resolve(p, request).is_some_and(|p| wildcard(&p, &request.resource)))
    };
    let resource = match (statement.get("Resource"), statement.get("NotResource")) {
        (Some(r), None) => names(r),
        (None, Some(r)) => !names(r),
        _ => {
            return Err(EvalError::Shape {
                sid: sid(statement),
                detail: "needs exactly one of Resource and NotResource".into(),
            });
        }
    };
    if !(action && resource && principal_matches(statement, request)?) {
        return Ok(false);
    }
    let Some(conditions) = statement.get("Condition") else {
        return Ok(true);
    };
    let conditions = conditions.as_object().ok_or_else(|| EvalError::Shape {
        sid: sid(statement),
        detail: "Condition is not an object".into(),
    })?;
    // Every operator block, and every key in it, must hold.
    for (operator, keys) in conditions {
        let keys = keys.as_object().ok_or_else(|| EvalError::Shape {
            sid: sid(statement),
            detail: format!("{operator} is not an object"),
        })?;
        for (key, expected) in keys {
            if !condition_holds(statement, operator, key, &strings(expected), request)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether a resource policy's `Principal` names the request's principal;
/// an identity policy's statement (no `Principal`) always applies to it.
fn principal_matches(statement: &Value, request: &Request) -> Result<bool, EvalError> {
    let shape = |detail: String| EvalError::Shape {
        sid: sid(statement),
        detail,
    };
    if statement.get("NotPrincipal").is_some() {
        return Err(shape("NotPrincipal is not supported".into()));
    }
    let Some(principal) = statement.get("Principal") else {
        return Ok(true);
    };
    if principal.as_str() == Some("*") {
        return Ok(true);
    }
    let kinds = principal
        .as_object()
        .ok_or_else(|| shape(format!("Principal {principal}")))?;
    for (kind, names) in kinds {
        if kind != "AWS" {
            return Err(shape(format!("Principal kind {kind} is not supported")));
        }
        for name in strings(names) {
            if name == "*" {
                return Ok(true);
            }
            let (Some(arn), Some(account)) = (
                request.values("aws:PrincipalArn").and_then(|v| v.first()),
                request
                    .values("aws:PrincipalAccount")
                    .and_then(|v| v.first()),
            ) else {
                return Err(shape(
                    "the request names no aws:PrincipalArn and aws:PrincipalAccount".into(),
                ));
            };
            // An account's root (or bare id) stands for every principal of it.
            let root = name
                .strip_suffix(":root")
                .and_then(|p| p.rsplit(':').next())
                .unwrap_or(name);
            if name == arn || root == account {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Compares one request value with one policy value.
type Compare = fn(&str, &str) -> bool;

fn condition_holds(
    statement: &Value,
    operator: &str,
    key: &str,
    expected: &[&str],
    request: &Request,
) -> Result<bool, EvalError> {
    let unsupported = || EvalError::Operator {
        sid: sid(statement),
        operator: operator.to_owned(),
    };
    let actual = request.values(key);
    if operator == "Null" {
        let want_absent = expected
            .first()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        return Ok(actual.is_none() == want_absent);
    }
    let (set, base) = match operator.split_once(':') {
        Some((set @ ("ForAnyValue" | "ForAllValues"), base)) => (Some(set), base),
        Some(_) => return Err(unsupported()),
        None => (None, operator),
    };
    let (base, if_exists) = match base.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (base, false),
    };
    let (compare, negated): (Compare, bool) = match base {
        "StringEquals" | "ArnEquals" => (|a, e| a == e, false),
        "StringNotEquals" | "ArnNotEquals" => (|a, e| a == e, true),
        "StringEqualsIgnoreCase" => (|a, e| a.eq_ignore_ascii_case(e), false),
        "StringLike" | "ArnLike" => (|a, e| wildcard(e, a), false),
        "StringNotLike" | "ArnNotLike" => (|a, e| wildcard(e, a), true),
        "Bool" => (|a, e| a.eq_ignore_ascii_case(e), false),
        _ => return Err(unsupported()),
    };
    // A policy variable the request does not carry makes the condition false.
    let mut resolved = Vec::with_capacity(expected.len());
    for value in expected {
        match resolve(value, request) {
            Some(v) => resolved.push(v),
            None => return Ok(false),
        }
    }
    let matches_any = |a: &str| resolved.iter().any(|e| compare(a, e));
    // One request value against the (positive or negated) operator.
    let holds = |a: &str| matches_any(a) != negated;
    let Some(actual) = actual else {
        return Ok(match set {
            Some("ForAnyValue") => false,
            Some(_) => true,
            // A missing key fails a positive operator and passes a negated one.
            None => if_exists || negated,
        });
    };
    Ok(match set {
        Some("ForAllValues") => actual.iter().all(|a| holds(a)),
        _ => actual.iter().any(|a| holds(a)),
    })
}

/// Replaces `${aws:key}` with the request's value of that key.
fn resolve(value: &str, request: &Request) -> Option<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        out.push_str(request.values(&after[..end])?.first()?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_match_like_iam() {
        assert!(wildcard(
            "arn:aws:iam::1:role/app-*",
            "arn:aws:iam::1:role/app-x"
        ));
        assert!(!wildcard(
            "arn:aws:iam::1:role/app-*",
            "arn:aws:iam::1:role/other"
        ));
        assert!(wildcard("ec2:Describe*", "ec2:DescribeImages"));
        assert!(wildcard("a?c", "abc") && !wildcard("a?c", "ac"));
        assert!(wildcard("*", ""));
    }

    fn policy(effect: &str, condition: Value) -> Value {
        json!({ "Statement": [{ "Sid": "S", "Effect": effect, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/*", "Condition": condition }] })
    }

    fn put() -> Request {
        Request::new("s3:PutObject", "arn:aws:s3:::b/k")
    }

    #[test]
    fn a_missing_key_fails_positive_operators_and_passes_negated_ones() {
        let positive = policy("Allow", json!({ "StringEquals": { "k": "v" } }));
        assert_eq!(evaluate(&positive, &put()).unwrap(), Decision::NotAllowed);
        let if_exists = policy("Allow", json!({ "StringEqualsIfExists": { "k": "v" } }));
        assert_eq!(evaluate(&if_exists, &put()).unwrap(), Decision::Allowed);
        let negated = policy("Deny", json!({ "StringNotEquals": { "k": "v" } }));
        assert_eq!(
            evaluate(&negated, &put()).unwrap(),
            Decision::ExplicitlyDenied
        );
        assert_eq!(
            evaluate(&negated, &put().with("k", &["v"])).unwrap(),
            Decision::NotAllowed
        );
    }

    #[test]
    fn set_operators_null_and_policy_variables() {
        let all = policy(
            "Allow",
            json!({ "ForAllValues:StringEquals": { "k": ["a", "b"] } }),
        );
        assert_eq!(
            evaluate(&all, &put().with("k", &["a", "b"])).unwrap(),
            Decision::Allowed
        );
        assert_eq!(
            evaluate(&all, &put().with("k", &["a", "c"])).unwrap(),
            Decision::NotAllowed
        );
        let any_not = policy(
            "Deny",
            json!({ "ForAnyValue:StringNotEquals": { "k": ["a"] } }),
        );
        assert_eq!(
            evaluate(&any_not, &put().with("k", &["a", "c"])).unwrap(),
            Decision::ExplicitlyDenied
        );
        assert_eq!(evaluate(&any_not, &put()).unwrap(), Decision::NotAllowed);
        let null = policy("Allow", json!({ "Null": { "k": "false" } }));
        assert_eq!(
            evaluate(&null, &put().with("k", &["x"])).unwrap(),
            Decision::Allowed
        );
        assert_eq!(evaluate(&null, &put()).unwrap(), Decision::NotAllowed);
        let variable = policy(
            "Deny",
            json!({ "StringNotEquals": { "ip": "${aws:VpcSourceIp}" } }),
        );
        let from = |ip: &str| {
            put()
                .with("ip", &[ip])
                .with("aws:VpcSourceIp", &["10.0.0.5"])
        };
        assert_eq!(
            evaluate(&variable, &from("10.0.0.6")).unwrap(),
            Decision::ExplicitlyDenied
        );
        assert_eq!(
            evaluate(&variable, &from("10.0.0.5")).unwrap(),
            Decision::NotAllowed
        );
        // The variable missing from the request: the condition is false.
        assert_eq!(
            evaluate(&variable, &put().with("ip", &["10.0.0.6"])).unwrap(),
            Decision::NotAllowed
        );
    }

    #[test]
    fn resource_policies_match_their_principal_and_resource_variables() {
        let policy = json!({ "Statement": [{ "Sid": "S", "Effect": "Allow",
            "Principal": { "AWS": ["arn:aws:iam::1:role/reader", "arn:aws:iam::2:root"] },
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/${aws:PrincipalAccount}/*" }] });
        let by = |arn: &str, account: &str, key: &str| {
            Request::new("s3:PutObject", &format!("arn:aws:s3:::b/{key}"))
                .with("aws:PrincipalArn", &[arn])
                .with("aws:PrincipalAccount", &[account])
        };
        let allowed = |r: &Request| evaluate(&policy, r).unwrap() == Decision::Allowed;
        assert!(allowed(&by("arn:aws:iam::1:role/reader", "1", "1/k")));
        // Named by the account's root: any principal of account 2.
        assert!(allowed(&by("arn:aws:iam::2:role/any", "2", "2/k")));
        // Another role of account 1, and the reader outside its own prefix.
        assert!(!allowed(&by("arn:aws:iam::1:role/other", "1", "1/k")));
        assert!(!allowed(&by("arn:aws:iam::1:role/reader", "1", "2/k")));
        // A principal the request does not name cannot be matched: an error.
        let anonymous =
            Request::new("s3:PutObject", "arn:aws:s3:::b/1/k").with("aws:PrincipalAccount", &["1"]);
        assert!(evaluate(&policy, &anonymous).is_err());
    }

    #[test]
    fn deny_wins_and_unknown_operators_are_errors() {
        let both = json!({ "Statement": [
            { "Effect": "Allow", "Action": "*", "Resource": "*" },
            { "Effect": "Deny", "Action": "s3:*", "Resource": "*" }
        ] });
        assert_eq!(evaluate(&both, &put()).unwrap(), Decision::ExplicitlyDenied);
        let numeric = policy("Allow", json!({ "NumericLessThan": { "k": "1" } }));
        assert!(matches!(
            evaluate(&numeric, &put()),
            Err(EvalError::Operator { .. })
        ));
    }
}
