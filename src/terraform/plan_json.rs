//! The model of `terraform show -json PLANFILE`: only the parts tfgate reads.
//!
//! Attribute values (`before`, `after`, `after_unknown`, the sensitivity masks) stay as
//! `&RawValue` slices of the input buffer, so a 50,000-resource plan costs little more memory
//! than its bytes; they are parsed one resource at a time, when needed. Unknown fields are
//! ignored. This module parses; it does not interpret (see `plan/`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

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
    pub module_address: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default, rename = "type")]
    pub resource_type: Option<String>,
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
}

/// Parses plan JSON, checking the format version first so an unknown major version is reported
/// as such rather than as a missing field.
pub fn parse(bytes: &[u8]) -> Result<Plan<'_>, PlanJsonError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PlanJsonError::Empty);
    }
    let plan: Plan<'_> = serde_json::from_slice(bytes).map_err(|e| classify(bytes, e))?;
    check_version(&plan.format_version)?;
    Ok(plan)
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

impl Change<'_> {
    /// Parses one of the raw values; absent and `null` both give `Value::Null`.
    pub fn value(raw: Option<&RawValue>) -> serde_json::Value {
        raw.and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or(serde_json::Value::Null)
    }

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
