"""Routes of the purchase feature; included by orders/urls.py."""

from django.urls import path

from orders import purchase

urlpatterns = [
    path("orders/new/", purchase.new_order, name="new_order"),
    path("orders/new/preview/", purchase.new_order_preview, name="new_order_preview"),
    path("orders/<str:order_id>/activate/", purchase.draft_activate, name="draft_activate"),
    path("orders/<str:order_id>/activated/", purchase.activation_result, name="activation_result"),
    path("orders/<str:order_id>/discard/", purchase.draft_discard, name="draft_discard"),
    path("orders/<str:order_id>/reprice/", purchase.draft_reprice, name="draft_reprice"),
]
