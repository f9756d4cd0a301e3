//! A JSON value that borrows its strings from the plan's bytes, with object keys kept sorted.
//!
//! Walking 50,000 resources' attribute values is the hot path of `show` and `diff`:
//! `serde_json::Value` allocates a `String` per key and a map per object, this allocates one
//! `Vec` per container and nothing per string that needs no unescaping. Sorted keys make
//! equality and the canonical encoding independent of the JSON's key order.
//!
//! Every depth counts (§9): a value is read down to its last level or not at all. A value nested
//! deeper than `MAX_DEPTH` is an error, never a `Null` or a cut-off tree, since a part of the
//! plan that drops out would drop out of the fingerprint and the comparison too.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

#[derive(Debug, Default)]
pub enum Node<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    /// Sorted by key; keys are unique (a repeated key keeps its last value, as serde_json does).
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

pub static NULL: Node<'static> = Node::Null;

/// How many levels of a value `to_shown_value` shows; deeper parts are shown as `NOT_SHOWN`.
/// Shown values end up in tfgate's own JSON output (`diff --format json`), which then stays
/// within the 128 levels that common JSON parsers (serde_json's default among them) accept.
/// Only what is shown stops here: comparisons and fingerprints read every level.
pub const SHOWN_DEPTH: usize = 100;

/// What a value deeper than `SHOWN_DEPTH` is shown as.
pub const NOT_SHOWN: &str = "(nested too deep to show)";

/// How many levels a value may nest (see `plan_json::MAX_DEPTH`). The stack does not limit
/// depth: every recursive walk over a value (parsing, equality, dropping, hashing, the
/// attribute walk, rendering) goes through `nested`.
pub use crate::terraform::plan_json::MAX_DEPTH;

/// Stack a recursive step over a value must find free before it runs; with less, it runs on a
/// fresh segment of `STACK_SEGMENT` bytes. One level of parsing takes about 3 KiB in a debug
/// build (serde_json's frames), well under 1 KiB optimised; every other walk takes less.
const RED_ZONE: usize = 64 * 1024;
const STACK_SEGMENT: usize = 1024 * 1024;

/// Runs one level of a recursive walk over a value, on a fresh stack segment when the current
/// stack is nearly used up (see `stacker`). Every function that recurses into a value's
/// children goes through this, so depth never overflows a thread's stack.
#[inline]
pub fn nested<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// `nested` for a walk that knows its depth: the stack is checked every `CHECK_EVERY` levels
/// only (the red zone holds that many levels with room to spare), which keeps the check off
/// the hot path of shallow values.
#[inline]
pub fn nested_at<R>(depth: usize, f: impl FnOnce() -> R) -> R {
    if depth.is_multiple_of(CHECK_EVERY) {
        nested(f)
    } else {
        f()
    }
}

const CHECK_EVERY: usize = 8;

/// Why a value of the plan could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// It nests deeper than `MAX_DEPTH`.
    TooDeep,
    /// It is not JSON tfgate can hold (e.g. a `\ud800` escape with no second half).
    Invalid(String),
}

impl<'a> Node<'a> {
    /// Parses a raw value; absent gives `Null`.
    pub fn parse(raw: Option<&'a RawValue>) -> Result<Node<'a>, ValueError> {
        match raw {
            None => Ok(Node::Null),
            Some(r) => Node::parse_str(r.get()),
        }
    }

    /// Parses one JSON value, at most `MAX_DEPTH` levels deep.
    pub fn parse_str(text: &'a str) -> Result<Node<'a>, ValueError> {
        let too_deep = Cell::new(false);
        let mut de = serde_json::Deserializer::from_str(text);
        // serde_json's own limit (128 levels) would fail the way any syntax error does; the
        // seed counts levels itself and says why it stopped.
        de.disable_recursion_limit();
        let seed = NodeSeed {
            depth: 0,
            too_deep: &too_deep,
        };
        seed.deserialize(&mut de)
            .and_then(|node| de.end().map(|()| node))
            .map_err(|e| {
                if too_deep.get() {
                    ValueError::TooDeep
                } else {
                    ValueError::Invalid(e.to_string())
                }
            })
    }

    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(entries) => entries
                .binary_search_by(|(k, _)| k.as_ref().cmp(key))
                .ok()
                .map(|i| &entries[i].1),
            _ => None,
        }
    }

