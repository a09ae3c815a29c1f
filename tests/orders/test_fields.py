"""Typed input reads the same on the page as it is stored: digits 0-9, no invisible characters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.forms.fields import PlainTextField, WholeNumberField
from tests.orders.purchase_helpers import PRO, create_draft, line


@pytest.mark.parametrize("typed", ["\u0663", "\uff13", "1\u0660", "\u09e8"])
def test_a_whole_number_is_written_with_ascii_digits(typed):
    field = WholeNumberField(min_value=1)
    with pytest.raises(Exception, match="whole number"):
        field.clean(typed)
    assert field.clean(" 3 ") == 3


@pytest.mark.parametrize("typed", ["PO-\u202e4321", "PO\u200b-1", "\u2066PO-1\u2069", "PO-1\x07"])
def test_plain_text_refuses_invisible_and_direction_changing_characters(typed):
    with pytest.raises(Exception, match="invisible"):
        PlainTextField().clean(typed)
    assert PlainTextField().clean("PO-2026/ß-1") == "PO-2026/ß-1"


def test_activation_refuses_a_po_number_with_a_bidi_override(ada_client):
    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    response = ada_client.post(
        reverse("orders:draft_activate", args=[order_id]),
        {"consent": "on", "po_number": "PO-\u202e4321"},
    )
    assert response.status_code == 422
    assert "invisible or direction-changing" in response.content.decode()


def test_a_new_order_refuses_a_quantity_in_other_digits(ada_client):
    data = line("la", PRO, quantity="\uff13")
    response = ada_client.post(reverse("orders:new_order"), {**data, "action": "draft"})
    assert response.status_code == 422
    assert "Enter a whole number" in response.content.decode()


def test_a_quantity_change_refuses_other_digits(ada_client):
    url = reverse("orders:change_details", args=["SUB-00000001", "quantity"])
    response = ada_client.post(url, {"quantity": "\u0668", "when": "today"})
    assert response.status_code == 422
    assert "Enter a whole number" in response.content.decode()
