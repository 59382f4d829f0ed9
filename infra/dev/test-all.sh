#!/usr/bin/env bash
# The one command that runs every test on a fresh machine:
#   formatting, clippy, the whole cargo test suite (the AWS contract tests against a local
#   moto server), and the offline SAM template lint.
# Needs: cargo (rustfmt, clippy) and python3 >= 3.9 with venv. No Docker, no AWS account.
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

# --- moto server on a free local port, stopped whatever happens next ----------------------------
MOTO_PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
MOTO_LOG="$(mktemp -t moto.XXXXXX.log)"
log "starting moto_server on 127.0.0.1:$MOTO_PORT (log: $MOTO_LOG)"
# moto_server with SQS and DynamoDB calls made atomic (see the script: moto races under
# concurrent receivers, which real SQS does not).
"$VENV/bin/python" "$ROOT/infra/dev/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!

stop_moto() {
    if kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    rm -f "$MOTO_LOG"
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export CTPVX_TEST_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
ready=0
for _ in $(seq 1 60); do
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
        echo "moto_server exited during start-up:" >&2
        cat "$MOTO_LOG" >&2
        exit 1
    fi
    if "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)' \
        "$CTPVX_TEST_AWS_ENDPOINT" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.5
done
if [[ "$ready" != 1 ]]; then
    echo "moto_server did not answer on $CTPVX_TEST_AWS_ENDPOINT within 30 s:" >&2
    cat "$MOTO_LOG" >&2
    exit 1
fi
echo "moto ready at $CTPVX_TEST_AWS_ENDPOINT"

# --- Rust --------------------------------------------------------------------------------------
log "cargo fmt --all -- --check"
cargo fmt --all -- --check

log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo test --workspace"
TEST_LOG="$(mktemp -t cargo-test.XXXXXX.log)"
set +e
cargo test --workspace 2>&1 | tee "$TEST_LOG"
test_rc=${PIPESTATUS[0]}
set -e
log "test summary"
grep -E '^(     Running|   Doc-tests|test result:)' "$TEST_LOG" || true
rm -f "$TEST_LOG"
if [[ "$test_rc" != 0 ]]; then
    echo "cargo test failed (exit $test_rc)" >&2
    exit "$test_rc"
fi

# --- SAM template, offline ---------------------------------------------------------------------
log "lint template.yaml (samtranslator + cfn-lint)"
"$VENV/bin/python" infra/dev/lint_template.py template.yaml

log "all checks passed"
