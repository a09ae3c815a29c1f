"""Per-person limits on requests that reach Nue at the pace of typing (the live previews).

A fixed window counted in the shared cache, so every instance counts the same person together.
Previews change nothing, so when the cache cannot count (a lost key, Redis out) they are allowed.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from orders.http import CustomerRequest

LIVE_PREVIEW_WINDOW = 10


def allow_live_preview(request: CustomerRequest) -> bool:
    window = int(time.time() // LIVE_PREVIEW_WINDOW)
    key = f"throttle:live-preview:{request.user.pk}:{window}"
    if cache.add(key, 1, LIVE_PREVIEW_WINDOW + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:
        return True
    return count <= settings.LIVE_PREVIEWS_PER_WINDOW
