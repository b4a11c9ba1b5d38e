#!/usr/bin/env bash
# The cold-start benchmark (README, "Benchmarks"). Builds each function's release binary as
# it is deployed (one package per cargo call, so no other function's features are switched
# on), the hello-world floor and the bench tool, starts the AWS emulator, then runs
# `coldstart` (bench/): every binary behind a local Lambda Runtime API against the sandbox
# and moto, the floor measured in the same run. Extra arguments go to `coldstart`, e.g.
#   scripts/bench-coldstart.sh --cold 30 --warm 300 --json target/bench/coldstart.json
#   scripts/bench-coldstart.sh --bins before=/path/to/older/release
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/env.sh
source scripts/env.sh
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

bridge_say "building the release binaries, one function at a time"
for p in attribute-writer ticket-status webhook-ingest hello-lambda; do
  cargo build --release --locked -p "$p"
done
bridge_say "building the bench tool"
cargo build --profile tool --locked -p bridge-bench --bin coldstart

bridge_venv
bridge_start_moto
mkdir -p "$TARGET/bench"
"$TARGET/tool/coldstart" --root "$ROOT" --floor "$TARGET/release/hello-lambda" \
  --logs "$TARGET/bench/logs" --bins "current=$TARGET/release" "$@"
