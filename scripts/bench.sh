#!/usr/bin/env bash
# Benchmarks for docs/benchmarks.md. Each figure is measured against its baseline in the same
# run, on the same files:
#   1. `tfgate show --format json` on a generated 50,000-resource plan (about 120 MB: every
#      resource's input carries VALUE_BYTES=185 more bytes) vs a jq group-by over the same file:
#      wall time, throughput (MB/s of plan JSON), peak RSS vs file size.
#   2. tfgate's own overhead in `tfgate plan --no-init` on a 1,000-resource root: its wall time
#      minus the wall time of the same terraform commands run directly.
#   3. `tfgate diff --format json` of two generated 50,000-resource plans (as in 1) that differ
#      in 10 resources vs `diff <(jq -S . A) <(jq -S . B)`: wall time, peak RSS vs the two files'
#      size.
#   In 1 and 3, BASELINE=/path/to/an/older/tfgate measures that binary too, side by side: every
#   run executes the commands in turn (scripts/measure.py's `----`), so a load that comes and
#   goes on the machine falls on all of them alike.
#   4. the apply queue: DynamoDB requests per waiting run per minute and the handoff delay,
#      against flock(1)
#   5. a cold `cargo build --release`: wall and CPU time, the binary's size as built and
#      stripped, and the duplicate crates left in the dependency graph. Not run by default
#      (it rebuilds everything, minutes of both cores): SECTIONS=5, on an otherwise idle machine.
# TFGATE=/path/to/tfgate measures that build instead of building this tree's.
# SECTIONS=4 runs only section 4 (any subset of the digits 12345; default 1234).
# Needs: cargo, python3, terraform, jq; section 5: strip (binutils).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
N=${N:-50000}
VALUE_BYTES=${VALUE_BYTES:-185}
BASELINE=${BASELINE:-}
ROOT_N=${ROOT_N:-1000}
work=${BENCH_DIR:-target/bench}
mkdir -p "$work"
work=$(cd "$work" && pwd)

export CHECKPOINT_DISABLE=1
export TF_CLI_CONFIG_FILE="$work/terraform.rc"
: > "$TF_CLI_CONFIG_FILE"

