#!/usr/bin/env bash
# Run a real Docker registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1:5000.
#
#   scripts/registry-up.sh
#
# It stands in for an ECR registry in Orkestra's tests: moto answers the ECR API
# (get_authorization_token), this registry serves the image bytes. It requires HTTP basic auth with
# the credentials moto's token decodes to (user AWS, password "<account>-auth-token", account
# 123456789012 by default), so a test's `docker login` with the token from ECR is a real login that a
# wrong token fails. Docker treats 127.0.0.1:5000 as an insecure (plain HTTP) registry by default.
#
# Idempotent: does nothing when the registry already answers. Run as root.
#
# Environment:
#   REGISTRY_ADDR          listen address (default 127.0.0.1:5000)
#   REGISTRY_USER          (default AWS)
#   REGISTRY_PASSWORD      (default 123456789012-auth-token, what moto's token carries)
#   REGISTRY_WAIT_SECONDS  deadline for /v2/ to answer (default 30)
set -euo pipefail

REGISTRY_ADDR="${REGISTRY_ADDR:-127.0.0.1:5000}"
REGISTRY_USER="${REGISTRY_USER:-AWS}"
REGISTRY_PASSWORD="${REGISTRY_PASSWORD:-123456789012-auth-token}"
REGISTRY_WAIT_SECONDS="${REGISTRY_WAIT_SECONDS:-30}"
CONFIG_DIR=/etc/docker/registry
CONFIG_FILE="$CONFIG_DIR/orkestra.yml"
HTPASSWD_FILE="$CONFIG_DIR/orkestra.htpasswd"
STORAGE_DIR=/var/lib/docker-registry
REGISTRY_LOG=/var/log/orkestra-registry.log

log() { printf '[registry-up %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

apt_install() {
    if [[ -z "${APT_UPDATED:-}" ]]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 401 means up (auth required), 200 means up without auth: both answer.
v2_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$REGISTRY_ADDR/v2/" || true; }

if [[ "$(v2_status)" =~ ^(200|401)$ ]]; then
    log "registry already answering on $REGISTRY_ADDR"
    exit 0
fi

command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
command -v htpasswd >/dev/null 2>&1 || apt_install apache2-utils

mkdir -p "$CONFIG_DIR" "$STORAGE_DIR"
# The registry's htpasswd auth accepts bcrypt only (-B).
htpasswd -Bbc "$HTPASSWD_FILE" "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null
cat >"$CONFIG_FILE" <<EOF
# Written by Orkestra's scripts/registry-up.sh; the package's own config.yml is left untouched.
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STORAGE_DIR
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
auth:
  htpasswd:
    realm: orkestra-test-registry
    path: $HTPASSWD_FILE
EOF

# The Debian unit is installed but there is no systemd here: start the binary directly, detached
# (setsid) so it outlives the shell or pytest session that ran this script.
log "starting docker-registry on $REGISTRY_ADDR (log: $REGISTRY_LOG)"
setsid nohup docker-registry serve "$CONFIG_FILE" >>"$REGISTRY_LOG" 2>&1 </dev/null &

deadline=$((SECONDS + REGISTRY_WAIT_SECONDS))
until [[ "$(v2_status)" =~ ^(200|401)$ ]]; do
    if ((SECONDS >= deadline)); then
        log "registry did not answer within ${REGISTRY_WAIT_SECONDS}s; last log lines:"
        tail -n 30 "$REGISTRY_LOG" >&2 || true
        exit 1
    fi
    sleep 0.5
done
log "registry ready on $REGISTRY_ADDR"
