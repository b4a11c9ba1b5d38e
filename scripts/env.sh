# Sourced by the scripts under scripts/: the Python venv with the tools they need, and the
# AWS emulator on loopback. Nothing here is assumed installed beyond Python 3 and pip.
#
#   bridge_venv        creates (or reuses) the venv of scripts/requirements-test.txt and
#                      infra/requirements-build.txt (moto, cfn-lint, SAM CLI, pytest,
#                      cargo-lambda with zig) and puts its bin/ first on PATH
#   bridge_start_moto  starts moto on a free loopback port, exports BRIDGE_TEST_AWS_ENDPOINT
#                      and fake AWS credentials, and stops it when the calling script exits
#   bridge_free_port   prints a free loopback port

# Each step with the seconds since the script started, to see where the time goes.
bridge_say() { printf '\n== [%ds] %s\n' "$SECONDS" "$*" >&2; }

bridge_venv() {
  local reqs=(scripts/requirements-test.txt)
  [ -f infra/requirements-build.txt ] && reqs+=(infra/requirements-build.txt)
  # requirements-build.txt includes requirements.txt: hash both, so a change to either
  # makes a new venv.
  local hash
  hash=$(cat "${reqs[@]}" infra/requirements.txt 2>/dev/null | sha256sum | cut -c1-12)
  VENV=${BRIDGE_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/genesys-bridge/venv-$hash"}
  if [ ! -x "$VENV/bin/moto_server" ] || [ ! -f "$VENV/.complete" ]; then
    bridge_say "creating Python venv $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    local r
    for r in "${reqs[@]}"; do "$VENV/bin/pip" install --quiet -r "$r"; done
    touch "$VENV/.complete"
  fi
  export PATH="$VENV/bin:$PATH"
}

bridge_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

bridge_start_moto() {
  local port log
  port=$(bridge_free_port)
  mkdir -p "$ROOT/target"
  log="$ROOT/target/moto.log"
  bridge_say "starting moto on 127.0.0.1:$port (log: $log)"
  moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  # A signal ends the script through `exit`, so that the EXIT trap stops moto then too.
  trap bridge_stop_moto EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local up=""
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      up=1
      break
    fi
    kill -0 "$MOTO_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$up" ]; then
    echo "moto did not start on 127.0.0.1:$port; its log:" >&2
    cat "$log" >&2 || true
    exit 1
  fi
  export BRIDGE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
}

bridge_stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}
