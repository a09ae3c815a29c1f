"""Routes of approvals, quote links and the account manager's review; included by orders/urls.py."""

from django.urls import path

from orders import review

urlpatterns = [
    path("orders/<str:order_id>/approval/", review.approval_request, name="approval_request"),
    path(
        "orders/<str:order_id>/approval/approve/",
        review.approval_approve,
        name="approval_approve",
    ),
    path(
        "orders/<str:order_id>/approval/withdraw/",
        review.approval_withdraw,
        name="approval_withdraw",
    ),
    path("orders/<str:order_id>/quote-link/", review.quote_link, name="quote_link"),
    path("review/", review.review, name="review"),
    path("review/requests/<int:pk>/", review.review_request, name="review_request"),
    path("review/requests/<int:pk>/approve/", review.review_approve, name="review_approve"),
    path("review/requests/<int:pk>/decline/", review.review_decline, name="review_decline"),
    path("review/requests/<int:pk>/reprice/", review.review_reprice, name="review_reprice"),
    path(
        "review/customers/<int:account_id>/orders/<str:order_id>/",
        review.review_draft,
        name="review_draft",
    ),
    path(
        "review/customers/<int:account_id>/orders/<str:order_id>/quote-link/",
        review.review_quote_link,
        name="review_quote_link",
    ),
]
