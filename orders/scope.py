"""The acting customer's verbs: `request.nue`, a CustomerNue bound to one customer account.

No verb takes a customer id: it is fixed from the session's membership, every object Nue returns
is checked against it, and ids are validated before any call. A customer's reads are memoised
for the request; the catalog, price tags and relationships are kept in the shared cache; a
page's independent reads run at once (orders.fanout). Activations and
change orders go through the operation ledger (orders.ledger), which this module calls into.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.utils.translation import gettext as _

from orders import capabilities, scope_results
from orders.ledger import Ledger
from orders.listing import (
    ORDER_INCLUDES,
    Arrangement,
    ListParser,
    Omitted,
    Owned,
    of_status,
    readable,
    record_status,
    with_id,
)
from orders.models import DiscardedDraft
from orders.nue import (
    ActivationResult,
    Asset,
    AssetChange,
    ChangeOrderResult,
    Contact,
    ContactRequest,
    Customer,
    Dialect,
    DraftResult,
    Envelope,
    Invoice,
    InvoicePreview,
    LineRequest,
    Listed,
    MagicLink,
    NueClient,
    NueConflict,
    NueNotFound,
    NueProtocolError,
    NueUnavailable,
    OperationInProgress,
    Order,
    Page,
    PayInvoiceRequest,
    PriceTag,
    Product,
    ProductRelationship,
    Subscription,
    get_client,
    parse_each,
)
from orders.nue.fields import (
    ORDER_STATUS_QUERY,
    _obj,
    _objs,
    _ostr,
    _str,
)
from orders.nue.models import _preview_invoices
from orders.nue.requests import (
    ACTIVATE_FIELDS,
    CATALOG_ID,
    CHANGE_FIELDS,
    CUSTOMER_ID,
    DRAFT_FIELDS,
    INVOICE_ID,
    ORDER_ID,
    SUBSCRIPTION_NAME,
    TEMPLATE_ID,
    _check_id,
)
from orders.nue.transport import _json_list_param, _list_data, warning_texts
from orders.scope_memory import RequestMemory

if TYPE_CHECKING:
    from portal.models import CustomerAccount, User

logger = logging.getLogger("orders.nue")
# One logger for the security events of the Nue service module, the scope's checks included.
security_logger = logging.getLogger("orders.nue.security")

T = TypeVar("T")
_O = TypeVar("_O", bound=Owned)


class CustomerNue(RequestMemory):
    """Everything the portal may do in Nue for one customer. Built per request by the middleware.

    No verb takes a customer id: it is fixed here, from the session's membership. Every object Nue
    returns is checked against it; ids are validated before any call.
    """

    def __init__(
        self,
        account: CustomerAccount,
        client: NueClient | None = None,
        dialect: Dialect | None = None,
    ) -> None:
        self.account = account
        self.customer_id = account.nue_customer_id
        self._client = client
        self._dialect = dialect
        super().__init__()
        self.ledger = Ledger(account, self)

    def __repr__(self) -> str:
        return f"<CustomerNue {self.customer_id}>"

    @property
    def client(self) -> NueClient:
        return self._client or get_client()

    @property
    def dialect(self) -> Dialect:
        """How this tenant's Nue reads what the guides leave open: the dialect given, else the
        capability record's (orders.capabilities, read at most once a minute per process)."""
        return self._dialect or capabilities.dialect()

    # Reads ---------------------------------------------------------------------------------------

    def orders(
        self,
        status: str | None = None,
        includes: Sequence[str] = (),
        arrangement: Arrangement[Order] | None = None,
        *,
        fresh: bool = False,
    ) -> list[Order]:
        # GET /orders?customerIds=[...]&status=...&includes=...
        # `arrangement` sorts and filters them; done once per answer (ParsedAnswer). `fresh`:
        # asked of Nue again, not answered from this request's memo. The drafts this customer
        # discarded in the portal are left out (discard_draft).
        if fresh:
            self._forget("orders")
        return self._offered(self._order_list(status, includes, arrangement))

    def order(
        self,
        order_id: str,
        *,
        status: str | None = None,
        includes: Sequence[str] = ("orderProducts",),
        fresh: bool = False,
    ) -> Order:
        # GET /orders?customerIds=[...]&status=...&includes=..., and this id among them.
        # Nue documents no read of one order (nue-api.md §2.1, §5.5): the customer's list is read,
        # narrowed by `status` when the caller knows what the order should be (a draft to
        # activate) and by `includes` to what the page shows. A list this request already read
        # that holds at least that answers without a call. An order not among `status`'s is
        # looked for among all of them (same includes): the caller learns what it is now (a
        # draft activated by an earlier click), at a wider read only on that rare path.
        _check_id(order_id, ORDER_ID)
        if fresh:
            self._forget("orders")
        if status is not None and self._status_query(record_status(status)) is None:
            status = None  # Nue is sent no filter for it: all of them, in one read
        found = self._find_order(order_id, status, includes)
        if found is None and status is not None:
            found = self._find_order(order_id, None, includes)
        if found is None:
            unreadable = next(iter(self.omitted("orders")), None)
            if unreadable is not None and order_id in unreadable.keys:
                # Nue has it, in a form the portal cannot read: a failure, not a missing page.
                raise NueProtocolError(
                    f"Nue sent order {order_id} in a form the portal cannot read.",
                    reference=unreadable.reference,
                )
        if found is None or not self._offered([found]):
            raise NueNotFound("No such order.")
        return found

    def _status_query(self, wanted: str) -> str | None:
        """The `status` filter sent to Nue for a record status, None for none: activated orders
        are asked for by the spelling nue_check settled for this tenant, until then unfiltered
        and kept by their own status (orders.nue.fields.ORDER_STATUS_QUERY)."""
        if wanted == "Activated":
            return self.dialect.activated_filter
        return ORDER_STATUS_QUERY.get(wanted)

    def _order_list(
        self,
        status: str | None,
        includes: Sequence[str],
        arrangement: Arrangement[Order] | None = None,
    ) -> list[Order]:
        """The customer's orders as Nue lists them (discarded drafts too), memoised. `status`
        keeps the orders whose own status it names, whatever Nue's filter did."""
        unknown = set(includes) - ORDER_INCLUDES
        if unknown:
            raise ValueError(f"Unknown order includes {sorted(unknown)}.")
        params = self._scope_params()
        wanted = None
        if status is not None:
            wanted = record_status(status)
            query = self._status_query(wanted)
            if query:
                params["status"] = query
            arrangement = of_status(wanted, arrangement)
        if includes:
            params["includes"] = ",".join(sorted(includes))
        arranged = arrangement.key if arrangement is not None else None
        key = ("orders", wanted, params.get("includes"), arranged)
        return self._memoised(
            key, lambda: self._list("/orders", params, Order.parse, "orders", arrangement)
        )

    def _find_order(
        self, order_id: str, status: str | None, includes: Sequence[str]
    ) -> Order | None:
        """`order_id` among this customer's orders of `status`, read with at least `includes`:
        from a list this request already read that covers them, else from a new read."""
        wanted = record_status(status) if status is not None else None
        with self._memo_lock:
            lists = [(key, value) for key, value in self._memo.items() if key[0] == "orders"]
        for (_kind, listed_status, listed_includes, arranged), listed in lists:
            held = set(str(listed_includes or "").split(",")) - {""}
            # A list arranged beyond its status may have left the order out; a list without an
            # include lacks it.
            only_status = None if listed_status is None else of_status(str(listed_status), None).key
            if arranged != only_status or not set(includes) <= held:
                continue
            if listed_status not in (None, wanted):
                continue
            # It covers every order `status` allows: where it has no such order, there is none.
            return with_id(order_id, cast("list[Order]", listed))
        return with_id(order_id, self._order_list(status, includes))

    def subscriptions(self) -> list[Subscription]:
        # GET /subscriptions?customerIds=[...]
        params = self._scope_params()
        return self._memoised(
            ("subscriptions",),
            lambda: self._list("/subscriptions", params, Subscription.parse, "subscriptions"),
        )

    def subscription(self, name: str) -> Subscription:
        # GET /subscriptions?customerIds=[...], then the current (highest) version of this name.
        _check_id(name, SUBSCRIPTION_NAME)
        found = [s for s in self.subscriptions() if s.name == name]
        if not found:
            unreadable = next(iter(self.omitted("subscriptions")), None)
            if unreadable is not None and name in unreadable.keys:
                # Nue has it, in a form the portal cannot read: a failure, not a missing page.
                raise NueProtocolError(
                    f"Nue sent subscription {name} in a form the portal cannot read.",
                    reference=unreadable.reference,
                )
            raise NueNotFound("No such subscription.")
        return max(found, key=lambda s: s.version)

    def assets(self) -> list[Asset]:
        # GET /assets?customerIds=[...]
        params = self._scope_params()
        return self._memoised(
            ("assets",), lambda: self._list("/assets", params, Asset.parse, "assets")
        )

    def invoices(
        self,
        page: int = 1,
        limit: int = 25,
        status: str | None = None,
        includes: Sequence[str] = (),
    ) -> Page[Invoice]:
        # GET /customers/{customerId}/invoices?page=...&limit=...&status=...&includes=...
        if page < 1 or not 1 <= limit <= MAX_INVOICE_PAGE:
            raise ValueError("page must be >= 1 and limit between 1 and 500.")
        params: dict[str, str | int] = {"page": page, "limit": limit}
        if status is not None:
            params["status"] = status
        params.update(_invoice_includes(includes))
        path = f"/customers/{self._cid()}/invoices"

        def load() -> Page[Invoice]:
            envelope = self.client.get(path, params)
            listed = readable(
                parse_each(
                    _list_data(envelope, "invoices"),
                    Invoice.parse_issued,
                    "invoices",
                    envelope.request_id,
                )
            )
            items = self._own(listed, "invoices")
            total = envelope.total if envelope.total is not None else len(items)
            return Page(items=items, page=page, limit=limit, total=total)

        return self._memoised(("invoices", page, limit, status, tuple(sorted(includes))), load)

    def every_invoice(self, includes: Sequence[str] = ()) -> list[Invoice]:
        # GET /customers/{customerId}/invoices, page after page of the largest size Nue allows:
        # Nue documents no sort and no search on the customer's list (nue-api.md §2.8), so a
        # sorted or searched list needs all of them.
        found: list[Invoice] = []
        page = 1
        while True:
            listed = self.invoices(page=page, limit=MAX_INVOICE_PAGE, includes=includes)
            found.extend(listed.items)
            if not listed.has_next or not listed.items:
                return found
            page += 1

    def invoice(self, invoice_id: str, includes: Sequence[str] = ()) -> Invoice:
        # GET /customers/{customerId}/invoices/{invoiceId}?includes=...
        _check_id(invoice_id, INVOICE_ID)
        envelope = self.client.get(
            f"/customers/{self._cid()}/invoices/{invoice_id}", _invoice_includes(includes)
        )
        invoice = Invoice.parse_issued(envelope.data)
        if invoice.customer_id != self.customer_id:
            self._alert("invoice", 1)
            raise NueNotFound("No such invoice.")
        return invoice

    def catalog(self) -> list[Product]:
        # GET /customers/{customerId}/products (entries filtered to those this customer may buy)
        return self._cached_list(
            "catalog", f"/customers/{self._cid()}/products", Product.parse, "products"
        )

    def price_tags(self) -> list[PriceTag]:
        # GET /catalog/price-tags
        return self._cached_list("price-tags", "/catalog/price-tags", PriceTag.parse, "price tags")

    def product_relationships(self, subscription_names: Sequence[str]) -> list[ProductRelationship]:
        # GET /subscriptions/product-relationships?subscriptionNames=[...]
        names = sorted({_check_id(n, SUBSCRIPTION_NAME) for n in subscription_names})
        if not names:
            return []
        own = {s.name for s in self.subscriptions()}
        if not set(names) <= own:
            raise NueNotFound("No such subscription.")
        return self._cached(
            "relationships:" + ",".join(names),
            lambda: _list_data(
                self.client.get(
                    "/subscriptions/product-relationships",
                    {"subscriptionNames": _json_list_param(names)},
                ),
                "product relationships",
            ),
            lambda raw: _parse_relationships(raw, self.customer_id),
        )

    def preview(
        self, lines: Sequence[LineRequest], *, effective_date: date | None = None
    ) -> InvoicePreview:
        # POST /orders/invoice-preview with orderProducts (nothing is persisted in Nue)
        body: dict[str, Any] = {
            "customer": {"id": self._cid()},
            "orderProducts": [line.to_nue(self.dialect) for line in lines],
        }
        if effective_date is not None:
            body["effectiveDate"] = effective_date
        envelope = self.client.post("/orders/invoice-preview", body, field_renames=DRAFT_FIELDS)
        return self._preview(envelope)

    def preview_change(
        self,
        subscription_name: str,
        changes: Sequence[AssetChange],
        *,
        lines: Sequence[LineRequest] = (),
    ) -> InvoicePreview:
        # POST /orders/invoice-preview with assetChanges (and cross-sell products)
        self.subscription(subscription_name)
        body: dict[str, Any] = {
            "customer": {"id": self._cid()},
            "assetChanges": [c.to_nue(subscription_name, self.dialect) for c in changes],
        }
        if lines:
            body["products"] = [line.to_nue(self.dialect) for line in lines]
        envelope = self.client.post("/orders/invoice-preview", body, field_renames=CHANGE_FIELDS)
        return self._preview(envelope)

    def customer(self) -> Customer:
        # GET /customers?customerIds=[...]&includes=contacts (nue-api.md §2.6): the customer's
        # addresses and its contacts in one read.
        # A contact that does not parse is left out and said so (omitted), not the page lost.
        def load() -> Customer:
            params = {**self._scope_params(), "includes": "contacts"}
            envelope = self.client.get("/customers", params)
            found = [_obj(raw, "customer") for raw in _list_data(envelope, "customers")]
            mine = [d for d in found if d.get("id") == self.customer_id]
            if len(mine) != len(found):
                self._alert("customers", len(found) - len(mine))
            if not mine:
                raise NueProtocolError("Nue did not send the customer the portal asked for.")
            raw_contacts = _objs(mine[0], "contacts", "customer")
            customer = Customer.parse({**mine[0], "contacts": []})
            listed = parse_each(raw_contacts, Contact.parse, "contacts", envelope.request_id)
            return customer._replace(contacts=self._own(listed, "contacts"))

        return self._memoised(("customer",), load)

    def magic_link(self, order_id: str, template_id: str | None = None) -> MagicLink:
        # GET /orders/magiclink/order/{orderId}[/template/{templateId}] (bare {"magicLink": url})
        # The order is this customer's draft first (nue-api.md §2.3: links are for drafts).
        order = self.order(order_id, status="draft", includes=())
        path = f"/orders/magiclink/order/{order.id}"
        if template_id is not None:
            path += f"/template/{_check_id(template_id, TEMPLATE_ID)}"
        envelope = self.client.get(path, bare=True)
        data = envelope.data
        url = data.get("magicLink") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise NueProtocolError("Nue sent a magic link that is not a URL.")
        return MagicLink(order_id=order.id, url=url)

    # Writes --------------------------------------------------------------------------------------

    def create_draft(
        self,
        lines: Sequence[LineRequest],
        *,
        effective_date: date,
        name: str | None = None,
        description: str | None = None,
        bill_to_contact_id: str | None = None,
        ship_to_contact_id: str | None = None,
        preview_invoice: bool = True,
        po_number: str | None = None,
        po_date: date | None = None,
    ) -> DraftResult:
        # POST /orders (a Draft: priced, no financial impact, so no ledger is needed)
        # Always taxed, as every change order is (see `change`): a draft's total is what is billed.
        body: dict[str, Any] = {
            "customer": {"id": self._cid()},
            "effectiveDate": effective_date,
            "orderProducts": [line.to_nue(self.dialect) for line in lines],
            "options": {"previewInvoice": preview_invoice, "calculateTax": True},
        }
        if name:
            body["name"] = name
        if description:
            body["description"] = description
        # The create-draft guide's "comprehensive configuration" sample sends the bill-to as
        # {id} and the ship-to as the bare id. Either is one of this customer's contacts.
        if bill_to_contact_id is not None:
            body["billToContact"] = {"id": self._own_contact(bill_to_contact_id)}
        if ship_to_contact_id is not None:
            body["shipToContact"] = self._own_contact(ship_to_contact_id)
        if po_number:  # nue-api.md §2.1a: orders carry poNumber and poDate
            body["poNumber"] = po_number
        if po_date is not None:
            body["poDate"] = po_date
        try:
            envelope = self.client.post("/orders", body, field_renames=DRAFT_FIELDS)
            data = _obj(envelope.data, "draft order")
            order = self._own_one(Order.parse(data.get("order")), "order")
        except (NueUnavailable, NueProtocolError) as error:
            # The request reached Nue and its answer was lost or unreadable: the draft may exist
            # (issue 23), and the orders list, read again, shows it.
            if not (isinstance(error, NueUnavailable) and error.never_sent):
                error.draft_may_exist = True
                self._forget("orders")
            raise
        self._forget("orders")
        invoices = _preview_invoices(data, "draft order", envelope.request_id, order.currency)
        self._note(Omitted.of(invoices))
        return DraftResult(order=order, preview_invoices=invoices.items, warnings=envelope.warnings)

    def add_contact(self, contact: ContactRequest) -> Contact:
        # POST /customers/{customerId}/contacts (the body is an array, nue-api.md §2.6). Not
        # through the ledger: it moves no money, and a contact sent twice is refused by Nue
        # (the email is unique), never duplicated.
        envelope = self.client.post(f"/customers/{self._cid()}/contacts", [contact.to_nue()])
        self._forget("customer")
        created = [Contact.parse(raw) for raw in _list_data(envelope, "contacts")]
        if len(created) != 1:
            raise NueProtocolError(f"Nue answered one new contact with {len(created)}.")
        return self._own_one(created[0], "contact")

    def pay_invoice(self, payment: PayInvoiceRequest) -> None:
        # POST /billing/invoices:pay (nue-api.md §2.8). Not through the ledger: the caller holds
        # the payment's own record (orders.models.InvoicePayment), which sends it once and
        # settles an unknown outcome by reading the invoice back.
        _check_id(payment.invoice_id, INVOICE_ID)
        self.client.post("/billing/invoices:pay", payment.to_nue(self._cid()))
        self._forget("invoices")

    def discard_draft(self, order_id: str, *, by: User, via: User | None = None) -> Order:
        # No Nue call: Nue documents no way to cancel or delete a draft (nue-api.md §2.1, §5.4).
        # The draft stays Draft in Nue and the portal stops offering it (DiscardedDraft); read
        # as GET /orders?customerIds=[...]&status=draft. `via`: the support agent acting as `by`.
        order = self.order(order_id, status="draft", includes=())
        if not order.is_draft:
            raise NueConflict(
                _("Order %(number)s is no longer a draft.") % {"number": order.order_number}
            )
        if self.ledger.in_progress(order.id):
            raise OperationInProgress(_("This draft is being activated. Reload in a moment."))
        DiscardedDraft.objects.get_or_create(
            order_id=order.id,
            defaults={
                "customer": self.account,
                "order_number": order.order_number,
                "discarded_by": by,
                "discarded_via": via,
            },
        )
        self._forget("discarded")
        return order

    def activate(
        self,
        order_id: str,
        *,
        actor: User,
        on_behalf_of: User | None = None,
        po_number: str | None = None,
        po_date: date | None = None,
        generate_invoice: bool = True,
        activate_invoice: bool = True,
        payment: Mapping[str, Any] | None = None,
        audit: Sequence[Mapping[str, Any]] = (),
    ) -> ActivationResult:
        # POST /orders/{draftOrderId} — through the operation ledger: never sent twice.
        # `audit`: the events (portal.audit.pending) the ledger writes once Nue shows the order
        # activated, whether the answer says so, a retry reads it, or reconcile_operations does.
        # The draft as this request read it (the ledger, not a second read, keeps it from being
        # sent twice).
        order = self.order(order_id, status="draft")
        body: dict[str, Any] = {
            "options": {"generateInvoice": generate_invoice, "activateInvoice": activate_invoice}
        }
        if po_number:
            body["poNumber"] = po_number
        if po_date is not None:
            body["poDate"] = po_date
        # How it is paid (orders.actions.cards.activation_terms): transactionHub and
        # paymentMethodObject, which activation accepts (nue-api.md §2.1).
        body.update(payment or {})
        op, replay = self.ledger.open_activation(
            order.id, body, actor, on_behalf_of, audit=audit, amount=order.total
        )
        if replay is not None:
            return scope_results.activation_result(self, replay, order, replayed=True)
        if not order.is_draft:
            self.ledger.refuse(op, "The order is not a draft.")
            raise NueConflict(_("This order is no longer a draft."))
        data = self.ledger.send(
            op, lambda: self.client.post(f"/orders/{order.id}", body, field_renames=ACTIVATE_FIELDS)
        )
        self.invalidate_cache()
        op.result = data
        return scope_results.activation_result(self, op, order, replayed=False)

    def change(
        self,
        items: Sequence[tuple[str, Sequence[AssetChange]]],
        *,
        actor: User,
        on_behalf_of: User | None = None,
        lines: Sequence[LineRequest] = (),
        preview_invoice: bool = True,
    ) -> ChangeOrderResult:
        # POST /change-orders — ONE draft change order whose assetChanges[] change one or more
        # subscriptions (each names its own), through the operation ledger.
        # Tax is always asked for, as for a new order: Nue taxes a change order only when
        # options.calculateTax is set (nue-api.md §4), and every change the portal makes (wizard,
        # basket, trial conversion, renewal) is billed with tax like the new order it mirrors.
        if not items:
            raise ValueError("A change order needs at least one subscription's changes.")
        # Every subscription is read (and checked to be this customer's) before anything is sent.
        befores = [self.subscription(name) for name, _changes in items]
        body: dict[str, Any] = {
            "assetChanges": [
                c.to_nue(before.name, self.dialect)
                for before, (_name, changes) in zip(befores, items, strict=True)
                for c in changes
            ],
            "options": {"previewInvoice": preview_invoice, "calculateTax": True},
        }
        if lines:
            body["products"] = [line.to_nue(self.dialect) for line in lines]
        versions = {before.name: before.version for before in befores}
        op, replay = self.ledger.open_change(versions, body, actor, on_behalf_of)
        if replay is None:
            op.result = self.ledger.send(
                op,
                lambda: _with_warnings(
                    self.client.post("/change-orders", body, field_renames=CHANGE_FIELDS)
                ),
            )
            self._forget("orders")
        else:
            op = replay
        return scope_results.change_result(self, op, befores, replayed=replay is not None)

    def _offered(self, orders: list[Order]) -> list[Order]:
        """`orders` without the drafts this customer discarded in the portal, for as long as Nue
        shows them as drafts: one activated in Nue after all (by the vendor) is shown again."""
        discarded = self._discarded() if any(o.is_draft for o in orders) else frozenset()
        if not discarded:
            return orders
        return [o for o in orders if not (o.is_draft and o.id in discarded)]

    def _discarded(self) -> frozenset[str]:
        if self.account.pk is None:  # an account not saved has discarded nothing
            return frozenset()
        return self._memoised(
            ("discarded",),
            lambda: frozenset(
                DiscardedDraft.objects.filter(customer_id=self.account.pk).values_list(
                    "order_id", flat=True
                )
            ),
        )

    # Scope checks --------------------------------------------------------------------------------

    def _own_contact(self, contact_id: str) -> str:
        _check_id(contact_id, CATALOG_ID)
        if self.customer().contact(contact_id) is None:
            raise NueNotFound("No such contact.")
        return contact_id

    def _cid(self) -> str:
        return _check_id(self.customer_id, CUSTOMER_ID)

    def _scope_params(self) -> dict[str, str | int]:
        return {"customerIds": _json_list_param([self._cid()])}

    def _list(
        self,
        path: str,
        params: Mapping[str, str | int],
        parse: Callable[[object], _O],
        kind: str,
        arrangement: Arrangement[_O] | None = None,
    ) -> list[_O]:
        # Parsed into a tuple: one parse may serve later requests (NueClient.get_parsed), so no
        # caller may change it. Whose items they are is worked out once per parse, and
        # reported on every request that receives another customer's.
        try:
            answer = self.client.get_parsed(path, params, ListParser(parse, kind))
        except NueNotFound as error:
            # A list is never "not found" for a customer the portal knows: Nue refused the read,
            # which is an upstream failure, not a missing page.
            raise NueProtocolError(
                f"Nue answered 404 to a list of {kind}.", status=404, reference=error.reference
            ) from error
        owned, foreign, omitted = answer.derive(("own", self.customer_id), self._split_own)
        if foreign:
            self._alert(kind, foreign)
        self._note(omitted)
        if arrangement is not None:
            key = ("arranged", self.customer_id, arrangement.key)
            owned = answer.derive(key, lambda _: tuple(arrangement.arrange(owned)))
        return list(owned)

    def _split_own(self, listed: Listed[_O]) -> tuple[tuple[_O, ...], int, Omitted | None]:
        """This customer's records, how many were another's, and what of theirs did not parse.

        A record that did not parse is counted as this customer's unless it names another."""
        kept = tuple(item for item in listed.items if item.customer_id == self.customer_id)
        mine = [u for u in listed.unparsed if u.customer_id in (None, self.customer_id)]
        foreign = len(listed.items) - len(kept) + len(listed.unparsed) - len(mine)
        return kept, foreign, Omitted.of(listed, mine)

    def _own(self, listed: Listed[_O], kind: str) -> tuple[_O, ...]:
        kept, foreign, omitted = self._split_own(listed)
        if foreign:
            self._alert(kind, foreign)
        self._note(omitted)
        return kept

    def _own_one(self, item: _O, kind: str) -> _O:
        if item.customer_id != self.customer_id:
            self._alert(kind, 1)
            raise NueNotFound(f"No such {kind}.")
        return item

    def _alert(self, kind: str, count: int) -> None:
        security_logger.error(
            "Nue returned %d %s of another customer to a call scoped to customer %s; dropped",
            count,
            kind,
            self.customer_id,
        )

    def _preview(self, envelope: Envelope) -> InvoicePreview:
        data = envelope.data
        if isinstance(data, list):
            listed = parse_each(data, Invoice.parse, "preview invoices", envelope.request_id)
        else:
            listed = _preview_invoices(
                _obj(data, "invoice preview"), "invoice preview", envelope.request_id
            )
        for invoice in listed.items:
            if invoice.customer_id not in (None, self.customer_id):
                self._alert("preview invoice", 1)
                raise NueNotFound("No such customer.")
        self._note(Omitted.of(listed))
        return InvoicePreview(invoices=listed.items, warnings=envelope.warnings)


