//! Deep values (§9): the fingerprint, the comparison and the attribute walk see every level of a
//! value up to `MAX_DEPTH`, on any thread's stack, and a deeper value is an error, never a part
//! of the plan that silently drops out. Also the property test of the comparison over random
//! values nested up to 300 levels.

use proptest::prelude::*;

use crate::plan::compare::{self, CompareError, CompareOptions, Comparison, Kind, Side};
use crate::plan::fingerprint;
use crate::plan::node::{MAX_DEPTH, NOT_SHOWN};
use crate::plan::redact::Masker;
use crate::render::report::{self, ReportOptions};
use crate::render::table::TableOptions;
use crate::terraform::plan_json::{PlanJsonError, parse};

/// `{"l":{"l":…LEAF…}}`, `levels` objects deep.
fn nest(levels: usize, leaf: &str) -> String {
    format!("{}{leaf}{}", "{\"l\":".repeat(levels), "}".repeat(levels))
}

/// A plan JSON document with one resource update and one output update.
fn plan(change: &str, output: &str) -> String {
    format!(
        r#"{{"format_version":"1.2","resource_changes":[{{"address":"terraform_data.deep","mode":"managed","type":"terraform_data","change":{{"actions":["update"],{change}}}}}],"output_changes":{{"o":{{"actions":["update"],{output}}}}}}}"#
    )
}

/// A plan whose values reach `MAX_DEPTH` levels everywhere: the changed input, a value that
/// changes type, an unknown part, a sensitive part, an output; `leaf` and `shallow` vary.
fn deepest_plan(leaf: &str, shallow: &str) -> String {
    let n = MAX_DEPTH - 1;
    let change = format!(
        r#""before":{{"input":{},"tc":{},"s":{},"t":"x","u":"old"}},
        "after":{{"input":{},"tc":"flat","s":{},"t":"{shallow}"}},
        "after_unknown":{{"u":{}}},
        "before_sensitive":{{"s":{}}},
        "after_sensitive":{{"s":{}}}"#,
        nest(n, "\"zero\""),
        nest(n, "\"q\""),
        nest(n, "\"deep-secret-old\""),
        nest(n, &format!("\"{leaf}\"")),
        nest(n, "\"deep-secret-new\""),
        nest(n, "true"),
        nest(n, "true"),
        nest(n, "true"),
    );
    let output = format!(
        r#""before":{},"after":{}"#,
        nest(MAX_DEPTH, "1"),
        nest(MAX_DEPTH, &format!("\"{leaf}\""))
    );
    plan(&change, &output)
}

/// Runs `f` on a thread with a quarter of a test thread's stack (and an eighth of what
/// the binary's threads get), so that depth shows up as a crash here if a walk recursed
/// without a stack check.
fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .expect("no panic")
    })
}

fn fp(text: &str) -> Result<String, PlanJsonError> {
    fingerprint::of_plan(&parse(text.as_bytes()).expect("a plan"))
}

fn compare_with(a: &str, b: &str, masker: &Masker) -> Result<Comparison, CompareError> {
    let (pa, pb) = (parse(a.as_bytes()).unwrap(), parse(b.as_bytes()).unwrap());
    compare::compare(
        &pa,
        &pb,
        &CompareOptions {
            ignore: &[],
            masker,
        },
    )
}

fn compare_texts(a: &str, b: &str) -> Result<Comparison, CompareError> {
    compare_with(a, b, &Masker::default())
}

