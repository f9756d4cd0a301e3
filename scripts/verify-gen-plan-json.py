#!/usr/bin/env python3
"""Check scripts/gen-plan-json.py against real Terraform output.

    verify-gen-plan-json.py [N] [--differ K]    (defaults: N=24, K=3)

Builds a real root (setup with the "old" values, final config with the "new"
values) that corresponds resource for resource to what gen-plan-json.py
generates, stages it with scripts/stage-fixture.sh, runs `terraform plan` +
`terraform show -json`, and compares the real plan with the synthetic one:
same keys in the same order, same arrays and values everywhere, except that
UUIDs and the timestamp are normalised. Exits non-zero on any difference.

Needs terraform on PATH (or $TERRAFORM). Stdlib only.
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # do not leave scripts/__pycache__ behind
HERE = os.path.dirname(os.path.abspath(__file__))
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_plan_json",
                                                  os.path.join(HERE, "gen-plan-json.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def hcl(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(hcl(x) for x in v) + "]"
    return "{ " + ", ".join("%s = %s" % (k, hcl(x)) for k, x in v.items()) + " }"


def root(g, resources, password, count, only_existing):
    s = ('variable "db_password" {\n  type      = string\n  sensitive = true\n'
         '  default   = %s\n}\n\n' % json.dumps(password))
    for r in resources:
        if only_existing and r.create:
            continue
        value = r.old if only_existing else r.new
        if r.kind == g.KIND_SECRET:
            expr = "{ password = var.db_password, user = %s }" % hcl(value["user"])
        else:
            expr = hcl(value)
        s += 'resource "terraform_data" "%s" {\n  input = %s\n}\n\n' % (r.name, expr)
    s += ('output "db_url" {\n'
          '  value     = "postgres://app:${var.db_password}@db.internal:5432/app"\n'
          '  sensitive = true\n}\n\n'
          'output "first_id" {\n  value = terraform_data.res_000000.id\n}\n\n'
          'output "resource_count" {\n  value = %d\n}\n\n'
          'output "sample_input" {\n  value = terraform_data.res_000001.input\n}\n' % count)
    return s


def normalise(v):
    if isinstance(v, dict):
        return {k: normalise(x) for k, x in v.items()}
    if isinstance(v, list):
        return [normalise(x) for x in v]
    if isinstance(v, str) and UUID.match(v):
        return "<uuid>"
    return v


def compare(x, y, path, problems):
    if type(x) is not type(y):
        problems.append("%s: type %s vs %s" % (path, type(x).__name__, type(y).__name__))
        return
    if isinstance(x, dict):
        if list(x) != list(y):
            problems.append("%s: keys %s vs %s" % (path, list(x), list(y)))
        for k in x:
            if k in y:
                compare(x[k], y[k], path + "." + k, problems)
    elif isinstance(x, list):
        if len(x) != len(y):
            problems.append("%s: length %d vs %d" % (path, len(x), len(y)))
            return
        for i, (p, q) in enumerate(zip(x, y)):
            compare(p, q, "%s[%d]" % (path, i), problems)
    elif x != y:
        problems.append("%s: %s vs %s" % (path, json.dumps(x)[:100], json.dumps(y)[:100]))


def main(argv):
    ap = argparse.ArgumentParser(description="Compare gen-plan-json.py with real terraform.")
    ap.add_argument("n", type=int, nargs="?", default=24)
    ap.add_argument("--differ", type=int, default=3)
    args = ap.parse_args(argv)
    g = load_generator()
    n, k = args.n, args.differ
    differ = frozenset((j * n) // k for j in range(k)) if k else frozenset()
    resources = [g.Resource("1", i, i in differ) for i in range(n)]
    updates = sum(1 for r in resources if not r.create)
    terraform = os.environ.get("TERRAFORM", "terraform")

    with tempfile.TemporaryDirectory(prefix="verify-gen-plan-json.") as tmp:
        fixtures = os.path.join(tmp, "fixtures")
        os.makedirs(os.path.join(fixtures, "synthetic", "setup"))
        with open(os.path.join(fixtures, "synthetic", "setup", "main.tf"), "w") as f:
            f.write(root(g, resources, g.DB_PASSWORD_OLD, updates, True))
        with open(os.path.join(fixtures, "synthetic", "main.tf"), "w") as f:
            f.write(root(g, resources, g.DB_PASSWORD, n, False))
        cfg = os.path.join(tmp, "empty.tfrc")
        open(cfg, "w").close()
        env = dict(os.environ, TFGATE_FIXTURES_DIR=fixtures, CHECKPOINT_DISABLE="1",
                   TF_CLI_CONFIG_FILE=cfg, TF_IN_AUTOMATION="1")
        work = os.path.join(tmp, "work")
        subprocess.run([os.path.join(HERE, "stage-fixture.sh"), "synthetic", work],
                       env=env, check=True)
        subprocess.run([terraform, "init", "-input=false", "-no-color"], cwd=work, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([terraform, "plan", "-input=false", "-no-color", "-out=tfplan"],
                       cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
        real = json.loads(subprocess.run([terraform, "show", "-json", "tfplan"], cwd=work,
                                         env=env, check=True,
                                         stdout=subprocess.PIPE).stdout)
        synthetic_path = os.path.join(tmp, "synthetic.json")
        subprocess.run([sys.executable, os.path.join(HERE, "gen-plan-json.py"), str(n),
                        synthetic_path, "--differ", str(k)], check=True)
        with open(synthetic_path, encoding="utf-8") as f:
            synthetic = json.load(f)

    real["timestamp"] = synthetic["timestamp"] = "<timestamp>"
    problems = []
    compare(normalise(real), normalise(synthetic), "$", problems)
    if problems:
        print("gen-plan-json.py differs from terraform %s:" % real.get("terraform_version"))
        for p in problems[:50]:
            print("  " + p)
        sys.exit(1)
    print("gen-plan-json.py N=%d --differ %d matches terraform %s output "
          "(UUIDs and timestamp normalised)" % (n, k, real.get("terraform_version")))


if __name__ == "__main__":
    main(sys.argv[1:])
