//! The values of sensitive variables that tfgate can know before terraform plans.
//!
//! A failing precondition, validation or check can print a sensitive variable (through
//! `nonsensitive()` in its message) before any plan exists to learn secrets from. This module
//! reads the root's variable declarations (`.tf` and `.tf.json`, override files included) for
//! `sensitive = true`, then the values such variables get from every place terraform takes
//! them: declared defaults, `terraform.tfvars`, `*.auto.tfvars` (and their `.json` forms),
//! `-var-file` and `-var` arguments, and `TF_VAR_name` (given by the caller: this module does
//! not read the environment). Values are read with hcl-rs, as `backend.rs` reads backend
//! blocks (only the `variable` blocks of a large file, when they parse on their own: this runs
//! before every plan); a value that only terraform can compute is beyond it. A file it cannot parse is not
//! an error (terraform reports its own): it is named in `Known::unreadable`. This module reads
//! files and prints nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use std::sync::LazyLock;

use hcl::eval::Evaluate;
use regex::Regex;

/// Why a file could not be read. Never hcl-rs's message: it quotes the offending line, which
/// may hold the very secret.
const NOT_HCL: &str = "not valid HCL to tfgate's parser";

/// What could be learnt before planning.
#[derive(Debug, Default)]
pub struct Known {
    /// Every string (and number) the sensitive variables hold.
    pub secrets: Vec<String>,
    /// Files that could not be read or parsed, and why (never their contents: a JSON error
    /// names a line and column only).
    pub unreadable: Vec<(PathBuf, String)>,
}

/// The values of the root's sensitive variables, from the root's files, `terraform_args` (the
/// arguments given to `terraform plan`) and `tf_vars` (`TF_VAR_name` → value).
pub fn sensitive_values(
    root: &Path,
    terraform_args: &[String],
    tf_vars: &BTreeMap<String, String>,
) -> Known {
    let mut known = Known::default();
    let files = root_files(root);
    let (sensitive, defaults) = declared_sensitive(&files, &mut known);
    if sensitive.is_empty() {
        return known;
    }
    known.secrets.extend(defaults);

    // Variable files, in the order terraform reads them (the order does not matter for masking).
    let mut var_files: Vec<PathBuf> = files
        .iter()
        .filter(|p| {
            let name = file_name(p);
            name == "terraform.tfvars"
                || name == "terraform.tfvars.json"
                || name.ends_with(".auto.tfvars")
                || name.ends_with(".auto.tfvars.json")
        })
        .cloned()
        .collect();
    let (var_args, var_file_args) = var_arguments(terraform_args);
    // terraform runs in the root, so relative names are relative to it.
    var_files.extend(var_file_args.iter().map(|f| root.join(f)));
    for path in &var_files {
        let Some(text) = read(path, &mut known) else {
            continue;
        };
        let result = if has_suffix(path, ".json") {
            json_var_file(&text, &sensitive, &mut known.secrets)
        } else {
            hcl_var_file(&text, &sensitive, &mut known.secrets)
        };
        if let Err(e) = result {
            known.unreadable.push((path.clone(), e));
        }
    }

    let given = var_args
        .iter()
        .filter_map(|a| a.split_once('='))
        .chain(tf_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (name, raw) in given {
        if sensitive.contains(name) {
            raw_value(raw, &mut known.secrets);
        }
    }
    known.secrets.sort();
    known.secrets.dedup();
    known
}

/// The sensitive variables the root's `.tf` and `.tf.json` files declare, and the values of
/// their defaults; files that cannot be read or parsed go to `known.unreadable`.
fn declared_sensitive(files: &[PathBuf], known: &mut Known) -> (BTreeSet<String>, Vec<String>) {
    let mut sensitive = BTreeSet::new();
    let mut defaults = Vec::new();
    for path in files
        .iter()
        .filter(|p| has_suffix(p, ".tf") || has_suffix(p, ".tf.json"))
    {
        let Some(text) = read(path, known) else {
            continue;
        };
        // Only files that could declare a sensitive variable are parsed.
        if !text.contains("variable") || !text.contains("sensitive") {
            continue;
        }
        let declared = if has_suffix(path, ".json") {
            json_declarations(&text)
        } else {
            hcl_declarations(&text)
        };
        match declared {
            Ok(vars) => {
                for (name, default) in vars {
                    sensitive.insert(name);
                    defaults.extend(default);
                }
            }
            Err(e) => known.unreadable.push((path.clone(), e)),
        }
    }
    (sensitive, defaults)
}

/// The root's files (not its subfolders: modules have their own variables), sorted.
fn root_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn has_suffix(path: &Path, suffix: &str) -> bool {
    file_name(path).ends_with(suffix)
}

fn read(path: &Path, known: &mut Known) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            known.unreadable.push((path.to_path_buf(), e.to_string()));
            None
        }
    }
}

