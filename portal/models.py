from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.l10n import zone_or_none


def validate_time_zone(name: str) -> None:
    if name and zone_or_none(name) is None:
        raise ValidationError(
            _("%(name)s is not a time zone we know; choose one from the list.") % {"name": name}
        )


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
    email = models.EmailField(gettext_lazy("email address"), unique=True)
    # Empty until set: the browser's zone is taken at the first sign-in (static/js/locale.js),
    # the language from Accept-Language; until then pages use UTC and the browser's language.
    time_zone = models.CharField(
        gettext_lazy("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=gettext_lazy("An IANA time zone, e.g. Europe/Berlin. Every time is shown in it."),
    )
    language = models.CharField(
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=gettext_lazy("The language of the portal's pages, dates and amounts."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()  # type: ignore[misc,assignment]

    # The user's memberships as read with them by portal.backends.MembershipBackend, for the
    # request whose user this is; None when the user was loaded another way.
    loaded_memberships: tuple[Membership, ...] | None = None
    # Whether the user had an authenticator app when the request began, read with the
    # memberships for the second-factor gate (portal.mfa.second_factor_due); None when not read.
    loaded_has_mfa: bool | None = None

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

    nue_customer_id = models.CharField(gettext_lazy("Nue customer id"), max_length=64, unique=True)
    name = models.CharField(
        max_length=255, help_text=gettext_lazy("Cached from Nue for lists and search.")
    )
    approval_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=gettext_lazy(
            "Buyers must request approval above this amount; empty uses the default."
        ),
    )
    buyers_manage_cards = models.BooleanField(
        gettext_lazy("Buyers may replace the card on file"),
        default=False,
        help_text=gettext_lazy("Admins always may; viewers never."),
    )
    require_mfa = models.BooleanField(
        gettext_lazy("Members must use a second factor"),
        default=False,
        help_text=gettext_lazy(
            "Set by the account's admins: members set up an authenticator app before they "
            "can use this account."
        ),
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="book",
        blank=True,
        limit_choices_to={"is_staff": True},
        help_text=gettext_lazy("Account managers who have this customer in their book."),
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
    VIEWER = "viewer", gettext_lazy("Viewer")
    BUYER = "buyer", gettext_lazy("Buyer")
    ADMIN = "admin", gettext_lazy("Admin")


class Membership(models.Model):
    """A user's access to one customer account, with a role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    spending_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=gettext_lazy(
            "Buyers only: what they may activate in 24 hours without approval, in place "
            "of the account's approval threshold; empty uses the threshold."
        ),
    )
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


def hash_token(token: str) -> str:
    """How an invitation's token is kept: its SHA-256. The token is 256 random bits, so a fast
    hash is as safe as a slow one, and the database alone never yields a working link."""
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self) -> InvitationQuerySet:
        """Neither accepted nor revoked; an expired one still counts (its admin may resend it)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """An admin's invitation of an email to their customer account with a role: a single-use
    link that expires, its token kept only hashed.

    The portal's own model rather than django-invitations or django-organizations: the first
    keeps one invitation per email site-wide and hands acceptance to django-allauth's sign-up
    (here one person may be invited by several customers, and the portal signs in by its own
    forms); the second brings organisation and member models of its own beside CustomerAccount
    and Membership, which the whole portal reads. What is left is a hashed token with an expiry.
    """

    class State(models.TextChoices):
        OPEN = "open", gettext_lazy("Waiting")
        EXPIRED = "expired", gettext_lazy("Expired")
        ACCEPTED = "accepted", gettext_lazy("Accepted")
        REVOKED = "revoked", gettext_lazy("Revoked")

    account = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    first_name = models.CharField(max_length=40, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices)
    spending_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # The ISO 4217 code Nue names for the customer when invited (orders.nue.Customer.currency):
    # the spending limit is in it, as the account's orders are. Empty where Nue names none.
    currency = models.CharField(max_length=3, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text=gettext_lazy("When the current link was last mailed.")
    )
    expires_at = models.DateTimeField(help_text=gettext_lazy("The current link works until then."))
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_accepted",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A second invitation of the same email is a resend of the first.
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.account} ({self.get_role_display()})"

    @property
    def state(self) -> Invitation.State:
        if self.accepted_at is not None:
            return self.State.ACCEPTED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if timezone.now() >= self.expires_at:
            return self.State.EXPIRED
        return self.State.OPEN

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def new_token(self) -> str:
        """A new link for this invitation (the previous one stops working once this is saved),
        valid for INVITATION_MAX_AGE_DAYS from now: the token, which only the email carries."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        self.expires_at = timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
        return token

    @classmethod
    def for_token(cls, token: str) -> Invitation | None:
        """The invitation whose current link carries `token`, whatever its state; None for a
        token that is no invitation's (never was, or a resend replaced it)."""
        found = cls.objects.select_related("account", "invited_by").filter(
            token_hash=hash_token(token)
        )
        return found.first()


class AuditKind(models.TextChoices):
    SIGN_IN = "sign_in", gettext_lazy("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", gettext_lazy("Sign-in failed")
    SIGN_OUT = "sign_out", gettext_lazy("Signed out")
    IMPERSONATION_STARTED = "impersonation_started", gettext_lazy("Impersonation started")
    IMPERSONATION_ENDED = "impersonation_ended", gettext_lazy("Impersonation ended")
    IMPERSONATION_ELEVATED = "impersonation_elevated", gettext_lazy("Impersonation elevated")
    ACTION_REFUSED = "action_refused", gettext_lazy("Action refused (read-only)")
    PAGE_VIEWED = "page_viewed", gettext_lazy("Page viewed")
    ACTION = "action", gettext_lazy("Action")
    APPROVAL = "approval", gettext_lazy("Approval")
    DECLINE = "decline", gettext_lazy("Decline")
    ACTIVATION = "activation", gettext_lazy("Activation")
    CHANGE_ORDER = "change_order", gettext_lazy("Change order")
    CANCELLATION = "cancellation", gettext_lazy("Cancellation")
    TEAM = "team", gettext_lazy("Team change")
    MFA_SET_UP = "mfa_set_up", gettext_lazy("Second factor set up")
    MFA_VERIFIED = "mfa_verified", gettext_lazy("Second factor verified")
    MFA_FAILED = "mfa_failed", gettext_lazy("Second-factor code refused")
    MFA_RECOVERY_USED = "mfa_recovery_used", gettext_lazy("Recovery code used")
    MFA_CODES_REPLACED = "mfa_codes_replaced", gettext_lazy("Recovery codes replaced")
    MFA_TURNED_OFF = "mfa_turned_off", gettext_lazy("Second factor turned off")
    MFA_REQUIREMENT_CHANGED = (
        "mfa_requirement_changed",
        gettext_lazy("Second-factor requirement changed"),
    )


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
        null=True,
        blank=True,
        db_index=True,
        help_text=gettext_lazy("Groups the events of one impersonation."),
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


class NotificationKind(models.TextChoices):
    """What the portal emails people about (portal.notifications says who receives each)."""

    ORDER_ACTIVATED = "order_activated", gettext_lazy("Order activated")
    CHANGE_CONFIRMED = "change_confirmed", gettext_lazy("Subscription change confirmed")
    CANCELLATION_SCHEDULED = "cancellation_scheduled", gettext_lazy("Cancellation scheduled")
    APPROVAL_REQUESTED = "approval_requested", gettext_lazy("Approval requested")
    APPROVAL_DECIDED = "approval_decided", gettext_lazy("Approval decided")
    INVITATION = "invitation", gettext_lazy("Invitation")
    RENEWAL_REMINDER = "renewal_reminder", gettext_lazy("Renewal coming up")
    PAYMENT_FAILED = "payment_failed", gettext_lazy("Payment failed")


class NotificationPreference(models.Model):
    """One person's choice for one kind of email about one customer account.

    Only choices that differ from the default are kept; a person without a row for a kind gets
    what portal.notifications says members of their role get.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    account = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account", "kind"], name="one_preference_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.account} · {self.kind}: {'on' if self.enabled else 'off'}"


class OutgoingEmail(models.Model):
    """One email waiting for, or done with, the mail worker (`manage.py send_queued_mail`).

    Every email the portal sends is a row here first, written in the transaction of what it
    tells (portal.outbox): nothing is sent inside a request, and nothing is sent for work that
    was rolled back. The message is kept fully rendered, so the worker needs no templates.

    A row moves queued → sending (claimed, with a lease) → sent; a refused send goes back to
    queued with a later `next_attempt_at` until `attempts` reaches the limit (failed). A row
    still "sending" when its lease ends belongs to a worker that stopped between handing the
    message to the mail server and recording it: whether it went out is not known, so it
    becomes "unknown" and is never sent again by the worker; a person decides (admin).
    """

    class State(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        SENDING = "sending", gettext_lazy("Sending")
        SENT = "sent", gettext_lazy("Sent")
        FAILED = "failed", gettext_lazy("Failed (gave up)")
        UNKNOWN = "unknown", gettext_lazy("Unknown (the worker stopped while sending)")

    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(
        max_length=32,
        blank=True,
        help_text=gettext_lazy(
            "The notification's kind; empty for mail sent through Django's mail API."
        ),
    )
    account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outgoing_emails",
    )
    subject = models.CharField(max_length=998)
    from_email = models.CharField(max_length=998)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    # Other alternatives and attachments as [{"content": base64, "mimetype": ..., ...}].
    alternatives = models.JSONField(default=list, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["state", "lease_until"], name="outbox_leases"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)} ({self.get_state_display()})"


class RenewalReminder(models.Model):
    """A renewal reminder sent: one per subscription, renewal date and window, so the daily
    command (`manage.py send_renewal_reminders`) can run any number of times."""

    account = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="renewal_reminders"
    )
    subscription = models.CharField(
        max_length=64, help_text=gettext_lazy("Nue's subscription number.")
    )
    renewal_date = models.DateField()
    window_days = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "renewal_date", "window_days"],
                name="one_reminder_per_window",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription} renews {self.renewal_date}: {self.window_days}-day reminder"
