from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from portal import outbox
from portal.models import (
    AuditEvent,
    CustomerAccount,
    Invitation,
    Membership,
    NotificationPreference,
    OutgoingEmail,
    RenewalReminder,
    User,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["account"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "first_name", "last_name"]
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            gettext_lazy("Personal info"),
            {"fields": ("first_name", "last_name", "language", "time_zone")},
        ),
        (
            gettext_lazy("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(CustomerAccount)
class CustomerAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "nue_customer_id", "approval_threshold", "require_mfa", "created_at"]
    search_fields = ["name", "nue_customer_id"]
    filter_horizontal = ["managers"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "spending_limit", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "account__name"]
    autocomplete_fields = ["user", "account"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """To look into; customer admins send, resend and revoke on their team page, which mails the
    link (the token exists only in that email)."""

    list_display = ["email", "account", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "account__name"]
    list_select_related = ["account"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only for everyone, superusers included."""

    list_display = ["created_at", "kind", "actor_email", "on_behalf_of_email", "customer", "path"]
    list_filter = ["kind", "created_at"]
    search_fields = ["actor_email", "on_behalf_of_email", "path", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["customer"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """The mail queue, read-only but for the two decisions only a person can make about a
    message the worker gave up on (failed) or could not tell was sent (unknown)."""

    list_display = ["created_at", "subject", "recipients", "kind", "state", "attempts", "sent_at"]
    list_filter = ["state", "kind"]
    search_fields = ["subject", "to", "account__name"]
    date_hierarchy = "created_at"
    list_select_related = ["account"]
    actions = ["queue_again", "mark_sent"]

    @admin.display(description=gettext_lazy("To"))
    def recipients(self, obj: OutgoingEmail) -> str:
        return ", ".join(obj.to)

    @admin.action(
        description=gettext_lazy(
            "Send again (failed or unknown only: may duplicate an unknown one)"
        )
    )
    def queue_again(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        count = outbox.queue_again(queryset)
        for row in queryset:
            self.log_change(request, row, "Queued again")
        self.message_user(
            request,
            ngettext("%(count)s email queued again.", "%(count)s emails queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Mark as sent (unknown only: the recipient has it)"))
    def mark_sent(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        count = outbox.mark_sent(queryset)
        for row in queryset:
            self.log_change(request, row, "Marked sent")
        self.message_user(
            request,
            ngettext("%(count)s email marked sent.", "%(count)s emails marked sent.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutgoingEmail | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutgoingEmail | None = None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    """Each member's own choice (the Notifications page): shown, not changed for them."""

    list_display = ["user", "account", "kind", "enabled", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["user__email", "account__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: NotificationPreference | None = None
    ) -> bool:
        return False


@admin.register(RenewalReminder)
class RenewalReminderAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "subscription", "renewal_date", "window_days"]
    search_fields = ["subscription", "account__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: RenewalReminder | None = None
    ) -> bool:
        return False