    pub fn index(&self, i: usize) -> Option<&Node<'a>> {
        match self {
            Node::Array(items) => items.get(i),
            _ => None,
        }
    }

    pub fn is_true(&self) -> bool {
        matches!(self, Node::Bool(true))
    }

    /// Whether `true` appears anywhere (sensitivity and unknown masks).
    pub fn any_true(&self) -> bool {
        match self {
            Node::Bool(b) => *b,
            Node::Array(items) => nested(|| items.iter().any(Node::any_true)),
            Node::Object(entries) => nested(|| entries.iter().any(|(_, v)| v.any_true())),
            _ => false,
        }
    }

    /// JSON with sorted keys and no insignificant whitespace.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Node::String(s) => write_json_string(s, out),
            Node::Array(items) => nested(|| {
                out.push(b'[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    x.write_canonical(out);
                }
                out.push(b']');
            }),
            Node::Object(entries) => nested(|| {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_string(k, out);
                    out.push(b':');
                    v.write_canonical(out);
                }
                out.push(b'}');
            }),
        }
    }

    /// The value as shown to people: its first `SHOWN_DEPTH` levels, deeper parts replaced by
    /// `NOT_SHOWN`. Never use it to compare or hash.
    pub fn to_shown_value(&self) -> Value {
        self.shown_below(0)
    }

    fn shown_below(&self, depth: usize) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.to_string()),
            Node::Array(_) | Node::Object(_) if depth >= SHOWN_DEPTH => {
                Value::String(NOT_SHOWN.into())
            }
            Node::Array(items) => {
                Value::Array(items.iter().map(|x| x.shown_below(depth + 1)).collect())
            }
            Node::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.shown_below(depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// Dropped level by level like every other walk (the compiler's drop glue would recurse without
/// a stack check).
impl Drop for Node<'_> {
    fn drop(&mut self) {
        // Only a container holding containers goes deeper; the rest is dropped in place.
        match self {
            Node::Array(items) if items.iter().any(Node::is_container) => {
                let items = std::mem::take(items);
                nested(move || drop(items));
            }
            Node::Object(entries) if entries.iter().any(|(_, v)| v.is_container()) => {
                let entries = std::mem::take(entries);
                nested(move || drop(entries));
            }
            _ => {}
        }
    }
}

impl Node<'_> {
    fn is_container(&self) -> bool {
        matches!(self, Node::Array(_) | Node::Object(_))
    }
}

/// Equal values, whatever their depth (a derived `eq` would recurse without a stack check).
impl PartialEq for Node<'_> {
    fn eq(&self, other: &Node<'_>) -> bool {
        match (self, other) {
            (Node::Null, Node::Null) => true,
            (Node::Bool(x), Node::Bool(y)) => x == y,
            (Node::Number(x), Node::Number(y)) => x == y,
            (Node::String(x), Node::String(y)) => x == y,
            (Node::Array(x), Node::Array(y)) => nested(|| x == y),
            (Node::Object(x), Node::Object(y)) => nested(|| x == y),
            _ => false,
        }
    }
}

/// A JSON string literal. Strings without characters that need escaping (nearly all of them)
/// are copied as they are.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // serde_json's escaping; writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether a string holds a character JSON escapes (`"`, `\\`, a control character). Tested a
/// block at a time, with no early exit inside a block, so that the test is vectorized.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.chunks(32).any(|block| {
        block.iter().fold(false, |any, &b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    })
}

impl<'de: 'a, 'a> Deserialize<'de> for Node<'a> {
    /// At most `MAX_DEPTH` levels, whatever the deserializer's own limit.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node<'a>, D::Error> {
        let too_deep = Cell::new(false);
        NodeSeed {
            depth: 0,
            too_deep: &too_deep,
        }
        .deserialize(d)
    }
}

