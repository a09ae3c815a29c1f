"""Emulator routes, without the `/nue-emulator/` prefix (the portal or root_urls.py adds it).

Namespaced, so names like "orders" never shadow the portal's own when it mounts these routes.
"""

from django.conf import settings
from django.urls import path, re_path

from nue_emulator import pages, views

app_name = "nue_emulator"

urlpatterns = [
    path("orders", views.orders, name="orders"),
    path("orders/invoice-preview", views.invoice_preview, name="invoice-preview"),
    path("orders/magiclink/order/<str:order_id>", views.magic_link, name="magic-link"),
    path(
        "orders/magiclink/order/<str:order_id>/template/<str:template_id>",
        views.magic_link,
        name="magic-link-template",
    ),
    path("orders/<str:order_id>", views.order, name="order"),
    path("change-orders", views.change_orders, name="change-orders"),
    path("catalog/products", views.catalog_products, name="catalog-products"),
    path("catalog/products/<str:product_id>", views.catalog_product, name="catalog-product"),
    path("catalog/price-tags", views.price_tags, name="price-tags"),
    path("customers", views.customers, name="customers"),
    path("customers/<str:customer_id>", views.customer, name="customer"),
    path("customers/<str:customer_id>/contacts", views.customer_contacts, name="customer-contacts"),
    path("customers/<str:customer_id>/products", views.customer_products, name="customer-products"),
    path("customers/<str:customer_id>/invoices", views.customer_invoices, name="customer-invoices"),
    path(
        "customers/<str:customer_id>/invoices/<str:invoice_id>",
        views.customer_invoice,
        name="customer-invoice",
    ),
    path("billing/invoices:pay", views.pay_invoices, name="pay-invoices"),
    path("contacts", views.contacts, name="contacts"),
    path("contacts/<str:contact_id>", views.contact, name="contact"),
    path("subscriptions", views.subscriptions, name="subscriptions"),
    path(
        "subscriptions/product-relationships",
        views.product_relationships,
        name="product-relationships",
    ),
    path("subscriptions/<str:subscription_id>", views.subscription, name="subscription"),
    path("_emulator/print.css", pages.stylesheet, name="emulator-css"),
    path("view-order/<str:token>", pages.quote, name="quote-page"),
    path("view-invoice/<str:token>", pages.invoice, name="invoice-page"),
    path("view-order-pdf/<str:token>", pages.order_pdf, name="order-pdf-page"),
]

# Fault injection and the call journal let a key holder slow or break every call and read what
# others sent: tests and benchmarks only, so a production demo never mounts them.
if getattr(settings, "NUE_EMULATOR_CONTROL", True):
    urlpatterns += [
        path("_emulator/faults", views.emulator_faults, name="emulator-faults"),
        path("_emulator/faults/<str:fault_id>", views.emulator_fault, name="emulator-fault"),
        path("_emulator/journal", views.emulator_journal, name="emulator-journal"),
    ]

# Last: any other path under the prefix is answered as Nue answers, in its JSON error envelope
# (nue-api.md §1.3-§1.5: JSON responses; the guides read every answer with `response.json()`),
# never by the portal's or Django's HTML 404 page.
urlpatterns.append(re_path(r"^", views.unknown_route, name="unknown-route"))
