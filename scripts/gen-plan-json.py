#!/usr/bin/env python3
"""Write a synthetic `terraform show -json` plan with N resource changes.

    gen-plan-json.py N OUT [--seed S] [--differ K] [--timestamp TS] [--value-bytes B]

The plan imitates what Terraform 1.11 writes for a root module made of
`terraform_data` resources (format_version "1.2"): variables, planned_values,
resource_changes (before / after / after_unknown / before_sensitive /
after_sensitive), output_changes, prior_state, configuration,
relevant_attributes, timestamp, applyable / complete / errored. The shapes of
every object were copied from real plans (see tests/data/plans/*.json); the
values are generated.

Resources are named terraform_data.res_000000 ... and cycle through four kinds
of input, exactly as Terraform renders them:

    i % 4 == 0  string               "svc-000000-3f9a1c"
    i % 4 == 1  object               {enabled, name, port, tags = {env, team}}
    i % 4 == 2  list of 3 strings    ["zone-a", ...]
    i % 4 == 3  object with a secret {password = var.db_password, user}

About 40% are creates, the rest in-place updates (res_000000 and res_000001
are always updates, since outputs reference them). Updates also appear in
prior_state; creates do not.

--value-bytes B makes every resource's input about B bytes larger (default
0: the shapes above, about 1.4 KB per resource in all), as real plans carry
policy documents, user data and descriptions: the string kind's value ends in
B characters, the object kinds gain a `description` of B characters, each
list item ends in B/3. The added text is derived from (seed, i) like the
rest and is the same before and after, so it changes nothing --differ does.
With B = 185, 50,000 resources make about 120 MB.

--differ K changes the new ("after") value of K resources, spread evenly over
0..N-1, and everything Terraform derives from it (planned_values,
configuration, outputs that depend on it). Two files written with the same N,
--seed and --timestamp and a different --differ therefore differ in exactly
those K resources (plus dependent outputs). --differ 0 is the default.

Output is streamed: memory use does not grow with N. Output is compact JSON
on one line followed by a newline, like `terraform show -json`.
Stdlib only.
"""
import argparse
import hashlib
import json
import sys

TERRAFORM_VERSION = "1.11.4"
FORMAT_VERSION = "1.2"
PROVIDER = "terraform.io/builtin/terraform"
DB_PASSWORD_OLD = "synthetic-db-password-old"
DB_PASSWORD = "synthetic-db-password-new"

KIND_STRING, KIND_OBJECT, KIND_LIST, KIND_SECRET = range(4)


