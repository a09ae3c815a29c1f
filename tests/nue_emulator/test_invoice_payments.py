"""Recording a payment: POST /billing/invoices:pay (nue-api.md §2.8), full or partial, with a
payment application, and refusals in Nue's envelope that change nothing."""

from __future__ import annotations

from tests.nue_emulator.conftest import ACME, GLOBEX, error, ok

PAY = "/billing/invoices:pay"


def _open_invoice(api):
    invoices = ok(api.get(f"/customers/{ACME}/invoices", limit=500))
    return next(i for i in invoices if i["status"] == "Active" and i["balance"] > 0)


def _payment(invoice, amount, **more):
    return {
        "invoiceId": invoice["id"],
        "customerId": invoice["customerId"],
        "transactionAmount": amount,
        "paymentSource": "Nue",
        "paymentMethod": "CreditCard",
        **more,
    }


def _read(api, invoice, **params):
    return ok(api.get(f"/customers/{ACME}/invoices/{invoice['id']}", **params))


def test_it_records_a_partial_then_a_full_payment(api):
    invoice = _open_invoice(api)
    balance = invoice["balance"]
    applied = ok(api.post(PAY, {"payInvoices": [_payment(invoice, 10)]}))
    assert [a["transactionAmount"] for a in applied] == [10]
    after = _read(api, invoice, includes="paymentApplications")
    assert after["balance"] == round(balance - 10, 2)
    assert after["paymentStatus"] == "PartiallyPaid"
    assert [a["transactionAmount"] for a in after["paymentApplications"]] == [10]
    assert "paymentApplications" not in _read(api, invoice)

    ok(api.post(PAY, {"payInvoices": [_payment(invoice, after["balance"])]}))
    paid = _read(api, invoice, includes="paymentApplications")
    assert paid["balance"] == 0
    assert paid["paymentStatus"] == "Paid"
    assert len(paid["paymentApplications"]) == 2


def test_it_refuses_more_than_the_balance_and_changes_nothing(api):
    invoice = _open_invoice(api)
    body = {"payInvoices": [_payment(invoice, 1), _payment(invoice, invoice["balance"])]}
    found = error(api.post(PAY, body), 400, "VALIDATION_ERROR")
    assert found["errors"][0]["field"] == "payInvoices[1].transactionAmount"
    assert _read(api, invoice)["balance"] == invoice["balance"]


def test_it_refuses_a_paid_invoice(api):
    invoice = _open_invoice(api)
    ok(api.post(PAY, {"payInvoices": [_payment(invoice, invoice["balance"])]}))
    found = error(api.post(PAY, {"payInvoices": [_payment(invoice, 1)]}), 400)
    assert "not open for payment" in found["message"]


def test_it_validates_each_field_in_the_envelope(api):
    invoice = _open_invoice(api)
    cases = [
        ({}, "payInvoices"),
        ({"payInvoices": []}, "payInvoices"),
        ({"payInvoices": [_payment(invoice, 0)]}, "payInvoices[0].transactionAmount"),
        ({"payInvoices": [_payment(invoice, "ten")]}, "payInvoices[0].transactionAmount"),
        ({"payInvoices": [_payment(invoice, 1.234)]}, "payInvoices[0].transactionAmount"),
        (
            {"payInvoices": [_payment(invoice, 1, paymentMethod=None)]},
            "payInvoices[0].paymentMethod",
        ),
        ({"payInvoices": [_payment(invoice, 1, customerId=GLOBEX)]}, "payInvoices[0].customerId"),
    ]
    for body, field in cases:
        found = error(api.post(PAY, body), 400, "VALIDATION_ERROR")
        assert found["errors"][0]["field"] == field
    assert _read(api, invoice)["balance"] == invoice["balance"]


def test_an_unknown_invoice_is_not_found(api):
    invoice = _open_invoice(api)
    missing = _payment(invoice, 1, invoiceId="00000000-0000-0000-0000-000000000000")
    error(api.post(PAY, {"payInvoices": [missing]}), 404, "NOT_FOUND")


def test_it_needs_the_key_and_only_takes_post(api, anonymous):
    assert anonymous.post(PAY, {"payInvoices": []}).status_code == 401
    assert api.get(PAY).status_code == 405