/// Deserializes a value that sits `depth` levels down, refusing to go below `MAX_DEPTH`.
#[derive(Clone, Copy)]
struct NodeSeed<'f> {
    depth: usize,
    /// Set when the value was refused for its depth.
    too_deep: &'f Cell<bool>,
}

impl NodeSeed<'_> {
    /// The seed for the values inside a container at this level, or the depth error.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_DEPTH {
            self.too_deep.set(true);
            return Err(E::custom(format_args!(
                "the value nests deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(NodeSeed {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let inner = self.enter()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        nested_at(self.depth, || {
            while let Some(x) = seq.next_element_seed(inner)? {
                items.push(x);
            }
            Ok(())
        })?;
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let inner = self.enter()?;
        let mut entries: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        nested_at(self.depth, || {
            while let Some(key) = map.next_key::<CowKey<'de>>()? {
                let value = map.next_value_seed(inner)?;
                entries.push((key.0, value));
            }
            Ok::<(), A::Error>(())
        })?;
        // Terraform writes every object with its keys sorted: then there is nothing to do.
        if entries.is_sorted_by(|a, b| a.0 < b.0) {
            return Ok(Node::Object(entries));
        }
        // Stable sort, then keep the last of equal keys.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduped: Vec<(Cow<'de, str>, Node<'de>)> = Vec::with_capacity(entries.len());
        for e in entries {
            match deduped.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => deduped.push(e),
            }
        }
        Ok(Node::Object(deduped))
    }
}

/// An object key, borrowed when it has no escapes.
struct CowKey<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowKey<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CowKey<'a>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = CowKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<CowKey<'de>, E> {
                Ok(CowKey(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<CowKey<'de>, E> {
                Ok(CowKey(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<CowKey<'de>, E> {
                Ok(CowKey(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Node<'_> {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn key_order_does_not_matter() {
        assert_eq!(
            parse(r#"{"b":1,"a":[true,null]}"#),
            parse(r#"{"a":[true,null],"b":1}"#)
        );
        let mut out = Vec::new();
        parse(r#"{"b":"x\"y","a":{"d":1.5,"c":-2}}"#).write_canonical(&mut out);
        assert_eq!(out, br#"{"a":{"c":-2,"d":1.5},"b":"x\"y"}"#);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_in_any_order() {
        for (text, kept) in [
            (r#"{"a":1,"a":2,"b":3}"#, r#"{"a":2,"b":3}"#),
            (r#"{"b":3,"a":1,"a":2}"#, r#"{"a":2,"b":3}"#),
            (r#"{"a":2,"b":3}"#, r#"{"a":2,"b":3}"#),
            (r#"{"b":3,"a":2}"#, r#"{"a":2,"b":3}"#),
        ] {
            let mut out = Vec::new();
            parse(text).write_canonical(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), kept, "{text}");
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let long = "x".repeat(70);
        for s in [
            String::new(),
            "plain".into(),
            format!("{long}\""),
            format!("{long}\\{long}"),
            format!("{long}\u{1f}"),
            format!("{long}\n{long}"),
            format!("{long}\u{7f}é🚀"),
            "\t".into(),
        ] {
            let mut out = Vec::new();
            write_json_string(&s, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap()
            );
        }
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let n = parse(r#"["plain","esc\naped"]"#);
        let Node::Array(items) = &n else { panic!() };
        assert!(matches!(&items[0], Node::String(Cow::Borrowed(_))));
        assert_eq!(items[1], Node::String(Cow::Owned("esc\naped".into())));
    }

    #[test]
    fn lookups_and_conversion() {
        let n = parse(r#"{"z":{"k":[1,"two"]},"a":true}"#);
        assert_eq!(
            n.get("z").and_then(|z| z.get("k")).and_then(|k| k.index(1)),
            Some(&Node::String("two".into()))
        );
        assert!(n.get("a").unwrap().is_true());
        assert!(n.any_true());
        assert_eq!(
            n.to_shown_value(),
            serde_json::json!({"a": true, "z": {"k": [1, "two"]}})
        );
    }
}
