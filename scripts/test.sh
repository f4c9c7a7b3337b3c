#!/usr/bin/env bash
# Install everything the tests need (Python extras, Docker, a local registry, Chromium) and run the
# whole test suite. Extra arguments go to pytest: scripts/test.sh tests/core -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh all,dev
scripts/services-up.sh
exec .venv/bin/pytest "$@"
