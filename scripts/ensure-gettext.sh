#!/usr/bin/env bash
# The translation catalogs are built (msgfmt) and checked (xgettext) with GNU gettext, which
# Debian packages as `gettext`: installed here when missing, as scripts/ensure-chromium.sh does
# for the browser.
set -eu
if command -v msgfmt >/dev/null && command -v xgettext >/dev/null; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's gettext for the translation catalogs..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq gettext >/dev/null
  command -v msgfmt >/dev/null
else
  echo "GNU gettext (msgfmt, xgettext) is required: apt-get install gettext" >&2
  exit 1
fi
