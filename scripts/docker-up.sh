#!/usr/bin/env bash
# Bring up a Docker engine and Orkestra's local base image on a fresh Debian machine, without Docker Hub.
#
#   scripts/docker-up.sh            # dockerd running + image orkestra-base:bookworm present
#
# Idempotent and fast when already done: each step checks before it acts. Run as root.
# The base image is built with debootstrap (Debian mirror) + pip (PyPI), the only registries this
# machine reaches; it carries the SAME numpy/scipy/scikit-learn/skops versions as the host venv,
# because a .skops file is only guaranteed to load with the scikit-learn that wrote it.
#
# Environment:
#   ORKESTRA_PYTHON     python whose package versions the image pins (default: .venv/bin/python)
#   DOCKERD_LOG         dockerd's log file (default: /var/log/orkestra-dockerd.log)
#   DOCKER_WAIT_SECONDS deadline for `docker info` after starting dockerd (default: 90)
#   BASE_IMAGE          tag of the base image (default: orkestra-base:bookworm)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORKESTRA_PYTHON="${ORKESTRA_PYTHON:-$REPO_DIR/.venv/bin/python}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/orkestra-dockerd.log}"
DOCKER_WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-90}"
BASE_IMAGE="${BASE_IMAGE:-orkestra-base:bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The packages the model server needs; versions are read from ORKESTRA_PYTHON below.
PINNED_PACKAGES=(numpy scipy scikit-learn skops joblib threadpoolctl)

log() { printf '[docker-up %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

apt_install() {
    # `apt-get update` only once per run, and only when a package is actually missing.
    if [[ -z "${APT_UPDATED:-}" ]]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_dockerd_installed() {
    if command -v dockerd >/dev/null 2>&1; then
        log "dockerd present: $(dockerd --version)"
        return
    fi
    # docker.io pulls in containerd, runc and iptables; dockerd starts its own managed containerd.
    apt_install docker.io
    log "installed: $(dockerd --version)"
}

docker_ready() { docker info >/dev/null 2>&1; }

ensure_dockerd_running() {
    if docker_ready; then
        log "dockerd already answering"
        return
    fi
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid  # stale pid file from a previous machine state blocks a new dockerd
    fi
    log "starting dockerd (log: $DOCKERD_LOG)"
    # setsid: dockerd must outlive the shell (and the pytest session) that started it.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    local deadline=$((SECONDS + DOCKER_WAIT_SECONDS))
    until docker_ready; do
        if ((SECONDS >= deadline)); then
            log "dockerd did not answer within ${DOCKER_WAIT_SECONDS}s; last log lines:"
            tail -n 30 "$DOCKERD_LOG" >&2 || true
            exit 1
        fi
        sleep 1
    done
    log "dockerd ready: server $(docker version --format '{{.Server.Version}}')"
}

# "numpy==2.4.6 scipy==1.17.1 ..." from the host venv, so the image matches the models it serves.
host_pins() {
    "$ORKESTRA_PYTHON" - "${PINNED_PACKAGES[@]}" <<'EOF'
import sys
from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in sys.argv[1:]))
EOF
}

ensure_base_image() {
    local pins existing
    pins="$(host_pins)"
    existing="$(docker image inspect "$BASE_IMAGE" --format '{{index .Config.Labels "org.orkestra.pins"}}' 2>/dev/null || true)"
    if [[ "$existing" == "$pins" ]]; then
        log "base image $BASE_IMAGE present ($pins)"
        return
    fi
    [[ -n "$existing" ]] && log "base image $BASE_IMAGE has other pins ($existing): rebuilding"
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap

    local rootfs
    rootfs="$(mktemp -d /var/tmp/orkestra-rootfs.XXXXXX)"
    ROOTFS_TO_CLEAN="$rootfs"
    log "debootstrap bookworm (minbase) into $rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "$DEBIAN_MIRROR" >"$rootfs.debootstrap.log" 2>&1 || {
        tail -n 30 "$rootfs.debootstrap.log" >&2
        exit 1
    }
    rm -f "$rootfs.debootstrap.log"

    # Wheels are fetched by the HOST's pip (its index, CA bundle and proxy settings apply) and
    # installed offline in the chroot, which knows none of them. Host and image are both Debian
    # bookworm x86_64 with CPython 3.11, so the host's wheel tags fit the image.
    log "pip download (host) + install (image): $pins"
    mkdir -p "$rootfs/tmp/wheels"
    # shellcheck disable=SC2086  # pins are space-separated on purpose
    "$ORKESTRA_PYTHON" -m pip download --quiet --only-binary=:all: --dest "$rootfs/tmp/wheels" $pins
    chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c \
        "python3 -m venv /opt/venv \
        && /opt/venv/bin/pip install --quiet --no-cache-dir --disable-pip-version-check \
           --no-index --find-links /tmp/wheels $pins"
    rm -rf "$rootfs/tmp/wheels"

    # Lean image: no docs, man pages, locales, apt lists or bytecode caches of the build.
    rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/* "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/var/cache/apt/* "$rootfs"/root/.cache

    log "docker import -> $BASE_IMAGE"
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV PYTHONUNBUFFERED=1' \
        --change "LABEL org.orkestra.pins=\"$pins\"" \
        - "$BASE_IMAGE" >/dev/null
    log "base image ready: $(docker image inspect "$BASE_IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
}

ROOTFS_TO_CLEAN=""
cleanup() { [[ -n "$ROOTFS_TO_CLEAN" ]] && rm -rf "$ROOTFS_TO_CLEAN" "$ROOTFS_TO_CLEAN.debootstrap.log"; true; }
trap cleanup EXIT

main() {
    local started=$SECONDS
    ensure_dockerd_installed
    ensure_dockerd_running
    ensure_base_image
    log "done in $((SECONDS - started))s"
}

main "$@"
