#!/usr/bin/env bash
# Fuzzes targets one at a time with libFuzzer on a stable toolchain, then merges
# the inputs that reach new edges into fuzz/corpus/NAME.
#
#   fuzz/run_fuzz.sh SECONDS [TARGET...]     (default: every target in fuzz/src/lib.rs)
#
# Built with debug assertions (-a), so arithmetic overflow panics as in tests.
# cargo-fuzz passes nightly-only `-Z` flags to rustc; RUSTC_BOOTSTRAP=1 lets a
# stable rustc take them. No sanitizer (`-s none`): the targets are safe Rust,
# and the interesting failures are panics, hangs and huge allocations. Without a
# sanitizer libFuzzer's -malloc_limit_mb sees nothing, so each run gets a 1 GiB
# address-space limit instead: an allocation near that size fails and aborts,
# which libFuzzer reports as a crash (-rss_limit_mb catches slow growth and
# -timeout hangs). One job, one worker: the machines this runs on are small and
# shared.
#
# Crashes land in fuzz/artifacts/NAME/; minimize one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin --features libfuzzer -s none NAME fuzz/artifacts/NAME/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz/run_fuzz.sh SECONDS [TARGET...]}
shift
if [ $# -eq 0 ]; then
    set -- $(sed -n 's/^ *("\([a-z0-9_]*\)", [a-z_]*::.*/\1/p' fuzz/src/lib.rs)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build --features libfuzzer -s none -a "$@" >/dev/null 2>&1 || cargo fuzz build --features libfuzzer -s none -a
work=$(mktemp -d)
bins=target/x86_64-unknown-linux-gnu/release
for t in "$@"; do
    # Run a copy, so a rebuild during a long run cannot touch the binary.
    cp "$bins/$t" "$work/$t.bin"
    mkdir -p "$work/$t" "fuzz/artifacts/$t"
    cp -r "fuzz/corpus/$t/." "$work/$t/"
    echo "== $t: ${secs}s"
    (cd "$work" && ulimit -v 1048576 && "./$t.bin" "$t" -max_total_time="$secs" -jobs=1 -workers=1 \
        -timeout=10 -rss_limit_mb=900 \
        -artifact_prefix="$OLDPWD/fuzz/artifacts/$t/" >/dev/null 2>&1 || true)
    tail -n 3 "$work/fuzz-0.log" || true
    mv "$work/fuzz-0.log" "$work/$t.log" || true
    # Keep only inputs that reach new edges (not new hit counts), so the
    # committed corpora stay small.
    "$work/$t.bin" -merge=1 -use_counters=0 -use_value_profile=0 "fuzz/corpus/$t" "$work/$t" >/dev/null 2>&1 || true
    echo "   corpus fuzz/corpus/$t: $(ls "fuzz/corpus/$t" | wc -l) files; artifacts: $(ls "fuzz/artifacts/$t" | wc -l)"
done
echo "logs in $work"