/// `-var NAME=VALUE` and `-var-file FILE` arguments (also `-var=…`, `--var …`), as terraform's
/// flag parser accepts them.
fn var_arguments(args: &[String]) -> (Vec<&str>, Vec<&str>) {
    let mut vars = Vec::new();
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'));
        let Some(flag) = flag else { continue };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag, None),
        };
        let target = match name {
            "var" => &mut vars,
            "var-file" => &mut files,
            _ => continue,
        };
        if let Some(v) = inline.or_else(|| it.next().map(String::as_str)) {
            target.push(v);
        }
    }
    (vars, files)
}

/// A value given as text (`-var`, `TF_VAR_`): terraform takes it literally for a string
/// variable and parses it as an expression for others; both readings are masked.
fn raw_value(raw: &str, out: &mut Vec<String>) {
    out.push(raw.to_string());
    if let Ok(body) = hcl::parse(&format!("v = {raw}\n"))
        && let Some(attr) = body.attributes().find(|a| a.key() == "v")
        && let Ok(value) = attr.expr().evaluate(&hcl::eval::Context::new())
    {
        collect_hcl(&value, out);
    }
}

/// A block header at the start of a line: `TYPE "LABEL"… {`.
static TOP_LEVEL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)^[A-Za-z_][A-Za-z0-9_-]*(?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][A-Za-z0-9_-]*))*[ \t]*\{"#,
    )
    .expect("static regex")
});
/// A `variable` header anywhere on a line.
static VARIABLE_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?m)^([ \t]*)variable[ \t]"#).expect("static regex"));

/// The `variable` blocks of a `.tf` file, cut out so that a large file of resources need not
/// be parsed: each from its header to the next block header at the start of a line (where
/// `terraform fmt` puts them). `None` when a `variable` header is indented, or when the cut-out
/// text does not parse (a header-like line inside a heredoc cut a block short): then the whole
/// file is parsed.
fn variable_blocks(text: &str) -> Option<hcl::Body> {
    if VARIABLE_HEADER
        .captures_iter(text)
        .any(|c| !c[1].is_empty())
    {
        return None;
    }
    let headers: Vec<usize> = TOP_LEVEL_HEADER
        .find_iter(text)
        .map(|m| m.start())
        .collect();
    let mut blocks = String::new();
    for (i, start) in headers.iter().enumerate() {
        if text[*start..].starts_with("variable") {
            let end = headers.get(i + 1).copied().unwrap_or(text.len());
            blocks.push_str(&text[*start..end]);
            blocks.push('\n');
        }
    }
    hcl::parse(&blocks).ok()
}

/// `variable "NAME" { sensitive = true … }` blocks: (NAME, the strings of its default).
fn hcl_declarations(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let body = match variable_blocks(text) {
        Some(body) => body,
        None => hcl::parse(text).map_err(|_| NOT_HCL.to_string())?,
    };
    let ctx = hcl::eval::Context::new();
    Ok(body
        .blocks()
        .filter(|b| b.identifier() == "variable")
        .filter(|b| {
            b.body()
                .attributes()
                .any(|a| a.key() == "sensitive" && matches!(a.expr(), hcl::Expression::Bool(true)))
        })
        .filter_map(|b| {
            let name = b.labels().first()?.as_str().to_string();
            let mut default = Vec::new();
            if let Some(value) = b
                .body()
                .attributes()
                .find(|a| a.key() == "default")
                .and_then(|a| a.expr().evaluate(&ctx).ok())
            {
                collect_hcl(&value, &mut default);
            }
            Some((name, default))
        })
        .collect())
}

