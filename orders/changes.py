"""The change-order wizard: choose → details → preview (a draft change order) → confirm → result.

Each step is a real URL that works as a plain form post; HTMX swaps the form regions. While the
customer edits the details, a live estimate prices the change with nothing kept; the draft change
order is created, taxed, from a fresh read of the subscription when they go on to preview it, and
activated only if the subscription is still what the draft was computed from
(orders.activation). What a preview shows is worked out in orders.change_figures.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from django import forms
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from orders import change_forms as cf
from orders.activation import AuditNotes, NotActivated, Stale, activate_draft
from orders.change_figures import added_add_ons, cards, credit_of, explain, money
from orders.errors import add_form_errors, flash_omitted
from orders.nue import (
    ChangeOrderResult,
    Invoice,
    NueConflict,
    NueError,
    NueValidationError,
    OperationInProgress,
    Order,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
)
from orders.panels import approval_panel
from orders.policy import Decision, DraftFacts, Verdict, can_cancel, can_prepare, decide
from orders.scope import CustomerNue, fetch_alongside
from orders.throttle import LIVE_PREVIEW_WINDOW, allow_live_preview
from portal.impersonation import actors, money_moving

# What a draft was computed from (its before/after and preview invoices) is kept in the shared
# cache per customer: reading the draft back from Nue returns neither, and any member of the
# account may open the preview (an admin confirming a buyer's change above the threshold).
PREVIEW_TTL = 7 * 24 * 3600


def _partial(request: HttpRequest) -> bool:
    return bool(request.htmx and not request.htmx.history_restore_request)  # type: ignore[attr-defined]


def _scope(request: HttpRequest) -> CustomerNue:
    scope: CustomerNue | None = getattr(request, "nue", None)
    if scope is None:
        raise Http404("No acting customer.")
    return scope


def _go(request: HttpRequest, url: str) -> HttpResponse:
    # Never a 302 to htmx: it would swap the next page into the form's region.
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)  # type: ignore[attr-defined]


def _choices(request: HttpRequest, scope: CustomerNue, sub: Subscription) -> list[cf.Choice]:
    # Relationships and catalog come from the shared cache; subscriptions from this request's memo.
    membership = getattr(request, "membership", None)
    return cf.choices_for(
        sub,
        others=scope.subscriptions(),
        relationships=scope.product_relationships([sub.name]),
        catalog=scope.catalog(),
        may_prepare=can_prepare(membership),
        may_cancel=can_cancel(membership),
    )


def _choice(request: HttpRequest, scope: CustomerNue, sub: Subscription, kind: str) -> cf.Choice:
    if kind not in cf.KINDS_BY_SLUG:
        raise Http404("No such change.")
    return next(c for c in _choices(request, scope, sub) if c.kind.slug == kind)


# --- Step 1: choose ---------------------------------------------------------------------------


@require_GET
def change_start(request: HttpRequest, name: str) -> HttpResponse:
    scope = _scope(request)
    sub = scope.subscription(name)
    choices = _choices(request, scope, sub)
    ctx = {"sub": sub, "choices": choices, "basket": _basket(request, scope)}
    return render(request, "orders/change/start.html", ctx)


# --- Step 2: details --------------------------------------------------------------------------


def _form(
    scope: CustomerNue, sub: Subscription, kind: str, data: Any, today: date
) -> cf.ChangeForm:
    extra: dict[str, Any] = {}
    if kind in cf.PRODUCT_KINDS:
        extra = {"kind": kind, "relationships": scope.product_relationships([sub.name])}
    elif kind == "coterm":
        extra = {"others": scope.subscriptions(), "lookup": scope.subscription}
    elif kind == "addons":
        children = cf.bundle_add_ons(sub, scope.subscriptions())
        extra = {"options": cf.bundle_options(sub, scope.catalog(), children)}
    form_class = cf.FORMS[kind]
    return form_class(data, sub=sub, today=today, prefix=None, **extra)


@money_moving
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def change_details(request: HttpRequest, name: str, kind: str) -> HttpResponse:
    scope = _scope(request)
    # On a POST this is the first read of the request: the delta is computed from Nue's state now.
    # The catalog, which the choices need, comes from the shared cache meanwhile.
    _, reads = fetch_alongside(scope.catalog, sub=lambda: scope.subscription(name))
    sub = reads["sub"]
    choice = _choice(request, scope, sub, kind)
    form = _form(scope, sub, kind, request.POST or None, timezone.localdate())
    status = 200 if not choice.reason else (403 if choice.forbidden else 409)
    estimate: Estimate | None = None
    if request.method == "POST" and not choice.reason and request.POST.get("action") == "estimate":
        # The estimate without JavaScript: the page again, with the form as typed and its price.
        estimate = _estimate(scope, sub, form)
        status = 200 if form.is_valid() else 422
    elif request.method == "POST" and not choice.reason:
        status = 422
        if form.is_valid() and request.POST.get("action") == "basket":
            _add_to_basket(request, scope, sub, kind, form)
            return _go(request, reverse("orders:change_basket"))
        if form.is_valid():
            try:
                result = _draft(scope, [(sub.name, form)], request)
            except NueError as error:
                status = add_form_errors(form, error, form.field_map)
            else:
                _remember(scope, sub, kind, form, result)
                url = reverse("orders:change_preview", args=[sub.name, result.order.id])
                return _go(request, url)
    ctx = {"sub": sub, "choice": choice, "kind": choice.kind, "form": form, "estimate": estimate}
    template = "orders/change/details.html"
    return render(
        request, template + ("#change-form" if _partial(request) else ""), ctx, status=status
    )


class Estimate(NamedTuple):
    """What a change would bill, priced by Nue with nothing kept (POST /orders/invoice-preview
    with assetChanges, nue-api.md §2.4): before tax, which Nue adds only to a draft."""

    invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...]
    problem: str = ""


def _estimate(scope: CustomerNue, sub: Subscription, form: cf.ChangeForm) -> Estimate | None:
    """The change's invoices as Nue would bill them, or None while the form is incomplete."""
    if not form.is_valid():
        return None
    try:
        preview = scope.preview_change(sub.name, form.changes())
    except NueValidationError as error:
        return Estimate((), (), problem=error.message)
    gaps = tuple(
        f"{gap.text} Reference: {gap.reference}" for gap in scope.omitted("preview invoices")
    )
    return Estimate(preview.invoices, (*preview.warnings, *gaps))


