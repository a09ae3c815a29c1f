"""The demo tenant: catalog, customers and contacts, and (see history.py) their order history.

Ids are derived from stable labels, so seeding twice yields the same records and every test and
demo link keeps working across re-seeds.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

from django.utils import timezone

from nue_emulator.models import Contact, Customer, PriceTag, Product

PRICE_BOOK_ID = "01sNUESTANDARDPB01"
PRICE_BOOK_NAME = "Self-Service Price Book"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def demo_uuid(label: str) -> str:
    """A UUIDv4-shaped id that is the same every time for the same label."""
    digest = hashlib.sha256(f"nue-emulator:{label}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def salesforce_id(prefix: str, label: str) -> str:
    """An 18-character Salesforce-style id (`01t…` products, `01u…` price book entries)."""
    number = int.from_bytes(hashlib.sha256(label.encode()).digest()[:12], "big")
    chars = []
    for _ in range(15):
        number, rest = divmod(number, 62)
        chars.append(ALPHABET[rest])
    return prefix + "".join(chars)


def _pbe(
    sku: str,
    price: str,
    uom: str,
    *,
    region: str | None = None,
    billing_period: str | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    # The USD entries keep the ids they had before the catalog had a second currency.
    label = f"pbe:{sku}" if currency == "USD" else f"pbe:{sku}:{currency}"
    return {
        "id": salesforce_id("01u", label),
        "name": f"{sku} {uom}" if currency == "USD" else f"{sku} {uom} ({currency})",
        "priceBookId": PRICE_BOOK_ID,
        "priceBookName": PRICE_BOOK_NAME,
        "listPrice": Decimal(price),
        "currencyIsoCode": currency,
        "uom": {"name": uom, "quantityDimension": uom.split("/")[0]},
        "billingPeriod": billing_period,
        "pricingAttributes": {"region": region} if region else {},
        "active": True,
    }


def _product(
    sku: str,
    name: str,
    price: str,
    uom: str,
    *,
    description: str,
    price_model: str = "Recurring",
    category: str = "RecurringServices",
    record_type: str = "Product",
    sold_independently: bool = True,
    region: str | None = None,
    billing_period: str | None = None,
    eur_price: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    # A price in each of the tenant's currencies: EUR at par unless the product names one.
    entries = [
        _pbe(sku, price, uom, region=region, billing_period=billing_period),
        _pbe(
            sku,
            eur_price or price,
            uom,
            region=region,
            billing_period=billing_period,
            currency="EUR",
        ),
    ]
    return {
        "id": salesforce_id("01t", f"product:{sku}"),
        "name": name,
        "sku": sku,
        "recordType": record_type,
        "description": description,
        "longDescription": f"<p>{description}</p>",
        "configurable": record_type == "Bundle",
        "soldIndependently": sold_independently,
        "status": "Active",
        "publishStatus": "Published",
        "lastPublishedDate": "2026-01-05T09:00:00Z",
        "imageUrl": None,
        "priceModel": price_model,
        "productCategory": category,
        "region": region,
        "defaultSubscriptionTerm": 12 if price_model == "Recurring" else None,
        "freeTrialConfiguration": None,
        "priceBookEntries": entries,
        "productOptions": [],
        "productRelationships": [],
        **extra,
    }


def _option(
    sku: str,
    option_type: str,
    *,
    default: int | None = 1,
    minimum: int | None = None,
    maximum: int | None = None,
    editable: bool = False,
    order: int = 1,
    children: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "productOptionId": "opt-" + sku.lower(),
        "optionType": option_type,
        "productSku": sku,
        "productId": salesforce_id("01t", f"product:{sku}"),
        "priceBookEntryId": salesforce_id("01u", f"pbe:{sku}"),
        "defaultQuantity": default,
        "minQuantity": minimum,
        "maxQuantity": maximum,
        "quantityEditable": editable,
        "optionOrder": order,
        "productOptions": children or [],
    }


# The tenant's custom fields by object, API name → data type, as synced on Nue's Business Objects
# settings page (create-draft-orders.txt); the names are the guides' own examples. An order
# product's field reaches its subscription only where the subscription has one of the same name
# and type (new-orders.txt).
CUSTOM_FIELDS: dict[str, dict[str, str]] = {
    "Order": {
        "Department__c": "Text",
        "ProjectCode__c": "Text",
        "Ruby_Custom__c": "Text",
        "ContractSigned__c": "Date",
    },
    "OrderProduct": {
        "Ruby_Custom__c": "Text",
        "ServiceTier__c": "Text",
        "Region__c": "Text",
        "LineNote__c": "Text",
        "SeatCommitment__c": "Number",
    },
    "Subscription": {
        "Ruby_Custom__c": "Text",
        "ServiceTier__c": "Text",
        "Region__c": "Text",
        "CostCenter__c": "Text",
        "Some_Field__c": "Text",
        "SeatCommitment__c": "Number",
        "RenewalReviewed__c": "Checkbox",
    },
}


PLAN_TIERS = (
    ("STARTER", "Starter", "10.00", "11.00"),
    ("PRO", "Pro", "25.00", "27.00"),
    ("ENTERPRISE", "Enterprise", "50.00", "54.00"),
)


def catalog() -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    for region in ("US", "EU"):
        for index, (code, label, us_price, eu_price) in enumerate(PLAN_TIERS):
            sku = f"PLAN-{code}-{region}"
            relationships = []
            if index + 1 < len(PLAN_TIERS):
                relationships.append(("Upgrade", f"PLAN-{PLAN_TIERS[index + 1][0]}-{region}"))
            if index > 0:
                relationships.append(("Downgrade", f"PLAN-{PLAN_TIERS[index - 1][0]}-{region}"))
            other = "EU" if region == "US" else "US"
            relationships.append(("Swap", f"PLAN-{code}-{other}"))
            products.append(
                _product(
                    sku,
                    f"{label} Plan ({region})",
                    us_price if region == "US" else eu_price,
                    "User/Month",
                    region=region,
                    eur_price=eu_price if region == "EU" else None,
                    description=f"{label} seats for teams hosted in the {region} region.",
                    productRelationships=[
                        {"relationshipType": kind, "targetSku": target}
                        for kind, target in relationships
                    ],
                )
            )
    products.append(
        _product(
            "PLATFORM-SUITE",
            "Platform Suite",
            "400.00",
            "Account/Month",
            record_type="Bundle",
            billing_period="Annual",
            description="The platform bundle: analytics, admin seats, support and integrations.",
            productOptions=[
                _option("ANALYTICS-CORE", "Bundled", order=1),
                _option(
                    "ADMIN-SEATS",
                    "Required",
                    default=2,
                    minimum=1,
                    maximum=100,
                    editable=True,
                    order=2,
                ),
                _option("PREMIUM-SUPPORT", "Optional", order=3),
                _option(
                    "INTEGRATION-PACK",
                    "Optional",
                    minimum=1,
                    maximum=1,
                    order=4,
                    children=[
                        _option("CONNECTOR-RUNTIME", "Bundled", order=1),
                        _option("SFDC-CONNECTOR", "Optional", order=2),
                        _option(
                            "API-ENDPOINTS",
                            "Optional",
                            default=None,
                            minimum=1,
                            maximum=50,
                            editable=True,
                            order=3,
                        ),
                    ],
                ),
            ],
        )
    )
    addons = (
        ("ANALYTICS-CORE", "Core Analytics", "0.00", "Account/Month"),
        ("ADMIN-SEATS", "Admin Seats", "15.00", "User/Month"),
        ("PREMIUM-SUPPORT", "Premium Support", "200.00", "Account/Month"),
        ("INTEGRATION-PACK", "Integration Pack", "100.00", "Account/Month"),
        ("CONNECTOR-RUNTIME", "Connector Runtime", "0.00", "Account/Month"),
        ("SFDC-CONNECTOR", "Salesforce Connector", "50.00", "Account/Month"),
        ("API-ENDPOINTS", "Custom API Endpoints", "5.00", "Endpoint/Month"),
    )
    for sku, name, price, uom in addons:
        products.append(
            _product(
                sku,
                name,
                price,
                uom,
                sold_independently=False,
                description=f"{name}, sold as part of the Platform Suite.",
            )
        )
    products.append(
        _product(
            "INSIGHTS",
            "Insights",
            "40.00",
            "User/Month",
            description="Usage insights and forecasting; starts with a 30-day free trial.",
            eur_price="37.00",
            freeTrialConfiguration={"freeTrialType": "Days", "freeTrialUnit": 30},
        )
    )
    products.append(
        _product(
            "ONBOARDING-FEE",
            "Onboarding Package",
            "1500.00",
            "Each",
            price_model="OneTime",
            category="ProfessionalServices",
            description="One-time guided onboarding by our services team.",
            eur_price="1400.00",
        )
    )
    products.append(
        _product(
            "SECURITY-KEY",
            "Hardware Security Key",
            "45.00",
            "Each",
            price_model="OneTime",
            category="PhysicalGoods",
            description="A FIDO2 hardware key, shipped to the customer.",
            eur_price="42.00",
        )
    )
    return products


def _tag(
    code: str,
    name: str,
    price_type: str,
    tiers: list[tuple[int, int | None, str | None, str | None]],
    description: str,
) -> dict[str, Any]:
    return {
        "id": salesforce_id("a0T", f"tag:{code}"),
        "name": name,
        "code": code,
        "description": description,
        "recordType": "DiscountDimension",
        "active": True,
        "publishStatus": "Published",
        "priceTagType": "Quantity",
        "priceType": price_type,
        "uomDimension": "User",
        "startTime": "2026-01-01T00:00:00Z",
        "endTime": None,
        "lastPublishedDate": "2026-01-05T09:00:00Z",
        "priceTiers": [
            {
                "id": salesforce_id("a0U", f"tier:{code}:{n}"),
                "name": f"Tier {n}",
                "tierNumber": n,
                "chargeModel": "PerUnit",
                "startUnit": start,
                "endUnit": end,
                "discountPercentage": None if pct is None else Decimal(pct),
                "amount": None if amount is None else Decimal(amount),
            }
            for n, (start, end, pct, amount) in enumerate(tiers, 1)
        ],
    }


def price_tags() -> list[dict[str, Any]]:
    return [
        _tag(
            "WELCOME10",
            "Welcome 10%",
            "Volume",
            [(1, None, "10", None)],
            "10% off for new customers.",
        ),
        _tag(
            "SEATS-VOLUME",
            "Seat volume discount",
            "Volume",
            [(1, 9, "0", None), (10, 49, "10", None), (50, None, "20", None)],
            "Every seat priced by the tier the total falls in: 10+ seats 10%, 50+ seats 20%.",
        ),
        _tag(
            "SEATS-TIERED",
            "Seat tiered discount",
            "Tiered",
            [(1, 10, "0", None), (11, 50, "15", None), (51, None, "25", None)],
            "Seats 11-50 15% off, seats 51 and up 25% off.",
        ),
        _tag(
            "LOYALTY5",
            "Loyalty $5 off",
            "Volume",
            [(1, None, None, "5.00")],
            "$5 off per unit per month.",
        ),
    ]


CUSTOMERS: tuple[dict[str, Any], ...] = (
    {
        "key": "acme",
        "name": "Acme Corporation",
        "region": "US",
        "industry": "Manufacturing",
        "email": "billing@acme.example",
        "address": ("1 Market Street", "San Francisco", "CA", "94105", "US"),
        "contacts": (
            ("Ada", "Lovelace", "ada@acme.example", "CTO"),
            ("Ben", "Bitdiddle", "ben@acme.example", "Finance Manager"),
            ("Bob", "Buyer", "bob@acme.example", "Procurement Lead"),
        ),
    },
    {
        "key": "globex",
        "name": "Globex GmbH",
        "region": "EU",
        # Billed in EUR: it buys from the catalog's EUR entries (nue_emulator.catalog.eligible).
        "currency": "EUR",
        "industry": "Technology",
        "email": "accounts@globex.example",
        "address": ("Friedrichstrasse 100", "Berlin", None, "10117", "DE"),
        "contacts": (
            ("Grace", "Hopper", "grace@globex.example", "Head of Engineering"),
            ("Hank", "Scorpio", "hank@globex.example", "CEO"),
        ),
    },
    {
        "key": "initech",
        "name": "Initech LLC",
        "region": "US",
        "industry": "Software",
        "email": "ap@initech.example",
        "address": None,
        "contacts": (("Peter", "Gibbons", "peter@initech.example", "Engineer"),),
    },
)


def customer_doc(spec: dict[str, Any], number: int, created: str) -> dict[str, Any]:
    street, city, state, postal, country = spec["address"] or (None,) * 5
    return {
        "id": demo_uuid(f"customer:{spec['key']}"),
        "name": spec["name"],
        "recordType": "Business",
        "accountNumber": f"ACC-{number:06d}",
        "email": spec["email"],
        "phone": None,
        "industry": spec["industry"],
        "region": spec["region"],
        "status": "Active",
        # A prospect until its first order is activated (actions/activation.sync_customer).
        "type": "Prospect",
        "currency": spec.get("currency", "USD"),
        "billingPeriod": "Monthly",
        "paymentTerm": "Net 30",
        "shippingStreet": street,
        "shippingCity": city,
        "shippingState": state,
        "shippingPostalCode": postal,
        "shippingCountry": country,
        "billingStreet": street,
        "billingCity": city,
        "billingState": state,
        "billingPostalCode": postal,
        "billingCountry": country,
        "externalId": None,
        "createdDate": created,
        "lastModifiedDate": created,
    }


def contact_doc(
    customer_id: str, first: str, last: str, email: str, title: str, created: str
) -> dict[str, Any]:
    return {
        "id": demo_uuid(f"contact:{email}"),
        "customerId": customer_id,
        "name": f"{first} {last}",
        "firstName": first,
        "lastName": last,
        "middleName": None,
        "suffix": None,
        "title": title,
        "email": email,
        "phone": None,
        "mobilePhone": None,
        "birthday": None,
        "shippingStreet": None,
        "shippingCity": None,
        "shippingState": None,
        "shippingPostalCode": None,
        "shippingCountry": None,
        "externalId": None,
        "createdDate": created,
        "lastModifiedDate": created,
    }


def seed_catalog() -> None:
    for position, doc in enumerate(catalog()):
        Product.objects.update_or_create(
            id=doc["id"], defaults={"sku": doc["sku"], "position": position, "doc": doc}
        )
    for doc in price_tags():
        PriceTag.objects.update_or_create(id=doc["id"], defaults={"code": doc["code"], "doc": doc})


def seed_customers() -> dict[str, Customer]:
    created = timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
    customers = {}
    for number, spec in enumerate(CUSTOMERS, 1):
        doc = customer_doc(spec, number, created)
        customer, _ = Customer.objects.get_or_create(
            id=doc["id"], defaults={"name": doc["name"], "doc": doc}
        )
        customers[spec["key"]] = customer
        for first, last, email, title in spec["contacts"]:
            Contact.objects.get_or_create(
                email=email.lower(),
                defaults={
                    "id": demo_uuid(f"contact:{email}"),
                    "customer": customer,
                    "doc": contact_doc(customer.id, first, last, email, title, created),
                },
            )
    return customers
