#!/usr/bin/env bash
# First step of `make test`: the real-browser check (tests/browser_check.py) needs Chromium.
# Use one that is there (chromium, chromium-browser, google-chrome, google-chrome-stable, or
# $CHROMIUM); else install Debian's `chromium` with apt-get, as root or through sudo without
# a password (about 15 s). Where that is impossible, stop at once with the command to run,
# before minutes of other work. With --check it only says (exit status 1 and the command
# to run) whether Chromium is there or can be installed, in a moment: `make test` checks
# first, then installs beside the Python environment.
set -euo pipefail

for name in "${CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
    if [[ -n "$name" ]] && command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done

install=(apt-get install -y --no-install-recommends chromium)
if [[ "$(id -u)" == 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "make test needs Chromium for its browser check: run 'sudo apt-get update && sudo ${install[*]}' (or set CHROMIUM=/path/to/chrome), then make test again." >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "make test needs Chromium for its browser check, and this system has no apt-get: install Chromium with your package manager (or set CHROMIUM=/path/to/chrome), then make test again." >&2
    exit 1
fi
if [[ "${1:-}" == --check ]]; then
    exit 0
fi
echo "installing Chromium for the browser check: ${install[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${install[@]}" -qq >/dev/null
