//! Resources: which resources differ between the two plans, and within one resource, which
//! attribute values, replace paths, moves and imports.

use super::*;

/// All resource differences. A's resources are split over the cores; each looks up its
/// counterpart in B's index; B's resources nobody looked up are then the ones only B has.
/// `same_in_a` (empty, or one entry per change of B) names the pairs known not to differ.
pub(super) fn resource_differences(
    a: &Plan<'_>,
    b: &Plan<'_>,
    index_b: &HashMap<Key<'_>, usize>,
    same_in_a: &[Option<usize>],
) -> Result<Vec<Found>, CompareError> {
    let in_a = &a.resource_changes;
    let in_b = &b.resource_changes;
    let parts = par::map_chunks(in_a, |start, part| {
        let mut found = Vec::new();
        let mut matched = Vec::with_capacity(part.len());
        for (i, ra) in (start..).zip(part) {
            let pos = index_b.get(&key(ra)).copied();
            matched.extend(pos);
            if pos.is_some_and(|p| same_in_a.get(p) == Some(&Some(i))) {
                continue;
            }
            compare_resource(Some(ra), pos.map(|p| &in_b[p]), &mut found)?;
        }
        Ok::<_, CompareError>((found, matched))
    });
    let mut seen = vec![false; in_b.len()];
    let mut found = Vec::new();
    for part in parts {
        let (part, matched) = part?;
        found.extend(part);
        for p in matched {
            seen[p] = true;
        }
    }
    for (rb, seen) in in_b.iter().zip(&seen) {
        if !seen {
            compare_resource(None, Some(rb), &mut found)?;
        }
    }
    Ok(found)
}

pub(super) fn compare_resource<'r>(
    ra: Option<&'r ResourceChange<'_>>,
    rb: Option<&'r ResourceChange<'_>>,
    out: &mut Vec<Found>,
) -> Result<(), CompareError> {
    let Some(subject) = ra.or(rb) else {
        return Ok(());
    };
    let pair = Pair { ra, rb, subject };
    let changing_a = ra.filter(|r| fingerprint::is_in_change_set(r));
    let changing_b = rb.filter(|r| fingerprint::is_in_change_set(r));
    let actions_of = |r: Option<&ResourceChange<'_>>| {
        r.map_or(Value::Null, |r| actions_value(&r.change.actions))
    };
    match (changing_a, changing_b) {
        (None, None) => Ok(()),
        (Some(_), None) | (None, Some(_)) => {
            let kind = if changing_a.is_some() {
                Kind::OnlyInA
            } else {
                Kind::OnlyInB
            };
            let diff = Difference {
                kind,
                a: actions_of(ra),
                b: actions_of(rb),
                ..pair.base()
            };
            push(out, diff, None);
            Ok(())
        }
        (Some(x), Some(y)) => {
            state_differences(&pair, x, y, out)?;
            values_differences(&pair, x, y, out)
        }
    }
}

/// One resource in both plans (or either), for the differences found in it.
struct Pair<'r, 's> {
    ra: Option<&'r ResourceChange<'s>>,
    rb: Option<&'r ResourceChange<'s>>,
    subject: &'r ResourceChange<'s>,
}

impl Pair<'_, '_> {
    /// A difference of this resource, to be filled in (made only for a difference: most pairs
    /// have none).
    fn base(&self) -> Difference {
        Difference {
            address: self.subject.address.to_string(),
            kind: Kind::Actions,
            paths: Vec::new(),
            a: Value::Null,
            b: Value::Null,
            deposed: self.subject.deposed.clone(),
            action_a: self.ra.map(resource_label),
            action_b: self.rb.map(resource_label),
            sensitive: false,
        }
    }
}

fn push(out: &mut Vec<Found>, diff: Difference, value_path: Option<AttrPath>) {
    let order = value_path.clone().unwrap_or_default();
    out.push(Found {
        diff,
        value_path,
        order,
    });
}

/// What the two plans do to the state besides values: actions, a move, an import, the paths
/// that force a replacement.
fn state_differences(
    pair: &Pair<'_, '_>,
    x: &ResourceChange<'_>,
    y: &ResourceChange<'_>,
    out: &mut Vec<Found>,
) -> Result<(), CompareError> {
    if x.change.actions != y.change.actions {
        let diff = Difference {
            a: actions_value(&x.change.actions),
            b: actions_value(&y.change.actions),
            ..pair.base()
        };
        push(out, diff, None);
    }
    // A different move or import is a difference in what the plan does to the state.
    // (`import_id`, borrowed.)
    fn imported<'c>(rc: &'c ResourceChange<'_>) -> Option<&'c str> {
        rc.change
            .importing
            .as_ref()
            .map(|i| i.id.as_deref().unwrap_or_default())
    }
    for (path, a, b) in [
        (field::PREVIOUS_ADDRESS, moved_from(x), moved_from(y)),
        (field::IMPORT_ID, imported(x), imported(y)),
    ] {
        if a != b {
            let diff = Difference {
                paths: vec![path.into()],
                a: a.map_or(Value::Null, Value::from),
                b: b.map_or(Value::Null, Value::from),
                ..pair.base()
            };
            push(out, diff, None);
        }
    }
    if raw(x.change.replace_paths) != raw(y.change.replace_paths) {
        let pa = replace_paths(x).map_err(on(Side::A))?;
        let pb = replace_paths(y).map_err(on(Side::B))?;
        if pa != pb {
            let shown = |set: &BTreeSet<AttrPath>| {
                Value::Array(set.iter().map(|p| Value::String(p.to_string())).collect())
            };
            let diff = Difference {
                kind: Kind::ReplacePaths,
                paths: pa
                    .symmetric_difference(&pb)
                    .map(ToString::to_string)
                    .collect(),
                a: shown(&pa),
                b: shown(&pb),
                ..pair.base()
            };
            push(out, diff, None);
        }
    }
    Ok(())
}

