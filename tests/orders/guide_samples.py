"""Nue's answers as its guides show them: recorded answers for driving the client and the pages
(issue 23: "a test drives the client against recorded answers shaped exactly like the guides'
samples ... without a 5xx").

Each sample names its source: a guide of ../shared/nue-docs/ where one shows the answer, else the
fields nue-api.md §3 lists from Nue's data references (no guide there shows a catalog,
subscription or invoice answer). The guides' text lost its letter case and punctuation: names are
restored to camelCase as nue-api.md does ([D~]); values keep the guides' spelling (`"success"`,
`"draft"`, `"activated"`), which the portal must read too. Placeholder ids (`"order uuid"`) become
the guides' own example ids, and the customer id is the caller's: the portal checks id formats
and that every record is the acting customer's.

`shaped()` gives each sample as real answers come: with fields the portal does not know, with
nulls where a value is optional, without the optional fields, and with numbers as strings.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

# Ids the guides use in their examples (nue-api.md §3.1, getting-started, create-draft-orders).
ORDER_ID = "b636440c-b3dd-4a92-9187-199f110d5b24"
CHANGE_ORDER_ID = "c636440c-b3dd-4a92-9187-199f110d5b25"
PRODUCT_ID = "01tE200000B8pYeIAJ"
ENTRY_ID = "01uEA000008IcdEIAC"
SUBSCRIPTION_ID = "5f1c2d3e-4b5a-4c6d-8e7f-901234567890"
INVOICE_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
ASSET_ID = "123e4567-e89b-12d3-a456-426614174000"
SUBSCRIPTION_NAME = "SUB-00000279"

Json = dict[str, Any]


def draft_created(customer_id: str, order_id: str = ORDER_ID) -> Json:
    """POST /orders: nue-docs/create-draft-orders.txt, "success response (201 created)", with
    the warnings the same guide's service reads (`result.warnings`, each with a `message`)."""
    return {
        "status": "success",
        "data": {
            "order": {
                "id": order_id,
                "orderNumber": "ORD-000001",
                "customerId": customer_id,
                "customerName": "Customer Name",
                "status": "draft",
                "orderStartDate": "2025-01-01",
                "listTotal": 10000.00,
                "discountAmount": 1000.00,
                "netTotal": 9000.00,
                "taxAmount": 720.00,
                "grandTotal": 9720.00,
            },
            "assets": [
                {
                    "id": ASSET_ID,
                    "productId": PRODUCT_ID,
                    "productName": "Product Name",
                    "quantity": 1,
                    "startDate": "2025-01-01",
                    "endDate": "2025-12-31",
                    "status": "pendingactivation",
                }
            ],
            "invoices": [
                {
                    "id": INVOICE_ID,
                    "amount": 9720.00,
                    "balance": 9720.00,
                    "status": "draft",
                    "dueDate": "2025-01-31",
                }
            ],
        },
        "warnings": [{"message": "Tax was calculated from the customer's shipping address."}],
    }


def _history_order(customer_id: str, order_id: str, number: str, status: str) -> Json:
    # The fields getting-started reads (step 4 and 8: orderNumber, status, totalAmount,
    # orderPlacedDate, orderProducts' productName / quantity / listPrice / subscriptionStartDate,
    # orderPdf, externalId), with the values of the order data reference (nue-api.md §3.1).
    return {
        "id": order_id,
        "orderNumber": number,
        "name": "annual platform license",
        "customerId": customer_id,
        "status": status,
        "orderStartDate": "2024-12-24",
        "orderPlacedDate": "2025-06-24",
        "listTotal": 5940.00,
        "discount": 10.0,
        "discountAmount": 594.00,
        "systemDiscount": 5.0,
        "systemDiscountAmount": 297.00,
        "subtotal": 5346.00,
        "taxAmount": 475.20,
        "netTotal": 5346.00,
        "grandTotal": 5821.20,
        "totalAmount": 5821.20,
        "orderACV": 495.00,
        "orderTCV": 5940.00,
        "orderPdf": "https://app.nue.io/order-pdf/O-00000300.pdf",
        "externalId": None,
        "orderProducts": [
            {
                "id": f"{order_id[:-4]}0001",
                "name": SUBSCRIPTION_NAME,
                "productName": "Platform License",
                "quantity": 5,
                "listPrice": 99.00,
                "totalPrice": 5940.00,
                "subscriptionStartDate": "2025-01-01",
                "subscriptionTerm": 12,
            }
        ],
    }