@require_POST
@vary_on_headers("HX-Request")
def change_estimate(request: HttpRequest, name: str, kind: str) -> HttpResponse:
    """The live estimate beside the details form: priced while the customer edits, kept nowhere,
    so a change walked away from leaves nothing in Nue. The draft change order (with tax) is made
    only when they continue to confirm it."""
    scope = _scope(request)
    sub = scope.subscription(name)
    choice = _choice(request, scope, sub, kind)
    if choice.reason:
        raise PermissionDenied(choice.reason)
    if not allow_live_preview(request):  # type: ignore[arg-type]
        response = render(request, "orders/change/_estimate_paused.html", status=429)
        response["Retry-After"] = str(LIVE_PREVIEW_WINDOW)
        return response
    form = _form(scope, sub, kind, request.POST, timezone.localdate())
    ctx = {"sub": sub, "kind": choice.kind, "estimate": _estimate(scope, sub, form)}
    return render(request, "orders/change/details.html#estimate", ctx)


def _draft(
    scope: CustomerNue, item_forms: Sequence[tuple[str, cf.ChangeForm]], request: HttpRequest
) -> ChangeOrderResult:
    """Create one draft change order holding every form's changes to its subscription
    (POST /change-orders with previewInvoice)."""
    actor, on_behalf_of = actors(request)
    result = scope.change(
        [(name, form.changes()) for name, form in item_forms],
        actor=actor,
        on_behalf_of=on_behalf_of,
    )
    if result.replayed and not scope.order(result.order.id, status="draft", fresh=True).is_draft:
        # The ledger answers an identical change sent moments ago with that change order; if it
        # was applied since, previewing it would show the customer a change already made.
        raise NueConflict(
            f"This exact change was just applied as {result.order.order_number}. "
            "Check the subscription before making it again."
        )
    flash_omitted(request, scope.omitted("preview invoices"))
    return result