# The build measured: this tree's release build (in CARGO_TARGET_DIR when that is set), or
# TFGATE=/path/to/tfgate, a build made elsewhere, which is then measured as it is.
TFGATE=${TFGATE:-}
tfgate=${TFGATE:-${CARGO_TARGET_DIR:-$PWD/target}/release/tfgate}
tfgate=$(realpath -m "$tfgate")
measure() { python3 scripts/measure.py --runs "$RUNS" "$@"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "terraform: $(terraform version | head -1); jq: $(jq --version)"
# Other work on the machine slows every command measured; the load says how much there was.
load() { echo "load average (1, 5, 15 min) $1: $(cut -d' ' -f1-3 /proc/loadavg)"; }
load "at the start"
only() { [[ "${SECTIONS:-1234}" == *"$1"* ]]; }
if [ -z "$TFGATE" ] && { only 1 || only 2 || only 3; }; then cargo build --release --quiet; fi

if only 1; then
# 1. show on a large plan
plan="$work/plan-$N-v$VALUE_BYTES.json"
[ -s "$plan" ] || python3 scripts/gen-plan-json.py "$N" "$plan" --value-bytes "$VALUE_BYTES"
size=$(stat -c %s "$plan")
alts=()
if [ -n "$BASELINE" ]; then
  # Both versions must print the same summary, but for the resources' `changed_attributes`
  # when the baseline is older than them (it prints none).
  python3 - <("$BASELINE" show --format json "$plan") <("$tfgate" show --format json "$plan") <<'PY' \
    || { echo "the baseline's show output differs" >&2; exit 1; }
import json, sys
before, after = (json.load(open(f)) for f in sys.argv[1:3])
if not any("changed_attributes" in r for r in before["resources"]):
    for r in after["resources"]:
        r.pop("changed_attributes", None)
sys.exit(before != after)
PY
  alts+=("$BASELINE" show --format json "$plan" ----)
fi
r=$(measure -- "${alts[@]}" "$tfgate" show --format json "$plan" \
  ---- jq -c '.resource_changes | group_by(.change.actions) | map({k: .[0].change.actions, n: length})' "$plan")
python3 - "$size" "$r" "$N" "$BASELINE" <<'PY'
import json, sys
size = int(sys.argv[1]); r = json.loads(sys.argv[2]); n = sys.argv[3]; baseline = sys.argv[4]
rows = [("tfgate show --format json", r[-2]), ("jq group_by", r[-1])]
if baseline:
    rows.insert(0, (f"before ({baseline}) show --format json", r[0]))
mb = size / 1e6
j = r[-1]
print(f"\n## show --format json, {n} resources, {mb:.1f} MB plan JSON")
print("| command | wall min / median / max (s) | CPU median (s) | peak RSS (MB) |")
print("|---|---|---|---|")
for name, x in rows:
    print(f"| {name} | {x['wall_min']:.3f} / {x['wall_median']:.3f} / {x['wall_max']:.3f} | {x['cpu_median']:.3f} | {x['peak_rss']/1e6:.0f} |")
for name, t in rows[:-1]:
    print(f"\n{name}:")
    print(f"  vs jq: {j['wall_median']/t['wall_median']:.1f}x faster (target >= 10x)")
    print(f"  throughput: {mb/t['wall_median']:.0f} MB/s (target >= 400 MB/s)")
    print(f"  peak RSS / file size: {t['peak_rss']/size:.2f} (target <= 1.5)")
PY

fi

if only 2; then
# 2. overhead of tfgate plan
root="$work/root-$ROOT_N"
if [ ! -f "$root/main.tf" ]; then
  bash scripts/gen-root.sh "$ROOT_N" "$root"
fi
(cd "$root" && terraform init -input=false -no-color >/dev/null)
base=$(measure --cwd "$root" -- terraform plan -input=false -no-color -lock-timeout=5m -out="$root/base.tfplan" \
  --- terraform show -json "$root/base.tfplan" --- terraform show -no-color "$root/base.tfplan")
gate=$(measure -- "$tfgate" plan --no-init --quiet --chdir "$root")
own=$(for _ in $(seq "$RUNS"); do
  "$tfgate" plan --no-init -v --chdir "$root" 2>&1 >/dev/null | sed -n 's/.*, \([0-9.]*\) ms in tfgate$/\1/p'
done | tr '\n' ' ')
python3 - "$base" "$gate" "$ROOT_N" "$own" <<'PY'
import json, statistics, sys
b = json.loads(sys.argv[1]); g = json.loads(sys.argv[2]); n = sys.argv[3]
own = [float(x) for x in sys.argv[4].split()]
print(f"\n## tfgate plan overhead, {n}-resource root")
print("| command | wall min / median / max (s) |")
print("|---|---|")
print(f"| terraform plan -out + show -json + show (direct) | {b['wall_min']:.3f} / {b['wall_median']:.3f} / {b['wall_max']:.3f} |")
print(f"| tfgate plan --no-init | {g['wall_min']:.3f} / {g['wall_median']:.3f} / {g['wall_max']:.3f} |")
print(f"\noverhead across processes (median - median): {(g['wall_median']-b['wall_median'])*1000:.0f} ms; (min - min): {(g['wall_min']-b['wall_min'])*1000:.0f} ms")
print(f"overhead within each run (tfgate -v: its wall time minus the wall time of the terraform commands it ran), {len(own)} runs: min {min(own):.1f} / median {statistics.median(own):.1f} / max {max(own):.1f} ms (target < 50 ms)")
PY
rm -rf "$root/.tfgate"

fi

if only 3; then
# 3. diff of two large plans that differ in 10 resources (same seed and timestamp)
DIFFER=${DIFFER:-10}
diff_a="$work/diff-a-$N-v$VALUE_BYTES.json"
diff_b="$work/diff-b-$N-v$VALUE_BYTES-differ-$DIFFER.json"
[ -s "$diff_a" ] || python3 scripts/gen-plan-json.py "$N" "$diff_a" --value-bytes "$VALUE_BYTES"
[ -s "$diff_b" ] || python3 scripts/gen-plan-json.py "$N" "$diff_b" --value-bytes "$VALUE_BYTES" --differ "$DIFFER"
# tfgate diff exits 3 when the plans differ, as they do here: any other status fails the run.
found=$("$tfgate" diff --format json "$diff_a" "$diff_b") || [ $? -eq 3 ]
if [ -n "$BASELINE" ]; then
  # Both versions must find the same differences.
  before=$("$BASELINE" diff --format json "$diff_a" "$diff_b") || [ $? -eq 3 ]
  [ "$before" == "$found" ] || { echo "the baseline's diff output differs" >&2; exit 1; }
fi
alts=()
if [ -n "$BASELINE" ]; then alts+=(bash -c '"$0" diff --format json "$1" "$2"; [ $? -eq 3 ]' "$BASELINE" "$diff_a" "$diff_b" ----); fi
# diff(1) exits 1 when the files differ, as they do here: only a status above 1 is trouble.
r=$(measure -- "${alts[@]}" bash -c '"$0" diff --format json "$1" "$2"; [ $? -eq 3 ]' "$tfgate" "$diff_a" "$diff_b" \
  ---- bash -c 'diff <(jq -S . "$0") <(jq -S . "$1"); [ $? -le 1 ]' "$diff_a" "$diff_b")
python3 - "$(stat -c %s "$diff_a")" "$(stat -c %s "$diff_b")" "$r" "$N" "$DIFFER" "$found" "$BASELINE" <<'PY'
import json, sys
size_a, size_b = int(sys.argv[1]), int(sys.argv[2])
r = json.loads(sys.argv[3])
n, k, found, baseline = sys.argv[4], int(sys.argv[5]), json.loads(sys.argv[6]), sys.argv[7]
rows = [("tfgate diff --format json A B", r[-2]), ("diff <(jq -S . A) <(jq -S . B)", r[-1])]
if baseline:
    rows.insert(0, (f"before ({baseline}) diff --format json A B", r[0]))
j = r[-1]
subjects = {(d["address"], d.get("deposed")) for d in found["differences"]}
resources = [s for s in subjects if not s[0].startswith("output.")]
print(f"\n## diff --format json, {n} resources per plan ({size_a/1e6:.1f} MB + {size_b/1e6:.1f} MB), {k} differ")
print("| command | wall min / median / max (s) | CPU median (s) | peak RSS (MB) |")
print("|---|---|---|---|")
for name, x in rows:
    print(f"| {name} | {x['wall_min']:.3f} / {x['wall_median']:.3f} / {x['wall_max']:.3f} | {x['cpu_median']:.3f} | {x['peak_rss']/1e6:.0f} |")
print(f"\ntfgate found {len(resources)} differing resources (expected {k}) and {len(subjects) - len(resources)} outputs")
for name, t in rows[:-1]:
    print(f"\n{name}:")
    print(f"  vs diff+jq: {j['wall_median']/t['wall_median']:.1f}x faster")
    print(f"  wall median: {t['wall_median']:.3f} s, max {t['wall_max']:.3f} s (target <= 0.3 s)")
    print(f"  peak RSS / (size A + size B): {t['peak_rss']/(size_a + size_b):.2f} (target <= 2)")
PY

fi

if only 4; then
# 4. the apply queue: DynamoDB requests per waiting run per minute, and the handoff delay from
#    one run releasing the queue to the next acquiring it (DynamoDB on moto_server, and the file
#    store), against flock(1)'s kernel handoff, in the same run. Needs moto_server (scripts/test.sh
#    installs it).
echo
echo "## apply queue (cargo test --test it queue_cost, debug build)"
for i in $(seq "${QUEUE_RUNS:-3}"); do
  cargo test --quiet --test it queue_cost -- --nocapture 2>&1 \
    | grep -E '^(DynamoDB requests|DynamoDB queue handoffs|file queue handoffs|flock)' \
    | sed "s/^/run $i: /"
done
fi

if only 5; then
# 5. cold release build, in a target directory of its own (removed afterwards, so the normal
#    target/ keeps its incremental state). bash's `time` gives wall and CPU (user + sys of cargo
#    and every rustc and build script); CPU / cores is what the wall time would be with perfect
#    parallelism, the rest is the build's serial tail (the largest crates, then tfgate and the
#    link). cargo's --timings report is kept beside the results.
cold="$work/cold-target"
rm -rf "$cold"
TIMEFORMAT='%R %U %S'
{ time CARGO_TARGET_DIR="$cold" cargo build --release --locked --quiet --timings 2>"$work/cold-build.log"; } 2>"$work/cold-build.time"
read -r wall user sys < "$work/cold-build.time"
built=$(stat -c %s "$cold/release/tfgate")
strip -o "$work/tfgate.stripped" "$cold/release/tfgate"
stripped=$(stat -c %s "$work/tfgate.stripped")
cp "$cold"/cargo-timings/cargo-timing.html "$work/cold-build-timing.html"
rm -rf "$cold" "$work/tfgate.stripped"
dups=$(cargo tree -d -e normal --depth 0 --locked | grep -v '^$' | sort -u)
stack=$(grep -E '^(hyper|h2|http|http-body|rustls|hyper-rustls|tokio-rustls) v' <<<"$dups" | tr '\n' ' ' || true)
aws_lc=$(cargo tree -e normal --prefix none --locked | awk '/^aws-lc-/ {print $1}' | sort -u | wc -l)
python3 - "$wall" "$user" "$sys" "$built" "$stripped" "$(nproc)" "$(grep -c . <<<"$dups")" "$stack" "$aws_lc" "$(cargo --version)" <<'PY'
import sys
wall, user, sys_ = map(float, sys.argv[1:4])
built, stripped, cores, dups = map(int, sys.argv[4:8])
stack, aws_lc, cargo = sys.argv[8].strip(), int(sys.argv[9]), sys.argv[10]
cpu = user + sys_
print(f"\n## cold cargo build --release ({cargo})")
print("| measure | value |")
print("|---|---|")
print(f"| wall | **{wall:.0f} s** ({wall/60:.1f} min; target <= 180 s) |")
print(f"| CPU (user + sys) | {cpu:.0f} s; / {cores} cores = {cpu/cores:.0f} s |")
print(f"| binary as built | {built/1e6:.1f} MB |")
print(f"| binary stripped (strip) | {stripped/1e6:.1f} MB (target <= 25 MB) |")
print(f"| duplicate crates (cargo tree -d -e normal) | {dups} |")
print(f"| duplicate HTTP/TLS crates | {stack or 'none'} |")
print(f"| aws-lc crates built | {aws_lc} |")
PY
echo "cargo's timing report: $work/cold-build-timing.html"
fi
load "at the end"
