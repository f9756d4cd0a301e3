#!/usr/bin/env bash
# stage-fixture.sh NAME DEST_DIR
#
# Stages the Terraform fixture terraform-fixtures/NAME into DEST_DIR so that
# the caller can run `terraform init` / `terraform plan` there:
#
#   1. if NAME/setup/*.tf exists: copy it into DEST_DIR, `terraform init`,
#      `terraform apply -auto-approve`;
#   2. if NAME/setup/after-apply.sh exists: run it with DEST_DIR as the
#      working directory (TERRAFORM, CHECKPOINT_DISABLE and TF_CLI_CONFIG_FILE
#      are exported to it);
#   3. delete the setup .tf files and copy NAME/*.tf into DEST_DIR.
#
# The local-backend state (terraform.tfstate) stays in DEST_DIR. DEST_DIR must
# not exist or be empty. Nothing is printed on success; on failure the captured
# terraform output is printed to stderr and the exit status is non-zero.
#
# Environment:
#   TERRAFORM            terraform binary (default: terraform)
#   TFGATE_FIXTURES_DIR  where fixtures live (default: ../terraform-fixtures
#                        relative to this script)
#   CHECKPOINT_DISABLE   defaults to 1 if unset
#   TF_CLI_CONFIG_FILE   defaults to an empty temporary file (removed on exit)
#                        if unset or naming a file that does not exist;
#                        callers that plan afterwards should set their own
#                        (see terraform-fixtures/README.md)
set -euo pipefail

die() { printf 'stage-fixture: %s\n' "$*" >&2; exit 1; }

[ "$#" -eq 2 ] || die "usage: $0 NAME DEST_DIR"
name=$1
dest=$2

script_dir=$(cd "$(dirname "$0")" && pwd)
fixtures_dir=${TFGATE_FIXTURES_DIR:-"$script_dir/../terraform-fixtures"}
src="$fixtures_dir/$name"
[ -d "$src" ] || die "no such fixture: $src"

TERRAFORM=${TERRAFORM:-terraform}
command -v "$TERRAFORM" >/dev/null 2>&1 || die "terraform binary not found: $TERRAFORM"
export TERRAFORM

export CHECKPOINT_DISABLE=${CHECKPOINT_DISABLE:-1}
export TF_IN_AUTOMATION=${TF_IN_AUTOMATION:-1}
export TF_INPUT=0
tmp_cfg=""
log=$(mktemp "${TMPDIR:-/tmp}/stage-fixture.XXXXXX.log")
cleanup() {
  rm -f "$log"
  if [ -n "$tmp_cfg" ]; then rm -f "$tmp_cfg"; fi
}
trap cleanup EXIT
# Unset, or set to a file that does not exist (terraform would warn about it
# on every run): use an empty temporary file instead.
if [ -z "${TF_CLI_CONFIG_FILE:-}" ] || [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  tmp_cfg=$(mktemp "${TMPDIR:-/tmp}/stage-fixture.XXXXXX.tfrc")
  export TF_CLI_CONFIG_FILE="$tmp_cfg"
fi

mkdir -p "$dest"
if [ -n "$(ls -A "$dest")" ]; then
  die "destination is not empty: $dest"
fi
dest=$(cd "$dest" && pwd)

# run STEP CMD...: run CMD in $dest with output captured; dump it on failure.
run() {
  local step=$1
  shift
  if ! (cd "$dest" && "$@") >"$log" 2>&1; then
    {
      printf 'stage-fixture: %s: step "%s" failed: %s\n' "$name" "$step" "$*"
      printf -- '----- output -----\n'
      cat "$log"
      printf -- '------------------\n'
    } >&2
    exit 1
  fi
}

shopt -s nullglob
setup_tf=("$src"/setup/*.tf)
final_tf=("$src"/*.tf)
shopt -u nullglob

[ "${#final_tf[@]}" -gt 0 ] || die "fixture $name has no *.tf files"

if [ "${#setup_tf[@]}" -gt 0 ]; then
  cp "${setup_tf[@]}" "$dest/"
  run "setup init" "$TERRAFORM" init -input=false -no-color
  run "setup apply" "$TERRAFORM" apply -auto-approve -input=false -no-color
fi

if [ -f "$src/setup/after-apply.sh" ]; then
  run "after-apply.sh" bash "$src/setup/after-apply.sh"
fi

if [ "${#setup_tf[@]}" -gt 0 ]; then
  for f in "${setup_tf[@]}"; do
    rm -f "$dest/$(basename "$f")"
  done
fi
cp "${final_tf[@]}" "$dest/"
