#!/usr/bin/env bash
# The machine starts PostgreSQL, MariaDB and Redis; start any that stopped (same commands the machine uses).
set -u
up() { timeout 2 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }
up 5432 || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
up 3306 || start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
up 6379 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
for port in 5432 3306 6379; do
  for _ in $(seq 1 30); do up "$port" && break; sleep 1; done
  up "$port" || echo "warning: nothing answers on 127.0.0.1:$port" >&2
done
