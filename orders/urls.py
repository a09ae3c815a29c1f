"""Customer-facing routes, one module of routes per feature (all in the "orders" namespace).

Purchase and change routes come first: their fixed segments (`orders/new/`) must win over the
order-detail pattern.
"""

from django.urls import include, path

app_name = "orders"

urlpatterns = [
    path("", include("orders.urls_purchase")),
    path("", include("orders.urls_changes")),
    path("", include("orders.urls_review")),
    path("", include("orders.urls_pages")),
]
