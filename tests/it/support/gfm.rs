//! Markdown as GitHub shows it: renders a comment with cmark-gfm (PyPI's `cmarkgfm`, the
//! renderer github.com uses, installed by `scripts/test.sh`) and gives the resulting HTML as a
//! tree, so a test checks structure (tables, folds, code spans, links) rather than strings.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// One node of the rendered HTML: an element with attributes and children, or text.
#[derive(Debug, Clone)]
pub enum Node {
    Element {
        tag: String,
        attrs: Vec<(String, String)>,
        children: Vec<Node>,
    },
    Text(String),
}

/// A rendered document: the HTML as text and as a tree.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    pub root: Node,
}

/// Renders `markdown` as GitHub does. Panics (failing the test) when the renderer is missing.
pub fn render(markdown: &str) -> Rendered {
    let script = super::project_dir().join("tests/it/support/gfm.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3 (scripts/test.sh installs cmarkgfm)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(markdown.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cmarkgfm failed (is it installed? scripts/test.sh installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("gfm.py prints JSON");
    Rendered {
        html: doc["html"].as_str().unwrap_or_default().to_string(),
        root: node(&doc["tree"]),
    }
}

fn node(v: &Value) -> Node {
    if let Some(text) = v.get("text").and_then(Value::as_str) {
        return Node::Text(text.to_string());
    }
    let attrs = v["attrs"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let children = v["children"]
        .as_array()
        .map(|a| a.iter().map(node).collect())
        .unwrap_or_default();
    Node::Element {
        tag: v["tag"].as_str().unwrap_or_default().to_string(),
        attrs,
        children,
    }
}

impl Node {
    pub fn tag(&self) -> Option<&str> {
        match self {
            Node::Element { tag, .. } => Some(tag),
            Node::Text(_) => None,
        }
    }

    pub fn children(&self) -> &[Node] {
        match self {
            Node::Element { children, .. } => children,
            Node::Text(_) => &[],
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        match self {
            Node::Element { attrs, .. } => attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            Node::Text(_) => None,
        }
    }

    /// All the text under this node, concatenated.
    pub fn text(&self) -> String {
        match self {
            Node::Text(t) => t.clone(),
            Node::Element { children, .. } => children.iter().map(Node::text).collect(),
        }
    }

    /// Every element under this node (itself included) with tag `tag`, in document order.
    pub fn all(&self, tag: &str) -> Vec<&Node> {
        let mut found = Vec::new();
        self.collect(&mut |n| n.tag() == Some(tag), &mut found);
        found
    }

    /// The text outside any `<code>` or `<pre>`: where markdown or HTML in a value would have
    /// taken effect had it escaped its code span.
    pub fn text_outside_code(&self) -> String {
        match self {
            Node::Text(t) => t.clone(),
            Node::Element { tag, .. } if tag == "code" || tag == "pre" => String::new(),
            Node::Element { children, .. } => {
                children.iter().map(Node::text_outside_code).collect()
            }
        }
    }

    fn collect<'a>(&'a self, pred: &mut dyn FnMut(&Node) -> bool, out: &mut Vec<&'a Node>) {
        if pred(self) {
            out.push(self);
        }
        for c in self.children() {
            c.collect(pred, out);
        }
    }
}

/// A rendered table: header cells and body rows, as text.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The body cells as nodes, for checks on their structure (code spans, links).
    pub cells: Vec<Vec<Node>>,
}

impl Rendered {
    /// Every table in the document, in order.
    pub fn tables(&self) -> Vec<Table> {
        self.root
            .all("table")
            .into_iter()
            .map(|t| {
                let header = t
                    .all("th")
                    .into_iter()
                    .map(|c| c.text().trim().to_string())
                    .collect();
                let mut rows = Vec::new();
                let mut cells = Vec::new();
                for tbody in t.all("tbody") {
                    for tr in tbody.all("tr") {
                        let tds = tr.all("td");
                        rows.push(tds.iter().map(|c| c.text().trim().to_string()).collect());
                        cells.push(tds.into_iter().cloned().collect());
                    }
                }
                Table {
                    header,
                    rows,
                    cells,
                }
            })
            .collect()
    }

    /// The summaries of every `<details>` fold, in order.
    pub fn fold_summaries(&self) -> Vec<String> {
        self.root
            .all("details")
            .into_iter()
            .filter_map(|d| {
                d.all("summary")
                    .first()
                    .map(|s| s.text().trim().to_string())
            })
            .collect()
    }

    /// The text a reader sees outside any fold (what shows before anything is expanded).
    pub fn visible_text(&self) -> String {
        fn walk(n: &Node, out: &mut String) {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element { tag, children, .. } => {
                    if tag == "details" {
                        // Only the summary of a closed fold shows.
                        if let Some(s) = n.all("summary").first() {
                            out.push_str(&s.text());
                        }
                        return;
                    }
                    for c in children {
                        walk(c, out);
                    }
                }
            }
        }
        let mut out = String::new();
        walk(&self.root, &mut out);
        out
    }

    /// Every element under `root` whose tag is one that plan values must never create: a
    /// value that escaped its code span shows up as one of these.
    pub fn injected(&self, tags: &[&str]) -> Vec<String> {
        tags.iter()
            .flat_map(|t| self.root.all(t))
            .map(|n| format!("{n:?}"))
            .collect()
    }
}
