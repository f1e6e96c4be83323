#!/usr/bin/env bash
# Create .venv and install galileo-magic into it with the extras named ("demo" or
# "test"); for "test", also Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=${1:-demo}

if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable ".[$extra]"

if [ "$extra" = test ] && [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
