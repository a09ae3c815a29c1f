#!/usr/bin/env bash
# Make sure localstripe (a stateful fake Stripe with a Stripe.js mock) answers on loopback port
# $1 (default 8420) for `make run`; start it in the background when it does not. It keeps its
# state between runs, so the cards saved in development survive a restart.
set -u
port="${1:-8420}"
up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if ! up; then
  nohup .venv/bin/localstripe --port "$port" >.localstripe.log 2>&1 &
  for _ in $(seq 40); do up && break; sleep 0.25; done
fi
if ! up; then
  echo "localstripe did not start on port $port (see .localstripe.log); cards are off." >&2
  exit 1
fi
echo "localstripe on http://127.0.0.1:$port (its log: .localstripe.log)"
