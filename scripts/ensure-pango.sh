#!/usr/bin/env bash
# The quote PDF (WeasyPrint) needs Pango and a font from the system. In CI they are installed
# here; elsewhere a missing Pango is a note (the PDF tests skip, the PDF route says it is
# unavailable). Debian's chromium pulls them in, so a machine with it has them already.
set -eu
if /sbin/ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0'; then exit 0; fi
if [ "${CI:-}" = "true" ]; then
  echo "Installing Pango for the quote PDF..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null
  /sbin/ldconfig -p | grep -q 'libpangoft2-1.0.so.0'
else
  echo "NOTE: Pango is missing; quote PDFs are unavailable and their tests skip (apt-get install libpango-1.0-0 libpangoft2-1.0-0)."
fi