def order_history(customer_id: str) -> Json:
    """GET /orders?customerIds=[..]&includes=orderProducts: the customer's orders as
    nue-docs/getting-started-with-order-management.txt lists them (steps 4 and 8)."""
    return {
        "status": "success",
        "data": [
            _history_order(customer_id, ORDER_ID, "O-00000300", "activated"),
            _history_order(customer_id, CHANGE_ORDER_ID, "O-00000301", "draft"),
        ],
    }


def activated(customer_id: str, order_id: str = ORDER_ID) -> Json:
    """POST /orders/{draftOrderId}: what getting-started step 2 reads (data.order's orderNumber,
    status, activatedDate, customerId; data.subscriptions' name, id, quantity), each record with
    the fields of its data reference (nue-api.md §3.3, §3.5)."""
    order = _history_order(customer_id, order_id, "O-00000300", "activated")
    order["activatedDate"] = "2025-01-01"
    return {
        "status": "success",
        "data": {
            "order": order,
            "subscriptions": [subscription(customer_id)],
            "assets": [],
            "entitlements": [],
            "invoices": [invoice(customer_id)],
        },
    }


def change_created(customer_id: str, order_id: str = CHANGE_ORDER_ID) -> Json:
    """POST /change-orders: "same envelope as a draft order" (nue-api.md §2.2), read as
    getting-started step 5 reads it (data.order.id, data.order.totalAmount,
    data.previewInvoices[0].amount)."""
    answer = draft_created(customer_id, order_id)
    data = answer["data"]
    data["order"].update(orderNumber="O-00000301", totalAmount=75.00, orderType="Change")
    data["previewInvoices"] = [{"amount": 75.00, "dueDate": "2025-02-28", "status": "draft"}]
    del data["invoices"]
    answer["warnings"] = []
    return answer


def magic_link(order_id: str = ORDER_ID) -> Json:
    """GET /orders/magiclink/order/{id}: getting-started step 6 reads `result.magicLink` (a bare
    object, nue-api.md §1.4)."""
    return {"magicLink": f"https://app.nue.io/view-order/{order_id[:8]}-secure-token"}


def subscription(customer_id: str) -> Json:
    """One subscription as the subscription data reference lists it (nue-api.md §3.3)."""
    return {
        "id": SUBSCRIPTION_ID,
        "name": SUBSCRIPTION_NAME,
        "subscriptionCompositeId": f"{SUBSCRIPTION_NAME}-1",
        "subscriptionVersion": 1,
        "subscriptionLevel": 1,
        "rootId": SUBSCRIPTION_ID,
        "parentObjectType": None,
        "customerId": customer_id,
        "billingAccountId": None,
        "productId": PRODUCT_ID,
        "priceBookEntryId": ENTRY_ID,
        "priceBookId": "01sE2000000XyZ1IAK",
        "orderProductId": f"{ORDER_ID[:-4]}0001",
        "uomId": None,
        "subscriptionStartDate": "2025-07-01",
        "subscriptionEndDate": "2026-06-30",
        "subscriptionTerm": 12,
        "actualSubscriptionTerm": 12,
        "renewalTerm": 12,
        "autoRenew": True,
        "evergreen": False,
        "orderOnDate": "2025-06-24",
        "nextBillingDate": "2026-01-01",
        "billingPeriod": "Annual",
        "billingTiming": "In Advance",
        "quantity": 5,
        "listPrice": 99.00,
        "salesPrice": 89.10,
        "totalAmount": 5346.00,
        "taxAmount": 0,
        "tcv": 5346.00,
        "totalACV": 5346.00,
        "status": "Active",
        "externalId": None,
        "externalName": None,
        "createdDate": "2025-06-24T10:00:00Z",
        "lastModifiedDate": "2025-06-24T10:00:00Z",
    }


