#!/usr/bin/env bash
# Run the benchmark suite (issue 7) and regenerate docs/benchmarks/results.{md,json} and its plots.
# Installs what it needs: .venv with orkestra[ml,dev] (scikit-learn, matplotlib), Debian's wrk.
# About 8 minutes; `scripts/bench.sh --tiny` checks in seconds that everything runs.
# Other arguments go to `python -m bench` (--only composite,direct  --rounds 5  --duration 10 ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh ml,dev
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq wrk >/dev/null || { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq wrk >/dev/null; }
fi
exec .venv/bin/python -m bench "$@"
