"""The operation ledger: one row per non-idempotent Nue POST (activate an order, create a change).

A row is committed before the POST leaves, so a second submit (another tab, a double click, a
retry after a timeout) finds it and never sends the POST again while the outcome is open.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import CustomerAccount


class Operation(models.Model):
    class Kind(models.TextChoices):
        ACTIVATE = "activate", _("Activate order")
        CHANGE = "change", _("Create change order")
        # A subscription held while a change order for it is activated: nothing is sent under
        # this row itself; it settles with that order's activation.
        HOLD = "hold", _("Hold subscription")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_FLIGHT = "in_flight", _("In flight")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown")

    OPEN_STATES = (State.PENDING, State.IN_FLIGHT, State.UNKNOWN)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(
        max_length=64,
        help_text="The order id (activate) or subscription names (change, hold).",
    )
    customer = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="operations"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="operations"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="operations_on_behalf",
        help_text="The customer user an impersonating staff member acted for.",
    )
    payload_hash = models.CharField(max_length=64)
    amount = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="An activation's grand total as Nue gave it (a buyer's limit counts these).",
    )
    request = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="What was asked of Nue: an unknown outcome settles only on exactly this.",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    audit = models.JSONField(
        default=list,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="The audit events (portal.audit.pending) written once the operation succeeds, "
        "by whichever path learns it.",
    )
    audited_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    reference = models.CharField(
        max_length=32, blank=True, help_text="Request id of the Nue call, as shown to the user."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(state__in=["pending", "in_flight", "unknown"]),
                name="one_open_operation_per_target",
            )
        ]
        indexes = [
            models.Index(fields=["state", "updated_at"]),
            # A failure shown to a user carries the reference of the operation it happened in
            # (orders.actions.failures links them by it).
            models.Index(fields=["reference"], name="operation_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class ApprovalRequest(models.Model):
    """A buyer's request that an account manager activate a draft above the approval threshold.

    While pending, the draft is locked against edits (orders.actions.approvals.is_locked).
    `figures` is the draft as the buyer saw it (orders.actions.approvals.figures_of), so the
    manager sees what changed.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    customer = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="approval_requests"
    )
    order_id = models.CharField(max_length=64, db_index=True)
    order_number = models.CharField(max_length=32)
    order_name = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_requests"
    )
    requested_via = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval_requests_via",
        help_text="The support agent who asked while impersonating the requester.",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)
    po_number = models.CharField(max_length=255, blank=True)
    po_date = models.DateField(null=True, blank=True)
    consented_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the requester agreed that the saved payment method may be charged.",
    )
    # How the requester chose to pay (orders.actions.cards.Pay): the approval activates with
    # exactly this, and with a card only the one named here, which the requester consented to.
    pay = models.CharField(
        max_length=16,
        choices=[("card", _("Card on file")), ("invoice", _("Invoice"))],
        default="invoice",
    )
    card_payment_method_id = models.CharField(
        max_length=255, blank=True, help_text="The Stripe payment method of the card chosen."
    )
    card_label = models.CharField(
        max_length=64, blank=True, help_text="The card as the requester saw it: Visa ending 4242."
    )
    figures = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval_decisions",
    )
    decided_via = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval_decisions_via",
        help_text="The support agent who decided (withdrew) while impersonating `decided_by`.",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    operation = models.ForeignKey(
        Operation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approvals",
        help_text="The ledger row of the activation an approval sent.",
    )

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_id"],
                condition=models.Q(state="pending"),
                name="one_pending_approval_per_order",
            )
        ]
        indexes = [models.Index(fields=["customer", "state", "requested_at"])]

    def __str__(self) -> str:
        return f"Approval of {self.order_number} ({self.get_state_display()})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING

    @property
    def pay_words(self) -> str:
        """How the approved order is paid, as the requester chose: "Charge Visa ending 4242"."""
        if self.pay == "card":
            return gettext("Charge %(card)s") % {
                "card": self.card_label or gettext("the card on file")
            }
        return gettext("Pay by invoice")


def new_quote_token() -> str:
    """The secret of a quote link's URL: 256 random bits, so a link cannot be guessed."""
    return secrets.token_urlsafe(32)


def quote_expiry() -> datetime:
    """How long a quote link stays open from when it is made (settings.PORTAL_QUOTE_VALID_DAYS)."""
    return timezone.now() + timedelta(days=settings.PORTAL_QUOTE_VALID_DAYS)


