from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from orders.models import (
    InvoicePayment,
    NuePaymentMethod,
    Operation,
    StripeCustomer,
    TenantCapabilities,
)


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    """Read-only: the ledger is written only by orders.ledger, and is an audit trail."""

    list_display = ["created_at", "kind", "target", "customer", "actor", "on_behalf_of", "state"]
    list_filter = ["state", "kind"]
    search_fields = ["target", "reference", "customer__name", "actor__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Operation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Operation | None = None) -> bool:
        return False


@admin.register(TenantCapabilities)
class TenantCapabilitiesAdmin(admin.ModelAdmin):
    """Shown, never edited: `manage.py nue_check` writes it. Deleting it puts the portal back
    on its defaults (what it does against the emulator) until nue_check runs again."""

    list_display = ["api_url", "checked_at", "drafts_checked_at"]
    readonly_fields = (
        "api_url",
        "checked_at",
        "drafts_checked_at",
        "coterm_field",
        "upgrade_target_field",
        "reconfigure_quantity",
        "activated_status_filter",
        "system_discount",
        "subtotal",
        "optional_endpoints",
        "findings_table",
    )
    fields = readonly_fields

    @admin.display(description="Findings of the last run")
    def findings_table(self, obj: TenantCapabilities) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (row.get("finding", ""), row.get("result", ""), row.get("evidence", ""))
                for row in obj.findings
                if isinstance(row, dict)
            ),
        )
        return format_html(
            "<table><thead><tr><th>Finding</th><th>Result</th><th>Evidence</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: TenantCapabilities | None = None
    ) -> bool:
        return False


@admin.register(StripeCustomer)
class StripeCustomerAdmin(admin.ModelAdmin):
    """Deleting a link makes the next card set-up find or create the Stripe customer again and
    send Nue its transactionHub again (after a switch of Stripe account)."""

    list_display = ["account", "stripe_customer_id", "card_payment_method_id", "hub_sent_at"]
    search_fields = ["account__name", "stripe_customer_id", "nue_customer_id"]
    readonly_fields = ["account", "nue_customer_id", "stripe_customer_id", "card_payment_method_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(NuePaymentMethod)
class NuePaymentMethodAdmin(admin.ModelAdmin):
    list_display = ["account", "nue_payment_method_id", "stripe_payment_method_id", "created_at"]
    search_fields = ["account__name", "nue_payment_method_id", "stripe_payment_method_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: NuePaymentMethod | None = None
    ) -> bool:
        return False


@admin.register(InvoicePayment)
class InvoicePaymentAdmin(admin.ModelAdmin):
    """Read-only: support filters by state ("Needs review" lists the charges the account managers
    reconcile with Nue) and searches by the reference the invoice page shows."""

    list_display = [
        "created_at",
        "account",
        "invoice_number",
        "amount",
        "currency",
        "state",
        "payment_intent_id",
    ]
    list_filter = ["state"]
    search_fields = ["invoice_number", "invoice_id", "payment_intent_id", "account__name"]
    date_hierarchy = "created_at"

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        try:
            key = uuid.UUID(search_term.strip())
        except ValueError:
            return found, duplicates
        return found | queryset.filter(idempotency_key=key), duplicates

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: InvoicePayment | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: InvoicePayment | None = None
    ) -> bool:
        return False
