"""The portal's template engine (portal/jinja2.py): fragments by name, Django's context, and a
loud failure where Django's templates would have called a method for us."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.loader import get_template, render_to_string
from django.test import RequestFactory
from django.urls import NoReverseMatch, set_script_prefix
from django.utils import timezone

from portal.jinja2 import Template, _reverse, url, url_or_none


@pytest.fixture
def page(settings, tmp_path: Path):
    (tmp_path / "page.html").write_text(
        "<h1>{{ title }}</h1>"
        "{% block order_list scoped %}<ul>{% for n in numbers %}<li>{{ n }}</li>{% endfor %}</ul>"
        "{% endblock %}<footer>{{ csrf_input }}</footer>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]},
        *settings.TEMPLATES[1:],
    ]
    return "page.html"


def test_it_renders_a_whole_page_and_one_fragment_of_it_by_element_id(page):
    context = {"title": "Orders", "numbers": [1, 2]}
    assert render_to_string(page, context).startswith("<h1>Orders</h1><ul><li>1</li>")
    # The element's id has hyphens; the block's name has underscores.
    assert render_to_string(f"{page}#order-list", context) == "<ul><li>1</li><li>2</li></ul>"


def test_an_unknown_fragment_is_a_missing_template(page):
    with pytest.raises(TemplateDoesNotExist):
        get_template(f"{page}#no-such-block")


def test_it_gives_the_request_csrf_and_context_processors_and_tells_the_test_client(page):
    request = RequestFactory().get("/")
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    html = render_to_string(page, {"numbers": []}, request=request)
    assert 'name="csrfmiddlewaretoken"' in html
    template = get_template(page)
    assert isinstance(template, Template)
    assert template.name == "page.html"


def test_the_test_client_sees_the_context_of_a_page(client, ada):
    client.force_login(ada)
    response = client.get("/accounts/customer/")
    assert response.status_code == 200
    assert "acting_customer" in response.context
    assert "portal/choose_customer.html" in [t.name for t in response.templates]


def test_printing_a_method_instead_of_calling_it_fails_loudly():
    # Django's templates called `form.field.value` for us; Jinja2 would print the method.
    template = engines["jinja2"].from_string("{{ numbers.copy }}")
    with pytest.raises(TypeError, match=r"call it with \(\)"):
        template.render({"numbers": [1]})
    assert engines["jinja2"].from_string("{{ numbers.copy() }}").render({"numbers": [1]}) == "[1]"


class Line:
    def end_date(self) -> dt.date:
        return dt.date(2027, 2, 2)


@pytest.mark.parametrize(
    "source",
    [
        "{% if line.end_date %}ends{% endif %}",
        "{% with end=line.end_date %}{% if end %}ends{% endif %}{% endwith %}",
        "{% for d in line.end_date %}{% endfor %}",
        "{{ line.end_date|string }}",
    ],
)
def test_testing_or_using_a_method_without_calling_it_fails_loudly(source):
    # Django's templates called it; in Jinja2 `{% if line.end_date %}` would always be true.
    with pytest.raises(TypeError, match=r"without calling it"):
        engines["jinja2"].from_string(source).render({"line": Line()})


def test_a_method_called_in_a_template_works():
    template = engines["jinja2"].from_string(
        "{% if line.end_date() %}{{ line.end_date() }}{% endif %}"
    )
    assert template.render({"line": Line()}) == "Feb. 2, 2027"


def test_missing_values_render_as_nothing_as_in_django_templates():
    template = engines["jinja2"].from_string(
        "[{{ missing }}|{{ order.customer.name }}"
        "|{{ order.customer.get_full_name()|default('x', true) }}]"
    )
    assert template.render({"order": None}) == "[||x]"


def test_the_date_filter_shows_the_current_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    moment = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    template = engines["jinja2"].from_string('{{ moment|date("j M H:i") }}')
    with timezone.override("America/New_York"):
        text = template.render({"moment": moment})
    assert text == "29 Nov 22:00"


def test_text_escapes_and_safe_markup_does_not():
    template = engines["jinja2"].from_string("{{ text }} {{ 5|money }}")
    assert template.render({"text": '<b>"x"</b>'}) == "&lt;b&gt;&#34;x&#34;&lt;/b&gt; $5.00"


def test_url_follows_the_script_prefix_and_the_urlconf_it_is_asked_under(settings):
    detail = "/orders/0d8f7e4c-2a51-4c1e-9b7e-6f3a2d1c0b9a/"
    assert url("orders:order_detail", detail.split("/")[2]) == detail
    set_script_prefix("/portal/")
    try:
        assert url("orders:order_detail", detail.split("/")[2]) == "/portal" + detail
    finally:
        set_script_prefix("/")
    settings.ROOT_URLCONF = "nue_emulator.urls"
    with pytest.raises(NoReverseMatch):
        url("orders:order_detail", detail.split("/")[2])


def test_url_tells_apart_arguments_that_are_equal_but_write_differently():
    assert url("orders:subscription_detail", "SUB-1") == "/subscriptions/SUB-1/"
    assert url("orders:subscription_detail", 1) == "/subscriptions/1/"
    assert url("orders:subscription_detail", True) == "/subscriptions/True/"
    assert url("orders:subscription_detail", Decimal("1.0")) == "/subscriptions/1.0/"


def test_numbers_and_dates_print_as_in_django_templates(settings):
    template = engines["jinja2"].from_string("{{ n }} | {{ d }} | {{ moment }}")
    moment = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    with timezone.override("America/New_York"):
        text = template.render({"n": Decimal("1E+2"), "d": dt.date(2026, 11, 30), "moment": moment})
    assert text == "100 | Nov. 30, 2026 | Nov. 29, 2026, 10 p.m."


def test_a_missing_value_is_none_and_shows_as_a_dash_in_money_and_quantities():
    template = engines["jinja2"].from_string(
        "{% if change.after.total is not none %}shown{% endif %}"
        "[{{ change.after.total|money }}|{{ change.after.quantity|quantity }}]"
    )
    assert template.render({"change": {"after": None}}) == "[—|—]"


def test_url_or_none_is_none_where_no_url_can_hold_the_name():
    assert url_or_none("orders:subscription_detail", "SUB-1") == "/subscriptions/SUB-1/"
    assert url_or_none("orders:subscription_detail", "A/B") is None
    assert url_or_none("orders:subscription_detail", "") is None


def test_links_with_a_token_are_not_remembered():
    before = _reverse.cache_info()
    link = url("password_reset_confirm", uidb64="MQ", token="set-password")
    assert link == "/accounts/reset/MQ/set-password/"
    assert _reverse.cache_info() == before


def test_a_syntax_error_in_an_included_template_is_djangos_with_where_it_is(settings, tmp_path):
    (tmp_path / "outer.html").write_text('{% include "broken.html" %}')
    (tmp_path / "broken.html").write_text("{% if %}")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path]},
        *settings.TEMPLATES[1:],
    ]
    with pytest.raises(TemplateSyntaxError) as raised:
        render_to_string("outer.html")
    assert raised.value.template_debug["name"].endswith("broken.html")
