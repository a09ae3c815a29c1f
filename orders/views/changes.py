"""The change-order wizard: choose → details → preview (a draft change order) → confirm → result.

Each step is a real URL that works as a plain form post; HTMX swaps the form regions. While the
customer edits the details, a live estimate prices the change with nothing kept; the draft change
order is created, taxed, from a fresh read of the subscription when they go on to preview it, and
activated only if the subscription is still what the draft was computed from. What the steps do
is orders.actions.changes and orders.actions.activation; what a preview shows is
orders.actions.change_figures. The basket waits in the session, per acting customer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.actions import changes, scheduled
from orders.actions.activation import AuditNotes, NotActivated, Stale
from orders.actions.cards import NoCard, card_on_file
from orders.actions.change_figures import cards, credit_of, explain, money
from orders.actions.changes import BasketItem, BasketPreview, Choice, Preview
from orders.fanout import fetch_alongside
from orders.forms.changes import FORMS, ChangeForm
from orders.forms.purchase import PaymentForm, chosen_pay
from orders.http import CustomerRequest
from orders.kinds import KINDS_BY_SLUG
from orders.nue import (
    AssetChange,
    NueError,
    NueValidationError,
    OperationInProgress,
    Order,
    Subscription,
    SubscriptionSnapshot,
)
from orders.policy import (
    Decision,
    DraftFacts,
    ScheduledChange,
    Verdict,
    approval_limit,
    can_cancel,
    can_charge_card,
    can_prepare,
    decide,
)
from orders.scope import CustomerNue
from orders.throttle import LIVE_PREVIEW_WINDOW, allow_live_preview
from orders.views.common import (
    action_audit,
    activate,
    audited,
    customer_scope,
    go,
    is_partial,
    refusal_status,
)
from orders.views.errors import add_form_errors, flash_omitted
from orders.views.panels import approval_panel
from portal.impersonation import actors, money_moving

BASKET_KEY = "change_basket"


def _scheduled(scope: CustomerNue, sub: Subscription) -> ScheduledChange | None:
    """What Nue has scheduled for the subscription, which orders.policy weighs every change
    against (read on every route, the posts' as their pages')."""
    return scheduled.change_for(scope, sub, timezone.localdate())


def _choices(
    request: CustomerRequest,
    scope: CustomerNue,
    sub: Subscription,
    change: ScheduledChange | None,
) -> list[Choice]:
    return changes.subscription_choices(
        scope,
        sub,
        may_prepare=can_prepare(request.membership),
        may_cancel=can_cancel(request.membership),
        scheduled=change,
    )


def _choice(
    request: CustomerRequest,
    scope: CustomerNue,
    sub: Subscription,
    kind: str,
    change: ScheduledChange | None,
) -> Choice:
    if kind not in KINDS_BY_SLUG:
        raise Http404("No such change.")
    return next(c for c in _choices(request, scope, sub, change) if c.kind.slug == kind)


def _form(scope: CustomerNue, sub: Subscription, kind: str, data: Any, today: date) -> ChangeForm:
    offer = changes.offer(scope, sub, kind, today)
    return FORMS[kind](data, sub=sub, today=today, offer=offer, prefix=None)


def _changes_of(form: ChangeForm) -> list[AssetChange]:
    """What a valid form asks, as Nue's changes to its subscription."""
    return changes.asset_changes(form.sub, form.asked(), form.today)


def _posted(form: ChangeForm, *skipped: str) -> dict[str, list[str]]:
    """The form's fields as posted, to post again (a preview's, a basket item's)."""
    ignored = {"csrfmiddlewaretoken", *skipped}
    return {k: v for k, v in form.data.lists() if k not in ignored}  # type: ignore[attr-defined]


@require_GET
def change_start(request: CustomerRequest, name: str) -> HttpResponse:
    scope = customer_scope(request)
    sub = scope.subscription(name)
    change = _scheduled(scope, sub)
    choices = _choices(request, scope, sub, change)
    ctx = {
        "sub": scheduled.Shown(sub, change),
        "choices": choices,
        "basket": _basket(request, scope),
        "notice": scheduled.notice(change, scope.account),
    }
    return render(request, "orders/change/start.html", ctx)


