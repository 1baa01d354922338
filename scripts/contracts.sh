#!/usr/bin/env bash
# The Solidity side: contracts/ compiled with the pinned solc-js (npm `solc`, WebAssembly; no
# compiler binary is downloaded) against pinned OpenZeppelin Contracts, into committed artifacts.
#
# Sourced by scripts/test:   source scripts/contracts.sh; contracts_check
# Or standalone:             scripts/contracts.sh            (check only)
#                            scripts/contracts.sh build      (rewrite contracts/artifacts)
#
# contracts_deps runs `npm ci` in contracts/ only when node_modules is missing or was installed
# from another package-lock.json (a stamp holds the lock's hash), so a warm run costs nothing.
# contracts_check then recompiles in memory and fails, naming the stale artifact, when a
# committed artifact differs from what the sources compile to.

_contracts_dir() { printf '%s/../contracts' "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; }
_contracts_fail() {
  printf 'error: %s\n' "$*" >&2
  return 1
}

contracts_deps() {
  local dir stamp want
  dir="$(_contracts_dir)"
  command -v node >/dev/null 2>&1 || {
    _contracts_fail "node is missing; install Node.js 18 or later (the contracts are compiled with solc-js)"
    return 1
  }
  command -v npm >/dev/null 2>&1 || {
    _contracts_fail "npm is missing; install it with Node.js"
    return 1
  }
  stamp="$dir/node_modules/.tokencomp-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  local log
  log="$(mktemp)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    _contracts_fail "npm ci failed in $dir"
    return 1
  fi
  rm -f "$log"
  printf '%s\n' "$want" >"$stamp"
  echo "contracts: npm ci installed $(cd "$dir" && node -p 'Object.entries(require("./package.json").dependencies).map(([k, v]) => k + "@" + v).join(" ")')"
}

contracts_check() {
  contracts_deps || return 1
  (cd "$(_contracts_dir)" && node build.mjs --check)
}

contracts_build() {
  contracts_deps || return 1
  (cd "$(_contracts_dir)" && node build.mjs)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-check}" in
    check) contracts_check ;;
    build) contracts_build ;;
    *)
      _contracts_fail "usage: scripts/contracts.sh [check|build]"
      exit 2
      ;;
  esac
fi
