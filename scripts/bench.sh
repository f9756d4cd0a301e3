#!/usr/bin/env bash
# Benchmarks for docs/benchmarks.md. Each figure is measured against its baseline in the same
# run, on the same files:
#   1. `tfgate show --format json` on a generated 50,000-resource plan vs a jq group-by over the
#      same file: wall time, throughput (MB/s of plan JSON), peak RSS vs file size.
#   2. tfgate's own overhead in `tfgate plan --no-init` on a 1,000-resource root: its wall time
#      minus the wall time of the same terraform commands run directly.
# Needs: cargo, python3, terraform, jq.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
N=${N:-50000}
ROOT_N=${ROOT_N:-1000}
work=${BENCH_DIR:-target/bench}
mkdir -p "$work"
work=$(cd "$work" && pwd)

export CHECKPOINT_DISABLE=1
export TF_CLI_CONFIG_FILE="$work/terraform.rc"
: > "$TF_CLI_CONFIG_FILE"

cargo build --release --quiet
tfgate=$PWD/target/release/tfgate
measure() { python3 scripts/measure.py --runs "$RUNS" "$@"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "terraform: $(terraform version | head -1); jq: $(jq --version)"

# 1. show on a large plan
plan="$work/plan-$N.json"
[ -s "$plan" ] || python3 scripts/gen-plan-json.py "$N" "$plan"
size=$(stat -c %s "$plan")
t=$(measure -- "$tfgate" show --format json "$plan")
j=$(measure -- jq -c '.resource_changes | group_by(.change.actions) | map({k: .[0].change.actions, n: length})' "$plan")
python3 - "$size" "$t" "$j" "$N" <<'PY'
import json, sys
size = int(sys.argv[1]); t = json.loads(sys.argv[2]); j = json.loads(sys.argv[3]); n = sys.argv[4]
mb = size / 1e6
print(f"\n## show --format json, {n} resources, {mb:.1f} MB plan JSON")
print("| command | wall min / median / max (s) | peak RSS (MB) |")
print("|---|---|---|")
for name, r in (("tfgate show --format json", t), ("jq group_by", j)):
    print(f"| {name} | {r['wall_min']:.3f} / {r['wall_median']:.3f} / {r['wall_max']:.3f} | {r['peak_rss']/1e6:.0f} |")
print(f"\ntfgate vs jq: {j['wall_median']/t['wall_median']:.1f}x faster (target >= 5x)")
print(f"throughput: {mb/t['wall_median']:.0f} MB/s (target >= 200 MB/s)")
print(f"peak RSS / file size: {t['peak_rss']/size:.2f} (target <= 2)")
PY

# 2. overhead of tfgate plan
root="$work/root-$ROOT_N"
if [ ! -f "$root/main.tf" ]; then
  bash scripts/gen-root.sh "$ROOT_N" "$root"
fi
(cd "$root" && terraform init -input=false -no-color >/dev/null)
base=$(measure --cwd "$root" -- terraform plan -input=false -no-color -lock-timeout=5m -out="$root/base.tfplan" \
  --- terraform show -json "$root/base.tfplan" --- terraform show -no-color "$root/base.tfplan")
gate=$(measure -- "$tfgate" plan --no-init --quiet --chdir "$root")
python3 - "$base" "$gate" "$ROOT_N" <<'PY'
import json, sys
b = json.loads(sys.argv[1]); g = json.loads(sys.argv[2]); n = sys.argv[3]
print(f"\n## tfgate plan overhead, {n}-resource root")
print("| command | wall min / median / max (s) |")
print("|---|---|")
print(f"| terraform plan -out + show -json + show (direct) | {b['wall_min']:.3f} / {b['wall_median']:.3f} / {b['wall_max']:.3f} |")
print(f"| tfgate plan --no-init | {g['wall_min']:.3f} / {g['wall_median']:.3f} / {g['wall_max']:.3f} |")
print(f"\noverhead (median - median): {(g['wall_median']-b['wall_median'])*1000:.0f} ms; (min - min): {(g['wall_min']-b['wall_min'])*1000:.0f} ms (target < 50 ms)")
PY
rm -rf "$root/.tfgate"