#[test]
fn every_level_up_to_the_limit_is_compared_fingerprinted_and_shown_safely() {
    on_small_stack(|| {
        let a = deepest_plan("one", "y");
        let b = deepest_plan("two", "y");

        // The same plan: identical, one fingerprint.
        let same = compare_texts(&a, &a).unwrap();
        assert!(same.identical);
        assert_eq!(fp(&a).unwrap(), same.fingerprint_a);

        // The leaf MAX_DEPTH levels down changed: found at its full path.
        let analysis_a = crate::plan::analyze(a.as_bytes()).unwrap();
        let analysis_b = crate::plan::analyze(b.as_bytes()).unwrap();
        assert_ne!(
            analysis_a.summary.fingerprint,
            analysis_b.summary.fingerprint
        );
        let mut masker = Masker::default();
        masker.add_literals(analysis_a.secrets.clone());
        masker.add_literals(analysis_b.secrets.clone());
        assert!(analysis_b.secrets.contains(&"deep-secret-new".to_string()));
        let c = compare_with(&a, &b, &masker).unwrap();
        assert!(!c.identical);
        let deep_path = format!("input{}", ".l".repeat(MAX_DEPTH - 1));
        let input = c
            .differences
            .iter()
            .find(|d| d.address == "terraform_data.deep" && d.paths == [deep_path.clone()])
            .unwrap_or_else(|| panic!("{:#?}", c.differences));
        assert_eq!(input.kind, Kind::After);
        assert_eq!(
            (input.a.as_str(), input.b.as_str()),
            (Some("one"), Some("two"))
        );
        let output_path = format!("after{}", ".l".repeat(MAX_DEPTH));
        assert!(
            c.differences
                .iter()
                .any(|d| d.address == "output.o" && d.paths == [output_path.clone()]),
            "{:#?}",
            c.differences
        );

        // What is shown stays readable and secret-free, however deep the value it came from.
        let json = serde_json::to_string(&c).unwrap();
        let markdown = report::report_markdown(&c, ("A", "B"), report::Sides::AB, &masker, 60_000);
        let human = report::human(
            &c,
            &ReportOptions {
                a_label: "A",
                b_label: "B",
                context: 3,
                sides: report::Sides::AB,
            },
            &masker,
            &TableOptions {
                color: false,
                width: None,
            },
        );
        for text in [&json, &markdown, &human] {
            assert!(!text.contains("deep-secret"), "{text}");
        }
        assert!(json.contains(NOT_SHOWN), "the retyped value is shown cut");
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());

        // A shallow change beside the deep values counts too.
        let shallow = deepest_plan("one", "z");
        assert_ne!(fp(&a).unwrap(), fp(&shallow).unwrap());
        let c = compare_texts(&a, &shallow).unwrap();
        assert!(c.differences.iter().any(|d| d.paths == ["t"]));
    });
}

#[test]
fn deeper_than_the_limit_is_an_error_never_a_null() {
    on_small_stack(|| {
        for levels in [MAX_DEPTH, 100_000] {
            let deep = plan(
                &format!(
                    r#""before":{{"t":"x"}},"after":{{"t":"y","input":{}}}"#,
                    nest(levels, "\"one\"")
                ),
                r#""before":1,"after":2"#,
            );
            let err = crate::plan::analyze(deep.as_bytes()).unwrap_err();
            assert_eq!(
                err,
                PlanJsonError::TooDeep {
                    limit: MAX_DEPTH,
                    at: "terraform_data.deep, after".into()
                }
            );
            assert!(
                err.to_string()
                    .starts_with(&format!("the plan nests deeper than {MAX_DEPTH} levels")),
                "{err}"
            );
            let ok = plan(
                r#""before":{"t":"x"},"after":{"t":"y"}"#,
                r#""before":1,"after":2"#,
            );
            let err = compare_texts(&ok, &deep).unwrap_err();
            assert_eq!(err.side, Side::B);
            assert!(matches!(err.error, PlanJsonError::TooDeep { .. }));
        }
    });
}

