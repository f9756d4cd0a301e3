//! A JSON value that borrows its strings from the plan's bytes, with object keys kept sorted.
//!
//! Walking 50,000 resources' attribute values is the hot path of `show` and `diff`:
//! `serde_json::Value` allocates a `String` per key and a map per object, this allocates one
//! `Vec` per container and nothing per string that needs no unescaping. Sorted keys make
//! equality and the canonical encoding independent of the JSON's key order.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

#[derive(Debug, Clone, Default, PartialEq)]
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

impl<'a> Node<'a> {
    /// Parses a raw value; absent or unparsable gives `Null`.
    pub fn parse(raw: Option<&'a RawValue>) -> Node<'a> {
        raw.and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or(Node::Null)
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
            Node::Array(items) => items.iter().any(Node::any_true),
            Node::Object(entries) => entries.iter().any(|(_, v)| v.any_true()),
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
            Node::Array(items) => {
                out.push(b'[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    x.write_canonical(out);
                }
                out.push(b']');
            }
            Node::Object(entries) => {
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
            }
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.to_string()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// A JSON string literal. Strings without characters that need escaping (nearly all of them)
/// are copied as they are.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // serde_json's escaping; writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Node<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node<'a>, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
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
        Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element()? {
            items.push(x);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        while let Some(key) = map.next_key::<CowKey<'de>>()? {
            let value = map.next_value()?;
            entries.push((key.0, value));
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
    fn strings_borrow_unless_escaped() {
        let n = parse(r#"["plain","esc\naped"]"#);
        let Node::Array(items) = n else { panic!() };
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
            n.to_value(),
            serde_json::json!({"a": true, "z": {"k": [1, "two"]}})
        );
    }
}