class QuoteLink(models.Model):
    """A quote of a draft shared by link: the portal's page at /quote/<token>/, where the
    recipient reads the quote, downloads it as a PDF and accepts it, without signing in.

    `token` is the credential: it is shown only to people who may see the draft, sent only to
    the address someone chose, and never logged. `url` is Nue's own magic link to its rendering
    of the draft (nue-api.md §2.3), in the layout `template_id`. `figures` and `versions` are
    what the quote said when it was made (the draft's figures, and the version and quantity of
    each subscription a change order changes): an acceptance is refused when Nue holds anything
    else now. Making a new link for the draft supersedes this one; a superseded or revoked link
    opens only a page that says so.
    """

    customer = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="quote_links"
    )
    order_id = models.CharField(max_length=64, db_index=True)
    order_number = models.CharField(max_length=32, blank=True)
    order_name = models.CharField(max_length=255, blank=True)
    token = models.CharField(max_length=64, unique=True, default=new_quote_token, editable=False)
    template_id = models.CharField(max_length=64, blank=True)
    url = models.URLField(max_length=2000, help_text="Nue's magic link to its rendering.")
    figures = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    versions = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="Per subscription the draft changes, its version and quantity when quoted.",
    )
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quote_links"
    )
    generated_via = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quote_links_via",
        help_text="The support agent who generated it while impersonating `generated_by`.",
    )
    generated_at = models.DateTimeField()
    expires_at = models.DateTimeField(default=quote_expiry)
    sent_to = models.EmailField(blank=True, help_text="The address it was last emailed to.")
    sent_at = models.DateTimeField(null=True, blank=True)
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quote_links_revoked",
    )
    superseded_at = models.DateTimeField(
        null=True, blank=True, help_text="When a newer link for the same draft replaced it."
    )

    class Meta:
        ordering = ["-generated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_id"],
                condition=models.Q(superseded_at=None),
                name="one_current_quote_link_per_order",
            )
        ]
        indexes = [models.Index(fields=["customer", "-generated_at"])]

    def __str__(self) -> str:
        return f"Quote link for order {self.order_number or self.order_id}"


class QuoteAcceptance(models.Model):
    """The recipient's acceptance of a quote link: at most one per link (the claim a double
    submit meets), with who accepted, what they agreed to, and what it became.

    Written as ACCEPTING before anything is sent, so a second submit finds it and sends nothing;
    it becomes ACTIVATED with the ledger's operation, or AWAITING_APPROVAL with the approval
    request; an acceptance that changed nothing is deleted, so the recipient may try again.
    """

    class State(models.TextChoices):
        ACCEPTING = "accepting", _("Being accepted")
        ACTIVATED = "activated", _("Accepted: order activated")
        AWAITING_APPROVAL = "awaiting_approval", _("Accepted: awaiting approval")

    link = models.OneToOneField(QuoteLink, on_delete=models.PROTECT, related_name="acceptance")
    customer = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="quote_acceptances"
    )
    order_id = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    email = models.EmailField()
    po_number = models.CharField(max_length=255, blank=True)
    terms = models.TextField(help_text="The terms as they were shown and agreed to.")
    pay = models.CharField(
        max_length=16,
        choices=[("card", _("Card")), ("invoice", _("Invoice"))],
        default="invoice",
    )
    card_label = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=24, choices=State.choices, default=State.ACCEPTING)
    operation = models.ForeignKey(
        Operation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approval = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return (
            f"Acceptance of quote link {self.link_id} by {self.name} ({self.get_state_display()})"
        )

    @property
    def outcome(self) -> str:
        """What became of it: "activated" (directly, or once approved), "awaiting_approval",
        "declined" (the approval was declined or withdrawn: nothing was ordered) or
        "accepting" (its outcome is being confirmed)."""
        if self.state != self.State.AWAITING_APPROVAL or self.approval is None:
            return str(self.state)
        if self.approval.state == ApprovalRequest.State.APPROVED:
            return "activated"
        if self.approval.state == ApprovalRequest.State.PENDING:
            return "awaiting_approval"
        return "declined"


class TenantCapabilities(models.Model):
    """How one Nue tenant reads what its guides leave open, as `manage.py nue_check` found it.

    One row per Nue API URL. An empty answer is one not settled yet: the portal then sends and
    labels as it does against the emulator (orders.capabilities reads the row).
    """

    class Reconfigure(models.TextChoices):
        ABSOLUTE = "absolute", "The add-on's new quantity"
        DELTA = "delta", "A change of the add-on's quantity"

    class SystemDiscount(models.TextChoices):
        INCLUDED = "included", "Part of discountAmount"
        ADDED = "added", "Added to discountAmount"

    class Subtotal(models.TextChoices):
        AFTER_DISCOUNT = "after_discount", "After discount, before tax"
        BEFORE_DISCOUNT = "before_discount", "Before discount and tax"

    api_url = models.CharField("Nue API URL", max_length=255, unique=True)
    coterm_field = models.CharField(
        max_length=32, blank=True, help_text="The coterm field of a new order line."
    )
    upgrade_target_field = models.CharField(
        max_length=64, blank=True, help_text="The target field of an Upgrade, Downgrade or Swap."
    )
    reconfigure_quantity = models.CharField(
        max_length=16,
        choices=Reconfigure.choices,
        blank=True,
        help_text="How Nue reads a Reconfigure's productOptionQuantity.",
    )
    activated_status_filter = models.CharField(
        max_length=32, blank=True, help_text="The status filter value that lists Activated orders."
    )
    system_discount = models.CharField(
        max_length=16,
        choices=SystemDiscount.choices,
        blank=True,
        help_text="How systemDiscountAmount (price tags) relates to discountAmount.",
    )
    subtotal = models.CharField(
        max_length=16, choices=Subtotal.choices, blank=True, help_text="What subtotal is."
    )
    optional_endpoints = models.JSONField(
        default=dict, blank=True, help_text="Each optional read nue_check tried: served or not."
    )
    findings = models.JSONField(
        default=list, blank=True, help_text="The last run's table: finding, result, evidence."
    )
    checked_at = models.DateTimeField()
    drafts_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When nue_check last ran with --with-drafts."
    )

    class Meta:
        verbose_name = "tenant capabilities"
        verbose_name_plural = "tenant capabilities"

    def __str__(self) -> str:
        return f"Capabilities of {self.api_url}"