#[test]
fn every_value_is_read_whole_or_refused() {
    let too_deep = nest(MAX_DEPTH + 1, "true");
    // A sensitivity mask: the summary reads it (an update's changed attributes), and so does
    // the comparison.
    let mask = plan(
        &format!(r#""before":{{"t":"x"}},"after":{{"t":"y"}},"before_sensitive":{too_deep}"#),
        r#""before":1,"after":2"#,
    )
    .replace("true", "false");
    let err = on_small_stack(|| crate::plan::analyze(mask.as_bytes()).unwrap_err());
    assert!(
        matches!(&err, PlanJsonError::TooDeep { at, .. } if at == "terraform_data.deep, before_sensitive"),
        "{err:?}"
    );
    let other = mask.replace(r#""t":"y""#, r#""t":"z""#);
    let err = compare_texts(&mask, &other).unwrap_err();
    assert_eq!(err.side, Side::A);
    assert!(
        matches!(&err.error, PlanJsonError::TooDeep { at, .. } if at == "terraform_data.deep, before_sensitive")
    );

    // A sensitive variable's value, an output, replace_paths, relevant_attributes.
    let deep_value = nest(MAX_DEPTH + 1, "\"s\"");
    let cases = [
        (
            format!(
                r#"{{"format_version":"1.2","variables":{{"pw":{{"value":{deep_value}}}}},"configuration":{{"root_module":{{"variables":{{"pw":{{"sensitive":true}}}}}}}}}}"#
            ),
            "var.pw, value",
        ),
        (
            plan(
                r#""before":1,"after":2"#,
                &format!(r#""before":1,"after":{deep_value}"#),
            ),
            "output.o, after",
        ),
        (
            plan(
                &format!(
                    r#""before":{{"t":"x"}},"after":{{"t":"y"}},"replace_paths":[{deep_value}]"#
                ),
                r#""before":1,"after":2"#,
            ),
            "terraform_data.deep, replace_paths",
        ),
        (
            format!(
                r#"{{"format_version":"1.2","resource_drift":[{{"address":"a.b","change":{{"actions":["update"],"before":{{"x":1}},"after":{{"x":2}}}}}}],"relevant_attributes":[{{"resource":"a.b","attribute":{deep_value}}}]}}"#
            ),
            "a.b, relevant_attributes",
        ),
    ];
    for (text, at) in cases {
        let err = on_small_stack(|| crate::plan::analyze(text.as_bytes()).unwrap_err());
        assert!(
            matches!(&err, PlanJsonError::TooDeep { at: got, .. } if got == at),
            "{at}: {err:?}"
        );
    }

    // JSON the plan's parser accepts but no value can hold (half a surrogate pair).
    let lone = plan(
        r#""before":{"t":"x"},"after":{"t":"\ud800"}"#,
        r#""before":1,"after":2"#,
    );
    assert!(matches!(
        crate::plan::analyze(lone.as_bytes()),
        Err(PlanJsonError::BadValue { at, .. }) if at == "terraform_data.deep, after"
    ));
}

#[test]
fn a_document_nested_100000_levels_is_refused_without_a_crash() {
    on_small_stack(|| {
        let levels = 100_000;
        let arrays = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert_eq!(
            parse(arrays.as_bytes()).unwrap_err(),
            PlanJsonError::TooDeep {
                limit: MAX_DEPTH,
                at: format!("line 1, column {}", MAX_DEPTH + 1)
            }
        );
        // Brackets inside strings do not count; lines are counted.
        let in_strings = format!(
            "{{\"format_version\":\"{}\",\n\"x\":{}}}",
            "[".repeat(levels),
            nest(MAX_DEPTH, "1")
        );
        assert!(matches!(
            parse(in_strings.as_bytes()),
            Err(PlanJsonError::UnsupportedVersion { .. })
        ));
        let cut = format!(
            "{{\"format_version\":\"1.2\",\n\"x\":{}",
            "{\"l\":".repeat(levels)
        );
        assert_eq!(
            parse(cut.as_bytes()).unwrap_err(),
            PlanJsonError::TooDeep {
                limit: MAX_DEPTH,
                at: format!("line 2, column {}", 5 + 5 * (MAX_DEPTH - 1))
            }
        );
        // Deep where tfgate reads nothing: ignored whole, without recursion.
        let ignored = format!(r#"{{"format_version":"1.2","prior_state":{arrays}}}"#);
        assert!(crate::plan::analyze(ignored.as_bytes()).is_ok());
    });
}

// The property test. Values are built from "spines": a path of object keys and list positions
// down to a leaf, with scalars beside it along the way, nested up to 300 levels. Leaves and list
// items may be `null`, `{}` or `[]`. An object's siblings are never `null`: a key that is `null`
// in one plan and missing in the other, under an object that is `null` on the other side, is
// not a difference tfgate sees (Terraform's objects always hold all their attributes).

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    EmptyObject,
    EmptyList,
}

impl Scalar {
    fn json(&self) -> String {
        match self {
            Scalar::Null => "null".into(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Str(s) => serde_json::to_string(s).unwrap(),
            Scalar::EmptyObject => "{}".into(),
            Scalar::EmptyList => "[]".into(),
        }
    }
}

/// One level of a spine.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// An object: the spine continues under key `k{0}`, with a sibling `s` if given.
    Key(u8, Option<Scalar>),
    /// A list: the spine continues at position `{0}` among the other items.
    Index(usize, Vec<Scalar>),
}

#[derive(Debug, Clone, PartialEq)]
struct Spine {
    steps: Vec<Step>,
    leaf: Scalar,
}

impl Spine {
    /// The JSON text of the value from level `from` down.
    fn json_from(&self, from: usize) -> String {
        let mut head = String::new();
        let mut tail = Vec::new();
        for step in &self.steps[from..] {
            match step {
                Step::Key(k, sibling) => {
                    head.push_str(&format!("{{\"k{k}\":"));
                    tail.push(match sibling {
                        Some(s) => format!(",\"s\":{}}}", s.json()),
                        None => "}".to_string(),
                    });
                }
                Step::Index(pos, others) => {
                    let pos = (*pos).min(others.len());
                    let before: Vec<String> = others[..pos].iter().map(Scalar::json).collect();
                    let after: Vec<String> = others[pos..].iter().map(Scalar::json).collect();
                    head.push('[');
                    head.extend(before.iter().map(|x| format!("{x},")));
                    tail.push(format!(
                        "{}]",
                        after.iter().map(|x| format!(",{x}")).collect::<String>()
                    ));
                }
            }
        }
        head.push_str(&self.leaf.json());
        head.extend(tail.into_iter().rev());
        head
    }

    fn json(&self) -> String {
        self.json_from(0)
    }

    /// The same spine with everything from level `at` down replaced by `tail`.
    fn replaced(&self, at: usize, tail: &Spine) -> Spine {
        let at = at.min(self.steps.len());
        let mut steps = self.steps[..at].to_vec();
        steps.extend(tail.steps.iter().cloned());
        Spine {
            steps,
            leaf: tail.leaf.clone(),
        }
    }

    /// The same spine with a boolean leaf: a sensitivity or unknown mask.
    fn mask(&self, leaf: bool) -> Spine {
        let steps = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Key(k, sibling) => {
                    Step::Key(*k, sibling.as_ref().map(|_| Scalar::Bool(false)))
                }
                Step::Index(pos, others) => {
                    Step::Index(*pos, others.iter().map(|_| Scalar::Bool(false)).collect())
                }
            })
            .collect();
        Spine {
            steps,
            leaf: Scalar::Bool(leaf),
        }
    }
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        Just(Scalar::Null),
        Just(Scalar::EmptyObject),
        Just(Scalar::EmptyList),
        any::<bool>().prop_map(Scalar::Bool),
        (-3i64..4).prop_map(Scalar::Int),
        prop::sample::select(&["", "a", "b", "a\"b", "\\<"][..])
            .prop_map(|s| Scalar::Str(s.into())),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, proptest::option::of(scalar()))
            .prop_map(|(k, s)| Step::Key(k, s.filter(|s| *s != Scalar::Null))),
        (0usize..3, prop::collection::vec(scalar(), 0..3)).prop_map(|(p, o)| Step::Index(p, o)),
    ]
}

