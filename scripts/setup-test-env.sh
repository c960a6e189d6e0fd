#!/usr/bin/env bash
# Installs what the test suite needs beyond npm: Debian's chromium (browser tests) and
# redis-server (shared-session tests). Skips whatever is already installed.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "express-oxd tests need: ${missing[*]}. Install them (e.g. sudo apt-get install ${missing[*]}) and rerun." >&2
    exit 1
  fi
  echo "installing ${missing[*]} from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
