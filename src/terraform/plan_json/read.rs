//! The plan document's outermost object, read field by field: so that `resource_changes` can
//! be handed over in chunks while the rest of the document is still being read
//! (`plan_json::parse_handing_over`). Every field is read by its own type, as a derived
//! `Deserialize` would, with the same errors: a missing `format_version`, a field given twice,
//! a value of the wrong type. Fields tfgate does not read are skipped.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Plan, ResourceChange};

/// Where the resource changes go as they are read.
pub enum Changes<'h, 'a> {
    /// Into the plan.
    Keep,
    /// To `hand`, `chunk` at a time (the last one shorter), in the document's order; and each
    /// field tfgate does not read (`planned_values`, `prior_state`, …) to `skipped` once it is
    /// read past, as the text it was.
    HandOver {
        chunk: usize,
        hand: &'h mut dyn FnMut(Vec<ResourceChange<'a>>),
        skipped: &'h mut dyn FnMut(&'a str),
    },
}

/// Reads a plan, its resource changes going where `Changes` says.
pub struct PlanSeed<'h, 'a>(pub Changes<'h, 'a>);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    FormatVersion,
    TerraformVersion,
    Variables,
    ResourceChanges,
    ResourceDrift,
    RelevantAttributes,
    OutputChanges,
    Configuration,
    Checks,
    Errored,
    Applyable,
    Complete,
    Timestamp,
    #[serde(other)]
    Other,
}

impl<'a> DeserializeSeed<'a> for PlanSeed<'_, 'a> {
    type Value = Plan<'a>;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Plan<'a>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for PlanSeed<'_, 'a> {
    type Value = Plan<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Plan")
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Plan<'a>, A::Error> {
        let mut changes = self.0;
        // Each field once: its value, if it was given.
        macro_rules! fields {
            ($($name:ident),*) => { $(let mut $name = None;)* };
        }
        fields!(
            format_version,
            terraform_version,
            variables,
            resource_changes,
            resource_drift,
            relevant_attributes,
            output_changes,
            configuration,
            checks,
            errored,
            applyable,
            complete,
            timestamp
        );
        macro_rules! once {
            ($name:ident, $value:expr) => {{
                if $name.is_some() {
                    return Err(de::Error::duplicate_field(stringify!($name)));
                }
                $name = Some($value);
            }};
        }
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::FormatVersion => once!(format_version, map.next_value()?),
                Field::TerraformVersion => once!(terraform_version, map.next_value()?),
                Field::Variables => once!(variables, map.next_value()?),
                Field::ResourceChanges => once!(
                    resource_changes,
                    map.next_value_seed(ChangesSeed(&mut changes))?
                ),
                Field::ResourceDrift => once!(resource_drift, map.next_value()?),
                Field::RelevantAttributes => once!(relevant_attributes, map.next_value()?),
                Field::OutputChanges => once!(output_changes, map.next_value()?),
                Field::Configuration => once!(configuration, map.next_value()?),
                Field::Checks => once!(checks, map.next_value()?),
                Field::Errored => once!(errored, map.next_value()?),
                Field::Applyable => once!(applyable, map.next_value()?),
                Field::Complete => once!(complete, map.next_value()?),
                Field::Timestamp => once!(timestamp, map.next_value()?),
                Field::Other => match &mut changes {
                    Changes::Keep => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    // Read past as borrowed text, which costs the same and tells where it was.
                    Changes::HandOver { skipped, .. } => {
                        skipped(map.next_value::<&'a RawValue>()?.get());
                    }
                },
            }
        }
        Ok(Plan {
            format_version: format_version
                .ok_or_else(|| de::Error::missing_field("format_version"))?,
            terraform_version: terraform_version.unwrap_or_default(),
            variables: variables.unwrap_or_default(),
            resource_changes: resource_changes.unwrap_or_default(),
            resource_drift: resource_drift.unwrap_or_default(),
            relevant_attributes: relevant_attributes.unwrap_or_default(),
            output_changes: output_changes.unwrap_or_default(),
            configuration: configuration.unwrap_or_default(),
            checks: checks.unwrap_or_default(),
            errored: errored.unwrap_or_default(),
            applyable: applyable.unwrap_or_default(),
            complete: complete.unwrap_or_default(),
            timestamp: timestamp.unwrap_or_default(),
        })
    }
}

/// The `resource_changes` list: kept, or handed over as it is read.
struct ChangesSeed<'s, 'h, 'a>(&'s mut Changes<'h, 'a>);

