//! The model of `terraform show -json PLANFILE`: only the parts tfgate reads.
//!
//! Attribute values (`before`, `after`, `after_unknown`, the sensitivity masks) stay as
//! `&RawValue` slices of the input buffer, so a 50,000-resource plan costs little more memory
//! than its bytes; they are parsed one resource at a time, when needed. Unknown fields are
//! ignored. This module parses; it does not interpret (see `plan/`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

mod read;

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

/// Read field by field (`read`), so that its resource changes may be handed over as they are
/// read.
#[derive(Debug)]
pub struct Plan<'a> {
    pub format_version: String,
    pub terraform_version: Option<String>,
    pub variables: BTreeMap<String, Variable<'a>>,
    pub resource_changes: Vec<ResourceChange<'a>>,
    pub resource_drift: Vec<ResourceChange<'a>>,
    pub relevant_attributes: Vec<RelevantAttribute<'a>>,
    pub output_changes: BTreeMap<String, Change<'a>>,
    pub configuration: Option<Configuration>,
    pub checks: Vec<CheckResult>,
    pub errored: bool,
    pub applyable: Option<bool>,
    pub complete: Option<bool>,
    pub timestamp: Option<String>,
}

impl<'a> Deserialize<'a> for Plan<'a> {
    fn deserialize<D: serde::Deserializer<'a>>(d: D) -> Result<Plan<'a>, D::Error> {
        use serde::de::DeserializeSeed;
        read::PlanSeed(read::Changes::Keep).deserialize(d)
    }
}

#[derive(Debug, Deserialize)]
pub struct Variable<'a> {
    #[serde(borrow, default)]
    pub value: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
pub struct ResourceChange<'a> {
    /// Borrowed from the document unless it holds an escape: 50,000 fewer allocations while
    /// a large plan is read on one thread.
    #[serde(borrow)]
    pub address: Cow<'a, str>,
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
    #[serde(borrow)]
    pub actions: Vec<Cow<'a, str>>,
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
    parse_with(bytes, read::Changes::Keep, Vec::new)
}

/// `parse`, handing the resource changes over to `hand` as they are read, `chunk` at a time,
/// so that they can be worked on while the rest of the document is read, and telling
/// `skipped` where in `bytes` each field tfgate does not read was, once it is read past. Once the
/// document is read, `take_back` returns the changes, in their order, to the plan, which is
/// then checked as `parse` checks it; on an error in the document it is not called.
pub fn parse_handing_over<'a>(
    bytes: &'a [u8],
    chunk: usize,
    hand: &mut dyn FnMut(Vec<ResourceChange<'a>>),
    skipped: &mut dyn FnMut(Range<usize>),
    take_back: impl FnOnce() -> Vec<ResourceChange<'a>>,
) -> Result<Plan<'a>, PlanJsonError> {
    let mut skipped_text = |text: &str| {
        if let Some(range) = range_in(bytes, text) {
            skipped(range);
        }
    };
    let changes = read::Changes::HandOver {
        chunk,
        hand,
        skipped: &mut skipped_text,
    };
    parse_with(bytes, changes, take_back)
}

fn parse_with<'a>(
    bytes: &'a [u8],
    changes: read::Changes<'_, 'a>,
    take_back: impl FnOnce() -> Vec<ResourceChange<'a>>,
) -> Result<Plan<'a>, PlanJsonError> {
    use serde::de::DeserializeSeed;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PlanJsonError::Empty);
    }
    let handed_over = matches!(changes, read::Changes::HandOver { .. });
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut plan = read::PlanSeed(changes)
        .deserialize(&mut de)
        .and_then(|plan| de.end().map(|()| plan))
        .map_err(|e| classify(bytes, e))?;
    if handed_over {
        plan.resource_changes = take_back();
    }
    check_version(&plan.format_version)?;
    check_actions(&plan)?;
    Ok(plan)
}