@money_moving
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def change_details(request: CustomerRequest, name: str, kind: str) -> HttpResponse:
    scope = customer_scope(request)
    # On a POST this is the first read of the request: the delta is computed from Nue's state now.
    # The catalog, which the choices need, comes from the shared cache meanwhile.
    _catalog, reads = fetch_alongside(scope.catalog, sub=lambda: scope.subscription(name))
    sub = reads["sub"]
    change = _scheduled(scope, sub)
    choice = _choice(request, scope, sub, kind, change)
    form = _form(scope, sub, kind, request.POST or None, timezone.localdate())
    status = 200 if not choice.reason else (403 if choice.forbidden else 409)
    estimate: changes.Estimate | None = None
    action = request.POST.get("action")
    if request.method == "POST" and not choice.reason:
        if action == "estimate":
            # The estimate without JavaScript: the page again, with the form as typed and its
            # price.
            estimate = _estimate(scope, sub, form)
            status = 200 if form.is_valid() else 422
        elif form.is_valid() and action == "basket":
            _add_to_basket(request, scope, sub, kind, form)
            return go(request, "orders:change_basket")
        else:
            made = _preview_of(request, scope, sub, kind, form)
            if isinstance(made, Preview):
                return go(request, "orders:change_preview", sub.name, made.order.id)
            status = made
    ctx = {
        "sub": scheduled.Shown(sub, change),
        "choice": choice,
        "kind": choice.kind,
        "form": form,
        "estimate": estimate,
        "notice": scheduled.notice(change, scope.account),
    }
    template = "orders/change/details.html" + ("#change-form" if is_partial(request) else "")
    return render(request, template, ctx, status=status)


def _preview_of(
    request: CustomerRequest, scope: CustomerNue, sub: Subscription, kind: str, form: ChangeForm
) -> Preview | int:
    """The draft change order a valid form asks for, remembered for its preview; else the
    status the form's errors go back with."""
    if not form.is_valid():
        return 422
    asked = _changes_of(form)
    actor, on_behalf_of = actors(request)
    try:
        result = changes.draft(
            scope,
            [(sub.name, asked)],
            actor=actor,
            on_behalf_of=on_behalf_of,
            audit=action_audit(request),
        )
    except NueError as error:
        return add_form_errors(form, error, form.fields_of(asked))
    if not result.replayed:  # a replay's event was written by the request that made it
        audited(request)
    flash_omitted(request, scope.omitted("preview invoices"))
    return changes.remember(scope, sub, kind, result, data=_posted(form), asked=form.description())


def _estimate(scope: CustomerNue, sub: Subscription, form: ChangeForm) -> changes.Estimate | None:
    """The change's invoices as Nue would bill them, or None while the form is incomplete."""
    return changes.estimate(scope, sub, _changes_of(form)) if form.is_valid() else None


@require_POST
@vary_on_headers("HX-Request")
def change_estimate(request: CustomerRequest, name: str, kind: str) -> HttpResponse:
    """The live estimate beside the details form: priced while the customer edits, kept nowhere,
    so a change walked away from leaves nothing in Nue. The draft change order (with tax) is made
    only when they continue to confirm it."""
    scope = customer_scope(request)
    sub = scope.subscription(name)
    choice = _choice(request, scope, sub, kind, _scheduled(scope, sub))
    if choice.reason:
        raise PermissionDenied(choice.reason)
    if not allow_live_preview(request):
        response = render(request, "orders/change/_estimate_paused.html", status=429)
        response["Retry-After"] = str(LIVE_PREVIEW_WINDOW)
        return response
    form = _form(scope, sub, kind, request.POST, timezone.localdate())
    ctx = {"sub": sub, "kind": choice.kind, "estimate": _estimate(scope, sub, form)}
    return render(request, "orders/change/details.html#estimate", ctx)


def _recalled(scope: CustomerNue, name: str, order_id: str) -> Preview:
    preview = changes.recall(scope, name, order_id)
    if preview is None:
        raise Http404("This preview has expired.")
    return preview


@require_GET
@vary_on_headers("HX-Request")
def change_preview(request: CustomerRequest, name: str, order_id: str) -> HttpResponse:
    scope = customer_scope(request)
    preview = _recalled(scope, name, order_id)
    if scope.ledger.was_activated(preview.order.id):
        # Confirmed already (in this tab or another): the result, not a draft to confirm again.
        return go(request, "orders:change_result", name, order_id)
    return _preview_page(request, preview, status=200)


def _verdict(request: CustomerRequest, order: Order) -> Verdict:
    """What confirming shows: orders.policy's one decision on what the draft is. The preview
    pages read nothing of Nue (the preview is kept); what Nue has scheduled since the draft was
    made is weighed when it is confirmed (activation.activate_draft), and the page then shows
    that verdict."""
    return decide(request.membership, DraftFacts.of(order), timezone.localdate())