impl<'a> DeserializeSeed<'a> for ChangesSeed<'_, '_, 'a> {
    type Value = Vec<ResourceChange<'a>>;

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'a> Visitor<'a> for ChangesSeed<'_, '_, 'a> {
    type Value = Vec<ResourceChange<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let Changes::HandOver { chunk, hand, .. } = self.0 else {
            let mut kept = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(rc) = seq.next_element()? {
                kept.push(rc);
            }
            return Ok(kept);
        };
        let mut part = Vec::with_capacity(*chunk);
        while let Some(rc) = seq.next_element()? {
            part.push(rc);
            if part.len() == *chunk {
                hand(std::mem::replace(&mut part, Vec::with_capacity(*chunk)));
            }
        }
        if !part.is_empty() {
            hand(part);
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use crate::terraform::plan_json::{PlanJsonError, ResourceChange, parse, parse_handing_over};

    fn document(n: usize) -> String {
        let changes: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"address":"a.r{i}","change":{{"actions":["create"],"after":{{"n":{i}}}}}}}"#))
            .collect();
        format!(
            r#"{{"format_version":"1.2","terraform_version":"1.11.4","future":{{"x":[1]}},"resource_changes":[{}],"errored":true,"output_changes":{{"o":{{"actions":["create"]}}}}}}"#,
            changes.join(",")
        )
    }

    fn message(text: &str) -> String {
        match parse(text.as_bytes()).unwrap_err() {
            PlanJsonError::NotAPlan { message } => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_field_is_read_and_unknown_ones_are_skipped() {
        let text = document(3);
        let plan = parse(text.as_bytes()).unwrap();
        assert_eq!(plan.terraform_version.as_deref(), Some("1.11.4"));
        assert_eq!(plan.resource_changes.len(), 3);
        assert!(plan.errored);
        assert_eq!(plan.output_changes.len(), 1);
    }

    #[test]
    fn a_field_given_twice_or_missing_or_of_the_wrong_type_is_not_a_plan() {
        assert!(
            message(r#"{"format_version":"1.2","resource_changes":[],"resource_changes":[]}"#)
                .starts_with("duplicate field `resource_changes`"),
        );
        assert!(
            message(r#"{"format_version":"1.2","format_version":"1.2"}"#)
                .starts_with("duplicate field `format_version`")
        );
        assert!(
            message(r#"{"resource_changes":[]}"#).starts_with("missing field `format_version`")
        );
        assert!(message(r#"{"format_version":"1.2","errored":"yes"}"#).starts_with("invalid type"));
        assert!(
            message(r#"{"format_version":"1.2","resource_changes":{}}"#).contains("a sequence")
        );
        assert!(message(r#"["1.2"]"#).contains("expected struct Plan"));
        // Text after the document is an error, as serde_json::from_slice makes it.
        assert!(matches!(
            parse(br#"{"format_version":"1.2"} {}"#),
            Err(PlanJsonError::NotJson { .. })
        ));
    }

    #[test]
    fn changes_handed_over_come_back_in_chunks_in_their_order() {
        for n in [0, 1, 511, 512, 513, 1_500] {
            let text = document(n);
            let chunks: RefCell<Vec<Vec<ResourceChange<'_>>>> = RefCell::default();
            let mut hand = |chunk| chunks.borrow_mut().push(chunk);
            let mut sizes = Vec::new();
            let mut skipped = Vec::new();
            let plan = parse_handing_over(
                text.as_bytes(),
                512,
                &mut hand,
                &mut |range| skipped.push(&text[range]),
                || {
                    sizes = chunks.borrow().iter().map(Vec::len).collect();
                    chunks.take().into_iter().flatten().collect()
                },
            )
            .unwrap();
            let expected: Vec<usize> = (0..n).step_by(512).map(|s| (n - s).min(512)).collect();
            assert_eq!(sizes, expected, "{n}");
            let addresses: Vec<&str> = plan
                .resource_changes
                .iter()
                .map(|rc| &*rc.address)
                .collect();
            let kept = parse(text.as_bytes()).unwrap();
            let kept: Vec<&str> = kept
                .resource_changes
                .iter()
                .map(|rc| &*rc.address)
                .collect();
            assert_eq!(addresses, kept, "{n}");
            assert_eq!(skipped, vec![r#"{"x":[1]}"#], "{n}");
        }
    }

    #[test]
    fn a_document_that_fails_is_not_taken_back() {
        let text = document(600);
        let cut = &text.as_bytes()[..text.len() - 40];
        let mut handed = 0;
        let err = parse_handing_over(cut, 512, &mut |_| handed += 1, &mut |_| {}, || {
            panic!("taken back")
        })
        .unwrap_err();
        assert!(matches!(err, PlanJsonError::Truncated { .. }), "{err:?}");
        assert_eq!(handed, 2);
    }
}
