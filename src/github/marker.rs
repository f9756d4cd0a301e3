//! The hidden first line of tfgate's PR comment, `<!-- tfgate:{json} -->`: the metadata
//! (`CommentMeta`) by which `plan` finds the comment to update and `apply` finds the reviewed
//! plan, and how that line is written and read. It lives with the GitHub port, which finds
//! tfgate's comments by it; the markdown under it is `render::comment`'s.
//!
//! Whatever the fields hold, the line stays one HTML comment on one line: inside the JSON, the
//! characters that could end the comment or open markup are escaped, and every string field is
//! bounded (`MAX_MARKER_FIELD_BYTES`). Only the first line of a body counts. This module reads
//! and writes strings only.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::render::markdown as md;

/// The marker's current format version.
pub const MARKER_VERSION: u32 = 1;

const MARKER_PREFIX: &str = "<!-- tfgate:";
const MARKER_SUFFIX: &str = " -->";

/// A marker field's JSON (after escaping) is cut to this many bytes, so that the marker stays
/// small whatever the root name. Real roots, URLs and SHAs are far shorter.
pub const MAX_MARKER_FIELD_BYTES: usize = 1024;

/// Where a comment's plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    Planned,
    Applied,
    Refused,
    Failed,
    Superseded,
    /// Nothing was applied, and not because the plans differed: the reviewed plan was stale,
    /// missing or could not be fetched, or the run could not go ahead. The detail says why.
    #[serde(rename = "not_applied")]
    NotApplied,
}

/// The metadata in a comment's hidden first line: how `apply` finds the reviewed plan and how
/// `plan` finds the comment to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentMeta {
    pub version: u32,
    pub root: String,
    pub workspace: String,
    pub head_sha: Option<String>,
    pub fingerprint: String,
    /// Where the bundle is when it is in an archive: an `s3://` URI, or a folder on the machine
    /// that planned.
    pub archive: Option<String>,
    /// Where the bundle is when it travels as a workflow artifact (no S3 archive under GitHub
    /// Actions). Markers written before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<ArtifactRef>,
    pub run_url: Option<String>,
    pub status: CommentStatus,
    /// When the plan was made (UTC, RFC 3339 with milliseconds): of two comments for the same
    /// root and workspace, the newer plan wins. Markers written before it existed have none and
    /// count as older than any that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// What the plan changes, so that the pull request's labels can be derived from every
    /// root's comment (`plan --labels`). Markers written before it existed have none, and a
    /// value this version cannot read counts as none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub counts: Option<PlanCounts>,
}

/// What a comment's plan changes, as its marker records it: the step outputs' counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanCounts {
    pub has_changes: bool,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub replace: usize,
}

impl PlanCounts {
    /// Whether the plan deletes or replaces anything.
    pub fn destroys(&self) -> bool {
        self.destroy + self.replace > 0
    }
}

/// A field read if it can be, else `None`: a newer tfgate may write it differently, and that
/// must not make the whole marker unreadable.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

impl CommentMeta {
    /// `created_at`, read; `None` when missing or not a time.
    pub fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = self.created_at.as_deref()?;
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// A workflow artifact holding a plan's bundle: the run that made it and the artifact's name.
/// The apply job finds it through GitHub's REST API
/// (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts?name=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub run_id: u64,
    pub name: String,
}

/// The hidden first line, `<!-- tfgate:{json} -->`. Inside the JSON, `<`, `>`, `-` and `&` are
/// written as `\u003c`-style escapes, so the JSON can never contain `-->` (which would end the
/// HTML comment) nor any markup. String fields longer than `MAX_MARKER_FIELD_BYTES` of JSON are
/// cut (only absurd inputs are).
pub fn marker(meta: &CommentMeta) -> String {
    let bounded = CommentMeta {
        version: meta.version,
        root: clip_for_marker(&meta.root).into_owned(),
        workspace: clip_for_marker(&meta.workspace).into_owned(),
        head_sha: meta
            .head_sha
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
        fingerprint: clip_for_marker(&meta.fingerprint).into_owned(),
        archive: meta
            .archive
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
        artifact: meta.artifact.as_ref().map(|a| ArtifactRef {
            run_id: a.run_id,
            name: clip_for_marker(&a.name).into_owned(),
        }),
        run_url: meta
            .run_url
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
        status: meta.status,
        created_at: meta
            .created_at
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
        counts: meta.counts,
    };
    // Serialising a struct of strings and integers cannot fail; an empty object parses as no
    // marker rather than as a wrong one.
    let json = serde_json::to_string(&bounded).unwrap_or_else(|_| "{}".to_string());
    let mut out = String::with_capacity(json.len() + 32);
    out.push_str(MARKER_PREFIX);
    for c in json.chars() {
        // Outside strings the JSON of `CommentMeta` has none of these characters (no negative
        // numbers), and inside strings serde_json never writes them as part of an escape, so a
        // plain replacement is exact.
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '-' => out.push_str("\\u002d"),
            '&' => out.push_str("\\u0026"),
            _ => out.push(c),
        }
    }
    out.push_str(MARKER_SUFFIX);
    out
}

