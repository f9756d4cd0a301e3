#!/usr/bin/env bash
# Installs tfgate: the release binary for this machine's OS and architecture, checked against
# the release's SHA256SUMS, else (no binary for this machine, or no such release) a build from
# source with `cargo install --locked`. The GitHub Action (action.yml) runs this; so can you:
#
#   scripts/install.sh --repo OWNER/tfgate --version 0.2.0 --dir ~/.local/bin
#
# Options (each also an environment variable):
#   --version X.Y.Z   TFGATE_INSTALL_VERSION   default: the version in ../Cargo.toml
#   --dir DIR         TFGATE_INSTALL_DIR       where `tfgate` goes; default: ~/.local/bin
#   --repo OWNER/REPO TFGATE_INSTALL_REPO      the repository whose releases to use
#   --base-url URL    TFGATE_INSTALL_BASE_URL  default: https://github.com/REPO/releases/download
#   --source DIR      TFGATE_INSTALL_SOURCE    the source to build from; default: ..
#
# Assets are BASE_URL/vX.Y.Z/tfgate-X.Y.Z-TARGET.tar.gz and BASE_URL/vX.Y.Z/SHA256SUMS.
# A checksum mismatch is never installed and never falls back: it exits 1.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
version="${TFGATE_INSTALL_VERSION:-}"
dir="${TFGATE_INSTALL_DIR:-}"
repo="${TFGATE_INSTALL_REPO:-}"
base_url="${TFGATE_INSTALL_BASE_URL:-}"
source_dir="${TFGATE_INSTALL_SOURCE:-$here/..}"

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:?--version needs a value}"; shift 2 ;;
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --repo) repo="${2:?--repo needs a value}"; shift 2 ;;
    --base-url) base_url="${2:?--base-url needs a value}"; shift 2 ;;
    --source) source_dir="${2:?--source needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

if [ -z "$version" ]; then
  [ -f "$source_dir/Cargo.toml" ] || die "no --version given and no Cargo.toml in $source_dir"
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$source_dir/Cargo.toml" | head -n 1)"
  [ -n "$version" ] || die "cannot read the version from $source_dir/Cargo.toml"
fi
version="${version#v}"
case "$version" in
  *[!0-9A-Za-z.+-]*|'') die "not a version: $version" ;;
esac
dir="${dir:-$HOME/.local/bin}"
mkdir -p "$dir"

if [ -x "$dir/tfgate" ] && [ "$("$dir/tfgate" --version 2>/dev/null || true)" = "tfgate $version" ]; then
  say "tfgate $version is already installed in $dir"
  exit 0
fi

os="$(uname -s)"
arch="$(uname -m)"
case "$os/$arch" in
  Linux/x86_64|Linux/amd64) target=x86_64-unknown-linux-musl ;;
  Linux/aarch64|Linux/arm64) target=aarch64-unknown-linux-musl ;;
  Darwin/arm64|Darwin/aarch64) target=aarch64-apple-darwin ;;
  Darwin/x86_64) target=x86_64-apple-darwin ;;
  *) target="" ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

from_source() {
  say "$1; building tfgate $version from source with \`cargo install --locked\` (this takes several minutes)"
  command -v cargo >/dev/null 2>&1 \
    || die "cargo is not on PATH: install Rust (https://rustup.rs) or use a machine with a release binary"
  [ -f "$source_dir/Cargo.toml" ] || die "no source to build in $source_dir"
  cargo install --locked --quiet --path "$source_dir" --root "$tmp/cargo-root" \
    || die "cargo install --locked failed"
  install -m 0755 "$tmp/cargo-root/bin/tfgate" "$dir/tfgate"
  say "installed tfgate $version (built from source) in $dir"
  exit 0
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

[ -n "$target" ] || from_source "no release binary for $os $arch"
if [ -z "$base_url" ]; then
  [ -n "$repo" ] || from_source "no --repo to download release binaries from"
  base_url="https://github.com/$repo/releases/download"
fi
release="${base_url%/}/v$version"
asset="tfgate-$version-$target.tar.gz"

fetch() { curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"; }

fetch "$release/SHA256SUMS" "$tmp/SHA256SUMS" 2>"$tmp/curl.err" \
  || from_source "no release v$version at $release ($(tr -d '\n' <"$tmp/curl.err"))"
expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")"
[ -n "$expected" ] || from_source "release v$version has no $asset"
fetch "$release/$asset" "$tmp/$asset" 2>"$tmp/curl.err" \
  || from_source "cannot download $release/$asset ($(tr -d '\n' <"$tmp/curl.err"))"

actual="$(sha256 "$tmp/$asset")"
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual; refusing to install it (a damaged download or a tampered release)"
fi

mkdir "$tmp/unpack"
tar -xzf "$tmp/$asset" -C "$tmp/unpack"
[ -f "$tmp/unpack/tfgate" ] || die "$asset has no tfgate binary at its top level"
install -m 0755 "$tmp/unpack/tfgate" "$dir/tfgate"
got="$("$dir/tfgate" --version 2>/dev/null || true)"
[ "$got" = "tfgate $version" ] || die "the installed binary says '$got', expected 'tfgate $version'"
say "installed tfgate $version ($target, sha256 $actual) in $dir"
