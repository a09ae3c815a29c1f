"""Upstream data is hostile: markup, htmx attributes and template syntax in names, PO numbers and
descriptions render as text on every page that shows them."""

from __future__ import annotations

import pytest

from tests.security.hostile import ESCAPED, LIVE_MARKERS, evaluated_template, poison
from tests.security.inventory import ADA, MARIA, ROUTES, SAM

# The CSV export is not HTML: it has its own test below.
PAGES = [
    r
    for r in ROUTES
    if r.is_get
    and not r.public
    and r.allowed & {ADA, MARIA, SAM}
    and r.name != "orders:order_export"
]
# Pages that show a name, PO number or description of Acme's: the escaped text must be there, so
# the sweep cannot pass by showing nothing.
SHOWS_DATA = {
    "home",
    "orders:order_list",
    "orders:order_detail",
    "orders:subscription_list",
    "orders:subscription_detail",
    "orders:invoice_detail",
    "orders:new_order",
    "orders:change_start",
    "orders:change_details",
    "orders:review",
    "orders:review_request",
    "orders:review_draft",
    "support",
    "orders:support_timeline",
}


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.fixture
def poisoned(acme_ids):
    poison(acme_ids.account)
    return acme_ids


# Committed (a transactional test): pages read some things from worker threads, whose database
# connections see only committed rows. One test walks every page, so the demo is re-seeded once.
@pytest.mark.django_db(transaction=True)
def test_it_shows_hostile_upstream_text_as_text(client_for, poisoned):
    problems = []
    for route in PAGES:
        persona = next(p for p in (ADA, MARIA, SAM) if p in route.allowed)
        headers = {"HX-Request": "true"} if route.htmx_only else {}
        response = client_for(persona).get(route.url(poisoned), headers=headers)
        body = _body(response)
        if response.status_code >= 500:
            problems.append((route.name, response.status_code))
        problems += [(route.name, marker) for marker in LIVE_MARKERS if marker in body]
        if evaluated_template(body):
            problems.append((route.name, "template syntax was evaluated"))
        if route.name in SHOWS_DATA and not any(text in body for text in ESCAPED):
            problems.append((route.name, "does not show the hostile text at all"))
    assert not problems


@pytest.mark.django_db
def test_it_exports_hostile_text_as_inert_csv(client_for, poisoned):
    body = _body(client_for(ADA).get("/orders/export.csv"))
    # Spreadsheet formulas start with = + - @; a name that is markup stays a quoted cell.
    for row in body.splitlines()[1:]:
        assert not row.startswith(("=", "+", "-", "@")), row
    assert '<script>alert(""xss"")</script>' in body
