//! One SARIF 2.1.0 file read into findings: the few fields tfgate uses, in small serde
//! structs. A SARIF crate generated from the whole schema is large, and tfgate keeps its cold
//! build short; unknown fields are ignored here, so a tool's extra properties do no harm.
//!
//! A location's file is `physicalLocation.artifactLocation.uri`: a `file://` URI (absolute), a
//! path relative to a `uriBaseId` that the run's `originalUriBaseIds` maps to a `file://` URI
//! (`%SRCROOT%` and `SRCROOT`, when not mapped, are the repository's root, as GitHub reads
//! them), an absolute path, or a relative path, tried against the Terraform root and then the
//! repository's root. Only a file that exists and whose real path is inside the repository is
//! placed in it; anything else keeps the URI as text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Finding, Level, Location, Places, Run};

/// The SARIF version tfgate reads.
const VERSION: &str = "2.1.0";

#[derive(Deserialize)]
struct Log {
    #[serde(default)]
    version: Option<String>,
    runs: Vec<RawRun>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRun {
    tool: Tool,
    #[serde(default)]
    results: Option<Vec<RawResult>>,
    #[serde(default)]
    original_uri_base_ids: BTreeMap<String, ArtifactLocation>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Driver,
}

#[derive(Deserialize)]
struct Driver {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    default_configuration: Option<Configuration>,
    #[serde(default)]
    short_description: Option<Message>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    level: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResult {
    #[serde(default)]
    rule_id: Option<String>,
    #[serde(default)]
    rule_index: Option<usize>,
    #[serde(default)]
    rule: Option<RuleReference>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    locations: Vec<RawLocation>,
    #[serde(default)]
    suppressions: Vec<Suppression>,
}

#[derive(Deserialize)]
struct RuleReference {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    index: Option<usize>,
}

#[derive(Deserialize)]
struct Suppression {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLocation {
    #[serde(default)]
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    #[serde(default)]
    artifact_location: Option<ArtifactLocation>,
    #[serde(default)]
    region: Option<Region>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    uri_base_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    #[serde(default)]
    start_line: Option<u64>,
}

/// The runs of one SARIF file, their locations resolved against `places`; the error says why
/// the text is not SARIF 2.1.0 tfgate can read.
pub fn read(text: &str, places: &Places<'_>) -> Result<Vec<Run>, String> {
    let log: Log = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("not SARIF: {e}"))?;
    if let Some(v) = log.version.as_deref().filter(|v| *v != VERSION) {
        return Err(format!("SARIF version {v}; tfgate reads {VERSION}"));
    }
    Ok(log.runs.into_iter().map(|r| run(r, places)).collect())
}

fn run(raw: RawRun, places: &Places<'_>) -> Run {
    let tool = raw
        .tool
        .driver
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "unnamed tool".to_string());
    let findings = raw
        .results
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            finding(
                &tool,
                &raw.tool.driver.rules,
                &raw.original_uri_base_ids,
                r,
                places,
            )
        })
        .collect();
    Run { tool, findings }
}

fn finding(
    tool: &str,
    rules: &[Rule],
    bases: &BTreeMap<String, ArtifactLocation>,
    r: RawResult,
    places: &Places<'_>,
) -> Finding {
    let index = r.rule_index.or(r.rule.as_ref().and_then(|x| x.index));
    let id = r
        .rule_id
        .clone()
        .or_else(|| r.rule.as_ref().and_then(|x| x.id.clone()));
    let rule = index
        .and_then(|i| rules.get(i))
        .filter(|rule| id.is_none() || rule.id == id)
        .or_else(|| rules.iter().find(|rule| id.is_some() && rule.id == id));
    let id = id.or_else(|| rule.and_then(|x| x.id.clone()));
    let level = match r.kind.as_deref() {
        Some(kind) if kind != "fail" => Level::None,
        _ => r
            .level
            .as_deref()
            .and_then(Level::parse)
            .or_else(|| {
                rule.and_then(|x| x.default_configuration.as_ref())
                    .and_then(|c| c.level.as_deref())
                    .and_then(Level::parse)
            })
            .unwrap_or(Level::Warning),
    };
    let message = r
        .message
        .and_then(|m| m.text)
        .or_else(|| rule.and_then(|x| x.short_description.as_ref()?.text.clone()))
        .unwrap_or_default();
    let location = r
        .locations
        .into_iter()
        .find_map(|l| l.physical_location)
        .and_then(|p| location(p, bases, places));
    Finding {
        tool: tool.to_string(),
        rule: id,
        level,
        message,
        location,
        suppressed: r
            .suppressions
            .iter()
            .any(|s| s.status.as_deref() != Some("rejected")),
    }
}

