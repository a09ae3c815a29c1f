"""Routes of the change wizard (issue 7); included by orders/urls.py in the "orders" namespace."""

from django.urls import path

from orders import changes

urlpatterns = [
    path("changes/basket/", changes.change_basket, name="change_basket"),
    path(
        "changes/basket/<str:basket_id>/",
        changes.change_basket_preview,
        name="change_basket_preview",
    ),
    path(
        "changes/basket/<str:basket_id>/confirm/",
        changes.change_basket_confirm,
        name="change_basket_confirm",
    ),
    path(
        "changes/basket/<str:basket_id>/done/",
        changes.change_basket_result,
        name="change_basket_result",
    ),
    path("subscriptions/<str:name>/change/", changes.change_start, name="change_start"),
    path(
        "subscriptions/<str:name>/change/preview/<str:order_id>/",
        changes.change_preview,
        name="change_preview",
    ),
    path(
        "subscriptions/<str:name>/change/preview/<str:order_id>/quote/",
        changes.change_quote,
        name="change_quote",
    ),
    path(
        "subscriptions/<str:name>/change/confirm/<str:order_id>/",
        changes.change_confirm,
        name="change_confirm",
    ),
    path(
        "subscriptions/<str:name>/change/done/<str:order_id>/",
        changes.change_result,
        name="change_result",
    ),
    path(
        "subscriptions/<str:name>/change/<slug:kind>/",
        changes.change_details,
        name="change_details",
    ),
    path(
        "subscriptions/<str:name>/change/<slug:kind>/estimate/",
        changes.change_estimate,
        name="change_estimate",
    ),
]
