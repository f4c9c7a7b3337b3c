#!/usr/bin/env bash
# Install Orkestra and serve the demo config (SQLite + a local scikit-learn model, no external
# service) on http://127.0.0.1:8000 — the API docs are at http://127.0.0.1:8000/docs
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh ml
exec .venv/bin/python main.py "$@"
