"""The demo tenant's past: orders, subscriptions and invoices over the last 14 months.

Built through the same actions the API uses (draft, activate, change), dated relative to the day
of seeding, so dashboards and charts have real data and every number is priced by the engine.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from nue_emulator import actions
from nue_emulator.actions.common import as_date, new_id
from nue_emulator.catalog import Catalog, currency_of
from nue_emulator.models import (
    Contact,
    Customer,
    Invoice,
    Order,
    Sequence,
    Subscription,
    order_header,
)
from nue_emulator.seed import demo_uuid

BULK_BATCH = 2000


class History:
    def __init__(self, today: date) -> None:
        self.today = today
        catalog = Catalog.load()
        # Each product's entry by currency: a customer buys in its own (catalog.eligible).
        self.entries = {
            (sku, currency_of(pbe)): pbe["id"]
            for sku, product in catalog.by_sku.items()
            for pbe in product["priceBookEntries"]
        }
        self.pbe = {sku: pbe for (sku, currency), pbe in self.entries.items() if currency == "USD"}

    def ago(self, days: int) -> date:
        return self.today - timedelta(days=days)

    def draft(
        self,
        customer: Customer,
        on: date,
        products: list[dict[str, Any]],
        name: str,
        *,
        by_account_manager: bool = False,
        **extra: Any,
    ) -> str:
        """A draft as the portal makes it, or (`by_account_manager`) as the account manager
        enters it in Nue: self-service new orders sell subscriptions only (new-orders.txt), so
        one-time products (onboarding, hardware keys) come to the history that way."""
        body = {
            "customer": {"id": customer.id},
            "effectiveDate": on.isoformat(),
            "name": name,
            "orderProducts": products,
            **extra,
        }
        priced = actions.create_draft(body, today=on, by_account_manager=by_account_manager)
        backdate(priced.order["id"], on)
        return str(priced.order["id"])

    def line(
        self,
        sku: str,
        quantity: int,
        start: date,
        term: int | None = 12,
        *,
        currency: str = "USD",
        **extra: Any,
    ) -> dict[str, Any]:
        line: dict[str, Any] = {
            "priceBookEntryId": self.entries[sku, currency],
            "quantity": quantity,
            "subscriptionStartDate": start.isoformat(),
            **extra,
        }
        if term is not None:
            line["subscriptionTerm"] = term
        return line

    def activate(self, order_id: str, on: date, *, bill_until: date | None = None) -> None:
        """Activate on a past day, then invoice every billing period up to `bill_until`."""
        actions.activate(order_id, {"poNumber": f"PO-{on:%Y%m%d}"}, today=on)
        order = Order.objects.get(id=order_id)
        actions.generate_invoices(order, order.doc, bill_until or on, active=True)

    def change(self, on: date, changes: list[dict[str, Any]], *, activate: bool) -> str:
        # Taxed as the portal drafts every change order (options.calculateTax, nue-api.md §4).
        body = {"assetChanges": changes, "options": {"calculateTax": True}}
        priced = actions.create_change_order(body, today=on)
        order_id = str(priced.order["id"])
        backdate(order_id, on)
        if activate:
            self.activate(order_id, on, bill_until=self.today)
        return order_id

    def discard(self, order_id: str) -> None:
        actions.discard(order_id)


def backdate(order_id: str, on: date) -> None:
    moment = timezone.make_aware(datetime.combine(on, time(10, 0)))
    stamp = f"{on.isoformat()}T10:00:00Z"
    order = Order.objects.get(id=order_id)
    order.created = moment
    order.doc = {**order.doc, "createdDate": stamp, "lastModifiedDate": stamp}
    order.save(update_fields=["created", "doc"])


def settle_invoices(
    customer: Customer, today: date, overdue: int = 0, orders: Collection[str] = ()
) -> None:
    """Invoices due before today are paid, except the `overdue` most recent of them; only those
    of `orders` when it names some."""
    past_due = []
    invoices = Invoice.objects.filter(customer=customer)
    if orders:
        invoices = invoices.filter(order_id__in=orders)
    for invoice in invoices.order_by("-invoice_date", "-number"):
        due = as_date(invoice.doc["dueDate"])
        if due >= today:
            continue
        past_due.append(invoice)
    for invoice in past_due[overdue:]:
        invoice.doc = {
            **invoice.doc,
            "status": "Active",
            "paymentStatus": "Paid",
            "balance": 0,
            "paidAmount": invoice.doc["amount"],
        }
        invoice.save(update_fields=["doc"])


def seed_history(customers: dict[str, Customer], today: date | None = None) -> bool:
    """Create the demo history once; returns False when it already exists."""
    acme = customers["acme"]
    if Order.objects.filter(customer=acme).exists():
        return False
    h = History(today or timezone.localdate())
    globex, initech = customers["globex"], customers["initech"]
    ada = Contact.objects.get(email="ada@acme.example")

    # Acme: Pro seats bought 10 months ago (3 seats, +2 four months later = 5), onboarding.
    start = h.ago(300)
    first = h.draft(
        acme,
        start,
        [
            h.line("PLAN-PRO-US", 3, start, priceTagCodes=["WELCOME10"]),
            h.line("ONBOARDING-FEE", 1, start, term=None),
        ],
        "Pro plan for the platform team",
        by_account_manager=True,
        billToContact={"id": ada.id},
        options={"calculateTax": True},
    )
    h.activate(first, start, bill_until=h.today)
    pro = Subscription.objects.get(order_id=first).name
    h.change(
        h.ago(180),
        [
            {
                "changeType": "UpdateQuantity",
                "assetNumber": pro,
                "quantity": 2,
                "startDate": h.ago(180).isoformat(),
            }
        ],
        activate=True,
    )

    # Acme: the Platform Suite bundle, billed annually, with premium support.
    start = h.ago(150)
    bundle = h.draft(
        acme,
        start,
        [
            h.line(
                "PLATFORM-SUITE",
                1,
                start,
                addOns=[
                    {"productOptionId": "opt-admin-seats", "productOptionQuantity": 3},
                    {"productOptionId": "opt-premium-support"},
                ],
            )
        ],
        "Platform Suite",
    )
    h.activate(bundle, start)

    # Acme: a free trial of Insights that started ten days ago.
    trial = h.draft(
        acme,
        h.ago(10),
        [h.line("INSIGHTS", 5, h.ago(10), term=None, isFreeTrial=True)],
        "Insights trial",
    )
    h.activate(trial, h.ago(10))

    # Acme: hardware keys bought most months, so the spend chart has a history.
    for months_ago in range(14, 0, -1):
        on = h.ago(months_ago * 30 + 5)
        order_id = h.draft(
            acme,
            on,
            [h.line("SECURITY-KEY", months_ago % 4 + 1, on, term=None)],
            f"Security keys, batch {15 - months_ago}",
            by_account_manager=True,
        )
        h.activate(order_id, on)

    # Acme: open drafts (quotes under discussion, priced for a start `starts` days from today;
    # the contractors' one was priced for a day that has passed, so it must be re-priced) and
    # abandoned ones. Drafts are self-service, so subscriptions only.
    for days, starts, sku, quantity, name in (
        (40, 14, "PLAN-ENTERPRISE-US", 5, "Enterprise plan quote"),
        (21, 10, "INSIGHTS", 10, "Insights for the analytics team"),
        (12, -5, "PLAN-STARTER-US", 8, "Starter seats for contractors"),
        (6, 1, "PLAN-PRO-US", 3, "Pro seats for the new office"),
        (2, 5, "PLAN-STARTER-US", 2, "Starter seats for interns"),
    ):
        on = h.ago(days)
        h.draft(acme, on, [h.line(sku, quantity, h.ago(-starts))], name)
    for days in (320, 260, 200, 95, 33):
        on = h.ago(days)
        h.discard(h.draft(acme, on, [h.line("PLAN-STARTER-US", 2, on)], "Abandoned cart"))
    h.change(
        h.ago(3),
        [
            {
                "changeType": "Upgrade",
                "assetNumber": pro,
                "targetPriceBookEntryId": h.pbe["PLAN-ENTERPRISE-US"],
                "startDate": h.today.isoformat(),
            }
        ],
        activate=False,
    )
    settle_invoices(acme, h.today, overdue=1)

    # Globex, billed in EUR: Pro seats in the EU billed quarterly, an expired Starter plan, keys.
    start = h.ago(200)
    pro_eu = h.draft(
        globex,
        start,
        [h.line("PLAN-PRO-EU", 10, start, currency="EUR", billingPeriod=None)],
        "Pro plan (EU)",
        billingPeriod="Quarterly",
    )
    h.activate(pro_eu, start, bill_until=h.today)
    start = h.ago(520)
    old = h.draft(
        globex, start, [h.line("PLAN-STARTER-EU", 3, start, currency="EUR")], "Starter plan (EU)"
    )
    h.activate(old, start, bill_until=start + timedelta(days=365))
    for months_ago in (11, 7, 4, 1):
        on = h.ago(months_ago * 30)
        order_id = h.draft(
            globex,
            on,
            [h.line("SECURITY-KEY", 2, on, term=None, currency="EUR")],
            "Security keys",
            by_account_manager=True,
        )
        h.activate(order_id, on)
    h.draft(
        globex,
        h.ago(5),
        [h.line("PLAN-ENTERPRISE-EU", 10, h.ago(-10), currency="EUR")],
        "Enterprise (EU) proposal",
    )
    settle_invoices(globex, h.today)

    # Initech: no shipping address, so a taxed draft carries the warning.
    h.draft(
        initech,
        h.ago(1),
        [h.line("PLAN-STARTER-US", 4, h.today)],
        "Starter plan",
        options={"calculateTax": True},
    )

    # Acme: Starter seats for contractors, whose cancellation at the end of the term was
    # scheduled three weeks ago: active until that day, then canceled (a change order with a
    # future cancellationDate, nue-api.md §2.2). Seeded last so that every subscription and
    # order number before it stays as it was.
    start = h.ago(250)
    starter = h.draft(
        acme,
        start,
        [h.line("PLAN-STARTER-US", 4, start)],
        "Starter plan for the support contractors",
    )
    h.activate(starter, start, bill_until=h.today)
    contractors = Subscription.objects.get(order_id=starter)
    cancel = h.change(
        h.ago(21),
        [
            {
                "changeType": "Cancel",
                "assetNumber": contractors.name,
                "cancellationDate": as_date(contractors.doc["subscriptionEndDate"]).isoformat(),
            }
        ],
        activate=True,
    )
    settle_invoices(acme, h.today, orders=(starter, cancel))
    return True


def seed_bulk(name: str, count: int, today: date | None = None) -> int:
    """A customer with `count` orders, written with bulk_create; returns how many were added."""
    today = today or timezone.localdate()
    customer_id = demo_uuid(f"customer:bulk:{name}")
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        template = Customer.objects.get(id=demo_uuid("customer:acme")).doc
        doc = {
            **template,
            "id": customer_id,
            "name": name,
            "accountNumber": "ACC-BULK",
            "email": "ap@bulk.example",
            "externalId": None,
        }
        customer = Customer.objects.create(id=customer_id, name=name, doc=doc)
    missing = count - Order.objects.filter(customer=customer).count()
    if missing <= 0:
        return 0
    pbe = History(today).pbe["PLAN-STARTER-US"]
    priced = actions.price_new_order(
        {
            "customer": {"id": customer.id},
            "effectiveDate": today.isoformat(),
            "orderProducts": [
                {
                    "priceBookEntryId": pbe,
                    "quantity": 3,
                    "subscriptionStartDate": today.isoformat(),
                    "subscriptionTerm": 12,
                }
            ],
        },
        persist=False,
    )
    first = Sequence.take("order", missing)
    statuses = ("Activated", "Activated", "Draft", "Canceled")
    batch: list[Order] = []
    for offset in range(missing):
        on = today - timedelta(days=offset % 730)
        doc = copy.deepcopy(priced.order)
        order_id = new_id()
        number = f"O-{first + offset:08d}"
        status = statuses[offset % len(statuses)]
        stamp = f"{on.isoformat()}T09:00:00Z"
        doc.update(
            {
                "id": order_id,
                "orderNumber": number,
                "name": f"Bulk order {number}",
                "status": status,
                "createdDate": stamp,
                "lastModifiedDate": stamp,
                "effectiveDate": on,
                "orderStartDate": on,
            }
        )
        for line in doc["orderProducts"]:
            line["id"] = new_id()
        batch.append(
            Order(
                id=order_id,
                number=number,
                customer=customer,
                status=status,
                created=timezone.make_aware(datetime.combine(on, time(9, 0))),
                doc=doc,
                header=order_header(doc),
                plan={"kind": "new", "newLines": []},
            )
        )
        if len(batch) >= BULK_BATCH:
            Order.objects.bulk_create(batch)
            batch = []
    Order.objects.bulk_create(batch)
    return missing