/// The same in Terraform's JSON syntax: `{"variable": {"NAME": {"sensitive": true, …}}}`,
/// where any of these objects may also be a list of such objects.
fn json_declarations(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for top in objects(&doc) {
        for variables in top.get("variable").map(objects).unwrap_or_default() {
            for (name, decl) in variables {
                for decl in objects(decl) {
                    if decl.get("sensitive") == Some(&serde_json::Value::Bool(true)) {
                        let mut default = Vec::new();
                        if let Some(value) = decl.get("default") {
                            collect_json(value, &mut default);
                        }
                        out.push((name.clone(), default));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// An object, or each object of a list.
fn objects(v: &serde_json::Value) -> Vec<&serde_json::Map<String, serde_json::Value>> {
    match v {
        serde_json::Value::Object(m) => vec![m],
        serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_object()).collect(),
        _ => Vec::new(),
    }
}

/// `NAME = VALUE` lines of a `.tfvars` file, for the sensitive names.
fn hcl_var_file(
    text: &str,
    sensitive: &BTreeSet<String>,
    out: &mut Vec<String>,
) -> Result<(), String> {
    let body = hcl::parse(text).map_err(|_| NOT_HCL.to_string())?;
    let ctx = hcl::eval::Context::new();
    for attr in body.attributes().filter(|a| sensitive.contains(a.key())) {
        if let Ok(value) = attr.expr().evaluate(&ctx) {
            collect_hcl(&value, out);
        }
    }
    Ok(())
}

/// A `.tfvars.json` file: one object of variable values.
fn json_var_file(
    text: &str,
    sensitive: &BTreeSet<String>,
    out: &mut Vec<String>,
) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    for (name, value) in doc.as_object().into_iter().flatten() {
        if sensitive.contains(name) {
            collect_json(value, out);
        }
    }
    Ok(())
}

/// Every string and number in a value (map keys are names, not secrets).
fn collect_hcl(value: &hcl::Value, out: &mut Vec<String>) {
    match value {
        hcl::Value::String(s) => out.push(s.clone()),
        hcl::Value::Number(n) => out.push(n.to_string()),
        hcl::Value::Array(items) => items.iter().for_each(|v| collect_hcl(v, out)),
        hcl::Value::Object(entries) => entries.values().for_each(|v| collect_hcl(v, out)),
        hcl::Value::Bool(_) | hcl::Value::Null => {}
    }
}

fn collect_json(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_json(v, out)),
        serde_json::Value::Object(entries) => entries.values().for_each(|v| collect_json(v, out)),
        serde_json::Value::Bool(_) | serde_json::Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_of_sensitive_variables_from_every_source() {
        let root = root_with(&[
            (
                "variables.tf",
                r#"
                variable "password" {
                  type      = string
                  sensitive = true
                  default   = "from-default-1"
                }
                variable "creds" {
                  type      = object({ user = string, key = string })
                  sensitive = true
                }
                variable "region" { default = "eu-west-1" }
                "#,
            ),
            (
                "more.tf.json",
                r#"{"variable": {"token": [{"sensitive": true, "default": "json-default-2"}],
                                 "plain": {"default": "not-secret-json"}}}"#,
            ),
            (
                "terraform.tfvars",
                "password = \"from-tfvars-3\"\nregion = \"us-east-1\"\n",
            ),
            (
                "a.auto.tfvars",
                "creds = {\n  user = \"u\"\n  key = <<-EOT\n    heredoc-key-4\n  EOT\n}\n",
            ),
            (
                "b.auto.tfvars.json",
                r#"{"token": "auto-json-5", "region": "x"}"#,
            ),
            ("terraform.tfvars.json", r#"{"password": 12345678}"#),
            ("extra.tfvars", "token = \"var-file-6\"\n"),
        ]);
        let mut tf_vars = BTreeMap::new();
        tf_vars.insert("password".to_string(), "from-env-7".to_string());
        tf_vars.insert("region".to_string(), "env-region".to_string());
        tf_vars.insert(
            "creds".to_string(),
            r#"{ user = "env-user", key = "env-key-8" }"#.to_string(),
        );
        let known = sensitive_values(
            root.path(),
            &args(&[
                "-var=token=cli-9",
                "-var",
                "password=cli-10",
                "-var=region=cli-region",
                "-var-file=extra.tfvars",
                "-lock=false",
            ]),
            &tf_vars,
        );
        assert!(known.unreadable.is_empty(), "{:?}", known.unreadable);
        for secret in [
            "from-default-1",
            "json-default-2",
            "from-tfvars-3",
            "heredoc-key-4\n",
            "auto-json-5",
            "12345678",
            "var-file-6",
            "from-env-7",
            "env-key-8",
            "cli-9",
            "cli-10",
        ] {
            assert!(
                known.secrets.iter().any(|s| s == secret),
                "{secret:?} missing from {:?}",
                known.secrets
            );
        }
        for public in [
            "eu-west-1",
            "us-east-1",
            "not-secret-json",
            "x",
            "env-region",
            "cli-region",
        ] {
            assert!(
                !known.secrets.iter().any(|s| s == public),
                "{public} is not secret"
            );
        }
    }

    #[test]
    fn variable_blocks_are_cut_out_of_large_files_when_they_parse_alone() {
        let text = r#"
resource "terraform_data" "a" {
  input = "x"
}

variable "pw" {
  type      = string
  sensitive = true
  default   = "cut-out-1"
  validation {
    condition     = length(var.pw) > 3
    error_message = "too short"
  }
}

locals { a = 1 }
variable "other" { default = "plain" }
"#;
        let body = variable_blocks(text).expect("cut out");
        assert_eq!(body.blocks().count(), 2);
        assert_eq!(
            hcl_declarations(text).unwrap(),
            [("pw".to_string(), vec!["cut-out-1".to_string()])]
        );
        // A heredoc holding a header-like line cuts a block short: the whole file is parsed.
        let tricky = "variable \"pw\" {\n  sensitive = true\n  default = <<EOT\nresource \"x\" \"y\" {\nheredoc-2\nEOT\n}\n";
        assert!(variable_blocks(tricky).is_none());
        assert_eq!(
            hcl_declarations(tricky).unwrap(),
            [(
                "pw".to_string(),
                vec!["resource \"x\" \"y\" {\nheredoc-2\n".to_string()]
            )]
        );
        // So is a file whose variable blocks are indented.
        let indented =
            "  variable \"pw\" {\n    sensitive = true\n    default = \"indented-3\"\n  }\n";
        assert!(variable_blocks(indented).is_none());
        assert_eq!(hcl_declarations(indented).unwrap()[0].1, ["indented-3"]);
    }

    #[test]
    fn without_sensitive_variables_nothing_is_read() {
        let root = root_with(&[
            ("main.tf", "variable \"region\" {}\n"),
            ("terraform.tfvars", "this is not hcl {{{"),
        ]);
        let known = sensitive_values(root.path(), &[], &BTreeMap::new());
        assert!(known.secrets.is_empty() && known.unreadable.is_empty());
    }

    #[test]
    fn unparsable_files_are_named_not_fatal() {
        let root = root_with(&[
            ("main.tf", "variable \"pw\" {\n sensitive = true\n}\n"),
            ("broken.tf", "variable \"x\" {\n sensitive = true {{{"),
            ("terraform.tfvars", "pw = \"still-found-1\"\n"),
            ("bad.auto.tfvars", "pw = = ="),
        ]);
        let known = sensitive_values(
            root.path(),
            &args(&["-var-file", "missing.tfvars"]),
            &BTreeMap::new(),
        );
        assert_eq!(known.secrets, ["still-found-1"]);
        let names: Vec<&str> = known.unreadable.iter().map(|(p, _)| file_name(p)).collect();
        assert_eq!(names, ["broken.tf", "bad.auto.tfvars", "missing.tfvars"]);
    }
}
