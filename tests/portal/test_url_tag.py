"""`{% url %}` remembers its reversals (portal.templatetags.urls) and writes what Django's does."""

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix

from portal.templatetags.urls import remembered_reverse


def render(source: str, **context: object) -> str:
    return engines["django"].from_string(source).render(context)


def test_it_writes_the_url_django_reverses():
    remembered_reverse.cache_clear()
    for order_id in ("ORD-1", "a b&c", "ü"):
        expected = reverse("orders:order_detail", args=[order_id])
        html = render("{% url 'orders:order_detail' order_id %}", order_id=order_id)
        assert html == expected.replace("&", "&amp;")
        assert render("{% url 'orders:order_detail' order_id %}", order_id=order_id) == html
    assert remembered_reverse.cache_info().hits == 3


def test_it_keeps_url_as_a_variable_and_nothing_for_a_missing_name():
    html = render(
        "{% url 'orders:order_detail' 'X' as link %}[{{ link }}]"
        "{% url 'no-such' as none %}[{{ none }}]"
    )
    assert html == f"[{reverse('orders:order_detail', args=['X'])}][]"
    with pytest.raises(NoReverseMatch):
        render("{% url 'no-such' %}")


def test_it_reverses_again_under_another_script_prefix():
    before = render("{% url 'orders:order_detail' 'X' %}")
    with override_settings(FORCE_SCRIPT_NAME="/portal/"):
        set_script_prefix("/portal/")
        try:
            assert render("{% url 'orders:order_detail' 'X' %}") == "/portal" + before
        finally:
            set_script_prefix("/")
    assert render("{% url 'orders:order_detail' 'X' %}") == before
