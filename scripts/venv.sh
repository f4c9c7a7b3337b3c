#!/usr/bin/env bash
# Create .venv (once) and install Orkestra into it with the given extras: scripts/venv.sh "ml"
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-ml}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
stamp=".venv/.installed-$(echo "$extras" | tr ',' '-')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing orkestra[$extras] into .venv (first time: a few minutes)"
  .venv/bin/pip install --quiet --progress-bar off -e ".[$extras]"
  touch "$stamp"
fi