# --- Remembered previews ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    """A draft change order as it was previewed."""

    order: Order
    name: str
    kind: str
    data: dict[str, list[str]]
    asked: dict[str, str]
    changes: tuple[SubscriptionChange, ...]
    invoices: tuple[Invoice, ...]
    # Add-ons the change adds to a bundle: no subscription yet, so no before (see `cards`).
    added: tuple[SubscriptionSnapshot, ...] = ()
    # Nue's warnings on the draft, e.g. that tax could not be calculated without an address.
    warnings: tuple[str, ...] = ()

    @property
    def kind_info(self) -> cf.Kind:
        return cf.KINDS_BY_SLUG[self.kind]

    @property
    def is_cancel(self) -> bool:
        return self.kind == "cancel"

    @property
    def reconfigured(self) -> set[str]:
        return {self.name} if self.kind == "addons" else set()

    @property
    def posted_fields(self) -> list[tuple[str, str]]:
        """The wizard's form as it was posted, a (name, value) pair per value, to post again."""
        return [(name, value) for name, values in self.data.items() for value in values]


def _preview_key(scope: CustomerNue, order_id: str) -> str:
    # v2: a preview carries Nue's warnings; one cached without them would not load its fields.
    return f"change:preview:v2:{scope.account.pk}:{order_id}"


def _remember(
    scope: CustomerNue,
    sub: Subscription,
    kind: str,
    form: cf.ChangeForm,
    result: ChangeOrderResult,
) -> Preview:
    preview = Preview(
        order=result.order,
        name=sub.name,
        kind=kind,
        data={k: v for k, v in form.data.lists() if k != "csrfmiddlewaretoken"},  # type: ignore[attr-defined]
        asked=form.description(),
        changes=result.changes,
        invoices=result.preview_invoices,
        added=added_add_ons(result.order, sub, scope.subscriptions()) if kind == "addons" else (),
        warnings=result.warnings,
    )
    cache.set(_preview_key(scope, result.order.id), preview, PREVIEW_TTL)
    return preview


def _recall(scope: CustomerNue, name: str, order_id: str) -> Preview | None:
    preview = cache.get(_preview_key(scope, order_id))
    return preview if isinstance(preview, Preview) and preview.name == name else None


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the wizard remembers of a draft change order: what each change was computed from
    and what each item asked (the reason of a cancellation)."""

    changes: tuple[SubscriptionChange, ...]
    items: tuple[Preview, ...]

    @property
    def reasons(self) -> dict[str, str]:
        return _reasons(self.items)


def remembered_change(scope: CustomerNue, order_id: str) -> Remembered | None:
    """The wizard's or the basket's preview of this draft, for the draft page; None if unknown."""
    found = cache.get(_preview_key(scope, order_id))
    if isinstance(found, Preview):
        return Remembered(found.changes, (found,))
    if isinstance(found, BasketPreview):
        return Remembered(found.changes, found.items)
    return None


# --- Step 3: preview --------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def change_preview(request: HttpRequest, name: str, order_id: str) -> HttpResponse:
    scope = _scope(request)
    preview = _recall(scope, name, order_id)
    if preview is None:
        raise Http404("This preview has expired.")
    if scope.ledger.was_activated(preview.order.id):
        # Confirmed already (in this tab or another): the result, not a draft to confirm again.
        return _go(request, reverse("orders:change_result", args=[name, order_id]))
    return _preview_page(request, preview, status=200)


def _preview_page(
    request: HttpRequest,
    preview: Preview,
    *,
    status: int,
    stale: Sequence[tuple[SubscriptionSnapshot, Subscription]] = (),
    problem: str = "",
    partial: str = "confirm",
) -> HttpResponse:
    membership = getattr(request, "membership", None)
    verdict = _verdict(membership, preview.order)
    ctx = {
        "preview": preview,
        "order": preview.order,
        "money": money(preview),
        "warnings": preview.warnings,
        "explanations": [explain(line) for line in preview.order.all_lines()],
        "cards": cards(preview),
        "credits": [(c, credit_of(preview.order, c, preview.changes)) for c in preview.changes],
        "decision": verdict.decision.value,
        "reason": verdict.reason,
        "threshold": membership.account.effective_approval_threshold if membership else None,
        "stale": stale,
        "problem": problem,
        "service_until": _service_until(preview),
        "approval_panel": _approval_panel(request, preview.order, verdict, stale),
    }
    template = "orders/change/preview.html"
    if _partial(request):
        template += f"#{partial}"
    return render(request, template, ctx, status=status)


def _approval_panel(
    request: HttpRequest, order: Order, verdict: Verdict, stale: Sequence[object]
) -> dict[str, Any] | None:
    """The approval panel the whole page shows below the confirm step of a draft that needs
    approval (the confirm partial does not)."""
    if verdict.decision != Decision.REQUEST_APPROVAL or stale or _partial(request):
        return None
    return approval_panel(request, order)


def _verdict(membership: Any, order: Order) -> Verdict:
    """What confirming shows and does: orders.policy's one decision on what the draft is."""
    return decide(membership, DraftFacts.of(order), timezone.localdate())


