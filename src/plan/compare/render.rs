//! The per-resource and per-output text renderings that the report diffs.

use super::*;

/// The renderings of every resource and output that still differs, A's and B's.
pub(super) fn render_subjects(
    a: &Plan<'_>,
    b: &Plan<'_>,
    index_a: &HashMap<Key<'_>, usize>,
    index_b: &HashMap<Key<'_>, usize>,
    found: &[Found],
    rules: &[IgnoreRule],
) -> Result<Renderings, CompareError> {
    let mut out = Renderings::default();
    for (n, group) in found
        .chunk_by(|x, y| same_subject(&x.diff, &y.diff))
        .enumerate()
    {
        if n >= MAX_RENDERED_SUBJECTS {
            out.omitted += 1;
            continue;
        }
        let first = &group[0].diff;
        let rules: Vec<&IgnoreRule> = rules
            .iter()
            .filter(|r| r.matches_address(&first.address))
            .collect();
        let sensitive: Vec<&AttrPath> = group
            .iter()
            .filter(|f| f.diff.sensitive)
            .filter_map(|f| f.value_path.as_ref())
            .collect();
        let ctx = RenderContext {
            rules: &rules,
            sensitive: &sensitive,
        };
        if first.is_output() {
            let name = first
                .address
                .strip_prefix("output.")
                .unwrap_or(&first.address);
            let declared = |p: &Plan<'_>| {
                p.configuration
                    .as_ref()
                    .and_then(|c| c.root_module.outputs.get(name))
                    .is_some_and(|o| o.sensitive)
            };
            let secret = declared(a) || declared(b);
            if let Some(c) = a.output_changes.get(name) {
                render_output(&first.address, c, secret, &ctx, false, &mut out.a)
                    .map_err(on(Side::A))?;
            }
            if let Some(c) = b.output_changes.get(name) {
                render_output(&first.address, c, secret, &ctx, true, &mut out.b)
                    .map_err(on(Side::B))?;
            }
        } else {
            let k: Key<'_> = (first.address.as_str(), first.deposed.as_deref());
            if let Some(&i) = index_a.get(&k) {
                render_resource(&a.resource_changes[i], &ctx, false, &mut out.a)
                    .map_err(on(Side::A))?;
            }
            if let Some(&i) = index_b.get(&k) {
                render_resource(&b.resource_changes[i], &ctx, true, &mut out.b)
                    .map_err(on(Side::B))?;
            }
        }
    }
    Ok(out)
}

pub(super) struct RenderContext<'r> {
    /// Ignore rules that match this subject's address.
    pub(super) rules: &'r [&'r IgnoreRule],
    /// Paths of this subject's sensitive differences.
    pub(super) sensitive: &'r [&'r AttrPath],
}

impl RenderContext<'_> {
    pub(super) fn ignored(&self, path: &AttrPath) -> bool {
        self.rules
            .iter()
            .any(|r| r.path().is_some_and(|p| path.starts_with(p)))
    }

    /// The note on B's line for a path whose sensitive value differs from A's (the redacted
    /// lines would otherwise be equal and the diff would not show it).
    pub(super) fn note(&self, path: &AttrPath, is_b: bool) -> &'static str {
        if is_b
            && self
                .sensitive
                .iter()
                .any(|s| path.starts_with(s) || s.starts_with(path))
        {
            "  # sensitive value changed"
        } else {
            ""
        }
    }
}

pub(super) fn render_resource(
    rc: &ResourceChange<'_>,
    ctx: &RenderContext<'_>,
    is_b: bool,
    out: &mut Vec<String>,
) -> Result<(), PlanJsonError> {
    let subject = match &rc.deposed {
        Some(d) => format!("{} (deposed {d})", rc.address),
        None => rc.address.to_string(),
    };
    let actions = &rc.change.actions;
    let mut head = format!("{subject}: {}", resource_label(rc));
    if actions.len() > 1 {
        head.push_str(&format!(" ({})", actions.join(", ")));
    }
    out.push(head);
    if let Some(prev) = moved_from(rc) {
        out.push(format!("{subject}: moved from {prev}"));
    }
    if let Some(id) = import_id(rc) {
        out.push(format!("{subject}: import id {}", Value::String(id)));
    }
    let replace = replace_paths(rc)?;
    if !replace.is_empty() {
        let list: Vec<String> = replace.iter().map(ToString::to_string).collect();
        out.push(format!("{subject}: replace paths {}", list.join(", ")));
    }
    render_values(&subject, &rc.change, false, ctx, is_b, out)
}

pub(super) fn render_output(
    address: &str,
    c: &Change<'_>,
    secret: bool,
    ctx: &RenderContext<'_>,
    is_b: bool,
    out: &mut Vec<String>,
) -> Result<(), PlanJsonError> {
    out.push(format!(
        "{address}: {}",
        Action::from_actions(&c.actions).as_str()
    ));
    render_values(address, c, secret, ctx, is_b, out)
}

/// One line per changed attribute: `SUBJECT: PATH = BEFORE -> AFTER`, redacted.
pub(super) fn render_values(
    subject: &str,
    c: &Change<'_>,
    secret: bool,
    ctx: &RenderContext<'_>,
    is_b: bool,
    out: &mut Vec<String>,
) -> Result<(), PlanJsonError> {
    let values = ChangeValues::of(c, subject)?;
    walk_changes(&values, &mut |f| {
        if ctx.ignored(f.path) {
            return;
        }
        let redacted = |v: &Node<'_>, mask: &Node<'_>| {
            if secret && !matches!(v, Node::Null) {
                Value::String(SENSITIVE.into())
            } else {
                redact_value(&v.to_shown_value(), &mask.to_shown_value())
            }
        };
        let before = redacted(f.before, f.before_sensitive);
        let after = match f.after {
            Some(a) => redacted(a, f.after_sensitive),
            None => Value::String(KNOWN_AFTER_APPLY.into()),
        };
        let at = if f.path.0.is_empty() {
            String::new()
        } else {
            format!(" {} =", f.path)
        };
        out.push(format!(
            "{subject}:{at} {} -> {}{}",
            display_value(&before),
            display_value(&after),
            ctx.note(f.path, is_b)
        ));
    });
    Ok(())
}

/// Compact JSON, except that the `(sensitive value)` and `(known after apply)` markers are shown
/// bare, as Terraform shows them.
pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) if s == SENSITIVE || s == KNOWN_AFTER_APPLY => s.clone(),
        v => v.to_string(),
    }
}
