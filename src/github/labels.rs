//! The pull request's labels (`plan --labels`): which of `tfgate:changes`, `tfgate:destroy` and
//! `tfgate:no-changes` hold, and what to add and remove to get there.
//!
//! Labels belong to the pull request, and a pull request may touch several roots, each planned
//! on its own with its own comment. So the labels are derived from every tfgate comment on the
//! pull request (each marker records its plan's counts), never from one root's plan alone: a
//! root without changes must not take away the `tfgate:destroy` another root's plan earned.
//! Comments whose markers predate the counts say nothing either way. Labels other than these
//! three are never touched.

use crate::github::marker::PlanCounts;

pub const CHANGES: &str = "tfgate:changes";
pub const DESTROY: &str = "tfgate:destroy";
pub const NO_CHANGES: &str = "tfgate:no-changes";
/// Every label tfgate manages.
pub const ALL: [&str; 3] = [CHANGES, DESTROY, NO_CHANGES];

/// The labels that hold for a pull request whose plans are `plans` (one per root and
/// workspace): `tfgate:changes` when any plan changes something, with `tfgate:destroy` when any
/// deletes or replaces; `tfgate:no-changes` when none changes anything. `None` when no plan is
/// known: nothing can be said.
pub fn wanted(plans: impl IntoIterator<Item = PlanCounts>) -> Option<Vec<&'static str>> {
    let mut known = false;
    let (mut changes, mut destroy) = (false, false);
    for p in plans {
        known = true;
        changes |= p.has_changes;
        destroy |= p.destroys();
    }
    if !known {
        return None;
    }
    Some(match (changes || destroy, destroy) {
        (true, true) => vec![CHANGES, DESTROY],
        (true, false) => vec![CHANGES],
        (false, _) => vec![NO_CHANGES],
    })
}

/// What to do to the labels on the pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relabel {
    /// Wanted and missing.
    pub add: Vec<String>,
    /// tfgate's, on the pull request, and no longer true (as the pull request spells them).
    pub remove: Vec<String>,
}

impl Relabel {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// From the labels on the pull request (`current`) to `wanted`. Names compare without regard
/// to case, as GitHub's do.
pub fn relabel(current: &[String], wanted: &[&str]) -> Relabel {
    let has = |name: &str| current.iter().any(|c| c.eq_ignore_ascii_case(name));
    Relabel {
        add: wanted
            .iter()
            .filter(|w| !has(w))
            .map(|w| w.to_string())
            .collect(),
        remove: current
            .iter()
            .filter(|c| ALL.iter().any(|ours| c.eq_ignore_ascii_case(ours)))
            .filter(|c| !wanted.iter().any(|w| c.eq_ignore_ascii_case(w)))
            .cloned()
            .collect(),
    }
}

/// From the labels on the pull request (`current`) to what one plan proves when nothing
/// records the other roots' plans (`plan --comment never`): its changes add `tfgate:changes`
/// (and its deletions `tfgate:destroy`) and take `tfgate:no-changes` away; a plan without
/// changes adds `tfgate:no-changes` only when no tfgate label says another plan changes
/// something. It never takes away a label another root's plan may have earned.
pub fn relabel_from_one(current: &[String], plan: PlanCounts) -> Relabel {
    let has = |name: &str| current.iter().any(|c| c.eq_ignore_ascii_case(name));
    if plan.has_changes || plan.destroys() {
        let mut wanted = vec![CHANGES];
        if plan.destroys() {
            wanted.push(DESTROY);
        }
        if has(DESTROY) {
            wanted.push(DESTROY);
        }
        relabel(current, &wanted)
    } else if has(CHANGES) || has(DESTROY) {
        Relabel::default()
    } else {
        relabel(current, &[NO_CHANGES])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(has_changes: bool, destroy: usize, replace: usize) -> PlanCounts {
        PlanCounts {
            has_changes,
            add: 0,
            change: usize::from(has_changes),
            destroy,
            replace,
        }
    }

    #[test]
    fn the_labels_of_all_the_roots_plans() {
        assert_eq!(wanted([]), None);
        assert_eq!(wanted([plan(false, 0, 0)]), Some(vec![NO_CHANGES]));
        assert_eq!(wanted([plan(true, 0, 0)]), Some(vec![CHANGES]));
        assert_eq!(wanted([plan(true, 0, 1)]), Some(vec![CHANGES, DESTROY]));
        // One root destroys, another changes nothing: the destroy stands.
        assert_eq!(
            wanted([plan(false, 0, 0), plan(true, 2, 0)]),
            Some(vec![CHANGES, DESTROY])
        );
        assert_eq!(
            wanted([plan(false, 0, 0), plan(false, 0, 0)]),
            Some(vec![NO_CHANGES])
        );
    }

    #[test]
    fn relabelling_touches_only_tfgates_labels_whatever_their_case() {
        let current = vec![
            "bug".to_string(),
            "TFGATE:Destroy".to_string(),
            "tfgate:changes".to_string(),
        ];
        assert_eq!(
            relabel(&current, &[NO_CHANGES]),
            Relabel {
                add: vec![NO_CHANGES.to_string()],
                remove: vec!["TFGATE:Destroy".to_string(), "tfgate:changes".to_string()],
            }
        );
        assert!(relabel(&current, &[CHANGES, DESTROY]).is_empty());
        assert_eq!(
            relabel(&[], &[CHANGES]),
            Relabel {
                add: vec![CHANGES.to_string()],
                remove: vec![],
            }
        );
    }

    #[test]
    fn one_plan_alone_adds_what_it_proves_and_takes_away_only_no_changes() {
        let labels = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let change = |add: &[&str], remove: &[&str]| Relabel {
            add: labels(add),
            remove: labels(remove),
        };
        assert_eq!(
            relabel_from_one(&[], plan(false, 0, 0)),
            change(&[NO_CHANGES], &[])
        );
        assert_eq!(
            relabel_from_one(&labels(&[NO_CHANGES]), plan(true, 1, 0)),
            change(&[CHANGES, DESTROY], &[NO_CHANGES])
        );
        // Another root's destroy stands, whatever this plan does.
        let destroyed = labels(&[CHANGES, DESTROY]);
        assert!(relabel_from_one(&destroyed, plan(false, 0, 0)).is_empty());
        assert!(relabel_from_one(&destroyed, plan(true, 0, 0)).is_empty());
        assert!(relabel_from_one(&labels(&[CHANGES]), plan(false, 0, 0)).is_empty());
    }
}