def _approval_panel(
    request: CustomerRequest, order: Order, verdict: Verdict, stale: Sequence[object]
) -> dict[str, Any] | None:
    """The approval panel the whole page shows below the confirm step of a draft that needs
    approval (the confirm partial does not)."""
    if verdict.decision != Decision.REQUEST_APPROVAL or stale or is_partial(request):
        return None
    return approval_panel(request, order)


def _payment(
    request: CustomerRequest, verdict: Verdict, payment: PaymentForm | None
) -> PaymentForm | None:
    """How the change may be paid, offered where it may be confirmed (the card on file by name,
    or by invoice)."""
    if payment is not None or verdict.decision != Decision.ACTIVATE or request.customer is None:
        return payment
    return PaymentForm(
        card=card_on_file(request.customer), may_charge_card=can_charge_card(request.membership)
    )


def _posted_payment(request: CustomerRequest, scope: CustomerNue) -> PaymentForm:
    payment = PaymentForm(
        request.POST,
        card=card_on_file(scope.account),
        may_charge_card=can_charge_card(request.membership),
    )
    payment.is_valid()
    return payment


def _preview_page(
    request: CustomerRequest,
    preview: Preview,
    *,
    status: int,
    stale: Sequence[tuple[SubscriptionSnapshot, Subscription]] = (),
    problem: str = "",
    payment: PaymentForm | None = None,
    verdict: Verdict | None = None,
) -> HttpResponse:
    membership = request.membership
    verdict = verdict or _verdict(request, preview.order)
    payment = _payment(request, verdict, payment)
    ctx = {
        "preview": preview,
        "order": preview.order,
        "money": money(preview),
        "warnings": preview.warnings,
        "explanations": [
            explain(line, preview.order.currency) for line in preview.order.all_lines()
        ],
        "cards": cards(preview),
        "credits": [(c, credit_of(preview.order, c, preview.changes)) for c in preview.changes],
        "decision": verdict.decision.value,
        "reason": verdict.reason,
        "threshold": approval_limit(membership) if membership else None,
        "stale": stale,
        "problem": problem,
        "service_until": preview.service_until,
        "approval_panel": _approval_panel(request, preview.order, verdict, stale),
        "payment": payment,
    }
    template = "orders/change/preview.html" + ("#confirm" if is_partial(request) else "")
    return render(request, template, ctx, status=status)


@require_GET
@vary_on_headers("HX-Request")
def change_quote(request: CustomerRequest, name: str, order_id: str) -> HttpResponse:
    """Keep the draft and share it: a magic link to Nue's quote (nue-api.md §2.5)."""
    scope = customer_scope(request)
    preview = _recalled(scope, name, order_id)
    ctx = {"preview": preview, "link": scope.magic_link(preview.order.id)}
    template = "orders/change/quote.html" + ("#quote-link" if is_partial(request) else "")
    return render(request, template, ctx)


@money_moving
@require_POST
def change_confirm(request: CustomerRequest, name: str, order_id: str) -> HttpResponse:
    scope = customer_scope(request)
    preview = _recalled(scope, name, order_id)
    actor, on_behalf_of = actors(request)
    payment = _posted_payment(request, scope)
    if payment.errors:
        return _preview_page(request, preview, status=422, payment=payment)
    try:
        activate(
            request,
            scope,
            preview.order.id,
            membership=request.membership,
            actor=actor,
            on_behalf_of=on_behalf_of,
            previewed=preview.changes,
            notes=AuditNotes(
                reasons=changes.reasons([preview]), asked={preview.name: preview.asked}
            ),
            pay=chosen_pay(payment),
        )
    except NoCard as missing:
        payment.add_error("pay", str(missing))
        return _preview_page(request, preview, status=422, payment=payment)
    except NotActivated as refused:
        status = refusal_status(refused.verdict)
        return _preview_page(request, preview, status=status, verdict=refused.verdict)
    except Stale as stale:
        return _preview_page(request, preview, status=409, stale=stale.pairs)
    except OperationInProgress as error:
        return _preview_page(request, preview, status=409, problem=error.message)
    # The preview stays remembered: a second click finds the order activated and lands here too.
    return go(request, "orders:change_result", name, order_id)


