"""The tenant's capability record (orders.models.TenantCapabilities), as the portal uses it.

`manage.py nue_check` stores what it found about the Nue the portal talks to; this module hands
the answers down as plain values: the request dialect the scope passes to orders.nue, and the
labels the order totals are shown with. Without a record, or for an answer not settled, the
portal does what it does against the emulator.

The record is read at most once per CACHE_SECONDS per process (every page builds request bodies
or shows totals), and again at once in the process that saves or deletes it: other processes
(the web workers, when nue_check ran from a shell) see it within CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy

from orders.models import TenantCapabilities
from orders.nue import DEFAULT_DIALECT, Dialect, get_client

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

CACHE_SECONDS = 60.0

_lock = threading.Lock()
# (api_url, read at (monotonic), the record or None)
_loaded: tuple[str, float, TenantCapabilities | None] | None = None


def api_url() -> str:
    """The Nue the portal talks to, as the capability record is keyed."""
    return get_client().base_url


def record() -> TenantCapabilities | None:
    """The capability record of the Nue the portal talks to, if nue_check has stored one."""
    global _loaded
    url = api_url()
    now = time.monotonic()
    with _lock:
        loaded = _loaded
    if loaded is not None and loaded[0] == url and now - loaded[1] < CACHE_SECONDS:
        return loaded[2]
    found = TenantCapabilities.objects.filter(api_url=url).first()
    with _lock:
        _loaded = (url, now, found)
    return found


def forget() -> None:
    """Read the record afresh on next use."""
    global _loaded
    with _lock:
        _loaded = None


@receiver(post_save, sender=TenantCapabilities)
@receiver(post_delete, sender=TenantCapabilities)
def _forget_on_change(**kwargs: Any) -> None:
    forget()


def dialect() -> Dialect:
    """How to spell what the guides leave open, for orders.nue's request bodies."""
    found = record()
    if found is None:
        return DEFAULT_DIALECT
    return Dialect(
        coterm_field=found.coterm_field or DEFAULT_DIALECT.coterm_field,
        upgrade_target_field=found.upgrade_target_field or DEFAULT_DIALECT.upgrade_target_field,
        reconfigure_delta=found.reconfigure_quantity == TenantCapabilities.Reconfigure.DELTA,
        activated_filter=found.activated_status_filter or None,
    )


@dataclass(frozen=True, slots=True)
class FigureLabels:
    """What an order's totals are called, so each says what the tenant's numbers mean.

    `tag_discount` introduces systemDiscountAmount beside discountAmount: part of it, or on top
    of it. `subtotal` names the subtotal row (Nue's `subtotal`, else its netTotal): after the
    discount, or (Nue's order data reference sample: list 5,940.00, subtotal 5,940.00) before it.
    """

    # Lazy: translated into the reader's language where a page shows them.
    tag_discount: StrOrPromise
    subtotal: StrOrPromise


DEFAULT_LABELS = FigureLabels(
    tag_discount=gettext_lazy("of which price tags"),
    subtotal=gettext_lazy("Subtotal, before tax"),
)


def figure_labels() -> FigureLabels:
    found = record()
    if found is None:
        return DEFAULT_LABELS
    added = found.system_discount == TenantCapabilities.SystemDiscount.ADDED
    before = found.subtotal == TenantCapabilities.Subtotal.BEFORE_DISCOUNT
    return FigureLabels(
        tag_discount=gettext_lazy("plus price tags") if added else DEFAULT_LABELS.tag_discount,
        subtotal=gettext_lazy("Subtotal, before discount and tax")
        if before
        else DEFAULT_LABELS.subtotal,
    )


def labels(request: HttpRequest) -> dict[str, object]:
    """Context processor: `figure_labels`, read only by a page that shows totals."""
    return {"figure_labels": SimpleLazyObject(figure_labels)}