def _service_until(preview: Preview) -> date | None:
    # The cancellation date is the last day of service (nue-api.md §2.2, see CancelForm).
    if not preview.is_cancel or "effective" not in preview.asked:
        return None
    return date.fromisoformat(preview.asked["effective"])


@require_GET
@vary_on_headers("HX-Request")
def change_quote(request: HttpRequest, name: str, order_id: str) -> HttpResponse:
    """Keep the draft and share it: a magic link to Nue's quote (nue-api.md §2.5)."""
    scope = _scope(request)
    preview = _recall(scope, name, order_id)
    if preview is None:
        raise Http404("This preview has expired.")
    link = scope.magic_link(preview.order.id)
    ctx = {"preview": preview, "link": link}
    template = "orders/change/quote.html" + ("#quote-link" if _partial(request) else "")
    return render(request, template, ctx)


# --- Step 4: confirm --------------------------------------------------------------------------


@money_moving
@require_POST
def change_confirm(request: HttpRequest, name: str, order_id: str) -> HttpResponse:
    scope = _scope(request)
    preview = _recall(scope, name, order_id)
    if preview is None:
        raise Http404("This preview has expired.")
    actor, on_behalf_of = actors(request)
    try:
        activate_draft(
            scope,
            preview.order.id,
            membership=getattr(request, "membership", None),
            actor=actor,
            on_behalf_of=on_behalf_of,
            previewed=preview.changes,
            request=request,
            notes=AuditNotes(reasons=_reasons([preview]), asked={preview.name: preview.asked}),
        )
    except NotActivated as refused:
        status = 409 if refused.verdict.decision == Decision.EXPIRED else 403
        return _preview_page(request, preview, status=status)
    except Stale as stale:
        return _preview_page(request, preview, status=409, stale=stale.pairs)
    except OperationInProgress as error:
        return _preview_page(request, preview, status=409, problem=error.message)
    # The preview stays remembered: a second click finds the order activated and lands here too.
    return _go(request, reverse("orders:change_result", args=[name, order_id]))


def _reasons(previews: Sequence[Preview]) -> dict[str, str]:
    """The reason given for each cancellation, for its audit event."""
    return {p.name: p.asked.get("reason", "") for p in previews if p.is_cancel}


