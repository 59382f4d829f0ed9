#!/usr/bin/env bash
# The one command that runs every test on a fresh machine:
#   formatting, clippy, the whole cargo test suite (the AWS contract tests against a local
#   moto server), and the offline SAM template lint.
# Needs: cargo (rustfmt, clippy), python3 >= 3.9 with venv, and apt-get (root or sudo) for
# Chromium when it is missing. No Docker, no AWS account.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
REQS="$ROOT/infra/dev/requirements-test.txt"
STAMP="$VENV/.requirements-test.sha256"

log() { printf '\n==> %s\n' "$*"; }

# --- Python tools: reuse the venv when it already holds exactly this requirements file --------
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
want_hash="$(sha256sum "$REQS" | cut -d' ' -f1)"
have_hash="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want_hash" != "$have_hash" ]]; then
    log "installing Python test tools ($REQS)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
    # Written only after a successful install, so an interrupted install is retried next time.
    echo "$want_hash" >"$STAMP"
else
    log "Python test tools up to date"
fi

# --- Chromium and chromedriver for the console's browser tests (Debian's packages) -----------
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    log "installing chromium and chromium-driver (the console's browser tests)"
    sudo_=()
    if [[ "$(id -u)" != 0 ]]; then sudo_=(sudo); fi
    "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
    log "chromium and chromedriver present"
fi

# --- two moto servers on free local ports, stopped whatever happens next ------------------------
# The first serves every moto test; the moto soak keeps its queues on the second, as a
# default-size soak does (one Python process per service: see docs/testing.md, Soak).
MOTO_PIDS=()
MOTO_LOGS=()
stop_moto() {
    local pid
    for pid in "${MOTO_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -f "${MOTO_LOGS[@]}"
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts infra/dev/moto_server.py (moto with SQS and DynamoDB calls made atomic: moto races under
# concurrent receivers, which real SQS does not) on a free port, waits until it answers and sets
# MOTO_URL to it.
start_moto() {
    local port log pid url
    port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    log="$(mktemp -t moto.XXXXXX.log)"
    url="http://127.0.0.1:$port"
    log "starting moto_server for $1 on $url (log: $log)"
    "$VENV/bin/python" "$ROOT/infra/dev/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    pid=$!
    MOTO_PIDS+=("$pid")
    MOTO_LOGS+=("$log")
    for _ in $(seq 1 60); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "moto_server exited during start-up:" >&2
            cat "$log" >&2
            exit 1
        fi
        if "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)' \
            "$url" 2>/dev/null; then
            echo "moto ready at $url"
            MOTO_URL="$url"
            return
        fi
        sleep 0.5
    done
    echo "moto_server did not answer on $url within 30 s:" >&2
    cat "$log" >&2
    exit 1
}

start_moto "the moto tests"
export CTPVX_TEST_AWS_ENDPOINT="$MOTO_URL"
start_moto "the moto soak's queues"
export CTPVX_TEST_AWS_SQS_ENDPOINT="$MOTO_URL"

# --- Rust --------------------------------------------------------------------------------------
log "cargo fmt --all -- --check"
cargo fmt --all -- --check

log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# cargo-nextest runs the tests of all binaries side by side, each in a process of its own: most
# of the long ones wait on timeouts, budget windows and simulated clocks rather than on the CPU,
# so on 2 cores the suite takes about half the time of `cargo test`'s one binary after another.
# Without nextest, `cargo test` runs the same tests.
TEST_LOG="$(mktemp -t cargo-test.XXXXXX.log)"
set +e
if cargo nextest --version >/dev/null 2>&1; then
    log "cargo nextest run --workspace, then the doc tests"
    cargo nextest run --workspace --no-fail-fast --test-threads "${CTPVX_TEST_THREADS:-4}" \
        --final-status-level fail 2>&1 | tee "$TEST_LOG"
    test_rc=${PIPESTATUS[0]}
    cargo test --workspace --doc 2>&1 | tee -a "$TEST_LOG"
    doc_rc=${PIPESTATUS[0]}
    [[ "$test_rc" == 0 ]] && test_rc=$doc_rc
else
    log "cargo test --workspace (cargo-nextest not found)"
    cargo test --workspace --no-fail-fast 2>&1 | tee "$TEST_LOG"
    test_rc=${PIPESTATUS[0]}
fi
set -e
log "test summary"
grep -E '^(     Running|   Doc-tests|test result:|\s+Summary|\s+FAIL)' "$TEST_LOG" || true
rm -f "$TEST_LOG"
if [[ "$test_rc" != 0 ]]; then
    echo "tests failed (exit $test_rc)" >&2
    exit "$test_rc"
fi

# --- SAM template, offline ---------------------------------------------------------------------
log "lint template.yaml (samtranslator + cfn-lint)"
"$VENV/bin/python" infra/dev/lint_template.py template.yaml

log "all checks passed"
