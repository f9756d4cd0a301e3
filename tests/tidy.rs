//! The shape of the code, checked on every test run (docs/ARCHITECTURE.md explains it):
//!
//! - every source file belongs to a layer, and imports only from its own layer or lower ones;
//! - no command imports another command;
//! - the workflows (`ops`) name no adapter behind a port: they take the ports as traits, and
//!   `wire` (above them) picks the adapters;
//! - the files' import graph has no cycle;
//! - no file has more than 700 production lines and no function more than 80 lines.
//!
//! Imports are read as text (`crate::a::b` paths outside `#[cfg(test)]` code), which is enough
//! because the crate names its own modules only that way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 700;
const MAX_FN_LINES: usize = 80;

/// Layers from the top. A module belongs to the layer of its longest matching prefix.
const LAYERS: &[(&str, &[&str])] = &[
    ("entry", &["lib", "main", "cli"]),
    ("commands", &["commands"]),
    ("wire", &["wire"]),
    ("ops", &["ops"]),
    ("settings", &["settings"]),
    (
        "adapters",
        &[
            "aws",
            "github::octo",
            "github::retry",
            "github::transport",
            "archive::local",
            "archive::artifact",
            "queue::file",
            "terraform",
            "ui",
            "context",
            "actions",
        ],
    ),
    (
        "domain",
        &[
            "ports",
            "plan",
            "render",
            "sarif",
            "queue",
            "state_lock",
            "archive",
            "github",
            "terraform::plan_json",
            "error",
            "duration",
        ],
    ),
];

/// The adapters behind the ports (`ops::ports::Ports`): `ops` takes them as traits and never
/// names one. The bundle folder writer (`archive::local`) is not behind a port: every bundle is
/// written to the root's folder first.
const PORT_ADAPTERS: &[&str] = &["aws", "github::octo", "queue::file"];

fn within(module: &str, prefix: &str) -> bool {
    module == prefix || module.starts_with(&format!("{prefix}::"))
}

fn layer_of(module: &str) -> Option<(usize, &'static str)> {
    let mut best: Option<(usize, usize, &'static str)> = None;
    for (rank, (name, prefixes)) in LAYERS.iter().enumerate() {
        for prefix in *prefixes {
            if within(module, prefix) && best.is_none_or(|(len, _, _)| prefix.len() > len) {
                best = Some((prefix.len(), rank, name));
            }
        }
    }
    best.map(|(_, rank, name)| (rank, name))
}

struct Source {
    path: PathBuf,
    /// Lines before the first top-level `#[cfg(test)]`.
    production: Vec<String>,
    test_only: bool,
}

fn module_name(src: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let mut name = parts.join("::");
    if let Some(parent) = name.strip_suffix("::mod") {
        name = parent.to_string();
    }
    name
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> BTreeMap<String, Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    let mut map = BTreeMap::new();
    let mut test_modules = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let end = lines
            .iter()
            .position(|l| l.starts_with("#[cfg(test)]"))
            .unwrap_or(lines.len());
        let name = module_name(&src, &path);
        // `#[cfg(test)] mod x;` declares a file that is all test code.
        for pair in lines.windows(2) {
            if pair[0].trim() == "#[cfg(test)]"
                && let Some(child) = pair[1]
                    .trim()
                    .strip_prefix("mod ")
                    .and_then(|r| r.strip_suffix(';'))
            {
                let parent = if name == "lib" {
                    String::new()
                } else {
                    format!("{name}::")
                };
                test_modules.insert(format!("{parent}{child}"));
            }
        }
        map.insert(
            name,
            Source {
                path,
                production: lines[..end].to_vec(),
                test_only: false,
            },
        );
    }
    for m in test_modules {
        if let Some(s) = map.get_mut(&m) {
            s.test_only = true;
        }
    }
    map
}

