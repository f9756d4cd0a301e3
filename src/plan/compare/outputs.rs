//! Outputs: which outputs differ between the two plans.

use super::*;

/// Output differences: presence in the change set, actions, and values, all of kind `output`.
pub(super) fn output_differences(a: &Plan<'_>, b: &Plan<'_>) -> Result<Vec<Found>, CompareError> {
    let names: BTreeSet<&str> = a
        .output_changes
        .keys()
        .chain(b.output_changes.keys())
        .map(String::as_str)
        .collect();
    let declared = |p: &Plan<'_>, name: &str| {
        p.configuration
            .as_ref()
            .and_then(|c| c.root_module.outputs.get(name))
            .is_some_and(|o| o.sensitive)
    };
    let mut out = Vec::new();
    for name in names {
        let (ca, cb) = (a.output_changes.get(name), b.output_changes.get(name));
        let changing_a = ca.filter(|c| !c.is_no_op());
        let changing_b = cb.filter(|c| !c.is_no_op());
        if changing_a.is_none() && changing_b.is_none() {
            continue;
        }
        let label = |c: Option<&Change<'_>>| {
            c.map(|c| Action::from_actions(&c.actions).as_str().to_string())
        };
        let actions = |c: Option<&Change<'_>>| c.map_or(Value::Null, |c| actions_value(&c.actions));
        let sensitive = declared(a, name) || declared(b, name);
        let base = Difference {
            address: format!("output.{name}"),
            kind: Kind::Output,
            paths: vec![field::ACTIONS.into()],
            a: actions(ca),
            b: actions(cb),
            deposed: None,
            action_a: label(ca),
            action_b: label(cb),
            sensitive: false,
        };
        let (Some(x), Some(y)) = (changing_a, changing_b) else {
            out.push(Found {
                diff: base,
                value_path: None,
                order: AttrPath(vec![Seg::Key(field::ACTIONS.into())]),
            });
            continue;
        };
        if x.actions != y.actions {
            out.push(Found {
                diff: base.clone(),
                value_path: None,
                order: AttrPath(vec![Seg::Key(field::ACTIONS.into())]),
            });
        }
        if !same_values(x, y) {
            output_values(name, (x, y), sensitive, &base, &mut out)?;
        }
    }
    Ok(out)
}

/// The values that differ between two changes of output `name`, under `before` or `after`.
fn output_values(
    name: &str,
    (x, y): (&Change<'_>, &Change<'_>),
    sensitive: bool,
    base: &Difference,
    out: &mut Vec<Found>,
) -> Result<(), CompareError> {
    let address = format!("output.{name}");
    let va = ChangeValues::of(x, &address).map_err(on(Side::A))?;
    let vb = ChangeValues::of(y, &address).map_err(on(Side::B))?;
    for d in value_differences(&va, &vb, sensitive) {
        let prefix = if d.kind == Kind::After {
            field::AFTER
        } else {
            field::BEFORE
        };
        let mut shown = vec![Seg::Key(prefix.into())];
        shown.extend(d.path.0.iter().cloned());
        let shown = AttrPath(shown);
        out.push(Found {
            diff: Difference {
                paths: vec![shown.to_string()],
                a: d.a,
                b: d.b,
                sensitive: d.sensitive,
                ..base.clone()
            },
            value_path: Some(d.path),
            order: shown,
        });
    }
    Ok(())
}