/// The attribute values that differ between the two plans' changes of one resource.
fn values_differences(
    pair: &Pair<'_, '_>,
    x: &ResourceChange<'_>,
    y: &ResourceChange<'_>,
    out: &mut Vec<Found>,
) -> Result<(), CompareError> {
    if same_values(&x.change, &y.change) {
        return Ok(());
    }
    let va = ChangeValues::of(&x.change, &x.address).map_err(on(Side::A))?;
    let vb = ChangeValues::of(&y.change, &y.address).map_err(on(Side::B))?;
    for d in value_differences(&va, &vb, false) {
        let diff = Difference {
            kind: d.kind,
            paths: vec![d.path.to_string()],
            a: d.a,
            b: d.b,
            sensitive: d.sensitive,
            ..pair.base()
        };
        push(out, diff, Some(d.path));
    }
    Ok(())
}

/// Byte-equal values in both plans cannot differ (the common case for plans of the same
/// configuration): nothing to parse.
pub(super) fn same_values(x: &Change<'_>, y: &Change<'_>) -> bool {
    raw(x.before) == raw(y.before)
        && raw(x.after) == raw(y.after)
        && raw(x.after_unknown) == raw(y.after_unknown)
}

pub(super) fn replace_paths(rc: &ResourceChange<'_>) -> Result<BTreeSet<AttrPath>, PlanJsonError> {
    Ok(
        match &attrs::parse(rc.change.replace_paths, &rc.address, "replace_paths")? {
            Node::Array(paths) => paths.iter().filter_map(AttrPath::from_node).collect(),
            _ => BTreeSet::new(),
        },
    )
}

/// A before or after value difference at one path.
pub(super) struct ValueDiff {
    pub(super) kind: Kind,
    pub(super) path: AttrPath,
    pub(super) a: Value,
    pub(super) b: Value,
    pub(super) sensitive: bool,
}

/// The new value at a path: unknown, or known (with a mask of unknown parts below it).
pub(super) enum AfterAt<'n, 'a> {
    Unknown,
    Known {
        value: &'n Node<'a>,
        unknown: &'n Node<'a>,
    },
}

/// Compares the before and after values of two changes at every path that changes in either.
/// A path under one already reported differs as part of it and is not reported again.
pub(super) fn value_differences(
    va: &ChangeValues<'_>,
    vb: &ChangeValues<'_>,
    declared_sensitive: bool,
) -> Vec<ValueDiff> {
    let mut paths = BTreeSet::new();
    walk_changes(va, &mut |f| {
        paths.insert(f.path.clone());
    });
    walk_changes(vb, &mut |f| {
        paths.insert(f.path.clone());
    });
    let mut out = Vec::new();
    let mut last_after: Option<AttrPath> = None;
    let mut last_before: Option<AttrPath> = None;
    for path in paths {
        let sensitive = declared_sensitive
            || [
                &va.before_sensitive,
                &va.after_sensitive,
                &vb.before_sensitive,
                &vb.after_sensitive,
            ]
            .iter()
            .any(|m| sensitivity_at(m, &path).any_true());
        // Sorted paths put everything under a reported path right after it.
        if !last_after.as_ref().is_some_and(|p| path.starts_with(p)) {
            let (xa, xb) = (after_at(va, &path), after_at(vb, &path));
            if !same_after(&xa, &xb) {
                out.push(ValueDiff {
                    kind: Kind::After,
                    path: path.clone(),
                    a: shown_value(after_value(&xa), sensitive),
                    b: shown_value(after_value(&xb), sensitive),
                    sensitive,
                });
                last_after = Some(path.clone());
            }
        }
        if !last_before.as_ref().is_some_and(|p| path.starts_with(p)) {
            let (ba, bb) = (node_at(&va.before, &path), node_at(&vb.before, &path));
            if ba != bb {
                out.push(ValueDiff {
                    kind: Kind::Before,
                    path: path.clone(),
                    a: shown_value(ba.to_shown_value(), sensitive),
                    b: shown_value(bb.to_shown_value(), sensitive),
                    sensitive,
                });
                last_before = Some(path);
            }
        }
    }
    out
}

