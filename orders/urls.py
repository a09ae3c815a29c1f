"""Customer-facing routes, in the "orders" namespace: one list per feature, each pointing at its
module of orders.views (the home page, outside the namespace, is orders/urls_home.py).

Purchase and change routes come first: their fixed segments (`orders/new/`) must win over the
order-detail pattern.
"""

from django.urls import path

from orders.views import (
    billing,
    cards,
    changes,
    invoice_payments,
    pages,
    purchase,
    review,
    support,
    team,
)

app_name = "orders"

purchase_urls = [
    path("orders/new/", purchase.new_order, name="new_order"),
    path("orders/new/preview/", purchase.new_order_preview, name="new_order_preview"),
    path("orders/<str:order_id>/activate/", purchase.draft_activate, name="draft_activate"),
    path("orders/<str:order_id>/activated/", purchase.activation_result, name="activation_result"),
    path("orders/<str:order_id>/discard/", purchase.draft_discard, name="draft_discard"),
    path("orders/<str:order_id>/reprice/", purchase.draft_reprice, name="draft_reprice"),
]

# The card on file, a section of the billing page (issue 24).
card_urls = [
    path("billing/card/", cards.billing_card, name="billing_card"),
    path("billing/card/setup/", cards.billing_card_setup, name="billing_card_setup"),
    path("billing/card/save/", cards.billing_card_save, name="billing_card_save"),
    path("billing/card/policy/", cards.billing_card_policy, name="billing_card_policy"),
]

# The change wizard (issue 7).
change_urls = [
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

# Approvals, quote links and the account manager's review.
review_urls = [
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

# The dashboard itself is `home` (/).
page_urls = [
    path("dashboard/<slug:panel>/", pages.dashboard_panel, name="dashboard_panel"),
    path("orders/", pages.order_list, name="order_list"),
    path("orders/export.csv", pages.order_export, name="order_export"),
    path("orders/<str:order_id>/", pages.order_detail, name="order_detail"),
    path("orders/<str:order_id>/paid-by/", pages.order_paid_by, name="order_paid_by"),
    path("subscriptions/", pages.subscription_list, name="subscription_list"),
    path("subscriptions/<str:name>/", pages.subscription_detail, name="subscription_detail"),
    path("invoices/", pages.invoice_list, name="invoice_list"),
    path("invoices/export.csv", pages.invoice_export, name="invoice_export"),
    path("invoices/<str:invoice_id>/", pages.invoice_detail, name="invoice_detail"),
    path("invoices/<str:invoice_id>/pay/", invoice_payments.invoice_pay, name="invoice_pay"),
    path(
        "invoices/<str:invoice_id>/pay/<uuid:key>/confirm/",
        invoice_payments.invoice_pay_confirm,
        name="invoice_pay_confirm",
    ),
]

# Stripe's webhook: no session, no customer; Stripe's signature stands in for both.
webhook_urls = [
    path("stripe/webhook/", invoice_payments.stripe_webhook, name="stripe_webhook"),
]

# Billing: who is billed and shipped to (issue 24).
billing_urls = [
    path("billing/", billing.billing, name="billing"),
    path("billing/contacts/", billing.billing_contact_add, name="billing_contact_add"),
]

# The customer admin's team: members, roles, spending limits and invitations (issue 25).
team_urls = [
    path("account/team/", team.team_page, name="team"),
    path("account/team/invite/", team.team_invite, name="team_invite"),
    path("account/team/members/<int:membership_id>/", team.team_member, name="team_member"),
    path(
        "account/team/members/<int:membership_id>/remove/",
        team.team_member_remove,
        name="team_member_remove",
    ),
    path(
        "account/team/invitations/<int:invitation_id>/resend/",
        team.team_invitation_resend,
        name="team_invitation_resend",
    ),
    path(
        "account/team/invitations/<int:invitation_id>/revoke/",
        team.team_invitation_revoke,
        name="team_invitation_revoke",
    ),
]

# The support workspace, beside the portal's own support pages under /support/ (issue 26).
support_urls = [
    path("support/lookup/", support.support_lookup, name="support_lookup"),
    path("support/operations/", support.support_operations, name="support_operations"),
    path(
        "support/operations/<int:pk>/check/",
        support.support_operation_check,
        name="support_operation_check",
    ),
    path(
        "support/customers/<int:account_id>/timeline/",
        support.support_timeline,
        name="support_timeline",
    ),
]

urlpatterns = (
    purchase_urls
    + card_urls
    + change_urls
    + review_urls
    + page_urls
    + billing_urls
    + team_urls
    + webhook_urls
    + support_urls
)
