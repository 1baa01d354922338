#!/usr/bin/env bash
# The independent accounting tools our exports are checked against: hledger (Debian's package,
# 1.25 on bookworm) and a Python virtual environment in target/tools-venv with beancount 3,
# beanquery and rp2 at pinned versions, and numpy and QuantLib (the peers of the risk crate's
# simulate bench, scripts/risk_peers.py; binary wheels for CPython 3.11 on linux x86_64), and
# Schemathesis, which checks the HTTP API against its OpenAPI document (crates/cli/tests/it/web.rs),
# and aiosmtpd (a loopback SMTP server with STARTTLS and AUTH) and standardwebhooks (the
# independent webhook signature check) for the notices test (crates/cli/tests/it/notices.rs).
# siwe (with abnf) checks wallet-proof messages (crates/api/tests/it/wallets.rs).
#
# Sourced by scripts/test:   source scripts/tools.sh; tools_start
# Or run around a command:   scripts/tools.sh cargo test -p tokencomp-compliance --test it books
#
# tools_start installs what is missing (hledger with apt-get, as root or through passwordless
# sudo; python3-venv too when `python3 -m venv` cannot make an environment), pip-installs the
# pinned packages only when the venv does not already hold exactly those versions, and exports
# TOKENCOMP_TEST_VENV (the venv's directory; tests run its bin/bean-check, bin/bean-query,
# bin/python …; the risk bench runs risk_peers.py with it). When everything is present it only
# checks versions: well under a second.

# Pinned: the versions the differential tests were written and run against. Change them here
# and nowhere else.
TOOLS_PIP_PINS=(
  "beancount==3.2.3"
  "beanquery==0.2.0"
  "rp2==1.7.2"
  "numpy==2.4.6"
  "QuantLib==1.44"
  "schemathesis==4.32.5"
  "aiosmtpd==1.4.6"
  "standardwebhooks==1.3.0"
  # Sign-In with Ethereum's Python implementation checks our wallet-proof challenges
  # (scripts/siwe_check.py); siwe 4.4.0's grammar does not load with abnf 2.9 (it redefines a
  # core rule), so abnf stays at the 2.2 line it was released against.
  "siwe==4.4.0"
  "abnf==2.2.0"
)

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
_tools_fail() {
  printf 'error: %s\n' "$*" >&2
  return 1
}

# True when the venv holds every pinned package at exactly its pinned version.
_tools_pins_satisfied() {
  local py="$1"
  "$py" - "${TOOLS_PIP_PINS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
EOF
}

tools_start() {
  local t0 notes=""
  t0="$(now)"

  if ! command -v hledger >/dev/null 2>&1; then
    echo "hledger is not installed: installing it with apt-get"
    apt_install hledger || return 1
    command -v hledger >/dev/null 2>&1 || {
      _tools_fail "hledger was installed but is not on PATH"
      return 1
    }
    notes="$notes hledger installed,"
  fi

  # The statement PDF is checked with poppler's pdftotext (its text) and qpdf (its structure).
  if ! command -v pdftotext >/dev/null 2>&1 || ! command -v qpdf >/dev/null 2>&1; then
    echo "pdftotext or qpdf is not installed: installing poppler-utils and qpdf with apt-get"
    apt_install poppler-utils qpdf || return 1
    notes="$notes poppler-utils and qpdf installed,"
  fi

  local venv="$PWD/target/tools-venv"
  if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    mkdir -p "$PWD/target"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      echo "python3 -m venv failed: installing python3-venv with apt-get"
      apt_install python3-venv || return 1
      python3 -m venv "$venv" || {
        rm -rf "$venv"
        _tools_fail "python3 -m venv could not create $venv"
        return 1
      }
    fi
    notes="$notes venv created,"
  fi

  if ! _tools_pins_satisfied "$venv/bin/python"; then
    local log
    log="$(mktemp)"
    if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check "${TOOLS_PIP_PINS[@]}" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      _tools_fail "pip could not install ${TOOLS_PIP_PINS[*]} into $venv"
      return 1
    fi
    rm -f "$log"
    _tools_pins_satisfied "$venv/bin/python" || {
      _tools_fail "after pip install, $venv still lacks one of ${TOOLS_PIP_PINS[*]}"
      return 1
    }
    notes="$notes pip installed ${TOOLS_PIP_PINS[*]},"
  fi

  export TOKENCOMP_TEST_VENV="$venv"
  echo "tools: $(hledger --version | head -n 1), $(qpdf --version | head -n 1), ${TOOLS_PIP_PINS[*]} in $venv:$notes $(since "$t0")"
  echo "TOKENCOMP_TEST_VENV=$TOKENCOMP_TEST_VENV"
}

# Run directly: make the tools ready, then run the command with TOKENCOMP_TEST_VENV set.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  tools_start
  if [ "$#" -gt 0 ]; then
    "$@"
  fi
fi