fn spine(levels: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Spine> {
    (prop::collection::vec(step(), levels), scalar())
        .prop_map(|(steps, leaf)| Spine { steps, leaf })
}

/// What plan B changes in plan A, and whether that is a compared value.
#[derive(Debug, Clone)]
enum Edit {
    Nothing,
    /// A changed attribute's new value, from some level down (compared).
    After(usize, Spine),
    /// A changed attribute's current value (compared).
    Before(usize, Spine),
    /// Which part of the new value is known only after apply (compared).
    Unknown(bool),
    /// The shallow attribute beside the deep ones (compared).
    Shallow,
    /// Which parts are sensitive (not compared: only shown differently).
    Sensitivity(bool),
    /// An attribute whose value does not change in either plan (not compared).
    Unchanged(usize, Spine),
}

impl Edit {
    fn compared(&self) -> bool {
        matches!(
            self,
            Edit::After(..) | Edit::Before(..) | Edit::Unknown(_) | Edit::Shallow
        )
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::Nothing),
        (0usize..=300, spine(0..=4)).prop_map(|(at, s)| Edit::After(at, s)),
        (0usize..=300, spine(0..=4)).prop_map(|(at, s)| Edit::Before(at, s)),
        any::<bool>().prop_map(Edit::Unknown),
        Just(Edit::Shallow),
        any::<bool>().prop_map(Edit::Sensitivity),
        (0usize..=300, spine(0..=4)).prop_map(|(at, s)| Edit::Unchanged(at, s)),
    ]
}

