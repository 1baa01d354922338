#!/usr/bin/env bash
# Helpers shared by the scripts that set up what the tests need (postgres.sh, tools.sh), which
# source this file.

# now / since T: a start time, and the seconds elapsed since it ("1.2s"), for progress lines.
now() { printf '%s' "${EPOCHREALTIME:-$(date +%s)}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# apt_install PKG…: installs Debian packages quietly (apt-get update first), showing apt's
# output only when it fails; uses `sudo -n` when not root. Prints what is missing and returns 1
# when it cannot install.
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    printf 'error: %s is missing and there is no apt-get to install it; install it and rerun\n' "$*" >&2
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      printf 'error: %s is missing; installing it needs root: sudo apt-get install %s\n' "$*" "$*" >&2
      return 1
    fi
  fi
  local log
  log="$(mktemp)"
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } \
    >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    printf 'error: apt-get could not install %s\n' "$*" >&2
    return 1
  fi
  rm -f "$log"
}
