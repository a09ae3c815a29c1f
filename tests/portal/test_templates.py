"""The portal's templates: Django's template language with django-template-partials, a partial
named after the element it is, rendered alone as "page.html#element-id" for HTMX."""

from __future__ import annotations

import ast
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import TemplateDoesNotExist, engines
from django.template.loader import get_template, render_to_string
from django.test import RequestFactory
from django.utils import timezone

TEMPLATES = Path(settings.BASE_DIR) / "templates"
PARTIALDEF = re.compile(r"\{% partialdef ([\w-]+) inline %\}\s*(<[^>]*>)")


@pytest.fixture
def page(settings, tmp_path: Path):
    (tmp_path / "page.html").write_text(
        "<h1>{{ title }}</h1>"
        '{% partialdef order-list inline %}<ul id="order-list">'
        "{% for n in numbers %}<li>{{ n }}</li>{% endfor %}{% csrf_token %}</ul>"
        "{% endpartialdef %}<footer>{{ acting_customer.name }}</footer>"
    )
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [tmp_path, *engine["DIRS"]]}]
    return "page.html"


def test_it_renders_a_whole_page_and_one_partial_of_it_by_element_id(page):
    context = {"title": "Orders", "numbers": [1, 2]}
    assert render_to_string(page, context).startswith('<h1>Orders</h1><ul id="order-list"><li>1')
    assert render_to_string(f"{page}#order-list", context) == (
        '<ul id="order-list"><li>1</li><li>2</li></ul>'
    )


def test_an_unknown_partial_is_a_missing_template(page):
    with pytest.raises(TemplateDoesNotExist):
        get_template(f"{page}#no-such-element")


def test_a_partial_alone_gets_the_request_csrf_and_the_context_processors(page, ada):
    request = RequestFactory().get("/")
    request.user = ada
    request.customer = ada.memberships.get().account
    html = render_to_string(f"{page}#order-list", {"numbers": []}, request=request)
    assert 'name="csrfmiddlewaretoken"' in html
    whole = render_to_string(page, {"numbers": []}, request=request)
    assert f"<footer>{request.customer.name}</footer>" in whole


def test_the_test_client_sees_the_context_of_a_page(client, ada):
    client.force_login(ada)
    response = client.get("/accounts/customer/")
    assert response.status_code == 200
    assert "acting_customer" in response.context
    assert "portal/choose_customer.html" in [t.name for t in response.templates]


def _partials() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for name, element in PARTIALDEF.findall(path.read_text()):
            found.append((str(path.relative_to(TEMPLATES)), name, element))
    return found


# A refusal takes the place of whichever element the refused request targeted, and its id.
TAKES_THE_TARGETS_ID = {("support/refused.html", "refusal")}


def test_every_swappable_partial_is_named_after_the_id_of_the_element_it_is():
    partials = _partials()
    assert len(partials) >= 15
    for template, name, element in partials:
        if (template, name) in TAKES_THE_TARGETS_ID:
            assert 'id="{{ swap_target }}"' in element
            continue
        assert re.search(rf'\sid="{re.escape(name)}"', element), (template, name, element)


def _rendered_partials() -> set[str]:
    """Every "page.html#element-id" the views name as a constant."""
    names = set()
    for path in [
        *Path(settings.BASE_DIR, "orders").glob("*.py"),
        *Path(settings.BASE_DIR, "portal").glob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text())):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and re.fullmatch(r"[\w/]+\.html#[\w-]+", value):
                names.add(value)
    return names


def test_every_partial_a_view_renders_exists():
    names = _rendered_partials()
    assert "support/search.html#results" in names
    for name in names:
        assert get_template(name) is not None


def test_dates_and_numbers_print_in_the_portals_locale(settings):
    template = engines["django"].from_string("{{ n }} | {{ d }} | {{ moment }}")
    moment = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    with timezone.override("America/New_York"):
        text = template.render({"n": Decimal("1E+2"), "d": dt.date(2026, 11, 30), "moment": moment})
    assert text == "100 | Nov. 30, 2026 | Nov. 29, 2026, 10 p.m."


def test_the_date_filter_shows_the_current_time_zone():
    template = engines["django"].from_string('{{ moment|date:"j M H:i" }}')
    moment = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    with timezone.override("America/New_York"):
        assert template.render({"moment": moment}) == "29 Nov 22:00"


def test_text_escapes_and_safe_markup_does_not():
    template = engines["django"].from_string(
        "{% load money dates %}{{ text }} {{ 5|money:'USD' }} {{ d|day }}"
    )
    html = template.render({"text": '<b>"x"</b>', "d": dt.date(2026, 11, 30)})
    assert html == (
        '&lt;b&gt;&quot;x&quot;&lt;/b&gt; $5.00 <time datetime="2026-11-30">30 Nov 2026</time>'
    )


def test_a_missing_value_shows_as_a_dash_in_money_and_quantities():
    template = engines["django"].from_string(
        "{% load money numbers %}{% if change.after.total is not None %}shown{% endif %}"
        "[{{ change.after.total|money }}|{{ change.after.quantity|quantity }}]"
    )
    assert template.render({"change": {"after": None}}) == "[—|—]"


def test_missing_values_render_as_nothing():
    template = engines["django"].from_string(
        "[{{ missing }}|{{ order.customer.name }}|{{ order.customer.get_full_name|default:'x' }}]"
    )
    assert template.render({"order": None}) == "[||x]"


@pytest.mark.parametrize("name", ["A/B", "", None])
def test_a_link_to_a_name_no_url_can_hold_is_left_out(name):
    # What activation_result.html does with an invoice Nue sent without a usable id.
    template = engines["django"].from_string(
        "{% url 'orders:invoice_detail' name|default:'' as link %}"
        '{% if link %}<a href="{{ link }}">{{ name }}</a>'
        "{% else %}{{ name|default:'Invoice' }}{% endif %}"
    )
    assert "<a " not in template.render({"name": name})
    assert template.render({"name": "INV-1"}) == '<a href="/invoices/INV-1/">INV-1</a>'


def test_htmx_is_loaded_with_the_nonce_and_nothing_else_also_in_debug(settings):
    settings.DEBUG = True
    template = engines["django"].from_string("{% load shell %}{% htmx_script %}")
    src = f"{settings.STATIC_URL}django_htmx/htmx-2.min.js"
    html = template.render({"csp_nonce": "n0nce"})
    assert html == f'<script src="{src}" defer nonce="n0nce"></script>'