fn location(
    p: PhysicalLocation,
    bases: &BTreeMap<String, ArtifactLocation>,
    places: &Places<'_>,
) -> Option<Location> {
    let artifact = p.artifact_location?;
    let uri = decode(artifact.uri.as_deref()?);
    let file = resolve(&uri, artifact.uri_base_id.as_deref(), bases, places);
    Some(Location {
        shown: file.clone().unwrap_or_else(|| uri.clone()),
        file,
        line: p.region.and_then(|r| r.start_line).filter(|l| *l > 0),
    })
}

/// The file's path inside the repository, when it exists and is inside.
fn resolve(
    uri: &str,
    base_id: Option<&str>,
    bases: &BTreeMap<String, ArtifactLocation>,
    places: &Places<'_>,
) -> Option<String> {
    let repo = places.repo?;
    let candidates: Vec<PathBuf> = if let Some(path) = file_uri_path(uri) {
        vec![path]
    } else if has_scheme(uri) {
        // https://…, or anything else that is not a file here.
        return None;
    } else if uri.starts_with('/') {
        vec![PathBuf::from(uri)]
    } else {
        match base_id.and_then(|id| base_dir(id, bases, repo, 0)) {
            Some(base) => vec![base.join(uri)],
            None => vec![places.root.join(uri), repo.join(uri)],
        }
    };
    let real = candidates.iter().find_map(|c| (places.real_path)(c))?;
    let inside = real.strip_prefix(repo).ok()?;
    let parts: Vec<String> = inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The folder a `uriBaseId` names: the run's `originalUriBaseIds` entry (itself possibly
/// relative to another base), else the repository for `%SRCROOT%`/`SRCROOT`.
fn base_dir(
    id: &str,
    bases: &BTreeMap<String, ArtifactLocation>,
    repo: &Path,
    depth: usize,
) -> Option<PathBuf> {
    if depth > 8 {
        return None;
    }
    let Some(entry) = bases.get(id) else {
        return matches!(id, "%SRCROOT%" | "SRCROOT").then(|| repo.to_path_buf());
    };
    let uri = decode(entry.uri.as_deref().unwrap_or(""));
    if let Some(path) = file_uri_path(&uri) {
        return Some(path);
    }
    if has_scheme(&uri) {
        return None;
    }
    let parent = match entry.uri_base_id.as_deref() {
        Some(parent) => base_dir(parent, bases, repo, depth + 1)?,
        None if uri.starts_with('/') => return Some(PathBuf::from(uri)),
        None if matches!(id, "%SRCROOT%" | "SRCROOT") => repo.to_path_buf(),
        None => return None,
    };
    Some(parent.join(uri))
}

/// `file:///abs/path` or `file://localhost/abs/path` as a path; `None` for anything else.
fn file_uri_path(uri: &str) -> Option<PathBuf> {
    let rest = uri
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("file://"))
        .map(|_| &uri[7..])
        .or_else(|| {
            uri.get(..5)
                .filter(|s| s.eq_ignore_ascii_case("file:"))
                .map(|_| &uri[5..])
        })?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    rest.starts_with('/').then(|| PathBuf::from(rest))
}

/// Whether `uri` starts with a URI scheme (`https:`, `file:`), as opposed to a path.
fn has_scheme(uri: &str) -> bool {
    match uri.find(':') {
        Some(at) if at > 1 => {
            let scheme = &uri[..at];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

/// A URI's percent-escapes decoded (invalid UTF-8 replaced).
fn decode(uri: &str) -> String {
    percent_encoding::percent_decode_str(uri)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_and_schemes() {
        assert_eq!(
            file_uri_path("file:///home/runner/work/infra/main.tf"),
            Some(PathBuf::from("/home/runner/work/infra/main.tf"))
        );
        assert_eq!(
            file_uri_path("file://localhost/x/main.tf"),
            Some(PathBuf::from("/x/main.tf"))
        );
        assert_eq!(file_uri_path("FILE:/x"), Some(PathBuf::from("/x")));
        assert_eq!(file_uri_path("file://server/share/x"), None);
        assert_eq!(file_uri_path("main.tf"), None);
        assert!(has_scheme("https://example.com/x"));
        assert!(!has_scheme("main.tf"));
        assert!(!has_scheme("modules/a:b/main.tf"));
        assert!(!has_scheme("C:\\x"), "a drive letter is no scheme");
        assert_eq!(decode("a%20b%2Fc"), "a b/c");
    }
}
