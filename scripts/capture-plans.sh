#!/usr/bin/env bash
# capture-plans.sh [NAME...]
#
# Stages every fixture in terraform-fixtures/ (or only the named ones) into a
# temporary directory with scripts/stage-fixture.sh, plans it and writes:
#
#   tests/data/plans/NAME.json   terraform show -json tfplan
#   tests/data/plans/NAME.txt    terraform show -no-color tfplan
#
# Extra plan arguments come from terraform-fixtures/NAME/plan-args (one
# argument per line), e.g. -refresh-only for the drift fixture.
# A fixture with a file named expect-plan-error must fail to plan; for it the
# script writes tests/data/plans/NAME.plan-error.txt (terraform plan's stderr)
# instead of .json/.txt.
#
# When the demo and changes plans are (re)captured, the derived edge-case
# files are regenerated from them as well (format-0.2.json, format-9.0.json,
# truncated.json, not-json.txt, empty-object.json, reordered.json,
# drift-synthetic.json).
#
# Environment: TERRAFORM (default terraform). CHECKPOINT_DISABLE=1 and an empty
# TF_CLI_CONFIG_FILE are always used.
set -euo pipefail

die() { printf 'capture-plans: %s\n' "$*" >&2; exit 1; }

script_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$script_dir/.." && pwd)
fixtures_dir="$root/terraform-fixtures"
out_dir="$root/tests/data/plans"
TERRAFORM=${TERRAFORM:-terraform}
command -v "$TERRAFORM" >/dev/null 2>&1 || die "terraform binary not found: $TERRAFORM"
command -v jq >/dev/null 2>&1 || die "jq is required"
command -v python3 >/dev/null 2>&1 || die "python3 is required"
export TERRAFORM

work=$(mktemp -d "${TMPDIR:-/tmp}/capture-plans.XXXXXX")
trap 'rm -rf "$work"' EXIT
: > "$work/empty.tfrc"
export CHECKPOINT_DISABLE=1
export TF_CLI_CONFIG_FILE="$work/empty.tfrc"
export TF_IN_AUTOMATION=1
export TF_INPUT=0

mkdir -p "$out_dir"

if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=()
  for d in "$fixtures_dir"/*/; do
    d=${d%/}
    ls "$d"/*.tf >/dev/null 2>&1 || continue
    names+=("$(basename "$d")")
  done
fi

# tf STEP LOG CMD...: run terraform in $dir, output to LOG; dump LOG on failure.
tf() {
  local step=$1 log=$2
  shift 2
  if ! (cd "$dir" && "$TERRAFORM" "$@") >"$log" 2>&1; then
    printf 'capture-plans: %s: %s failed\n----- output -----\n' "$name" "$step" >&2
    cat "$log" >&2
    printf -- '------------------\n' >&2
    exit 1
  fi
}

for name in "${names[@]}"; do
  src="$fixtures_dir/$name"
  [ -d "$src" ] || die "no such fixture: $name"
  dir="$work/$name"
  "$script_dir/stage-fixture.sh" "$name" "$dir"

  plan_args=()
  if [ -f "$src/plan-args" ]; then
    while IFS= read -r arg || [ -n "$arg" ]; do
      [ -n "$arg" ] && plan_args+=("$arg")
    done < "$src/plan-args"
  fi

  tf init "$work/$name.init.log" init -input=false -no-color

  if [ -f "$src/expect-plan-error" ]; then
    set +e
    (cd "$dir" && "$TERRAFORM" plan -input=false -no-color -out=tfplan ${plan_args[@]+"${plan_args[@]}"}) \
      >"$work/$name.plan.out" 2>"$out_dir/$name.plan-error.txt"
    rc=$?
    set -e
    if [ "$rc" -ne 1 ]; then
      cat "$work/$name.plan.out" "$out_dir/$name.plan-error.txt" >&2
      die "$name: expected terraform plan to fail with exit code 1, got $rc"
    fi
    printf '%s: plan failed as expected -> %s.plan-error.txt\n' "$name" "$name"
    continue
  fi

  tf plan "$work/$name.plan.log" plan -input=false -no-color -out=tfplan ${plan_args[@]+"${plan_args[@]}"}
  (cd "$dir" && "$TERRAFORM" show -json tfplan) > "$out_dir/$name.json"
  (cd "$dir" && "$TERRAFORM" show -no-color tfplan) > "$out_dir/$name.txt"
  jq -e . "$out_dir/$name.json" >/dev/null || die "$name: show -json did not produce valid JSON"
  printf '%s: %s bytes json, %s bytes text\n' "$name" \
    "$(wc -c < "$out_dir/$name.json" | tr -d ' ')" "$(wc -c < "$out_dir/$name.txt" | tr -d ' ')"
done

# Derived edge-case files.
if [ -f "$out_dir/demo.json" ]; then
  jq -c '.format_version = "0.2"' "$out_dir/demo.json" > "$out_dir/format-0.2.json"
  jq -c '.format_version = "9.0"' "$out_dir/demo.json" > "$out_dir/format-9.0.json"
  printf '{}\n' > "$out_dir/empty-object.json"
  cat > "$out_dir/not-json.txt" <<'TXT'
Terraform used the selected providers to generate the following execution
plan. Resource actions are indicated with the following symbols:
  + create

This file is plain text, not JSON: tfgate must reject it with a clear error.
TXT
fi
if [ -f "$out_dir/changes.json" ]; then
  size=$(wc -c < "$out_dir/changes.json" | tr -d ' ')
  head -c $((size / 2)) "$out_dir/changes.json" > "$out_dir/truncated.json"
  python3 "$script_dir/reorder-plan-json.py" "$out_dir/changes.json" "$out_dir/reordered.json"
  python3 "$script_dir/make-drift-synthetic.py" "$out_dir/changes.json" "$out_dir/drift-synthetic.json"
fi
