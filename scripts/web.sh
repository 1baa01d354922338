#!/usr/bin/env bash
# What the web tests need (crates/cli/tests/it/web.rs): Debian's chromium and wrk (apt-get),
# playwright-core (npm ci in crates/api/tests/browser, pinned in its package-lock.json) and
# Schemathesis (pip, pinned in scripts/tools.sh with the other Python tools).
#
# Sourced by scripts/test:   source scripts/web.sh; web_start
# web_start exports TOKENCOMP_CHROMIUM and TOKENCOMP_BROWSER_DIR; the servers the tests start
# (`tokencomp serve` on 127.0.0.1, port 0) are started and stopped by the tests themselves.

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

web_start() {
  local t0 notes="" missing=() browser
  t0="$(now)"
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} with apt-get"
    apt_install "${missing[@]}" || return 1
    notes="$notes installed ${missing[*]},"
  fi
  browser="$(cd "$(dirname "${BASH_SOURCE[0]}")/../crates/api/tests/browser" && pwd)"
  # npm ci only when the lock file changed since the last install.
  if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.tokencomp-lock" 2>/dev/null; then
    (cd "$browser" && npm ci --no-audit --no-fund --loglevel=error) || {
      printf 'error: npm ci failed in %s\n' "$browser" >&2
      return 1
    }
    cp "$browser/package-lock.json" "$browser/node_modules/.tokencomp-lock"
    notes="$notes npm ci,"
  fi
  export TOKENCOMP_CHROMIUM
  TOKENCOMP_CHROMIUM="$(command -v chromium)"
  export TOKENCOMP_BROWSER_DIR="$browser"
  echo "web: $("$TOKENCOMP_CHROMIUM" --version 2>/dev/null | head -n 1), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), playwright-core in $browser:$notes $(since "$t0")"
}