@require_GET
def change_result(request: HttpRequest, name: str, order_id: str) -> HttpResponse:
    scope = _scope(request)
    order = scope.order(order_id, status="active", includes=("orderProducts", "assets"))
    sub = scope.subscription(name)
    # The subscriptions an activated order made versions of are its related assets ("associated
    # subscriptions", nue-api.md §2.1); its lines do not name them (§3.2). A change to a
    # bundle's add-ons makes versions of the add-ons (by rootId, §3.3), not of the bundle.
    touched = {asset.name for asset in order.assets}
    add_ons = [s for s in cf.bundle_add_ons(sub, scope.subscriptions()) if s.name in touched]
    if order.status != "Activated" or (name not in touched and not add_ons):
        raise Http404("No such change.")
    ctx = {"order": order, "sub": sub, "changed": name in touched, "add_ons": add_ons}
    return render(request, "orders/change/result.html", ctx)


# --- The basket: changes to several subscriptions, previewed and confirmed together -------------

BASKET_KEY = "change_basket"


class BasketItem(NamedTuple):
    name: str
    kind: str
    asked: str
    data: dict[str, list[str]]

    @property
    def kind_info(self) -> cf.Kind:
        return cf.KINDS_BY_SLUG[self.kind]


def _basket(request: HttpRequest, scope: CustomerNue) -> list[BasketItem]:
    # Per acting customer: switching customers never carries a basket across.
    stored = request.session.get(BASKET_KEY, {}).get(str(scope.account.pk), [])
    return [BasketItem(*item) for item in stored]


def _save_basket(request: HttpRequest, scope: CustomerNue, items: Sequence[BasketItem]) -> None:
    baskets = dict(request.session.get(BASKET_KEY, {}))
    baskets[str(scope.account.pk)] = [list(item) for item in items]
    request.session[BASKET_KEY] = baskets


def _add_to_basket(
    request: HttpRequest, scope: CustomerNue, sub: Subscription, kind: str, form: cf.ChangeForm
) -> None:
    # One change per subscription: each item is computed from its subscription as it is, so a
    # second one for the same subscription in the same change order would apply on top of it.
    data = {k: v for k, v in form.data.lists() if k not in ("csrfmiddlewaretoken", "action")}  # type: ignore[attr-defined]
    item = BasketItem(sub.name, kind, form.description().get("asked", ""), data)
    items = [i for i in _basket(request, scope) if i.name != sub.name]
    _save_basket(request, scope, [*items, item])


@dataclass(frozen=True, slots=True)
class BasketPreview:
    """A basket as previewed: ONE draft change order holding every item's changes.

    `changes` and `invoices` are the whole order's (a before/after for every subscription it
    touches); `items` are what each item asked for, each a Preview of that same order with the
    changes to its own subscription.
    """

    order: Order
    items: tuple[Preview, ...]
    changes: tuple[SubscriptionChange, ...]
    invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...] = ()

    @property
    def is_cancel(self) -> bool:
        return any(item.is_cancel for item in self.items)

    @property
    def reconfigured(self) -> set[str]:
        return {name for item in self.items for name in item.reconfigured}

    @property
    def added(self) -> tuple[SubscriptionSnapshot, ...]:
        return tuple(snapshot for item in self.items for snapshot in item.added)


def _basket_key(scope: CustomerNue, basket_id: str) -> str:
    return f"change:basket:v2:{scope.account.pk}:{basket_id}"  # v2: see _preview_key