def _with_warnings(envelope: Envelope) -> Envelope:
    """The answer's data with the envelope's warnings in it: the ledger keeps only data, and a
    change order read back from it must still say what Nue warned about (no tax calculated).
    Nue puts warnings at the envelope's top level (nue-api.md §1.4); any the data carries too
    are kept after them."""
    data = envelope.data
    if not envelope.warnings or not isinstance(data, dict):
        return envelope
    extra = [w for w in warning_texts(data.get("warnings")) if w not in envelope.warnings]
    return replace(envelope, data={**data, "warnings": [*envelope.warnings, *extra]})


MAX_INVOICE_PAGE = 500
# The related records nue-api.md §2.8 and §3.5 document on an invoice read.
INVOICE_INCLUDES = frozenset({"assets", "orders", "paymentApplications"})


def _invoice_includes(includes: Sequence[str]) -> dict[str, str | int]:
    unknown = set(includes) - INVOICE_INCLUDES
    if unknown:
        raise ValueError(f"Unknown invoice includes {sorted(unknown)}.")
    return {"includes": ",".join(sorted(includes))} if includes else {}


def _parse_relationships(raw: list[Any], customer_id: str) -> list[ProductRelationship]:
    result: list[ProductRelationship] = []
    for item in raw:
        d = _obj(item, "product relationship")
        owner = _ostr(d, "customerId", "product relationship")
        if owner is not None and owner != customer_id:
            security_logger.error(
                "Nue returned product relationships of another customer's subscription to a "
                "call scoped to customer %s; dropped",
                customer_id,
            )
            continue
        nested = d.get("relationships")
        if isinstance(nested, list):
            name = _str(d, "subscriptionName", "product relationship")
            result.extend(ProductRelationship.parse(r, name) for r in nested)
        else:
            result.append(ProductRelationship.parse(d))
    return result


def for_customer(account: CustomerAccount | None) -> CustomerNue | None:
    """The scope for the acting customer, or None: without one no customer verb is reachable."""
    return CustomerNue(account) if account is not None else None
