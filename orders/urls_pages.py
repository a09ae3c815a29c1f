"""Routes of the pages feature; included by orders/urls.py. The dashboard itself is `home` (/)."""

from django.urls import path

from orders import views

urlpatterns = [
    path("dashboard/<slug:panel>/", views.dashboard_panel, name="dashboard_panel"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/export.csv", views.order_export, name="order_export"),
    path("orders/<str:order_id>/", views.order_detail, name="order_detail"),
    path("subscriptions/", views.subscription_list, name="subscription_list"),
    path("subscriptions/<str:name>/", views.subscription_detail, name="subscription_detail"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/<str:invoice_id>/", views.invoice_detail, name="invoice_detail"),
]