class DiscardedDraft(models.Model):
    """A draft its customer discarded in the portal: the portal no longer offers it.

    Nue documents no way to cancel or delete a draft (nue-api.md §2.1, §5.4): in Nue it stays
    Draft, is never activated by the portal, and the vendor may still see it. The portal leaves
    it out of every list and page of the customer's (orders.scope), for as long as Nue shows it
    as a draft.
    """

    customer = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="discarded_drafts"
    )
    order_id = models.CharField(max_length=64, unique=True)
    order_number = models.CharField(max_length=32)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="discarded_drafts"
    )
    discarded_via = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="discarded_drafts_via",
        help_text="The support agent who discarded it while impersonating `discarded_by`.",
    )
    discarded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Discarded draft {self.order_number}"


class StripeCustomer(models.Model):
    """The Stripe customer of a Nue customer (create-draft-orders.txt: the `transactionHub`
    links them in Nue), the card the portal charges, and when Nue was sent the link.

    Stripe keeps the Nue customer id in the customer's metadata too (`nue_customer_id`), so a
    lost row is found again rather than duplicated."""

    account = models.OneToOneField(
        "portal.CustomerAccount", on_delete=models.CASCADE, related_name="stripe_customer"
    )
    nue_customer_id = models.CharField(max_length=64, unique=True)
    stripe_customer_id = models.CharField(max_length=255)
    # The Stripe payment method (`pm_…`) saved last: what an activation charged to a card sends.
    card_payment_method_id = models.CharField(max_length=255, blank=True)
    # Nue needs the transactionHub "only once per customer": set when an activation carrying it
    # succeeded (sending it again is harmless: Nue neither overwrites nor duplicates it).
    hub_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.nue_customer_id} → {self.stripe_customer_id}"


class NuePaymentMethod(models.Model):
    """A Nue payment method the portal created by sending a card, and that card.

    Nue documents no endpoint reading a payment method: a subscription names its own only as
    `defaultPaymentMethodId`, learned from the activation's answer, so the portal keeps which
    Stripe card each one is to show a subscription's brand and last four."""

    account = models.ForeignKey(
        "portal.CustomerAccount", on_delete=models.CASCADE, related_name="nue_payment_methods"
    )
    nue_payment_method_id = models.CharField(max_length=64)
    stripe_payment_method_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "nue_payment_method_id"], name="one_link_per_nue_method"
            )
        ]

    def __str__(self) -> str:
        return f"{self.nue_payment_method_id} → {self.stripe_payment_method_id}"


