#!/usr/bin/env bash
# Make sure localstripe (a stateful fake Stripe with a Stripe.js mock) answers on loopback port
# $1 (default 8420) for `make run`; start it in the background when it does not. It keeps its
# state between runs, so the cards saved in development survive a restart. With the portal's
# port $2 and a signing secret $3 it also delivers the portal's webhook events to
# /stripe/webhook/, signed as Stripe signs them (localstripe forgets them when it restarts).
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
if [ -n "${2:-}" ] && [ -n "${3:-}" ]; then
  .venv/bin/python - "$port" "$2" "$3" <<'PY' || echo "localstripe: the webhook was not registered." >&2
import json, sys, urllib.request
port, portal, secret = sys.argv[1:4]
body = {"url": f"http://127.0.0.1:{portal}/stripe/webhook/", "secret": secret,
        "events": ["payment_intent.succeeded", "payment_intent.payment_failed"]}
request = urllib.request.Request(f"http://127.0.0.1:{port}/_config/webhooks/portal",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=5).close()
PY
fi
echo "localstripe on http://127.0.0.1:$port (its log: .localstripe.log)"
