//! The model of `terraform show -json PLANFILE`: only the parts tfgate reads.
//!
//! Attribute values (`before`, `after`, `after_unknown`, the sensitivity masks) stay as
//! `&RawValue` slices of the input buffer, so a 50,000-resource plan costs little more memory
//! than its bytes; they are parsed one resource at a time, when needed. Unknown fields are
//! ignored. This module parses; it does not interpret (see `plan/`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// How many levels of arrays and objects tfgate reads, in a value or in the whole document
/// (`[["x"]]` nests 2). serde_json stops at 128 by default, which real configurations can reach;
/// Terraform itself cannot write a plan deeper than 10,000 levels (Go's JSON encoder refuses
/// to). 1,000 is far beyond any real configuration and still bounds the work one value can
/// cause (an attribute path is as long as its value is deep). Deeper is an error, never a part
/// of the plan left out.
pub const MAX_DEPTH: usize = 1000;

/// Plan JSON format major versions tfgate understands (`0.x` from Terraform 0.12–1.0,
/// `1.x` from 1.1 on; OpenTofu writes the same).
pub const SUPPORTED_MAJOR_VERSIONS: &[u64] = &[0, 1];

#[derive(Debug, Deserialize)]
pub struct Plan<'a> {
    pub format_version: String,
    #[serde(default)]
    pub terraform_version: Option<String>,
    #[serde(default, borrow)]
    pub variables: BTreeMap<String, Variable<'a>>,
    #[serde(default, borrow)]
    pub resource_changes: Vec<ResourceChange<'a>>,
    #[serde(default, borrow)]
    pub resource_drift: Vec<ResourceChange<'a>>,
    #[serde(default)]
    pub relevant_attributes: Vec<RelevantAttribute<'a>>,
    #[serde(default, borrow)]
    pub output_changes: BTreeMap<String, Change<'a>>,
    #[serde(default)]
    pub configuration: Option<Configuration>,
    #[serde(default)]
    pub checks: Vec<CheckResult>,
    #[serde(default)]
    pub errored: bool,
    #[serde(default)]
    pub applyable: Option<bool>,
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Variable<'a> {
    #[serde(borrow, default)]
    pub value: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
pub struct ResourceChange<'a> {
    pub address: String,
    #[serde(default)]
    pub previous_address: Option<String>,
    #[serde(default)]
    pub deposed: Option<String>,
    #[serde(borrow)]
    pub change: Change<'a>,
    #[serde(default)]
    pub action_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Change<'a> {
    pub actions: Vec<String>,
    #[serde(default, borrow)]
    pub before: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub after: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub after_unknown: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub before_sensitive: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub after_sensitive: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub replace_paths: Option<&'a RawValue>,
    #[serde(default)]
    pub importing: Option<Importing>,
}

#[derive(Debug, Deserialize)]
pub struct Importing {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RelevantAttribute<'a> {
    pub resource: String,
    #[serde(borrow)]
    pub attribute: &'a RawValue,
}

#[derive(Debug, Default, Deserialize)]
pub struct Configuration {
    #[serde(default)]
    pub root_module: ConfigModule,
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfigModule {
    #[serde(default)]
    pub variables: BTreeMap<String, ConfigVariable>,
    #[serde(default)]
    pub outputs: BTreeMap<String, ConfigOutput>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfigVariable {
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfigOutput {
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Deserialize)]
pub struct CheckResult {
    pub address: CheckAddress,
    pub status: String,
    #[serde(default)]
    pub instances: Vec<CheckInstance>,
}

#[derive(Debug, Deserialize)]
pub struct CheckAddress {
    #[serde(default)]
    pub kind: Option<String>,
    pub to_display: String,
}

#[derive(Debug, Deserialize)]
pub struct CheckInstance {
    pub address: CheckAddress,
    pub status: String,
    #[serde(default)]
    pub problems: Vec<CheckProblem>,
}

#[derive(Debug, Deserialize)]
pub struct CheckProblem {
    pub message: String,
}

/// Why a plan JSON document could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanJsonError {
    #[error("the file is empty")]
    Empty,
    #[error("the JSON ends early (truncated file?) at line {line}, column {column}")]
    Truncated { line: usize, column: usize },
    #[error("not JSON: {message}")]
    NotJson { message: String },
    #[error("not a Terraform plan: {message}")]
    NotAPlan { message: String },
    #[error("plan JSON format version {version} is not supported (tfgate reads 0.x and 1.x)")]
    UnsupportedVersion { version: String },
    /// A value nests deeper than tfgate reads (`plan::node::MAX_DEPTH`); `at` says where.
    #[error("the plan nests deeper than {limit} levels ({at})")]
    TooDeep { limit: usize, at: String },
    /// A value that is JSON to the plan's parser but not a value tfgate can hold.
    #[error("unreadable value ({at}): {message}")]
    BadValue { at: String, message: String },
    /// An action list Terraform does not write: what it means cannot be known, so it cannot
    /// be summarized, fingerprinted or compared.
    #[error("{address} has the unknown action {actions}")]
    UnknownAction { address: String, actions: String },
}

/// Every action list Terraform writes (its `UnmarshalActions` accepts exactly these).
pub const ACTION_LISTS: &[&[&str]] = &[
    &["no-op"],
    &["create"],
    &["read"],
    &["update"],
    &["delete"],
    &["delete", "create"],
    &["create", "delete"],
    &["forget"],
    &["create", "forget"],
];

/// Parses plan JSON, checking the format version first so an unknown major version is reported
/// as such rather than as a missing field.
pub fn parse(bytes: &[u8]) -> Result<Plan<'_>, PlanJsonError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PlanJsonError::Empty);
    }
    let plan: Plan<'_> = serde_json::from_slice(bytes).map_err(|e| classify(bytes, e))?;
    check_version(&plan.format_version)?;
    check_actions(&plan)?;
    Ok(plan)
}

