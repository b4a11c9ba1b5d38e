#!/usr/bin/env bash
# Builds every function (each functions/<name>, so a new one is measured as it lands) the way
# `sam build` does (infra/template.yaml: `cargo lambda build --release [--arm64] --bin <name>`
# in the workspace root, where the features every workspace member asks of a shared crate
# are unified), and checks what README.md ("Binary sizes") states: each stripped binary is at
# most 8 MB, and it links the SQS and DynamoDB clients only if its Cargo.toml asks bridge for
# `sqs` / `dynamodb`. Prints one line per binary, and the features the deployed build
# compiles bridge with. cargo-lambda and zig come from the venv (scripts/env.sh).
#
#   scripts/binary-sizes.sh                   both architectures (arm64 needs
#                                             `rustup target add aarch64-unknown-linux-gnu`)
#   scripts/binary-sizes.sh x86_64            one architecture
#   BRIDGE_SIZES_PER_PACKAGE=1 scripts/binary-sizes.sh x86_64
#                                             also builds each function alone (`-p <name>`,
#                                             no unification) and prints the difference
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/env.sh
source scripts/env.sh
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LIMIT=8000000
ARCHS=("$@")
[ ${#ARCHS[@]} -eq 0 ] && ARCHS=(arm64 x86_64)

bridge_venv
FUNCTIONS=()
for d in functions/*/; do
  [ -f "$d/Cargo.toml" ] && FUNCTIONS+=("$(basename "$d")")
done

# What `--bin <name>` in the workspace root compiles bridge with (every member's normal
# dependencies; dev-dependencies are not built by `cargo lambda build`).
bridge_say "bridge features in the deployed build: $(cargo tree --workspace --locked -e normal,build -i bridge -f '{f}' --depth 0 | head -1)"

# The bridge features a function asks for in its own Cargo.toml.
asks_for() {
  sed -n '/^\[dependencies\]/,/^\[/p' "functions/$1/Cargo.toml" | grep -E '^bridge *=' | grep -q "\"$2\""
}

# Builds $2 for $1 with the selection in the rest of the arguments; prints the binary's size.
build() {
  local arch=$1 bin=$2
  shift 2
  local flag=()
  [ "$arch" = arm64 ] && flag=(--arm64)
  cargo lambda build --release --locked "${flag[@]}" "$@" >&2
  stat -c %s "$TARGET/lambda/$bin/bootstrap"
}

status=0
for arch in "${ARCHS[@]}"; do
  for bin in "${FUNCTIONS[@]}"; do
    size=$(build "$arch" "$bin" --bin "$bin")
    out="$TARGET/lambda/$bin/bootstrap"
    mkdir -p "$TARGET/sizes/$arch"
    cp "$out" "$TARGET/sizes/$arch/$bin"
    verdict=ok
    if [ "$size" -gt "$LIMIT" ]; then verdict="over $LIMIT bytes"; status=1; fi
    links=""
    for client in sqs:'AmazonSQS\.' dynamodb:'DynamoDB_20120810\.'; do
      feature=${client%%:*}
      if grep -q -a "${client#*:}" "$out"; then has=yes; else has=no; fi
      if asks_for "$bin" "$feature"; then want=yes; else want=no; fi
      links+="  $feature client: $has"
      if [ "$has" != "$want" ]; then
        verdict="links the $feature client: $has, its Cargo.toml asks for it: $want"
        status=1
      fi
    done
    alone=""
    if [ -n "${BRIDGE_SIZES_PER_PACKAGE:-}" ]; then
      single=$(build "$arch" "$bin" -p "$bin")
      alone=$(printf '  alone (-p): %d bytes (%+d)' "$single" "$((size - single))")
      # Leave the deployed build's binary where sam build's would be.
      cp "$TARGET/sizes/$arch/$bin" "$out"
    fi
    printf '%-8s %-20s %9d bytes (%.2f MB)%s%s  %s\n' \
      "$arch" "$bin" "$size" "$(awk "BEGIN { print $size / 1000000 }")" "$links" "$alone" "$verdict"
  done
done
exit $status