def subscriptions(customer_id: str) -> Json:
    """GET /subscriptions?customerIds=[..] (nue-api.md §2.7, §3.3)."""
    return {"status": "success", "data": [subscription(customer_id)], "warnings": []}


def invoice(customer_id: str) -> Json:
    """One invoice as nue-api.md §3.5 lists its fields."""
    return {
        "id": INVOICE_ID,
        "name": "INV-00000001",
        "status": "Active",
        "paymentStatus": "Transferred",
        "customerId": customer_id,
        "invoiceDate": "2025-07-01",
        "dueDate": "2025-07-31",
        "startDate": "2025-07-01",
        "endDate": "2026-06-30",
        "amount": 5821.20,
        "amountWithoutTax": 5346.00,
        "taxAmount": 475.20,
        "balance": 5821.20,
        "invoicePdf": "https://app.nue.io/invoice-pdf/INV-00000001.pdf",
        "poNumber": "PO-2025-001",
        "createdDate": "2025-07-01T00:00:00Z",
    }


def invoices(customer_id: str) -> Json:
    """GET /customers/{customerId}/invoices: a paginated list with `pagination.total`
    (nue-api.md §1.4, §2.8)."""
    return {
        "status": "success",
        "data": [invoice(customer_id)],
        "pagination": {"page": 1, "limit": 25, "total": 1},
    }


def catalog() -> list[Json]:
    """GET /customers/{customerId}/products: a bare array (nue-api.md §1.4) of published
    products, each with its `priceBookEntries` (create-draft-orders: "each product in the catalog
    response includes a pricebookentries array"; fields from nue-api.md §3.8)."""
    return [
        {
            "id": PRODUCT_ID,
            "name": "Platform License",
            "sku": "PLATFORM-LICENSE",
            "recordType": "Product",
            "description": "Annual platform license, per user.",
            "longDescription": "<p>Annual platform license, per user.</p>",
            "configurable": False,
            "soldIndependently": True,
            "status": "Active",
            "imageUrl": None,
            "publishStatus": "Published",
            "lastPublishedDate": "2025-01-01T00:00:00Z",
            "productCategory": "RecurringServices",
            "priceBookEntries": [
                {
                    "id": ENTRY_ID,
                    "listPrice": 99.00,
                    "currencyIsoCode": "USD",
                    "uom": {"name": "User/Month"},
                    "billingPeriod": "Annual",
                    "priceModel": "Recurring",
                    "priceBookId": "01sE2000000XyZ1IAK",
                }
            ],
        }
    ]


def price_tags() -> list[Json]:
    """GET /catalog/price-tags: a bare array (nue-api.md §1.4) of tags as §3.8 lists them; the
    code is the one create-draft-orders applies (`priceTagCodes ["ENTERPRISE2025"]`)."""
    return [
        {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "name": "Enterprise 2025",
            "code": "ENTERPRISE2025",
            "description": None,
            "recordType": "DiscountDimension",
            "active": True,
            "publishStatus": "Published",
            "priceTagType": "Quantity",
            "priceType": "Volume",
            "uomDimension": None,
            "startTime": None,
            "endTime": None,
            "lastPublishedDate": "2025-01-01T00:00:00Z",
            "priceTiers": [
                {
                    "id": "a1b2c3d4-0000-4000-8000-000000000002",
                    "name": "Tier 1",
                    "tierNumber": 1,
                    "chargeModel": "PerUnit",
                    "startUnit": 1,
                    "endUnit": None,
                    "discountPercentage": 10,
                    "amount": None,
                }
            ],
        }
    ]


