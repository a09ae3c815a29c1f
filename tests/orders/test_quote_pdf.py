"""The quote as a real PDF (WeasyPrint): rendered to pixels (pypdfium2) it is not blank and
carries the tenant's colour; its text has the total with thousands separators, the tenant's
name and the customer's."""

from __future__ import annotations

import os

import pytest
from django.test import Client

from orders.templatetags.money import money
from tests.orders.approval_helpers import big_draft
from tests.orders.quote_helpers import accept, made_by_manager, pdf_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pango() -> None:
    """WeasyPrint needs Pango (scripts/ensure-pango.sh installs it in CI)."""
    try:
        import weasyprint  # noqa: F401
    except OSError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Pango for the quote PDF: {error}")
        pytest.skip(
            f"Pango is not installed (apt-get install libpango-1.0-0 libpangoft2-1.0-0): {error}"
        )


def _pdf(response):
    import pypdfium2 as pdfium

    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return pdfium.PdfDocument(response.content)


def _text(document) -> str:
    """The PDF's text with its line breaks as spaces (a sentence may wrap anywhere)."""
    return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in document)


def _pixels(document) -> list[tuple[int, int, int]]:
    """The first page's pixels as (r, g, b), rendered at 72 dpi."""
    bitmap = document[0].render(scale=1)
    assert bitmap.mode == "BGR"
    data = bytes(bitmap.buffer)
    width, height, stride = bitmap.width, bitmap.height, bitmap.stride
    return [
        (data[row + 3 * x + 2], data[row + 3 * x + 1], data[row + 3 * x])
        for row in range(0, height * stride, stride)
        for x in range(width)
    ]


def _artifact(document, name: str) -> None:
    """The first page as a PNG in test-artifacts/, for people to look at."""
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    document[0].render(scale=2).to_pil().save(ARTIFACTS / f"{name}.png")


def _near(pixel: tuple[int, int, int], colour: str, within: int = 24) -> bool:
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= within for a, b in zip(pixel, wanted, strict=True))


def test_it_downloads_the_quote_as_a_pdf_with_its_total_and_branding(maria, settings):
    settings.PORTAL_BRAND_NAME = "Nue Demo Inc."
    order = big_draft()
    link = made_by_manager(maria, order)

    response = Client().get(pdf_url(link))

    document = _pdf(response)
    assert (
        response["Content-Disposition"] == f'attachment; filename="quote-{order.order_number}.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    text = _text(document)
    total = money(order.total, order.currency)
    assert "," in total  # the demo's largest draft is in the thousands
    assert total in text
    assert "Nue Demo Inc." in text
    assert "Acme Corporation" in text
    assert f"Quote {order.order_number}" in text
    assert "By accepting this quote" in text
    for line in order.all_lines():
        assert line.product_name in text
    pixels = _pixels(document)
    inked = sum(1 for p in pixels if min(p) < 200)
    assert inked > len(pixels) // 200, "the page is blank"
    # The header's rule and headings are in the tenant's colour.
    assert sum(1 for p in pixels if _near(p, settings.PORTAL_BRAND_COLOR)) > 200
    link.refresh_from_db()
    assert link.view_count == 1


def test_it_draws_the_quote_in_the_tenants_colour(maria, settings):
    settings.PORTAL_BRAND_COLOR = "#c0392b"
    link = made_by_manager(maria)

    pixels = _pixels(_pdf(Client().get(pdf_url(link))))

    assert sum(1 for p in pixels if _near(p, "#c0392b")) > 200


def test_the_pdf_of_an_accepted_quote_says_who_accepted_it(maria):
    link = made_by_manager(maria)
    accept(link)

    document = _pdf(Client().get(pdf_url(link)))
    _artifact(document, "quote-accepted")
    text = _text(document)

    assert "Accepted by Jane Doe (Chief Financial Officer)" in text
    assert "PO number PO-4711" in text
    assert "The order is placed." in text
