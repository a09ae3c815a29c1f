from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from portal.l10n import zone_or_none


def validate_time_zone(name: str) -> None:
    if name and zone_or_none(name) is None:
        raise ValidationError(f"{name} is not a time zone we know; choose one from the list.")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("Users sign in by email; an email is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who signs in to the portal by email and password."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    # Empty until set: the browser's zone is taken at the first sign-in (static/js/locale.js),
    # the language from Accept-Language; until then pages use UTC and the browser's language.
    time_zone = models.CharField(
        "time zone",
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="An IANA time zone, e.g. Europe/Berlin. Every time is shown in it.",
    )
    language = models.CharField(
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text="The language of the portal's pages, dates and amounts.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()  # type: ignore[misc,assignment]

    # The user's memberships as read with them by portal.backends.MembershipBackend, for the
    # request whose user this is; None when the user was loaded another way.
    loaded_memberships: tuple[Membership, ...] | None = None

    class Meta:
        ordering = ["email"]
        permissions = [("impersonate", "Can impersonate customer users")]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_account_manager(self) -> bool:
        return self.is_staff and self.book.exists()

    @property
    def can_impersonate(self) -> bool:
        return self.is_active and self.has_perm("portal.impersonate")


class CustomerAccount(models.Model):
    """A Nue customer whose members use the portal."""

    nue_customer_id = models.CharField("Nue customer id", max_length=64, unique=True)
    name = models.CharField(max_length=255, help_text="Cached from Nue for lists and search.")
    approval_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Buyers must request approval above this amount; empty uses the default.",
    )
    buyers_manage_cards = models.BooleanField(
        "Buyers may replace the card on file",
        default=False,
        help_text="Admins always may; viewers never.",
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="book",
        blank=True,
        limit_choices_to={"is_staff": True},
        help_text="Account managers who have this customer in their book.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_approval_threshold(self) -> Decimal:
        if self.approval_threshold is not None:
            return self.approval_threshold
        return Decimal(settings.APPROVAL_THRESHOLD_DEFAULT)


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    BUYER = "buyer", "Buyer"
    ADMIN = "admin", "Admin"


class Membership(models.Model):
    """A user's access to one customer account, with a role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.account} ({self.get_role_display()})"

    @property
    def can_buy(self) -> bool:
        return self.role in (Role.BUYER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class AuditKind(models.TextChoices):
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGN_OUT = "sign_out", "Signed out"
    IMPERSONATION_STARTED = "impersonation_started", "Impersonation started"
    IMPERSONATION_ENDED = "impersonation_ended", "Impersonation ended"
    IMPERSONATION_ELEVATED = "impersonation_elevated", "Impersonation elevated"
    ACTION_REFUSED = "action_refused", "Action refused (read-only)"
    PAGE_VIEWED = "page_viewed", "Page viewed"
    ACTION = "action", "Action"
    APPROVAL = "approval", "Approval"
    DECLINE = "decline", "Decline"
    ACTIVATION = "activation", "Activation"
    CHANGE_ORDER = "change_order", "Change order"
    CANCELLATION = "cancellation", "Cancellation"


class AppendOnlyError(Exception):
    """The audit log is append-only: events are never changed or deleted by the application."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened: a sign-in, an impersonation step, an approval, ...

    `actor` is the real person; `on_behalf_of` the customer user they impersonated, if any.
    The emails are copied so the trail survives a deleted user.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=32, choices=AuditKind.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_email = models.EmailField(blank=True)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events_on_behalf",
    )
    on_behalf_of_email = models.EmailField(blank=True)
    customer = models.ForeignKey(
        CustomerAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    impersonation = models.UUIDField(
        null=True, blank=True, db_index=True, help_text="Groups the events of one impersonation."
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=2000, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="audit_customer_recent")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_kind_display()} by {self.actor_email}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")
