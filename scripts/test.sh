#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit and end-to-end tests.
# Installs what the tests need; needs only the Rust toolchain, Python 3 with pip, and
# terraform on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

command -v terraform >/dev/null 2>&1 \
  || die "terraform is not on PATH (the end-to-end tests run the real binary)"
command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH"

# S3 and DynamoDB for the tests: moto_server, a real protocol peer on loopback.
if ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6'
  # pip puts console scripts in the interpreter's scripts directory, which a version manager's
  # shims (pyenv) may not expose until a rehash.
  PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
  export PATH
fi
command -v moto_server >/dev/null 2>&1 \
  || die "moto_server is not on PATH after installing moto[server] (is pip's bin directory on PATH?)"

# Terraform must not read the user's CLI config or call home while tests run; each test also
# sets its own TF_CLI_CONFIG_FILE.
export CHECKPOINT_DISABLE=1

cargo fmt --all --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked "$@"
