#!/usr/bin/env bash
# Headless Chromium for the timeline page tests (tests/tracking/test_timeline_page.py).
# Installs Debian's `chromium` when missing; prints the binary's path.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the package lists do not know chromium yet (it is slow)
  apt-cache show chromium >/dev/null 2>&1 || apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
command -v chromium
