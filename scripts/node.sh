#!/usr/bin/env bash
# A real Ethereum JSON-RPC node for the tests: Hardhat 2's `hardhat node` (pinned in
# contracts/package-lock.json; Hardhat 3 needs a newer Node.js), on 127.0.0.1 only, configured by
# contracts/hardhat.config.cjs to match the embedded chain.
#
# Sourced by scripts/test:   source scripts/node.sh; node_start ... node_stop
# node_start exports TOKENCOMP_TEST_RPC; node_stop stops the node (also on any exit, via the trap
# scripts/test sets).

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_PID=""
NODE_LOG=""

node_start() {
  local dir port i
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../contracts" && pwd)"
  # contracts_deps (scripts/contracts.sh) installs hardhat with the rest of contracts/.
  contracts_deps || return 1
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  NODE_LOG="$(mktemp)"
  (cd "$dir" && HARDHAT_DISABLE_TELEMETRY_PROMPT=true exec node node_modules/hardhat/internal/cli/cli.js \
    --config hardhat.config.cjs node --hostname 127.0.0.1 --port "$port") >"$NODE_LOG" 2>&1 &
  NODE_PID=$!
  for i in $(seq 1 120); do
    # Node's own fetch, so nothing else (curl) is needed.
    if node -e 'fetch(process.argv[1], {method: "POST", headers: {"content-type": "application/json"},
        body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "eth_chainId", params: []})})
        .then((r) => r.json()).then((j) => process.exit(j.result === "0x7a69" ? 0 : 1), () => process.exit(1))' \
      "http://127.0.0.1:$port" 2>/dev/null; then
      export TOKENCOMP_TEST_RPC="http://127.0.0.1:$port"
      echo "hardhat node on $TOKENCOMP_TEST_RPC (pid $NODE_PID)"
      return 0
    fi
    if ! kill -0 "$NODE_PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  cat "$NODE_LOG" >&2
  printf 'error: the hardhat node did not answer on 127.0.0.1:%s\n' "$port" >&2
  node_stop
  return 1
}

node_stop() {
  if [ -n "$NODE_PID" ]; then
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
    NODE_PID=""
  fi
  if [ -n "$NODE_LOG" ]; then
    rm -f "$NODE_LOG"
    NODE_LOG=""
  fi
}
