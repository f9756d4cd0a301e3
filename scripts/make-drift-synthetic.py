#!/usr/bin/env python3
"""Derive a HAND-MADE drift plan from the captured `changes` plan.

    make-drift-synthetic.py CHANGES_JSON OUT

Terraform's built-in terraform_data resource cannot drift (its Read returns
the prior state unchanged), so no real fixture can produce "update" or
"delete" entries in resource_drift. This script edits a real plan into what a
normal (not refresh-only) plan with real drift looks like; the shapes follow
Terraform 1.11's jsonplan code, which marshals resource_drift entries with
the same function as resource_changes:

* terraform_data.app_config was changed outside Terraform: input.image
  1.4.0 -> 1.4.1-hotfix. resource_drift gets an ["update"] entry (before = the
  state before refresh, after = the refreshed object), prior_state holds the
  refreshed value, and the planned update's "before" starts from it.
  relevant_attributes already names terraform_data.app_config ["input",
  "image"] (the app_image output reads it), so the drift is "relevant".
* terraform_data.legacy_cron was deleted outside Terraform: resource_drift
  gets a ["delete"] entry and the object disappears from prior_state and
  from resource_changes (nothing is left to destroy).

Everything else is the real plan. Stdlib only.
"""
import copy
import json
import sys

HOTFIX = "registry.example.com/app:1.4.1-hotfix"


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: make-drift-synthetic.py CHANGES_JSON OUT")
    with open(argv[0], encoding="utf-8") as f:
        plan = json.load(f)

    changes = {(r["address"], r.get("deposed")): r for r in plan["resource_changes"]}
    app = changes[("terraform_data.app_config", None)]
    cron = changes[("terraform_data.legacy_cron", None)]

    before = app["change"]["before"]
    refreshed = copy.deepcopy(before)
    refreshed["input"]["image"] = HOTFIX
    refreshed["output"]["image"] = HOTFIX

    drift = []
    drift.append({
        "address": app["address"],
        "mode": app["mode"],
        "type": app["type"],
        "name": app["name"],
        "provider_name": app["provider_name"],
        "change": {
            "actions": ["update"],
            "before": before,
            "after": refreshed,
            "after_unknown": {},
            "before_sensitive": app["change"]["before_sensitive"],
            "after_sensitive": app["change"]["before_sensitive"],
        },
    })
    drift.append({
        "address": cron["address"],
        "mode": cron["mode"],
        "type": cron["type"],
        "name": cron["name"],
        "provider_name": cron["provider_name"],
        "change": {
            "actions": ["delete"],
            "before": cron["change"]["before"],
            "after": None,
            "after_unknown": {},
            "before_sensitive": cron["change"]["before_sensitive"],
            "after_sensitive": False,
        },
    })

    app["change"]["before"] = copy.deepcopy(refreshed)
    plan["resource_changes"] = [r for r in plan["resource_changes"] if r is not cron]

    prior = plan["prior_state"]["values"]["root_module"]["resources"]
    for r in prior:
        if r["address"] == app["address"]:
            r["values"] = copy.deepcopy(refreshed)
    plan["prior_state"]["values"]["root_module"]["resources"] = [
        r for r in prior if r["address"] != cron["address"]]

    # resource_drift goes between planned_values and resource_changes, as in
    # terraform's own key order.
    out = {}
    for k, v in plan.items():
        if k == "resource_changes":
            out["resource_drift"] = drift
        out[k] = v

    with open(argv[1], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
