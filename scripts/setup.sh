#!/usr/bin/env bash
# Sets up a fresh Debian machine for Homeward: system packages (as root), then npm ci
# (which also builds the native TUN addon). Safe to run again: installed packages are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t pkgs < <(grep -v '^\s*#' scripts/system-packages.txt | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "homeward setup: missing system packages: ${missing[*]}" >&2
    echo "install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "homeward setup: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi

npm ci --no-audit --no-fund
# the compiled engine (also built by npm ci's prepare), the renderer `homeward run --ui`
# and `homeward ui` serve, and the Electron main bundle: all of `npm run build`
npm run build
