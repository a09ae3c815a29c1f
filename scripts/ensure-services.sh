#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on loopback; start them when installed but stopped.
# Exit 0 when both answer. Otherwise exit 1 (the caller skips the production-configuration run),
# except with CI=true, where a missing service is a failure.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
  for _ in $(seq 20); do pg_up && break; sleep 0.5; done
fi
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
  for _ in $(seq 20); do redis_up && break; sleep 0.5; done
fi

missing=""
pg_up || missing="$missing PostgreSQL(127.0.0.1:5432)"
redis_up || missing="$missing Redis(127.0.0.1:6379)"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAILED: CI needs$missing, and it is not running." >&2
    exit 2
  fi
  echo "Not available:$missing" >&2
  exit 1
fi
exit 0
