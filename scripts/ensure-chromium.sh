#!/usr/bin/env bash
# Browser tests use Debian's Chromium (never a downloaded browser). In CI it is installed here;
# on a laptop without it the browser tests skip with a message.
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "${CI:-}" = "true" ]; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  test -x /usr/bin/chromium
else
  echo "NOTE: /usr/bin/chromium is missing; browser tests will be skipped (apt-get install chromium)."
fi
