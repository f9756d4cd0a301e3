//! A summary as JSON (`show --format json`): serde_json's pretty form byte for byte, written
//! faster, since a 50,000-resource plan's summary is some 20 MB of it.
//!
//! Two things make the difference: each line's indentation is written at once (serde_json's
//! `PrettyFormatter` writes it two spaces at a time), and the resources, nearly all of the text,
//! are written on all cores (`plan::par`) and put in the place of the empty list in the rest.
//! `show` writes the pieces as they are, masked on the threads that wrote them.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::plan::par;
use crate::plan::summary::Summary;

/// `serde_json::to_string_pretty(summary)`, byte for byte.
pub fn summary(summary: &Summary) -> String {
    summary_pieces(summary, &|piece| piece).concat()
}

/// `summary`'s text in pieces that each end with a line break (but the last), for writing
/// without joining them into one string; `each` is applied to every piece, to those of the
/// resources on the thread that writes them (`show` masks them there).
pub fn summary_pieces(summary: &Summary, each: &(dyn Fn(String) -> String + Sync)) -> Vec<String> {
    let rest = Summary {
        format_version: summary.format_version.clone(),
        terraform_version: summary.terraform_version.clone(),
        has_changes: summary.has_changes,
        fingerprint: summary.fingerprint.clone(),
        counts: summary.counts.clone(),
        resources: Vec::new(),
        drift: summary.drift.clone(),
        outputs: summary.outputs.clone(),
        checks: summary.checks.clone(),
        errored: summary.errored,
        applyable: summary.applyable,
        complete: summary.complete,
    };
    let mut head = Vec::new();
    write_at(&rest, 0, &mut head);
    let utf8 = |bytes: Vec<u8>| String::from_utf8(bytes).expect("serde_json writes UTF-8");
    if summary.resources.is_empty() {
        return vec![each(utf8(head))];
    }
    // A line break and two spaces start a key of the outermost object only: no JSON string
    // holds a raw line break. The object has one `resources`.
    const EMPTY: &[u8] = b"\n  \"resources\": []";
    let at = head
        .windows(EMPTY.len())
        .position(|w| w == EMPTY)
        .expect("a summary has resources")
        + EMPTY.len()
        - b"]".len();
    let tail = head.split_off(at);
    head.push(b'\n');
    // Each resource as an item of the list, two levels in, on a line of its own.
    let last = summary.resources.len() - 1;
    let resources = par::map_chunks(&summary.resources, |start, part| {
        let mut out = Vec::with_capacity(part.len() * 512);
        for (i, r) in part.iter().enumerate() {
            out.extend_from_slice(b"    ");
            write_at(r, 2, &mut out);
            out.extend_from_slice(if start + i == last { b"\n" } else { b",\n" });
        }
        each(utf8(out))
    });
    let mut close = b"  ".to_vec();
    close.extend_from_slice(&tail);
    let mut pieces = Vec::with_capacity(resources.len() + 2);
    pieces.push(each(utf8(head)));
    pieces.extend(resources);
    pieces.push(each(utf8(close)));
    pieces
}

/// `value` in the pretty form, as if it stood `level` levels deep in a larger value.
fn write_at<T: Serialize + ?Sized>(value: &T, level: usize, out: &mut Vec<u8>) {
    let mut ser = serde_json::Serializer::with_formatter(
        out,
        Pretty {
            level,
            has_value: false,
        },
    );
    value
        .serialize(&mut ser)
        .expect("a summary always serializes");
}

/// serde_json's `PrettyFormatter` with its default two-space indentation, from `level`.
struct Pretty {
    level: usize,
    has_value: bool,
}

const SPACES: &[u8; 64] = b"                                                                ";

