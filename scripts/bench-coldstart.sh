#!/usr/bin/env bash
# The cold-start benchmark (README, "Benchmarks"), rerunnable by anyone with this one
# command. Builds every function (each functions/<name>: a new function is benched as it
# lands, once bench/src/bin/coldstart.rs names its event) and the hello-world floor as they
# are deployed (`cargo lambda build --release --bin <name>` in the workspace root, as
# `sam build` does; the host's architecture), the bench tool, starts the AWS emulator, then
# runs `coldstart` (bench/): every binary behind a local Lambda Runtime API against the
# sandbox and moto, the floor measured in the same run. Extra arguments go to `coldstart`:
#   scripts/bench-coldstart.sh --cold 30 --warm 300 --json target/bench/coldstart.json
#   scripts/bench-coldstart.sh --bins before=/path/to/older/binaries
#   scripts/bench-coldstart.sh --bins "nometrics=${CARGO_TARGET_DIR:-target}/bench/bins" \
#     --set nometrics:BRIDGE_METRICS=off      (the same binaries with metrics off)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/env.sh
source scripts/env.sh
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

bridge_venv
BINS="$TARGET/bench/bins"
mkdir -p "$BINS"
bridge_say "building the release binaries as sam build does"
for d in functions/*/ bench/hello-lambda/; do
  [ -f "$d/Cargo.toml" ] || continue
  bin=$(basename "$d")
  cargo lambda build --release --locked --bin "$bin"
  cp "$TARGET/lambda/$bin/bootstrap" "$BINS/$bin"
done
bridge_say "building the bench tool"
cargo build --profile tool --locked -p bridge-bench --bin coldstart

bridge_start_moto
mkdir -p "$TARGET/bench"
"$TARGET/tool/coldstart" --root "$ROOT" --floor "$BINS/hello-lambda" \
  --logs "$TARGET/bench/logs" --bins "current=$BINS" "$@"
