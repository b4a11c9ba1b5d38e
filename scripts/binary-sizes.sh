#!/usr/bin/env bash
# Builds every function the way `sam build` does (infra/template.yaml: `cargo lambda build
# --release [--arm64] --bin <name>` in the workspace root, where every workspace member's
# features are unified) for arm64 and x86_64, and checks what README.md ("Binary sizes")
# states: each stripped binary is at most 8 MB, and only webhook-ingest links the SQS and
# DynamoDB clients. Prints one line per binary. Needs the aarch64 standard library
# (`rustup target add aarch64-unknown-linux-gnu`); cargo-lambda and zig come from the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/env.sh
source scripts/env.sh
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LIMIT=8000000

bridge_venv
status=0
for arch in arm64 x86_64; do
  flag=()
  [ "$arch" = arm64 ] && flag=(--arm64)
  for bin in webhook-ingest attribute-writer ticket-status; do
    cargo lambda build --release --locked "${flag[@]}" --bin "$bin" >&2
    out="$TARGET/lambda/$bin/bootstrap"
    size=$(stat -c %s "$out")
    sqs=$(grep -c -a 'AmazonSQS\.' "$out" || true)
    ddb=$(grep -c -a 'DynamoDB_20120810\.' "$out" || true)
    verdict=ok
    if [ "$size" -gt "$LIMIT" ]; then verdict="over $LIMIT bytes"; status=1; fi
    if [ "$bin" != webhook-ingest ] && [ "$sqs$ddb" != 00 ]; then
      verdict="links the SQS or DynamoDB client"; status=1
    fi
    printf '%-8s %-17s %9d bytes (%.2f MB)  SQS client: %s  DynamoDB client: %s  %s\n' \
      "$arch" "$bin" "$size" "$(awk "BEGIN { print $size / 1000000 }")" \
      "$([ "$sqs" = 0 ] && echo no || echo yes)" "$([ "$ddb" = 0 ] && echo no || echo yes)" "$verdict"
  done
done
exit $status
