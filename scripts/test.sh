#!/usr/bin/env bash
# Runs every test of genesys-bridge on a fresh machine with only Rust, Python 3 and pip:
#   1. creates (or reuses) a Python venv with the tools in scripts/requirements-test.txt and
#      infra/requirements-build.txt (moto, cfn-lint, aws-sam-cli, pytest, cargo-lambda);
#   2. starts the AWS emulator (moto) on a free loopback port;
#   3. runs rustfmt, clippy and every cargo test (unit, sandbox over HTTP, emulator, end to end,
#      and the bounded chaos runs of e2e/tests/chaos.rs, in memory and on the emulator);
#   4. runs every function fixture through `cargo lambda watch` + `cargo lambda invoke`
#      (scripts/lambda-watch-check.sh);
#   5. lints and validates the infrastructure template and runs its invariant tests;
#   6. stops moto, whatever happened.
# Under CI=true a moto that does not start is a failure, and so is any test that needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# shellcheck source=scripts/env.sh
source scripts/env.sh
say() { bridge_say "$@"; }

# --- 1. Python venv ------------------------------------------------------------------
bridge_venv

# --- 2. AWS emulator -----------------------------------------------------------------
bridge_start_moto

# --- 3. Rust -------------------------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "cargo test"
cargo test --workspace --locked

# --- 4. The documented local path: cargo lambda watch + invoke --------------------
scripts/lambda-watch-check.sh

# --- 5. Infrastructure ---------------------------------------------------------------
if [ -f infra/check.sh ]; then
  say "infra: cfn-lint, sam validate --lint, invariant tests"
  bash infra/check.sh
fi

say "all tests passed"
