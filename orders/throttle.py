"""Per-person limits on requests that reach Nue at the pace of typing (the live previews).

A fixed window counted in the shared cache, so every instance counts the same person together.
Previews change nothing, so when the cache cannot count (a lost key, Redis out) they are allowed.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from portal.http import PortalRequest

# A person typing produces at most one preview per 400 ms pause (the page's delay), 25 in ten
# seconds; more than this in one window is a script or a stuck key.
LIVE_PREVIEWS = 30
LIVE_PREVIEW_WINDOW = 10


def allow_live_preview(request: PortalRequest) -> bool:
    window = int(time.time() // LIVE_PREVIEW_WINDOW)
    key = f"throttle:live-preview:{request.user.pk}:{window}"
    if cache.add(key, 1, LIVE_PREVIEW_WINDOW + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:
        return True
    return count <= LIVE_PREVIEWS
