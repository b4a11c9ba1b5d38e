#!/usr/bin/env bash
# Runs every test of genesys-bridge on a fresh machine with only Rust, Python 3 and pip:
#   1. creates (or reuses) a Python venv with the tools in scripts/requirements-test.txt and
#      infra/requirements.txt (moto, cfn-lint, aws-sam-cli, pytest);
#   2. starts the AWS emulator (moto) on a free loopback port;
#   3. runs rustfmt, clippy and every cargo test (unit, sandbox over HTTP, emulator, end to end,
#      and the bounded chaos runs of e2e/tests/chaos.rs, in memory and on the emulator);
#   4. lints and validates the infrastructure template and runs its invariant tests;
#   5. stops moto, whatever happened.
# Under CI=true a moto that does not start is a failure, and so is any test that needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

say() { printf '\n== %s\n' "$*" >&2; }

# --- 1. Python venv ------------------------------------------------------------------
REQS=(scripts/requirements-test.txt)
[ -f infra/requirements.txt ] && REQS+=(infra/requirements.txt)
REQ_HASH=$(cat "${REQS[@]}" | sha256sum | cut -c1-12)
VENV=${BRIDGE_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/genesys-bridge/venv-$REQ_HASH"}
if [ ! -x "$VENV/bin/moto_server" ] || [ ! -f "$VENV/.complete" ]; then
  say "creating Python venv $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  for r in "${REQS[@]}"; do "$VENV/bin/pip" install --quiet -r "$r"; done
  touch "$VENV/.complete"
fi
export PATH="$VENV/bin:$PATH"

# --- 2. AWS emulator -----------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$ROOT/target"
MOTO_LOG="$ROOT/target/moto.log"
say "starting moto on 127.0.0.1:$PORT (log: $MOTO_LOG)"
moto_server -H 127.0.0.1 -p "$PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
  sleep 0.2
done
if ! python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/', timeout=1)" 2>/dev/null; then
  echo "moto did not start on 127.0.0.1:$PORT; its log:" >&2
  cat "$MOTO_LOG" >&2 || true
  exit 1
fi

export BRIDGE_TEST_AWS_ENDPOINT="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

# --- 3. Rust -------------------------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "cargo test"
cargo test --workspace --locked

# --- 4. Infrastructure ---------------------------------------------------------------
if [ -f infra/check.sh ]; then
  say "infra: cfn-lint, sam validate --lint, invariant tests"
  bash infra/check.sh
fi

say "all tests passed"
