#!/usr/bin/env bash
# The whole CI: formatting, lints, every test, the no_std build of the core and
# the fuzz corpus replay. Run from anywhere: ci/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
die() { printf 'ci/check.sh: %s\n' "$*" >&2; exit 1; }

# Tests that need outside tools (the pyln-proto interop tests) fail instead of
# skipping when CI is set.
export CI="${CI:-1}"

step "toolchain components (rustfmt, clippy)"
# Only when one is missing, so that a complete toolchain needs no network.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy
  fi
fi
cargo fmt --version >/dev/null 2>&1 || die "rustfmt is missing (rustup component add rustfmt)"
cargo clippy --version >/dev/null 2>&1 || die "clippy is missing (rustup component add clippy)"

step "python venv with pyln-proto (cross-implementation tests)"
command -v python3 >/dev/null 2>&1 || die "python3 is missing: it is needed for the pyln-proto interop tests"
venv=target/ci-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import pyln.proto.wire" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" ||
    die "python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r ci/interop/requirements.txt ||
    die "could not install ci/interop/requirements.txt (pyln-proto) from PyPI into $venv"
fi
export LN_INTEROP_PYTHON="$PWD/$venv/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo clippy of lightning-core with its test utilities (chain::test_utils, benches/monitor.rs)"
cargo clippy -p lightning-core --features _test_utils --all-targets -- -D warnings

step "cargo clippy of lightning-persister with its tokio spawner"
cargo clippy -p lightning-persister --features tokio --all-targets -- -D warnings

step "rustdoc (every public item documented, no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "no_std build of lightning-core"
cargo build -p lightning-core --no-default-features

step "cargo test --workspace"
cargo test --workspace

step "lightning-persister's asynchronous persister on a tokio runtime"
cargo test -p lightning-persister --features tokio --test async_persister

step "fuzz corpus replay"
cargo test -p lightning-fuzz --test corpus_replay

step "done"
