#!/usr/bin/env bash
# Install everything the tests need and run the whole test suite:
#   Python: .venv with orkestra[all,dev]
#   services: PostgreSQL, MariaDB, Redis (started by the machine; restarted here if they stopped)
#   Docker: dockerd, a local base image built with debootstrap, a local registry (no Docker Hub)
#   Chromium: Debian's, headless, for the timeline page; wrk, for the benchmark smoke test
# Extra arguments go to pytest: scripts/test.sh tests/core -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh all,dev
scripts/services-up.sh
scripts/docker-up.sh
scripts/registry-up.sh
scripts/chromium-up.sh >/dev/null
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
exec .venv/bin/pytest "$@"