/// Refuses an action list Terraform does not write: a resource with an unknown action would
/// otherwise count as doing nothing and vanish from the summary and the comparison.
fn check_actions(plan: &Plan<'_>) -> Result<(), PlanJsonError> {
    let resources = plan
        .resource_changes
        .iter()
        .chain(&plan.resource_drift)
        .map(|rc| (rc.address.clone(), &rc.change.actions));
    let outputs = plan
        .output_changes
        .iter()
        .map(|(name, c)| (format!("output.{name}"), &c.actions));
    for (address, actions) in resources.chain(outputs) {
        let known = ACTION_LISTS
            .iter()
            .any(|list| list.iter().copied().eq(actions.iter().map(String::as_str)));
        if !known {
            return Err(PlanJsonError::UnknownAction {
                address,
                actions: serde_json::to_string(actions).expect("strings always serialize"),
            });
        }
    }
    Ok(())
}

fn check_version(version: &str) -> Result<(), PlanJsonError> {
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok());
    match major {
        Some(m) if SUPPORTED_MAJOR_VERSIONS.contains(&m) => Ok(()),
        _ => Err(PlanJsonError::UnsupportedVersion {
            version: version.to_string(),
        }),
    }
}

fn classify(bytes: &[u8], err: serde_json::Error) -> PlanJsonError {
    use serde_json::error::Category;
    // A document too deep for tfgate to read fails for that reason, whatever serde_json met
    // first (a deep list where a plan has an object is "not a plan" to it).
    if let Some((line, column)) = deeper_than(bytes, MAX_DEPTH) {
        return PlanJsonError::TooDeep {
            limit: MAX_DEPTH,
            at: format!("line {line}, column {column}"),
        };
    }
    match err.classify() {
        Category::Eof => PlanJsonError::Truncated {
            line: err.line(),
            column: err.column(),
        },
        Category::Syntax | Category::Io => PlanJsonError::NotJson {
            message: err.to_string(),
        },
        Category::Data => {
            // Valid JSON of the wrong shape. If it names a version we do not know, say that:
            // a future format may well have renamed the fields we missed.
            #[derive(Deserialize)]
            struct Versioned {
                format_version: Option<String>,
            }
            if let Ok(Versioned {
                format_version: Some(v),
            }) = serde_json::from_slice::<Versioned>(bytes)
                && let Err(e) = check_version(&v)
            {
                return e;
            }
            PlanJsonError::NotAPlan {
                message: err.to_string(),
            }
        }
    }
}

/// Where the JSON text first opens its `limit + 1`-th nested array or object (line and column,
/// from 1), if it does. Read without recursion, so any depth is fine.
fn deeper_than(bytes: &[u8], limit: usize) -> Option<(usize, usize)> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut line_start) = (1usize, 0usize);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some((line, i - line_start + 1));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
    }
    None
}

impl Change<'_> {
    pub fn is_no_op(&self) -> bool {
        self.actions.iter().all(|a| a == "no-op")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_is_not_a_plan() {
        assert!(matches!(parse(b"{}"), Err(PlanJsonError::NotAPlan { .. })));
    }

    #[test]
    fn truncated_json_is_reported_as_truncated() {
        let err = parse(br#"{"format_version": "1.2", "resource_changes": ["#).unwrap_err();
        assert!(matches!(err, PlanJsonError::Truncated { .. }), "{err:?}");
    }

    #[test]
    fn not_json() {
        assert!(matches!(
            parse(b"hello"),
            Err(PlanJsonError::NotJson { .. })
        ));
        assert!(matches!(parse(b"  \n"), Err(PlanJsonError::Empty)));
    }

    #[test]
    fn only_the_action_lists_terraform_writes_are_accepted() {
        let with = |actions: &str| {
            format!(
                r#"{{"format_version":"1.2","resource_changes":[{{"address":"terraform_data.x","change":{{"actions":{actions}}}}}]}}"#
            )
        };
        for list in ACTION_LISTS {
            let text = with(&serde_json::to_string(list).unwrap());
            assert!(parse(text.as_bytes()).is_ok(), "{list:?}");
        }
        for bad in [
            r#"["explode"]"#,
            "[]",
            r#"["create","create"]"#,
            r#"["forget","create"]"#,
            r#"["Create"]"#,
        ] {
            assert_eq!(
                parse(with(bad).as_bytes()).unwrap_err(),
                PlanJsonError::UnknownAction {
                    address: "terraform_data.x".into(),
                    actions: bad.into()
                },
                "{bad}"
            );
        }
        let err =
            parse(br#"{"format_version":"1.2","output_changes":{"url":{"actions":["explode"]}}}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"output.url has the unknown action ["explode"]"#
        );
        let drift = br#"{"format_version":"1.2","resource_drift":[{"address":"a.b","change":{"actions":["explode"]}}]}"#;
        assert!(
            matches!(parse(drift), Err(PlanJsonError::UnknownAction { address, .. }) if address == "a.b")
        );
    }

    #[test]
    fn versions() {
        assert!(parse(br#"{"format_version":"0.2"}"#).is_ok());
        assert!(parse(br#"{"format_version":"1.2","future_field":[1]}"#).is_ok());
        assert_eq!(
            parse(br#"{"format_version":"2.0"}"#).unwrap_err(),
            PlanJsonError::UnsupportedVersion {
                version: "2.0".into()
            }
        );
        // A future major version with a changed shape still says "unsupported version".
        assert!(matches!(
            parse(br#"{"format_version":"9.0","resource_changes":{"x":1}}"#),
            Err(PlanJsonError::UnsupportedVersion { .. })
        ));
    }
}
