#!/usr/bin/env bash
# Fuzz the parsers of untrusted input with cargo-fuzz (libFuzzer), each target for SECONDS:
#
#   infra/dev/fuzz.sh [SECONDS] [TARGET...]      # default 60 s, every target in turn
#
# Targets (fuzz/fuzz_targets/): webhook_request, peoplevox_response, commercetools_message.
# Seeds live in fuzz/corpus/<target> and are only read; what libFuzzer finds goes to a scratch
# corpus ($FUZZ_SCRATCH/<target>, default /tmp/ctpvx-fuzz-corpus), so the repository keeps only
# the seeds. A crash leaves its input in fuzz/artifacts/<target>/ and makes this script exit 1;
# reproduce with `cargo +nightly fuzz run -s none <target> <file>` and shrink it with
# `cargo +nightly fuzz tmin -s none <target> <file>` (from fuzz/).
#
# Needs: the nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz`). The fuzz crate is not a workspace member; it builds once into
# fuzz/target (FUZZ_TARGET_DIR), apart from the main build's target/.
# FUZZ_SANITIZER: none (default: the code under test is safe Rust, and no sanitizer runs the
# targets about twice as fast) or address. FUZZ_ARGS: extra libFuzzer flags.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECONDS_EACH="${1:-60}"
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [[ "$SECONDS_EACH" -eq 0 ]]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    TARGETS=(webhook_request peoplevox_response commercetools_message)
fi

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}"
SANITIZER="${FUZZ_SANITIZER:-none}"
SCRATCH="${FUZZ_SCRATCH:-${TMPDIR:-/tmp}/ctpvx-fuzz-corpus}"
read -r -a EXTRA <<<"${FUZZ_ARGS:-}"

log() { printf '\n==> %s\n' "$*"; }

cd "$ROOT/fuzz"
log "building fuzz targets (sanitizer: $SANITIZER, target dir: $CARGO_TARGET_DIR)"
cargo +nightly fuzz build -s "$SANITIZER"

failed=()
for target in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/$target"
    log "fuzzing $target for ${SECONDS_EACH}s (scratch corpus: $SCRATCH/$target)"
    if ! cargo +nightly fuzz run -s "$SANITIZER" "$target" \
        "$SCRATCH/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 "${EXTRA[@]}"; then
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
log "no crash in ${TARGETS[*]}"