/// Reads the metadata from the FIRST line of a comment body; `None` when that line is not a
/// tfgate marker (a marker further down, e.g. quoted by a person, does not count).
pub fn parse_marker(body: &str) -> Option<CommentMeta> {
    let first = md::lines(body).next()?;
    let first = first.trim_start_matches('\u{feff}').trim();
    let json = first.strip_prefix(MARKER_PREFIX)?.strip_suffix("-->")?;
    serde_json::from_str(json.trim()).ok()
}

/// The JSON-escaped length of one character inside a marker string.
fn marker_char_len(c: char) -> usize {
    match c {
        '<' | '>' | '-' | '&' => 6,
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

fn clip_for_marker(s: &str) -> Cow<'_, str> {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        len += marker_char_len(c);
        if len > MAX_MARKER_FIELD_BYTES {
            return Cow::Borrowed(&s[..i]);
        }
    }
    Cow::Borrowed(s)
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    pub(crate) const FINGERPRINT: &str =
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    pub(crate) fn meta(root: &str) -> CommentMeta {
        CommentMeta {
            version: MARKER_VERSION,
            root: root.to_string(),
            workspace: "default".to_string(),
            head_sha: Some("0123456789abcdef0123456789abcdef01234567".to_string()),
            fingerprint: FINGERPRINT.to_string(),
            archive: Some(format!(
                "s3://tfgate-archive/acme/infra/{root}/default/pr-42/20250101T000000Z-1/"
            )),
            artifact: None,
            run_url: Some("https://github.com/acme/infra/actions/runs/1234567890".to_string()),
            status: CommentStatus::Planned,
            created_at: None,
            counts: None,
        }
    }

    #[test]
    fn marker_carries_the_plans_counts_and_markers_without_them_still_read() {
        let counts = PlanCounts {
            has_changes: true,
            add: 1,
            change: 2,
            destroy: 0,
            replace: 1,
        };
        let m = CommentMeta {
            counts: Some(counts),
            ..meta("r")
        };
        let line = marker(&m);
        assert!(line.contains("\"counts\":{\"has_changes\":true,"), "{line}");
        assert_eq!(parse_marker(&line), Some(m.clone()));
        assert!(counts.destroys());
        assert!(
            !marker(&meta("r")).contains("counts"),
            "no field when unknown"
        );
        // Written by a version before counts, or by one that writes them otherwise.
        let old = marker(&meta("r"));
        assert_eq!(parse_marker(&old).unwrap().counts, None);
        let odd = line.replacen("\"counts\":{", "\"counts\":\"many\",\"x\":{", 1);
        let read = parse_marker(&odd).expect("the marker still reads");
        assert_eq!(read.counts, None);
        let partial = line.replace("\"destroy\":0,", "");
        assert_eq!(parse_marker(&partial).unwrap().counts, Some(counts));
    }

    #[test]
    fn marker_round_trips() {
        let m = meta("infra/prod");
        let line = marker(&m);
        assert!(!line.contains('\n'));
        assert_eq!(parse_marker(&line), Some(m.clone()));
        assert_eq!(parse_marker(&format!("{line}\n### body")), Some(m.clone()));
        assert_eq!(
            parse_marker(&format!("{line}\r\n### body")),
            Some(m.clone())
        );
        let minimal = CommentMeta {
            head_sha: None,
            archive: None,
            run_url: None,
            status: CommentStatus::Superseded,
            ..m
        };
        assert_eq!(parse_marker(&marker(&minimal)), Some(minimal));
    }

    #[test]
    fn marker_carries_the_plan_time_and_older_markers_still_read() {
        let m = CommentMeta {
            created_at: Some("2025-03-04T05:06:07.089Z".into()),
            ..meta("r")
        };
        let line = marker(&m);
        assert!(line.contains("\"created_at\":"), "{line}");
        let back = parse_marker(&line).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            back.created().unwrap().to_rfc3339(),
            "2025-03-04T05:06:07.089+00:00"
        );
        // A marker written before the field existed.
        let old = r#"<!-- tfgate:{"version":1,"root":"r","workspace":"default","head_sha":null,"fingerprint":"sha256:00","archive":null,"run_url":null,"status":"applied"} -->"#;
        let read = parse_marker(old).expect("an old marker still reads");
        assert_eq!(
            (read.created_at, read.status),
            (None, CommentStatus::Applied)
        );
        assert!(
            !marker(&meta("r")).contains("created_at"),
            "no field when unknown"
        );
        let garbled = CommentMeta {
            created_at: Some("yesterday".into()),
            ..meta("r")
        };
        assert_eq!(garbled.created(), None);
    }

    #[test]
    fn marker_round_trips_hostile_roots() {
        for root in [
            "--> <script>alert(1)</script>",
            "<!-- -->",
            "a\nb\r\nc\rd",
            "quote\" back\\slash \\u003c",
            "-",
            "----->",
            "tab\tnul\0bell\u{7}",
            "\u{2028}line\u{2029}separators",
            "ünïcödé 日本語 🚀 שלום",
            "",
            " spaces ",
            "}\"}{ -->",
        ] {
            let mut m = meta(root);
            m.workspace = root.to_string();
            m.archive = Some(root.to_string());
            let line = marker(&m);
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            let inner = &line[MARKER_PREFIX.len()..line.len() - MARKER_SUFFIX.len()];
            assert!(!inner.contains("-->") && !inner.contains('<') && !inner.contains('-'));
            assert_eq!(parse_marker(&format!("{line}\nbody")), Some(m), "{root:?}");
        }
    }

    #[test]
    fn marker_statuses_are_lowercase() {
        for (status, word) in [
            (CommentStatus::Planned, "planned"),
            (CommentStatus::Applied, "applied"),
            (CommentStatus::Refused, "refused"),
            (CommentStatus::Failed, "failed"),
            (CommentStatus::Superseded, "superseded"),
            (CommentStatus::NotApplied, "not_applied"),
        ] {
            let m = CommentMeta {
                status,
                ..meta("r")
            };
            assert!(marker(&m).contains(&format!("\"status\":\"{word}\"")));
        }
    }

    #[test]
    fn marker_is_read_from_the_first_line_only() {
        let line = marker(&meta("r"));
        assert_eq!(parse_marker(&format!("someone quoting\n{line}")), None);
        assert_eq!(parse_marker(&format!("\n{line}")), None);
        assert_eq!(parse_marker(""), None);
        assert_eq!(parse_marker("<!-- tfgate:{not json} -->"), None);
        assert_eq!(parse_marker("<!-- tfgate:{\"version\":1} -->"), None);
        assert_eq!(parse_marker("<!-- other:{} -->"), None);
        // Extra fields from a newer tfgate are ignored.
        let newer = line.replacen("{", "{\"future\":[1,2],", 1);
        assert_eq!(parse_marker(&newer), Some(meta("r")));
    }

    #[test]
    fn marker_fields_are_bounded() {
        let m = meta(&"<".repeat(100_000));
        let line = marker(&m);
        assert!(line.len() < 8 * MAX_MARKER_FIELD_BYTES, "{}", line.len());
        let parsed = parse_marker(&line).expect("parses");
        assert!(parsed.root.chars().all(|c| c == '<') && !parsed.root.is_empty());
        let big = CommentMeta {
            root: "r".repeat(MAX_MARKER_FIELD_BYTES * 10),
            workspace: "🚀".repeat(MAX_MARKER_FIELD_BYTES),
            head_sha: Some("-".repeat(MAX_MARKER_FIELD_BYTES)),
            fingerprint: "\u{1}".repeat(MAX_MARKER_FIELD_BYTES),
            archive: Some("\"".repeat(MAX_MARKER_FIELD_BYTES)),
            artifact: Some(ArtifactRef {
                run_id: u64::MAX,
                name: ">".repeat(MAX_MARKER_FIELD_BYTES),
            }),
            run_url: Some("x".repeat(MAX_MARKER_FIELD_BYTES * 10)),
            ..meta("r")
        };
        assert!(marker(&big).len() < 8 * MAX_MARKER_FIELD_BYTES);
        assert!(parse_marker(&marker(&big)).is_some());
    }

    #[test]
    fn old_markers_without_an_artifact_are_read() {
        let old = "<!-- tfgate:{\"version\":1,\"root\":\"r\",\"workspace\":\"default\",\"head_sha\":null,\"fingerprint\":\"sha256:00\",\"archive\":\"s3://b/p\",\"run_url\":null,\"status\":\"planned\"} -->";
        let m = parse_marker(old).expect("an old marker parses");
        assert_eq!(m.artifact, None);
        assert_eq!(m.archive.as_deref(), Some("s3://b/p"));
        // No `artifact` key is written when there is none, so older readers see what they knew.
        assert!(!marker(&m).contains("artifact"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn marker_round_trips_anything(
            root in any::<String>(),
            workspace in any::<String>(),
            archive in proptest::option::of(any::<String>()),
        ) {
            let m = CommentMeta { root, workspace, archive, ..meta("r") };
            let line = marker(&m);
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            prop_assert_eq!(line.matches("-->").count(), 1);
            prop_assert_eq!(parse_marker(&format!("{line}\nrest")), Some(m));
        }
    }
}