def customer_with_contacts(customer_id: str) -> Json:
    """GET /customers?customerIds=[...]&includes=contacts: the fields nue-api.md §3.7 lists
    from the customer and contact data references (no guide prints the answer)."""
    return {
        "status": "success",
        "data": [
            {
                "id": customer_id,
                "name": "Acme Corporation",
                "recordType": "Business",
                "accountNumber": "ACC-000001",
                "email": "billing@acme.example",
                "shippingStreet": "1 Market Street",
                "shippingCity": "San Francisco",
                "shippingState": "CA",
                "shippingPostalCode": "94105",
                "shippingCountry": "US",
                "billingStreet": "1 Market Street",
                "billingCity": "San Francisco",
                "billingCountry": "US",
                "externalId": None,
                "contacts": [
                    {
                        "id": "456e7890-e89b-12d3-a456-426614174000",
                        "customerId": customer_id,
                        "name": "Ada Lovelace",
                        "firstName": "Ada",
                        "lastName": "Lovelace",
                        "email": "ada@acme.example",
                        "phone": "+1 415 555 0100",
                        "shippingStreet": "1 Main St",
                        "shippingCity": "Springfield",
                        "shippingState": "IL",
                        "shippingCountry": "US",
                    }
                ],
            }
        ],
    }


def failure(message: str, code: str) -> Json:
    """A refusal: the guides test `error.message` for the codes they name (create-draft-orders'
    "invalid addon hierarchy"); the body is nue-api.md §1.5's."""
    return {
        "status": "FAILURE",
        "message": message,
        "errorCode": code,
        "errors": [{"field": "orderProducts[0].addOns[0].productOptionId", "message": message}],
    }


# --- The same answers as real ones come --------------------------------------------------------

# Keys a record must keep for the portal to know what it is and whose (ids, names, numbers; a
# contact's email, required and its login identifier, nue-api.md §3.7).
IDENTITY = frozenset(
    {"id", "name", "orderNumber", "customerId", "status", "code", "quantity", "amount", "email"}
)
# Amounts a record must carry (a price book entry without a price cannot be sold).
REQUIRED = frozenset({"listPrice"})


def _walk(value: Any, change: Callable[[str, Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(change(k, v), change) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    return value


def with_unknown_fields(answer: Any) -> Any:
    """Every object gains fields the portal does not know: custom fields (`*__c`, as
    create-draft-orders sets them) and ones Nue may add."""

    def add(value: Any) -> Any:
        if isinstance(value, dict):
            extra = {"Ruby_Custom__c": "value1", "futureField": {"nested": [1, "two", None]}}
            return {**{k: add(v) for k, v in value.items()}, **extra}
        if isinstance(value, list):
            return [add(v) for v in value]
        return value

    return add(copy.deepcopy(answer))


def with_nulls(answer: Any) -> Any:
    """Every optional scalar of a record is null."""
    keep = IDENTITY | REQUIRED | {"data", "status", "magicLink"}
    return _walk(
        copy.deepcopy(answer),
        lambda k, v: None if k not in keep and not isinstance(v, dict | list) else v,
    )


def without_optional_fields(answer: Any) -> Any:
    """Every optional scalar of a record is absent."""
    keep = IDENTITY | REQUIRED | {"data", "status", "magicLink"}

    def drop(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: drop(v) for k, v in value.items() if k in keep or isinstance(v, dict | list)}
        if isinstance(value, list):
            return [drop(v) for v in value]
        return value

    return drop(copy.deepcopy(answer))


def with_numbers_as_strings(answer: Any) -> Any:
    """Every number is sent as a string ("5940.00", "12")."""

    def text(_key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    def convert(value: Any) -> Any:
        if isinstance(value, list):
            return [text("", v) if not isinstance(v, dict | list) else convert(v) for v in value]
        return _walk(value, text) if isinstance(value, dict) else value

    return convert(copy.deepcopy(answer))


SHAPES: dict[str, Callable[[Any], Any]] = {
    "as the guide shows it": copy.deepcopy,
    "with unknown fields": with_unknown_fields,
    "with nulls": with_nulls,
    "without optional fields": without_optional_fields,
    "with numbers as strings": with_numbers_as_strings,
}
