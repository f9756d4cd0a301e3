#!/usr/bin/env python3
"""Rewrite a `terraform show -json` plan with a different but equivalent layout.

    reorder-plan-json.py IN OUT [--seed S] [--indent N]

* every JSON object (at any depth) has its keys in a shuffled order;
* the top-level arrays whose order carries no meaning (resource_changes,
  resource_drift, relevant_attributes, checks, deferred_changes) are shuffled;
  if a shuffle happens to keep the original order the array is reversed.

Arrays inside values (lists in before/after, actions, replace_paths, ...) keep
their order because there the order is meaningful. The result must be
treated by tfgate exactly like the input: same changes, same summary, same
fingerprint. Stdlib only; deterministic for a given --seed (default 1).
"""
import argparse
import json
import random
import sys

UNORDERED_TOP_LEVEL = (
    "resource_changes",
    "resource_drift",
    "relevant_attributes",
    "checks",
    "deferred_changes",
)


def shuffle_keys(value, rng):
    if isinstance(value, dict):
        keys = list(value.keys())
        original = list(keys)
        rng.shuffle(keys)
        if len(keys) > 1 and keys == original:
            keys.reverse()
        return {k: shuffle_keys(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [shuffle_keys(v, rng) for v in value]
    return value


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--indent", type=int, default=None,
                    help="pretty-print with this indent (default: compact, like terraform)")
    args = ap.parse_args(argv)

    with open(args.input, encoding="utf-8") as f:
        plan = json.load(f)
    if not isinstance(plan, dict):
        sys.exit("reorder-plan-json: input is not a JSON object")

    rng = random.Random(args.seed)
    for key in UNORDERED_TOP_LEVEL:
        items = plan.get(key)
        if isinstance(items, list) and len(items) > 1:
            original = list(items)
            rng.shuffle(items)
            if items == original:
                items.reverse()

    plan = shuffle_keys(plan, rng)

    separators = (",", ":") if args.indent is None else (",", ": ")
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(plan, f, ensure_ascii=False, indent=args.indent, separators=separators)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