/// The parts of the one resource change that the plans are built from.
#[derive(Debug, Clone)]
struct Parts {
    before: Spine,
    after: Spine,
    unknown: Spine,
    /// Whether the unknown mask's leaf is `true`.
    unknown_leaf: bool,
    sensitive_leaf: bool,
    unchanged: Spine,
    shallow: &'static str,
}

impl Parts {
    fn plan(&self) -> String {
        let change = format!(
            r#""before":{{"input":{},"same":{},"u":{},"t":"x"}},
            "after":{{"input":{},"same":{},"t":"{}"}},
            "after_unknown":{{"u":{}}},
            "before_sensitive":{{"input":{}}},
            "after_sensitive":{{"input":{}}}"#,
            self.before.json(),
            self.unchanged.json(),
            self.unknown.json(),
            self.after.json(),
            self.unchanged.json(),
            self.shallow,
            self.unknown.mask(self.unknown_leaf).json(),
            self.before.mask(self.sensitive_leaf).json(),
            self.after.mask(self.sensitive_leaf).json(),
        );
        plan(&change, r#""before":1,"after":2"#)
    }

    /// These parts with `edit` made; `None` when the edit would change nothing.
    fn edited(&self, edit: &Edit) -> Option<Parts> {
        let mut b = self.clone();
        let differs = |old: &Spine, new: &Spine, at: usize| {
            old.json_from(at.min(old.steps.len())) != new.json()
        };
        match edit {
            Edit::Nothing => return Some(b),
            Edit::After(at, tail) => {
                let at = *at % (self.after.steps.len() + 1);
                if !differs(&self.after, tail, at) {
                    return None;
                }
                b.after = self.after.replaced(at, tail);
            }
            Edit::Before(at, tail) => {
                let at = *at % (self.before.steps.len() + 1);
                if !differs(&self.before, tail, at) {
                    return None;
                }
                b.before = self.before.replaced(at, tail);
            }
            Edit::Unknown(leaf) => {
                if *leaf == self.unknown_leaf {
                    return None;
                }
                b.unknown_leaf = *leaf;
            }
            Edit::Shallow => b.shallow = if self.shallow == "y" { "z" } else { "y" },
            Edit::Sensitivity(leaf) => {
                if *leaf == self.sensitive_leaf {
                    return None;
                }
                b.sensitive_leaf = *leaf;
            }
            Edit::Unchanged(at, tail) => {
                let at = *at % (self.unchanged.steps.len() + 1);
                if !differs(&self.unchanged, tail, at) {
                    return None;
                }
                b.unchanged = self.unchanged.replaced(at, tail);
            }
        }
        Some(b)
    }
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        spine(0..=300),
        spine(0..=300),
        spine(0..=300),
        any::<bool>(),
        any::<bool>(),
        spine(0..=300),
    )
        .prop_map(
            |(before, after, unknown, unknown_leaf, sensitive_leaf, unchanged)| Parts {
                before,
                after,
                unknown,
                unknown_leaf,
                sensitive_leaf,
                unchanged,
                shallow: "y",
            },
        )
}

proptest! {
    // XorShift: ChaCha, the default, takes most of this test's time in a debug build.
    #![proptest_config(ProptestConfig {
        cases: 20,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    /// Two plans compare identical exactly when no compared value differs, and their
    /// fingerprints are equal exactly then too, at any depth up to 300 levels.
    #[test]
    fn identical_exactly_when_the_compared_values_are_equal(parts in parts(), edit in edit()) {
        let Some(edited) = parts.edited(&edit) else {
            return Err(TestCaseError::reject("the edit changes nothing"));
        };
        let (a, b) = (parts.plan(), edited.plan());
        let c = compare_texts(&a, &b).expect("readable plans");
        prop_assert_eq!(c.identical, !edit.compared(), "{:?}: {:#?}", edit, c.differences);
        let (fa, fb) = (fp(&a).unwrap(), fp(&b).unwrap());
        prop_assert_eq!(fa == fb, !edit.compared(), "{:?}", edit);
        // Nothing ignored, so the report and the fingerprints agree.
        prop_assert_eq!(c.identical, c.fingerprint_a == c.fingerprint_b);
    }
}