@require_GET
def change_result(request: CustomerRequest, name: str, order_id: str) -> HttpResponse:
    scope = customer_scope(request)
    order = scope.order(order_id, status="active", includes=("orderProducts", "assets"))
    sub = scope.subscription(name)
    made = changes.change_made(scope, order, sub)
    if made is None:
        raise Http404("No such change.")
    found = scheduled.shown_changes(scope, [sub, *made.add_ons], timezone.localdate())
    change = found.get(sub.name)
    ctx = {
        "order": order,
        "sub": scheduled.Shown(sub, change),
        "changed": made.changed,
        "add_ons": scheduled.shown(made.add_ons, found),
        "notice": scheduled.notice(change, scope.account),
    }
    return render(request, "orders/change/result.html", ctx)


def _basket(request: CustomerRequest, scope: CustomerNue) -> list[BasketItem]:
    # Per acting customer: switching customers never carries a basket across.
    stored = request.session.get(BASKET_KEY, {}).get(str(scope.account.pk), [])
    return [BasketItem(*item) for item in stored]


def _save_basket(request: CustomerRequest, scope: CustomerNue, items: Sequence[BasketItem]) -> None:
    baskets = dict(request.session.get(BASKET_KEY, {}))
    baskets[str(scope.account.pk)] = [list(item) for item in items]
    request.session[BASKET_KEY] = baskets


def _add_to_basket(
    request: CustomerRequest, scope: CustomerNue, sub: Subscription, kind: str, form: ChangeForm
) -> None:
    # One change per subscription: each item is computed from its subscription as it is, so a
    # second one for the same subscription in the same change order would apply on top of it.
    item = BasketItem(sub.name, kind, form.description().get("asked", ""), _posted(form, "action"))
    items = [i for i in _basket(request, scope) if i.name != sub.name]
    _save_basket(request, scope, [*items, item])


@money_moving
@require_http_methods(["GET", "POST"])
def change_basket(request: CustomerRequest) -> HttpResponse:
    scope = customer_scope(request)
    # A basket filled under a buyer role must not become a draft once the role is gone.
    if request.method == "POST" and not can_prepare(request.membership):
        raise PermissionDenied(_("Your role may not change subscriptions."))
    items = _basket(request, scope)
    action = request.POST.get("action")
    if request.method == "POST" and action == "remove":
        _save_basket(request, scope, [i for i in items if i.name != request.POST.get("name")])
        return go(request, "orders:change_basket")
    status = 200
    errors: dict[str, list[str]] = {}
    problems: list[str] = []
    if request.method == "POST" and action == "preview" and items:
        basket_id, status, errors, problems = _draft_basket(request, scope, items)
        if basket_id is not None:
            return go(request, "orders:change_basket_preview", basket_id)
    ctx = {"items": items, "errors": errors, "problems": problems}
    return render(request, "orders/change/basket.html", ctx, status=status)


def _draft_basket(
    request: CustomerRequest, scope: CustomerNue, items: Sequence[BasketItem]
) -> tuple[str | None, int, dict[str, list[str]], list[str]]:
    """One draft change order for every item, each priced from its subscription as Nue has it now.

    Every item is validated against a fresh read of its subscription before anything is sent; a
    foreign or missing subscription is a 404 and nothing is sent at all.
    """
    today = timezone.localdate()
    item_forms: list[ChangeForm] = []
    refused: list[str] = []
    for item in items:
        sub = scope.subscription(item.name)
        # What the subscription allows now (a cancellation may have been scheduled since the
        # item went into the basket), as its own page would say.
        choice = _choice(request, scope, sub, item.kind, _scheduled(scope, sub))
        if choice.reason:
            refused.append(
                _("%(subscription)s: %(reason)s")
                % {"subscription": sub.name, "reason": choice.reason}
            )
        data = QueryDict(mutable=True)
        for key, values in item.data.items():
            data.setlist(key, values)
        item_forms.append(_form(scope, sub, item.kind, data, today))
    if refused:
        return None, 409, {}, refused
    status = 422
    basket_form = forms.Form({})
    valid = [form.is_valid() for form in item_forms]  # every item's errors, not the first's
    if all(valid):
        asked = [_changes_of(form) for form in item_forms]
        actor, on_behalf_of = actors(request)
        draft = [
            (form.sub.name, changes_) for form, changes_ in zip(item_forms, asked, strict=True)
        ]
        try:
            result = changes.draft(
                scope, draft, actor=actor, on_behalf_of=on_behalf_of, audit=action_audit(request)
            )
        except NueError as error:
            status = _add_basket_errors(error, item_forms, asked, basket_form)
        else:
            if not result.replayed:  # a replay's event was written by the request that made it
                audited(request)
            flash_omitted(request, scope.omitted("preview invoices"))
            described = [(i, form.description()) for i, form in zip(items, item_forms, strict=True)]
            return changes.remember_basket(scope, described, result), 200, {}, []
    errors = {
        form.sub.name: [str(e) for field in form.errors.values() for e in field]
        for form in item_forms
        if form.errors
    }
    return None, status, errors, [str(e) for e in basket_form.non_field_errors()]