fn indent<W: ?Sized + Write>(w: &mut W, level: usize) -> io::Result<()> {
    let mut n = level * 2;
    while n > 0 {
        let k = n.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.level)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.level)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.level)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.level)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::plan_json::parse;

    /// A plan of `n` resources, every kind of action among them, values that need escaping.
    fn plan_json(n: usize) -> String {
        let changes: Vec<String> = (0..n)
            .map(|i| match i % 5 {
                0 => format!(
                    r#"{{"address":"a.u[{i}]","change":{{"actions":["update"],"before":{{"s":"old \"{i}\"\n","n":{i},"l":[1,2],"deep":{{"x":{{"y":[true]}}}},"pw":"p{i}"}},"after":{{"s":"néw <{i}>","n":{i}.5,"l":[1],"deep":{{"x":{{"y":[false]}}}},"pw":"q{i}"}},"after_unknown":{{"id":true}},"before_sensitive":{{"pw":true}},"after_sensitive":{{"pw":true}}}}}}"#
                ),
                1 => format!(
                    r#"{{"address":"a.r[{i}]","action_reason":"replace_because_cannot_update","change":{{"actions":["delete","create"],"before":{{"k":"v{i}"}},"after":{{"k":"w{i}"}},"replace_paths":[["k"]]}}}}"#
                ),
                2 => format!(
                    r#"{{"address":"a.c[{i}]","change":{{"actions":["create"],"before":null,"after":{{"k":"v"}},"importing":{{"id":"i-{i}"}}}}}}"#
                ),
                3 => format!(
                    r#"{{"address":"a.d[{i}]","deposed":"dd{i}","change":{{"actions":["delete"],"before":{{"k":"v"}},"after":null}}}}"#
                ),
                _ => format!(
                    r#"{{"address":"a.m[{i}]","previous_address":"a.old[{i}]","change":{{"actions":["no-op"],"before":{{}},"after":{{}}}}}}"#
                ),
            })
            .collect();
        format!(
            r#"{{"format_version":"1.2","terraform_version":"1.11.4","resource_changes":[{}],
            "output_changes":{{"o":{{"actions":["create"],"before":null,"after":"x"}}}},
            "checks":[{{"address":{{"to_display":"check.c"}},"status":"fail","instances":[{{"address":{{"to_display":"check.c"}},"status":"fail","problems":[{{"message":"bad \"x\""}}]}}]}}]}}"#,
            changes.join(",")
        )
    }

    #[test]
    fn writes_what_serde_json_writes() {
        // Across several chunks of resources, one chunk, one resource, none.
        for n in [2_000, 7, 1, 0] {
            let text = plan_json(n);
            let plan = parse(text.as_bytes()).unwrap();
            let s = Summary::from_plan(&plan).unwrap();
            assert_eq!(s.resources.len(), n, "{n}");
            assert_eq!(
                s.resources.iter().any(|r| !r.changed_attributes.is_empty()),
                n > 0
            );
            assert_eq!(
                summary(&s),
                serde_json::to_string_pretty(&s).unwrap(),
                "{n}"
            );
        }
    }

    #[test]
    fn pieces_end_lines_and_each_is_applied_to_every_one() {
        for n in [2_000, 1, 0] {
            let text = plan_json(n);
            let s = Summary::from_plan(&parse(text.as_bytes()).unwrap()).unwrap();
            let pieces = summary_pieces(&s, &|p| p.replace("a.", "A."));
            assert_eq!(
                pieces.concat(),
                serde_json::to_string_pretty(&s)
                    .unwrap()
                    .replace("a.", "A."),
                "{n}"
            );
            let (last, rest) = pieces.split_last().unwrap();
            assert!(rest.iter().all(|p| p.ends_with('\n')), "{n}");
            assert!(!last.ends_with('\n'), "{n}");
            // Several pieces of resources (written on several threads) for a large plan.
            assert_eq!(pieces.len() > 3, n == 2_000, "{n}");
        }
    }

    #[test]
    fn deep_values_indent_like_serde_json() {
        // Deeper than the spaces written at once.
        let mut v = serde_json::json!("leaf");
        for _ in 0..40 {
            v = serde_json::json!({ "k": [v, 1] });
        }
        let mut out = Vec::new();
        write_at(&v, 0, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
    }
}