/// A sensitive value is shown as `(sensitive value)`; `null` and unknown stay as they are
/// (they reveal nothing).
pub(super) fn shown_value(v: Value, sensitive: bool) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) if s == KNOWN_AFTER_APPLY => Value::String(s),
        _ if sensitive => Value::String(SENSITIVE.into()),
        v => v,
    }
}

pub(super) fn child<'n, 'a>(node: &'n Node<'a>, seg: &Seg) -> &'n Node<'a> {
    match seg {
        Seg::Key(k) => node.get(k),
        Seg::Index(i) => node.index(*i),
    }
    .unwrap_or(&NULL)
}

pub(super) fn node_at<'n, 'a>(root: &'n Node<'a>, path: &AttrPath) -> &'n Node<'a> {
    path.0.iter().fold(root, |n, seg| child(n, seg))
}

/// The sensitivity mask at a path: a `true` above it covers it.
pub(super) fn sensitivity_at<'n, 'a>(root: &'n Node<'a>, path: &AttrPath) -> &'n Node<'a> {
    let mut node = root;
    for seg in &path.0 {
        if node.is_true() {
            return node;
        }
        node = child(node, seg);
    }
    node
}

pub(super) fn after_at<'n, 'a>(v: &'n ChangeValues<'a>, path: &AttrPath) -> AfterAt<'n, 'a> {
    let mut value = &v.after;
    let mut unknown = &v.after_unknown;
    for seg in &path.0 {
        if unknown.is_true() {
            return AfterAt::Unknown;
        }
        value = child(value, seg);
        unknown = child(unknown, seg);
    }
    if unknown.is_true() {
        AfterAt::Unknown
    } else {
        AfterAt::Known { value, unknown }
    }
}

pub(super) fn same_after(x: &AfterAt<'_, '_>, y: &AfterAt<'_, '_>) -> bool {
    match (x, y) {
        (AfterAt::Unknown, AfterAt::Unknown) => true,
        (
            AfterAt::Known {
                value: vx,
                unknown: ux,
            },
            AfterAt::Known {
                value: vy,
                unknown: uy,
            },
        ) => vx == vy && unknown_paths(ux) == unknown_paths(uy),
        _ => false,
    }
}

/// Where an unknown mask holds `true` (`false`, `{}` and absent all mean "nothing unknown").
pub(super) fn unknown_paths(mask: &Node<'_>) -> Vec<AttrPath> {
    pub(super) fn collect(n: &Node<'_>, path: &mut AttrPath, out: &mut Vec<AttrPath>) {
        match n {
            Node::Bool(true) => out.push(path.clone()),
            Node::Object(entries) => nested(|| {
                for (k, v) in entries {
                    path.0.push(Seg::Key(k.to_string()));
                    collect(v, path, out);
                    path.0.pop();
                }
            }),
            Node::Array(items) => nested(|| {
                for (i, v) in items.iter().enumerate() {
                    path.0.push(Seg::Index(i));
                    collect(v, path, out);
                    path.0.pop();
                }
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if mask.any_true() {
        collect(mask, &mut AttrPath::default(), &mut out);
    }
    out
}

/// The new value as shown: unknown parts as `(known after apply)`.
pub(super) fn after_value(x: &AfterAt<'_, '_>) -> Value {
    match x {
        AfterAt::Unknown => Value::String(KNOWN_AFTER_APPLY.into()),
        AfterAt::Known { value, unknown } => with_unknowns(value.to_shown_value(), unknown, 0),
    }
}

/// `value` (as shown, `depth` levels down) with the parts `mask` marks unknown shown as
/// `(known after apply)`, down to `SHOWN_DEPTH` levels as `Node::to_shown_value`.
pub(super) fn with_unknowns(value: Value, mask: &Node<'_>, depth: usize) -> Value {
    match mask {
        Node::Bool(true) => Value::String(KNOWN_AFTER_APPLY.into()),
        Node::Object(_) | Node::Array(_) if !mask.any_true() => value,
        Node::Object(_) | Node::Array(_) if depth >= SHOWN_DEPTH => Value::String(NOT_SHOWN.into()),
        Node::Object(entries) => {
            let mut map = match value {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for (k, m) in entries.iter().filter(|(_, m)| m.any_true()) {
                let v = map.remove(k.as_ref()).unwrap_or(Value::Null);
                map.insert(k.to_string(), with_unknowns(v, m, depth + 1));
            }
            Value::Object(map)
        }
        Node::Array(items) => {
            let mut list = match value {
                Value::Array(l) => l,
                _ => Vec::new(),
            };
            for (i, m) in items.iter().enumerate().filter(|(_, m)| m.any_true()) {
                if list.len() <= i {
                    list.resize(i + 1, Value::Null);
                }
                let v = std::mem::take(&mut list[i]);
                list[i] = with_unknowns(v, m, depth + 1);
            }
            Value::Array(list)
        }
        _ => value,
    }
}
