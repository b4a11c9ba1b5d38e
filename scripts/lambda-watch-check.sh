#!/usr/bin/env bash
# The documented local path, under test (README, "Testing"; each function's README, "Run it
# locally with cargo lambda"): installs cargo-lambda into the project's venv, starts the AWS
# emulator (unless scripts/test.sh already did), and runs bridge-bench's lambda-watch-check:
# the sandbox in process, org files pointed at it, `cargo lambda watch` on a free loopback
# port, every fixture of events/<function>/ through `cargo lambda invoke` (and the jobs
# webhook-ingest queues through the workers), each outcome judged against the fixture's
# .expect.json. Exits non-zero if any outcome is not the expected one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/env.sh
source scripts/env.sh
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

bridge_venv
if [ -z "${BRIDGE_TEST_AWS_ENDPOINT:-}" ]; then
  bridge_start_moto
fi
bridge_say "cargo lambda watch + invoke over events/ ($(cargo lambda --version))"
cargo build --locked -p bridge-bench --bin lambda-watch-check
"$TARGET/debug/lambda-watch-check" --root "$ROOT" --port "$(bridge_free_port)" \
  --log "$TARGET/lambda-watch-check.log"