def dumps(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


class Resource:
    """Everything about resource i, derived from (seed, i, differ) only."""

    __slots__ = ("i", "name", "address", "kind", "create", "id", "old", "new",
                 "differs")

    def __init__(self, seed, i, differs, value_bytes=0):
        self.i = i
        self.name = "res_%06d" % i
        self.address = "terraform_data." + self.name
        self.kind = i % 4
        self.differs = differs
        h = hashlib.sha256(("%s:%d" % (seed, i)).encode()).hexdigest()
        # res_000000 / res_000001 are referenced by outputs: keep them updates.
        self.create = i > 1 and int(h[0:2], 16) < 102  # ~40%
        self.id = "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
        tag = h[32:38]
        rev = int(h[38:40], 16) % 50
        k = self.kind
        pad = filler(h, value_bytes)
        if k == KIND_STRING:
            self.old = "svc-%06d-%s-r%d" % (i, tag, rev)
            self.new = "svc-%06d-%s-r%d" % (i, tag, rev + 1)
            if differs:
                self.new += "-differ"
            if pad:
                self.old += "-" + pad
                self.new += "-" + pad
        elif k == KIND_OBJECT:
            base = {
                "enabled": True,
                "name": "service-%06d" % i,
                "port": 8000 + i % 1000,
                "tags": {"env": "prod", "team": "team-%s" % tag[:2]},
            }
            # the update changes tags.env (and enabled for some)
            self.old = dict(base, enabled=bool(rev % 2),
                            tags={"env": "staging", "team": base["tags"]["team"]})
            self.new = dict(base)
            if differs:
                self.new = dict(base, port=base["port"] + 10000)
            if pad:
                self.old["description"] = self.new["description"] = pad
        elif k == KIND_LIST:
            self.old = ["zone-a", "zone-b", "zone-%s" % tag[:3]]
            self.new = ["zone-a", "zone-b", "zone-%s" % tag[3:6]]
            if differs:
                self.new = ["zone-a", "zone-b", "zone-differ-%06d" % i]
            if pad:
                part = "-" + pad[:len(pad) // 3]
                self.old = [z + part for z in self.old]
                self.new = [z + part for z in self.new]
        else:
            self.old = {"password": DB_PASSWORD_OLD, "user": "app_%06d" % i}
            self.new = {"password": DB_PASSWORD, "user": "app_%06d" % i}
            if differs:
                self.new = {"password": DB_PASSWORD, "user": "app_%06d_differ" % i}
            if pad:
                self.old["description"] = self.new["description"] = pad

    # --- shapes (these mirror what terraform 1.11 emits for each kind) -----

    def input_unknown_shape(self):
        """after_unknown entry for a known input (None = omitted)."""
        if self.kind == KIND_STRING:
            return None
        if self.kind == KIND_OBJECT:
            return {"tags": {}}
        if self.kind == KIND_LIST:
            return [False, False, False]
        return {}

    def input_sensitive_shape(self):
        if self.kind == KIND_STRING:
            return None
        if self.kind == KIND_OBJECT:
            return {"tags": {}}
        if self.kind == KIND_LIST:
            return [False, False, False]
        return {"password": True}

    def output_sensitive_shape_known(self):
        # terraform_data's output is provider-computed: it never carries the
        # input's sensitive marks (the old password is NOT marked in before).
        if self.kind == KIND_STRING:
            return None
        if self.kind == KIND_OBJECT:
            return {"tags": {}}
        if self.kind == KIND_LIST:
            return [False, False, False]
        return {}

    def output_sensitive_shape_unknown(self):
        if self.kind == KIND_STRING:
            return None
        if self.kind == KIND_LIST:
            return []
        return {}

    def sensitive_after(self):
        d = {}
        s = self.input_sensitive_shape()
        if s is not None:
            d["input"] = s
        o = self.output_sensitive_shape_unknown()
        if o is not None:
            d["output"] = o
        return d

    def sensitive_before(self):
        d = {}
        s = self.input_sensitive_shape()
        if s is not None:
            d["input"] = s
        o = self.output_sensitive_shape_known()
        if o is not None:
            d["output"] = o
        return d

    def after_unknown(self):
        d = {}
        if self.create:
            d["id"] = True
        u = self.input_unknown_shape()
        if u is not None:
            d["input"] = u
        d["output"] = True
        return d

    # --- JSON fragments ------------------------------------------------------

    def base(self):
        return {
            "address": self.address,
            "mode": "managed",
            "type": "terraform_data",
            "name": self.name,
            "provider_name": PROVIDER,
        }

    def planned_value(self):
        d = self.base()
        d["schema_version"] = 0
        if self.create:
            d["values"] = {"input": self.new, "triggers_replace": None}
        else:
            d["values"] = {"id": self.id, "input": self.new, "triggers_replace": None}
        d["sensitive_values"] = self.sensitive_after()
        return d

    def prior_value(self):
        d = self.base()
        d["schema_version"] = 0
        d["values"] = {"id": self.id, "input": self.old, "output": self.old,
                       "triggers_replace": None}
        d["sensitive_values"] = self.sensitive_before()
        return d

    def resource_change(self):
        d = self.base()
        if self.create:
            change = {
                "actions": ["create"],
                "before": None,
                "after": {"input": self.new, "triggers_replace": None},
                "after_unknown": self.after_unknown(),
                "before_sensitive": False,
                "after_sensitive": self.sensitive_after(),
            }
        else:
            change = {
                "actions": ["update"],
                "before": {"id": self.id, "input": self.old, "output": self.old,
                           "triggers_replace": None},
                "after": {"id": self.id, "input": self.new, "triggers_replace": None},
                "after_unknown": self.after_unknown(),
                "before_sensitive": self.sensitive_before(),
                "after_sensitive": self.sensitive_after(),
            }
        d["change"] = change
        return d

    def configuration(self):
        if self.kind == KIND_SECRET:
            expr = {"input": {"references": ["var.db_password"]}}
        else:
            expr = {"input": {"constant_value": self.new}}
        return {
            "address": self.address,
            "mode": "managed",
            "type": "terraform_data",
            "name": self.name,
            "provider_config_key": "terraform",
            "expressions": expr,
            "schema_version": 0,
        }


def filler(h, size):
    """`size` characters of text derived from the resource's hash `h` (words of its hex)."""
    if size <= 0:
        return ""
    words = [h[j:j + 8] for j in range(0, 64, 8)]
    text = " ".join(words)
    while len(text) < size:
        text += " " + text
    return text[:size]


def write_array(out, items):
    out.write("[")
    first = True
    for item in items:
        if not first:
            out.write(",")
        out.write(dumps(item))
        first = False
    out.write("]")


def main(argv):
    ap = argparse.ArgumentParser(
        description="Write a synthetic terraform 1.11 plan JSON with N resource changes.")
    ap.add_argument("n", type=int, help="number of resource changes")
    ap.add_argument("out", help="output file ('-' for stdout)")
    ap.add_argument("--seed", default="1", help="seed for generated values (default 1)")
    ap.add_argument("--differ", type=int, default=0, metavar="K",
                    help="change the after values of K resources (default 0)")
    ap.add_argument("--timestamp", default="2025-01-01T00:00:00Z",
                    help="value of the timestamp field (default 2025-01-01T00:00:00Z)")
    ap.add_argument("--value-bytes", type=int, default=0, metavar="B",
                    help="make every resource's input about B bytes larger (default 0)")
    args = ap.parse_args(argv)

    n, k, value_bytes = args.n, args.differ, args.value_bytes
    if n < 2:
        ap.error("N must be at least 2")
    if value_bytes < 0:
        ap.error("--value-bytes B must not be negative")
    if k < 0 or k > n:
        ap.error("--differ K must be between 0 and N")
    seed = args.seed
    differ = frozenset((j * n) // k for j in range(k)) if k else frozenset()

    def res(i):
        return Resource(seed, i, i in differ, value_bytes)

    def resources():
        for i in range(n):
            yield res(i)

    r0, r1 = res(0), res(1)  # both updates; r0 string kind, r1 object kind
    updates = sum(1 for r in resources() if not r.create)

    # outputs: (name, config, before, after, sensitive)
    def url(pw):
        return "postgres://app:%s@db.internal:5432/app" % pw

    outputs = [
        ("db_url", {"sensitive": True, "expression": {"references": ["var.db_password"]}},
         url(DB_PASSWORD_OLD), url(DB_PASSWORD), True),
        ("first_id", {"expression": {"references": [r0.address + ".id", r0.address]}},
         r0.id, r0.id, False),
        ("resource_count", {"expression": {"constant_value": n}}, updates, n, False),
        ("sample_input", {"expression": {"references": [r1.address + ".input", r1.address]}},
         r1.old, r1.new, False),
    ]

    def out_type(v):
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "number"
        if isinstance(v, str):
            return "string"
        # objects: cty object type, attributes sorted
        return ["object", {a: out_type(x) for a, x in sorted(v.items())}]

    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8",
                                                     buffering=1 << 20)
    try:
        w = out.write
        w('{"format_version":%s,"terraform_version":%s' % (dumps(FORMAT_VERSION),
                                                           dumps(TERRAFORM_VERSION)))
        w(',"variables":%s' % dumps({"db_password": {"value": DB_PASSWORD}}))

        # planned_values
        pv_outputs = {}
        for name, _cfg, _before, after, sensitive in outputs:
            pv_outputs[name] = {"sensitive": sensitive, "type": out_type(after), "value": after}
        w(',"planned_values":{"outputs":%s,"root_module":{"resources":' % dumps(pv_outputs))
        write_array(out, (r.planned_value() for r in resources()))
        w("}}")

        # resource_changes
        w(',"resource_changes":')
        write_array(out, (r.resource_change() for r in resources()))

        # output_changes
        oc = {}
        for name, _cfg, before, after, sensitive in outputs:
            oc[name] = {
                "actions": ["no-op"] if before == after else ["update"],
                "before": before,
                "after": after,
                "after_unknown": False,
                "before_sensitive": sensitive,
                "after_sensitive": sensitive,
            }
        w(',"output_changes":%s' % dumps(oc))

        # prior_state: refreshed state, whose outputs already hold the new
        # values (terraform evaluates outputs into it during plan)
        ps_outputs = {}
        for name, _cfg, _before, after, sensitive in outputs:
            ps_outputs[name] = {"sensitive": sensitive, "value": after, "type": out_type(after)}
        w(',"prior_state":{"format_version":"1.0","terraform_version":%s,'
          '"values":{"outputs":%s,"root_module":{"resources":'
          % (dumps(TERRAFORM_VERSION), dumps(ps_outputs)))
        write_array(out, (r.prior_value() for r in resources() if not r.create))
        w("}}}")

        # configuration
        cfg_outputs = {name: cfg for name, cfg, _b, _a, _s in outputs}
        w(',"configuration":{"provider_config":{"terraform":{"name":"terraform",'
          '"full_name":%s}},"root_module":{"outputs":%s,"resources":'
          % (dumps(PROVIDER), dumps(cfg_outputs)))
        write_array(out, (r.configuration() for r in resources()))
        w(',"variables":%s}}' % dumps({"db_password": {"default": DB_PASSWORD,
                                                        "sensitive": True}}))

        # relevant_attributes: what the changed outputs read
        rel = []
        for name, cfg, before, after, _s in outputs:
            if before == after:
                continue
            if name == "sample_input":
                rel.append({"resource": r1.address, "attribute": ["input"]})
        if rel:
            w(',"relevant_attributes":%s' % dumps(rel))

        w(',"timestamp":%s,"applyable":true,"complete":true,"errored":false}\n'
          % dumps(args.timestamp))
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main(sys.argv[1:])