@money_moving
@require_http_methods(["GET", "POST"])
def change_basket(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    # A basket filled under a buyer role must not become a draft once the role is gone.
    if request.method == "POST" and not can_prepare(getattr(request, "membership", None)):
        raise PermissionDenied("Your role may not change subscriptions.")
    items = _basket(request, scope)
    action = request.POST.get("action")
    if request.method == "POST" and action == "remove":
        _save_basket(request, scope, [i for i in items if i.name != request.POST.get("name")])
        return _go(request, reverse("orders:change_basket"))
    status = 200
    errors: dict[str, list[str]] = {}
    problems: list[str] = []
    if request.method == "POST" and action == "preview" and items:
        basket, status, errors, problems = _draft_basket(request, scope, items)
        if basket is not None:
            basket_id = uuid.uuid4().hex
            cache.set(_basket_key(scope, basket_id), basket, PREVIEW_TTL)
            # The draft page finds it by its order: what it was computed from, the reasons.
            cache.set(_preview_key(scope, basket.order.id), basket, PREVIEW_TTL)
            return _go(request, reverse("orders:change_basket_preview", args=[basket_id]))
    ctx = {"items": items, "errors": errors, "problems": problems}
    return render(request, "orders/change/basket.html", ctx, status=status)


def _draft_basket(
    request: HttpRequest, scope: CustomerNue, items: Sequence[BasketItem]
) -> tuple[BasketPreview | None, int, dict[str, list[str]], list[str]]:
    """One draft change order for every item, each priced from its subscription as Nue has it now.

    Every item is validated against a fresh read of its subscription before anything is sent; a
    foreign or missing subscription is a 404 and nothing is sent at all.
    """
    today = timezone.localdate()
    item_forms: list[tuple[str, cf.ChangeForm]] = []
    for item in items:
        sub = scope.subscription(item.name)
        data = QueryDict(mutable=True)
        for key, values in item.data.items():
            data.setlist(key, values)
        item_forms.append((sub.name, _form(scope, sub, item.kind, data, today)))
    status = 422
    basket_form = forms.Form({})
    valid = [form.is_valid() for _name, form in item_forms]  # every item's errors, not the first's
    if all(valid):
        try:
            result = _draft(scope, item_forms, request)
        except NueError as error:
            status = _add_basket_errors(error, item_forms, basket_form)
        else:
            return _remember_basket(items, item_forms, result, scope.subscriptions()), 200, {}, []
    errors = {
        name: [str(e) for field in form.errors.values() for e in field]
        for name, form in item_forms
        if form.errors
    }
    return None, status, errors, [str(e) for e in basket_form.non_field_errors()]


def _add_basket_errors(
    error: NueError, item_forms: Sequence[tuple[str, cf.ChangeForm]], basket_form: forms.Form
) -> int:
    """Put a Nue failure on the item whose changes it names: assetChanges[i] is the item whose
    changes occupy index i of the one order. What names no item goes on the basket."""
    basket_form.is_valid()
    if not isinstance(error, NueValidationError):
        return add_form_errors(basket_form, error)
    # For each index of the order's changes[]: the item it belongs to and that item's first index.
    owners: list[tuple[int, int]] = []
    for position, (_name, form) in enumerate(item_forms):
        owners += [(position, len(owners))] * len(form.changes())
    per_item: dict[int, dict[str, tuple[str, ...]]] = {}
    unplaced: dict[str, tuple[str, ...]] = {}
    for path, messages in error.field_errors.items():
        found = re.fullmatch(r"changes\[(\d+)\](.*)", path, flags=re.DOTALL)
        if found is None or int(found[1]) >= len(owners):
            unplaced[path] = messages
            continue
        position, first = owners[int(found[1])]
        per_item.setdefault(position, {})[f"changes[{int(found[1]) - first}]{found[2]}"] = messages
    for position, field_errors in per_item.items():
        form = item_forms[position][1]
        add_form_errors(form, _narrowed(error, field_errors), form.field_map)
    if unplaced or not per_item:
        add_form_errors(basket_form, _narrowed(error, unplaced))
    return 422


def _narrowed(error: NueValidationError, field_errors: dict[str, tuple[str, ...]]) -> NueError:
    return NueValidationError(
        error.message,
        field_errors=field_errors,
        status=error.status,
        error_code=error.error_code,
        reference=error.reference,
    )


def _remember_basket(
    items: Sequence[BasketItem],
    item_forms: Sequence[tuple[str, cf.ChangeForm]],
    result: ChangeOrderResult,
    subscriptions: Sequence[Subscription],
) -> BasketPreview:
    by_name = {s.name: s for s in subscriptions}
    previews = tuple(
        Preview(
            order=result.order,
            name=name,
            kind=item.kind,
            data=item.data,
            asked=form.description(),
            changes=tuple(c for c in result.changes if c.name == name),
            invoices=(),
            added=added_add_ons(result.order, by_name[name], subscriptions)
            if item.kind == "addons" and name in by_name
            else (),
        )
        for item, (name, form) in zip(items, item_forms, strict=True)
    )
    return BasketPreview(
        order=result.order,
        items=previews,
        changes=result.changes,
        invoices=result.preview_invoices,
        warnings=result.warnings,
    )


def _basket_preview(scope: CustomerNue, basket_id: str) -> BasketPreview:
    basket = cache.get(_basket_key(scope, basket_id))
    if not isinstance(basket, BasketPreview):
        raise Http404("This basket preview has expired.")
    return basket


@require_GET
def change_basket_preview(request: HttpRequest, basket_id: str) -> HttpResponse:
    scope = _scope(request)
    basket = _basket_preview(scope, basket_id)
    if scope.ledger.was_activated(basket.order.id):
        return _go(request, reverse("orders:change_basket_result", args=[basket_id]))
    return _basket_page(request, basket_id, basket, status=200)


def _basket_page(
    request: HttpRequest,
    basket_id: str,
    basket: BasketPreview,
    *,
    status: int,
    stale: Sequence[tuple[SubscriptionSnapshot, Subscription]] = (),
    problem: str = "",
) -> HttpResponse:
    verdict = _verdict(getattr(request, "membership", None), basket.order)
    ctx = {
        "basket_id": basket_id,
        "basket": basket,
        "order": basket.order,
        "money": money(basket),
        "warnings": basket.warnings,
        "explanations": [explain(line) for line in basket.order.all_lines()],
        "cards": cards(basket),
        "invoices": sorted(basket.invoices, key=lambda i: i.invoice_date or timezone.localdate()),
        "decision": verdict.decision.value,
        "reason": verdict.reason,
        "stale": stale,
        "problem": problem,
        "approval_panel": _approval_panel(request, basket.order, verdict, stale),
    }
    template = "orders/change/basket_preview.html" + ("#confirm" if _partial(request) else "")
    return render(request, template, ctx, status=status)


@money_moving
@require_POST
def change_basket_confirm(request: HttpRequest, basket_id: str) -> HttpResponse:
    scope = _scope(request)
    basket = _basket_preview(scope, basket_id)
    actor, on_behalf_of = actors(request)
    try:
        outcome = activate_draft(
            scope,
            basket.order.id,
            membership=getattr(request, "membership", None),
            actor=actor,
            on_behalf_of=on_behalf_of,
            previewed=basket.changes,
            request=request,
            notes=AuditNotes(
                reasons=_reasons(basket.items),
                asked={item.name: item.asked for item in basket.items},
            ),
        )
    except NotActivated as refused:
        status = 409 if refused.verdict.decision == Decision.EXPIRED else 403
        return _basket_page(request, basket_id, basket, status=status)
    except Stale as stale:
        return _basket_page(request, basket_id, basket, status=409, stale=stale.pairs)
    except OperationInProgress as error:
        return _basket_page(request, basket_id, basket, status=409, problem=error.message)
    if not outcome.replayed:
        _save_basket(request, scope, [])
    return _go(request, reverse("orders:change_basket_result", args=[basket_id]))


@require_GET
def change_basket_result(request: HttpRequest, basket_id: str) -> HttpResponse:
    scope = _scope(request)
    basket = _basket_preview(scope, basket_id)
    order = scope.order(basket.order.id, status="active", includes=())
    if order.status != "Activated":
        raise Http404("This basket is not confirmed.")
    subs = [scope.subscription(c.name) for c in basket.changes]
    add_ons = sum(1 for s in subs if s.is_add_on)
    ctx = {
        "order": order,
        "items": basket.items,
        "subs": subs,
        "changed": len(subs) - add_ons,
        "add_ons": add_ons,
    }
    return render(request, "orders/change/basket_result.html", ctx)
