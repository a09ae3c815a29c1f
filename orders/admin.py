from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from orders.models import Operation


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