def _add_basket_errors(
    error: NueError,
    item_forms: Sequence[ChangeForm],
    asked: Sequence[Sequence[AssetChange]],
    basket_form: forms.Form,
) -> int:
    """Put a Nue failure on the item whose changes it names: assetChanges[i] is the item whose
    changes occupy index i of the one order. What names no item goes on the basket."""
    basket_form.is_valid()
    if not isinstance(error, NueValidationError):
        return add_form_errors(basket_form, error)
    # For each index of the order's changes[]: the item it belongs to and that item's first index.
    owners: list[tuple[int, int]] = []
    for position, item_changes in enumerate(asked):
        owners += [(position, len(owners))] * len(item_changes)
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
        form = item_forms[position]
        add_form_errors(form, _narrowed(error, field_errors), form.fields_of(asked[position]))
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


def _basket_preview(scope: CustomerNue, basket_id: str) -> BasketPreview:
    basket = changes.basket_preview(scope, basket_id)
    if basket is None:
        raise Http404("This basket preview has expired.")
    return basket


@require_GET
def change_basket_preview(request: CustomerRequest, basket_id: str) -> HttpResponse:
    scope = customer_scope(request)
    basket = _basket_preview(scope, basket_id)
    if scope.ledger.was_activated(basket.order.id):
        return go(request, "orders:change_basket_result", basket_id)
    return _basket_page(request, basket_id, basket, status=200)


def _basket_page(
    request: CustomerRequest,
    basket_id: str,
    basket: BasketPreview,
    *,
    status: int,
    stale: Sequence[tuple[SubscriptionSnapshot, Subscription]] = (),
    problem: str = "",
    payment: PaymentForm | None = None,
    verdict: Verdict | None = None,
) -> HttpResponse:
    verdict = verdict or _verdict(request, basket.order)
    payment = _payment(request, verdict, payment)
    ctx = {
        "basket_id": basket_id,
        "basket": basket,
        "order": basket.order,
        "money": money(basket),
        "warnings": basket.warnings,
        "explanations": [explain(line, basket.order.currency) for line in basket.order.all_lines()],
        "cards": cards(basket),
        "invoices": sorted(basket.invoices, key=lambda i: i.invoice_date or timezone.localdate()),
        "decision": verdict.decision.value,
        "reason": verdict.reason,
        "stale": stale,
        "problem": problem,
        "approval_panel": _approval_panel(request, basket.order, verdict, stale),
        "payment": payment,
    }
    template = "orders/change/basket_preview.html" + ("#confirm" if is_partial(request) else "")
    return render(request, template, ctx, status=status)


@money_moving
@require_POST
def change_basket_confirm(request: CustomerRequest, basket_id: str) -> HttpResponse:
    scope = customer_scope(request)
    basket = _basket_preview(scope, basket_id)
    actor, on_behalf_of = actors(request)
    payment = _posted_payment(request, scope)
    if payment.errors:
        return _basket_page(request, basket_id, basket, status=422, payment=payment)
    try:
        outcome = activate(
            request,
            scope,
            basket.order.id,
            membership=request.membership,
            actor=actor,
            on_behalf_of=on_behalf_of,
            previewed=basket.changes,
            notes=AuditNotes(
                reasons=changes.reasons(basket.items),
                asked={item.name: item.asked for item in basket.items},
            ),
            pay=chosen_pay(payment),
        )
    except NoCard as missing:
        payment.add_error("pay", str(missing))
        return _basket_page(request, basket_id, basket, status=422, payment=payment)
    except NotActivated as refused:
        status = refusal_status(refused.verdict)
        return _basket_page(request, basket_id, basket, status=status, verdict=refused.verdict)
    except Stale as stale:
        return _basket_page(request, basket_id, basket, status=409, stale=stale.pairs)
    except OperationInProgress as error:
        return _basket_page(request, basket_id, basket, status=409, problem=error.message)
    if not outcome.replayed:
        _save_basket(request, scope, [])
    return go(request, "orders:change_basket_result", basket_id)


@require_GET
def change_basket_result(request: CustomerRequest, basket_id: str) -> HttpResponse:
    scope = customer_scope(request)
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
