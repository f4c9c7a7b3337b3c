#!/usr/bin/env bash
# Build orkestra-test-model:latest: tests/ml/model_server.py on the local base image (no Docker Hub).
#
#   scripts/build-model-image.sh [TAG]       # default TAG: orkestra-test-model:latest
#
# Needs scripts/docker-up.sh first (dockerd + orkestra-base:bookworm). Docker's layer cache makes a
# rebuild with an unchanged model_server.py take about a second. The model is mounted at run time.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${1:-orkestra-test-model:latest}"
BASE_IMAGE="${BASE_IMAGE:-orkestra-base:bookworm}"

log() { printf '[build-model-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image $BASE_IMAGE missing: run scripts/docker-up.sh first" >&2
    exit 1
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$REPO_DIR/containers/model-server/Dockerfile" "$REPO_DIR/tests/ml/model_server.py" "$context/"

log "docker build -t $TAG (FROM $BASE_IMAGE)"
# The legacy builder: Debian's dockerd 20.10 has no buildx plugin beside it, and nothing here needs
# BuildKit. --pull=false: the base image exists only locally.
# Its deprecation notice on stderr is noise here; the output is shown when the build fails.
if ! DOCKER_BUILDKIT=0 docker build --pull=false --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    -t "$TAG" "$context" >"$context/build.log" 2>&1; then
    cat "$context/build.log" >&2
    exit 1
fi
# A changed model_server.py leaves the previous build untagged; drop those (ours only, by label).
docker image prune --force --filter label=org.orkestra.image=test-model-server >/dev/null
log "built $TAG: $(docker image inspect "$TAG" --format '{{.Id}}' | cut -c1-19)"