/// Removes string and character literals and comments, so braces and paths in them are not code.
fn code_only(line: &str, in_string: &mut bool) -> String {
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if *in_string {
            if c == '\\' {
                i += 2;
                continue;
            }
            if c == '"' {
                *in_string = false;
            }
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            break;
        }
        if c == '"' {
            *in_string = true;
            i += 1;
            continue;
        }
        if c == '\'' {
            // A char literal: 'x' or '\x…'; a lifetime has no closing quote right after.
            if chars.get(i + 1) == Some(&'\\') {
                let close = chars[i + 2..].iter().position(|&c| c == '\'');
                i += close.map_or(1, |p| p + 3);
                continue;
            }
            if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn imports(source: &Source, modules: &BTreeMap<String, Source>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut in_string = false;
    for line in &source.production {
        let code = code_only(line, &mut in_string);
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            let path: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            for k in (1..=parts.len()).rev() {
                let candidate = parts[..k].join("::");
                if modules.contains_key(&candidate) {
                    found.insert(candidate);
                    break;
                }
            }
            rest = &rest[at + 7..];
        }
    }
    found
}

fn graph() -> (BTreeMap<String, Source>, BTreeMap<String, BTreeSet<String>>) {
    let modules = sources();
    let edges = modules
        .iter()
        .map(|(name, s)| {
            let mut targets = imports(s, &modules);
            targets.remove(name);
            (name.clone(), targets)
        })
        .collect();
    (modules, edges)
}

#[test]
fn every_module_has_a_layer_and_imports_only_downwards() {
    let (modules, edges) = graph();
    let mut problems = Vec::new();
    for (from, targets) in &edges {
        if modules[from].test_only {
            continue;
        }
        let Some((from_rank, from_layer)) = layer_of(from) else {
            problems.push(format!(
                "{from}: in no layer (add it to LAYERS in tests/tidy.rs)"
            ));
            continue;
        };
        for to in targets {
            let (to_rank, to_layer) = layer_of(to).expect("every module has a layer");
            if to_rank < from_rank {
                problems.push(format!(
                    "{from} ({from_layer}) imports {to} ({to_layer}), a higher layer"
                ));
            }
            if let (Some(a), Some(b)) = (command_of(from), command_of(to))
                && a != b
            {
                problems.push(format!("{from} imports another command, {to}"));
            }
            if within(from, "ops") && PORT_ADAPTERS.iter().any(|a| within(to, a)) {
                problems.push(format!(
                    "{from} (ops) imports {to}, an adapter behind a port: take the port as a trait (ops::ports::Ports) and let wire pick the adapter"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `apply` for `commands::apply` and `commands::apply::find`.
fn command_of(module: &str) -> Option<&str> {
    module.strip_prefix("commands::")?.split("::").next()
}

#[test]
fn the_import_graph_has_no_cycle() {
    let (modules, edges) = graph();
    // Depth-first search with colours; reports the first cycle found.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(node, 1);
        stack.push(node);
        for next in &edges[node] {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle: Vec<String> =
                        stack[start..].iter().map(|s| s.to_string()).collect();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node, 2);
        None
    }
    let mut state = BTreeMap::new();
    for name in modules.keys() {
        if !state.contains_key(name.as_str())
            && let Some(cycle) = visit(name, &edges, &mut state, &mut Vec::new())
        {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn files_and_functions_stay_small() {
    let modules = sources();
    let mut problems = Vec::new();
    for source in modules.values().filter(|s| !s.test_only) {
        let shown = source.path.display();
        if source.production.len() > MAX_FILE_LINES {
            problems.push(format!(
                "{shown}: {} production lines (at most {MAX_FILE_LINES})",
                source.production.len()
            ));
        }
        let mut in_string = false;
        let code: Vec<String> = source
            .production
            .iter()
            .map(|l| code_only(l, &mut in_string))
            .collect();
        for (start, name, length) in long_functions(&code) {
            problems.push(format!(
                "{shown}:{}: fn {name} has {length} lines (at most {MAX_FN_LINES})",
                start + 1
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// (first line, name, length) of every function longer than `MAX_FN_LINES`.
fn long_functions(code: &[String]) -> Vec<(usize, &str, usize)> {
    let mut out = Vec::new();
    for (start, line) in code.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let mut depth = 0i64;
        let mut opened = false;
        for (offset, l) in code[start..].iter().enumerate() {
            depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
            opened |= l.contains('{');
            if !opened && l.trim_end().ends_with(';') {
                break;
            }
            if opened && depth <= 0 {
                if offset + 1 > MAX_FN_LINES {
                    out.push((start, name, offset + 1));
                }
                break;
            }
        }
    }
    out
}

fn fn_name(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    for word in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(word).unwrap_or(rest);
        rest = rest.strip_prefix(word).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&rest[..end])
}

#[test]
fn the_checks_see_what_they_check() {
    let mut in_string = false;
    assert_eq!(
        code_only(r#"let s = "{ crate::x }"; // crate::y"#, &mut in_string),
        "let s = ; "
    );
    assert_eq!(
        code_only("let c = '{'; f::<'a>()", &mut in_string),
        "let c = ; f::<'a>()"
    );
    assert_eq!(fn_name("    pub async fn run<'a>("), Some("run"));
    assert_eq!(fn_name("let f = 1;"), None);
    assert_eq!(layer_of("terraform::plan_json"), Some((6, "domain")));
    assert_eq!(layer_of("wire"), Some((2, "wire")));
    assert_eq!(layer_of("ops::apply"), Some((3, "ops")));
    assert_eq!(layer_of("terraform::runner"), Some((5, "adapters")));
    assert_eq!(layer_of("commands::apply::find"), Some((1, "commands")));
    assert_eq!(layer_of("nowhere"), None);
    let long: Vec<String> = std::iter::once("pub async fn big() {".to_string())
        .chain((0..MAX_FN_LINES).map(|_| "    work();".to_string()))
        .chain(["}".to_string(), "fn small() {}".to_string()])
        .collect();
    assert_eq!(long_functions(&long), [(0, "big", MAX_FN_LINES + 2)]);
}