/// Refuses an action list Terraform does not write: a resource with an unknown action would
/// otherwise count as doing nothing and vanish from the summary and the comparison.
fn check_actions(plan: &Plan<'_>) -> Result<(), PlanJsonError> {
    let known = |actions: &[Cow<'_, str>]| {
        ACTION_LISTS
            .iter()
            .any(|list| list.iter().copied().eq(actions.iter().map(|a| &**a)))
    };
    let unknown = |address: String, actions: &[Cow<'_, str>]| PlanJsonError::UnknownAction {
        address,
        actions: serde_json::to_string(actions).expect("strings always serialize"),
    };
    for rc in plan.resource_changes.iter().chain(&plan.resource_drift) {
        if !known(&rc.change.actions) {
            return Err(unknown(rc.address.to_string(), &rc.change.actions));
        }
    }
    for (name, c) in &plan.output_changes {
        if !known(&c.actions) {
            return Err(unknown(format!("output.{name}"), &c.actions));
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

impl<'a> Change<'a> {
    pub fn is_no_op(&self) -> bool {
        self.actions.iter().all(|a| a == "no-op")
    }

    /// The change's values and masks, as they sit in the document.
    fn raw_values(&self) -> impl Iterator<Item = &'a RawValue> {
        [
            self.before,
            self.after,
            self.after_unknown,
            self.before_sensitive,
            self.after_sensitive,
            self.replace_paths,
        ]
        .into_iter()
        .flatten()
    }
}

/// Where `text`, borrowed from `document`, lies in it; `None` for text from elsewhere.
fn range_in(document: &[u8], text: &str) -> Option<Range<usize>> {
    let at = (text.as_ptr() as usize).checked_sub(document.as_ptr() as usize)?;
    (at + text.len() <= document.len()).then(|| at..at + text.len())
}

impl<'a> ResourceChange<'a> {
    /// The text this change borrows from the document: its address (unless it held an escape)
    /// and its values, in the document's order.
    fn borrowed(&self) -> impl Iterator<Item = &str> {
        let address = matches!(self.address, Cow::Borrowed(_)).then_some(&*self.address);
        address
            .into_iter()
            .chain(self.change.raw_values().map(RawValue::get))
    }
}

impl Plan<'_> {
    /// The byte ranges of `document` (the text this plan was parsed from) that the plan still
    /// refers to, in order and merged: for each part of the plan that borrows from it
    /// (`variables`, `resource_drift`, `resource_changes`, `output_changes`,
    /// `relevant_attributes`), from the first value or address it borrows to the last. All else (the
    /// `planned_values`, `prior_state` and `configuration` tfgate only checks, most of a
    /// large plan) is not read again once the plan is parsed.
    pub fn borrowed(&self, document: &[u8]) -> Vec<Range<usize>> {
        let span = |texts: &mut dyn Iterator<Item = &str>| {
            texts
                .filter_map(|text| range_in(document, text))
                .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end))
        };
        let changes =
            |list: &[ResourceChange<'_>]| span(&mut list.iter().flat_map(ResourceChange::borrowed));
        let values =
            |values: &mut dyn Iterator<Item = &RawValue>| span(&mut values.map(RawValue::get));
        let mut ranges: Vec<Range<usize>> = [
            values(&mut self.variables.values().filter_map(|v| v.value)),
            changes(&self.resource_drift),
            changes(&self.resource_changes),
            values(&mut self.output_changes.values().flat_map(Change::raw_values)),
            values(&mut self.relevant_attributes.iter().map(|r| r.attribute)),
        ]
        .into_iter()
        .flatten()
        .collect();
        ranges.sort_unstable_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
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
    fn borrowed_ranges_cover_every_value_the_plan_keeps() {
        let text = r#"{"format_version":"1.2","variables":{"v":{"value":"x"}},
            "planned_values":{"root_module":{"resources":[{"values":{"big":"unread"}}]}},
            "resource_changes":[
              {"address":"a.b","change":{"actions":["update"],"before":{"n":1},"after":{"n":2}}},
              {"address":"a.c","change":{"actions":["create"],"after":{"n":3},"after_unknown":{}}}],
            "output_changes":{"o":{"actions":["create"],"after":"out"}},
            "prior_state":{"values":{"root_module":{}}}}"#;
        let plan = parse(text.as_bytes()).unwrap();
        let ranges = plan.borrowed(text.as_bytes());
        let at = |needle: &str| {
            let start = text.find(needle).unwrap();
            start..start + needle.len()
        };
        // The variable's value; the changes, from the first address to the last
        // `after_unknown`; the output's value.
        let changes = at("a.b").start..at(r#"{"n":3},"after_unknown":{}"#).end;
        assert_eq!(ranges, vec![at(r#""x""#), changes, at(r#""out""#)]);
        let inside = |r: &Range<usize>| ranges.iter().any(|k| k.start <= r.start && r.end <= k.end);
        let rc = &plan.resource_changes;
        for raw in rc.iter().flat_map(|rc| rc.change.raw_values()) {
            let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            assert!(inside(&(start..start + raw.get().len())), "{}", raw.get());
        }
        assert!(!inside(&at("unread")) && !inside(&at("prior_state")));
        // Text the plan was not parsed from has no range in it.
        assert!(plan.borrowed(b"{}").is_empty());
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