class InvoicePayment(models.Model):
    """A charge of the card on file for an open invoice, which the portal starts itself, and
    its recording in Nue (nue-api.md §2.8, POST /billing/invoices:pay).

    The row is committed before Stripe is called: a second press of the button for the same
    invoice and balance finds it (the unique constraint) rather than charging again, and its
    `idempotency_key` is Stripe's too, so a resent create is the same PaymentIntent. A failed
    row steps aside, so the customer may try again."""

    class State(models.TextChoices):
        STARTED = "started", _("Charge started")
        REQUIRES_ACTION = "requires_action", _("Waiting for the card's authentication")
        PROCESSING = "processing", _("Stripe is processing the charge")
        CHARGED = "charged", _("Charged, not yet recorded in Nue")
        RECORDING = "recording", _("Being recorded in Nue")
        UNKNOWN = "unknown", _("Recording in Nue not known to have succeeded")
        RECORDED = "recorded", _("Charged and recorded in Nue")
        FAILED = "failed", _("Not charged")
        # Charged, but Nue shows a payment that is not (only) ours: never sent again, never
        # shown as recorded; the account manager reconciles it.
        NEEDS_REVIEW = "needs_review", _("Needs review: Nue shows another payment")

    account = models.ForeignKey(
        "portal.CustomerAccount", on_delete=models.PROTECT, related_name="invoice_payments"
    )
    invoice_id = models.CharField(max_length=64)
    invoice_number = models.CharField(max_length=64, blank=True)
    # Nue's balance when the payment was started: what is charged and recorded.
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=16, choices=State.choices, default=State.STARTED)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    card_label = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    via = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The audit event the request described (portal.audit.pending): an outcome learned later
    # (the webhook) is audited as this member's, however it was learned.
    audit_spec = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    sent_to_nue_at = models.DateTimeField(null=True, blank=True)
    # The invoice as Nue showed it just before invoices:pay was sent (nue-api.md §2.8: its
    # `balance` and how many `paymentApplications` it had): a lost answer is settled against
    # exactly this, so another payment recorded meanwhile is never taken for ours.
    nue_balance_before = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    nue_applications_before = models.PositiveIntegerField(null=True, blank=True)
    charged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice_id", "amount"],
                condition=~models.Q(state="failed"),
                name="one_live_payment_per_invoice_balance",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_number or self.invoice_id}: {self.amount} {self.currency}"

    @property
    def needs_review(self) -> bool:
        return self.state == self.State.NEEDS_REVIEW

    @property
    def charged_on(self) -> date:
        return timezone.localdate(self.charged_at or self.created_at)

    @property
    def reference(self) -> str:
        """What the customer quotes and support searches for (admin, Stripe's dashboard)."""
        return self.payment_intent_id or str(self.idempotency_key)


class StripeEvent(models.Model):
    """A Stripe webhook event already handled: a replay (Stripe resends, or someone replays a
    captured delivery within the signature's tolerance) is answered without acting again."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=128)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.event_id


class RequestFailure(models.Model):
    """A failure a user was shown with a reference (orders.views.errors): who, for which
    customer, on which page, which Nue call failed and how, and what the user read.

    Support looks it up by that reference (/support/lookup/). The record is of the first time
    the reference was shown; showing it again (a retry answered "still in progress" with the
    same operation's reference) counts an occurrence. Nothing secret is kept: no API key, no
    bodies sent or received, no card data, no query strings; Nue's own error text, cut short.
    `manage.py prune_request_failures` keeps it bounded.
    """

    class ShownAs(models.TextChoices):
        PAGE = "page", _("Error page")
        PARTIAL = "partial", _("Error in place of a region (HTMX)")
        PANEL = "panel", _("Panel of a page")
        FORM = "form", _("Form error")

    reference = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    occurrences = models.PositiveIntegerField(default=1)
    # Who: the signed-in user and, while a support agent impersonated them, the agent. The
    # emails are copied so the record survives a deleted user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="request_failures",
    )
    user_email = models.EmailField(blank=True)
    impersonator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="request_failures_impersonating",
    )
    impersonator_email = models.EmailField(blank=True)
    customer = models.ForeignKey(
        CustomerAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="request_failures",
    )
    # The portal request: its method and path (no query string), and for an HTMX request the
    # page the user was on.
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=2000, blank=True)
    page = models.CharField(max_length=2000, blank=True)
    # The Nue call, as orders.nue.calls noted it: blank when the portal failed before calling
    # Nue (its own database, an operation still open).
    nue_method = models.CharField(max_length=10, blank=True)
    nue_path = models.CharField(max_length=500, blank=True)
    nue_request_id = models.CharField(max_length=32, blank=True)
    nue_attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    upstream_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_kind = models.CharField(max_length=64)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # What the user was shown.
    status = models.PositiveSmallIntegerField(help_text="The HTTP status the user was answered.")
    title = models.CharField(max_length=200)
    shown_as = models.CharField(max_length=16, choices=ShownAs.choices)
    outcome_unknown = models.BooleanField(
        default=False, help_text="A write Nue may have done although its answer was lost."
    )
    draft_may_exist = models.BooleanField(default=False)
    operation = models.ForeignKey(
        Operation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="failures",
        help_text="The operation ledger row the failure happened in.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="failure_customer_recent")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.error_kind} on {self.method} {self.path}"
