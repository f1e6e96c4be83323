#!/usr/bin/env bash
# The main job on a fresh machine: set up, then run the quickstart against the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/python scripts/demo.py
