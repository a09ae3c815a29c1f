from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.forms import LocalDateField
from portal.impersonation import impersonation_refusal
from portal.models import AuditEvent, AuditKind, CustomerAccount, Membership, User

REASON_MAX = 500


class SupportSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Find a customer or user"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Account name, Nue customer id, or a user's email or name."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REASON_MAX,
        min_length=3,
        strip=True,
        help_text=gettext_lazy(
            "A ticket reference or a short note. The customer's admins can read it."
        ),
    )


class ImpersonateForm(ReasonForm):
    """Start an impersonation of one membership's user; the policy decides, the form reports."""

    def __init__(self, *args: Any, agent: User, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agent = agent
        self.membership = membership

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        refusal = impersonation_refusal(
            hijacker=self.agent, hijacked=self.membership.user, account=self.membership.account
        )
        if refusal is not None:
            raise forms.ValidationError(refusal, code="refused")
        return cleaned


class ElevateForm(ReasonForm):
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class DateRangeForm(forms.Form):
    """The From and To days of an audit trail's filters (the support audit log, the account's
    activity log), the end not before the start."""

    since = LocalDateField(label=gettext_lazy("From"), required=False)
    until = LocalDateField(label=gettext_lazy("To"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def within_dates(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """`events` of the days chosen, of those that are valid."""
        data = getattr(self, "cleaned_data", {})
        if data.get("since"):
            events = events.filter(created_at__date__gte=data["since"])
        if data.get("until"):
            events = events.filter(created_at__date__lte=data["until"])
        return events


class AuditFilterForm(DateRangeForm):
    agent = forms.ModelChoiceField(
        label=gettext_lazy("Agent"),
        queryset=User.objects.filter(is_staff=True),
        required=False,
        empty_label=gettext_lazy("Anyone"),
    )
    customer = forms.ModelChoiceField(
        label=gettext_lazy("Customer"),
        queryset=CustomerAccount.objects.all(),
        required=False,
        empty_label=gettext_lazy("Any customer"),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Event"),
        choices=[("", gettext_lazy("Any event")), *AuditKind.choices],
        required=False,
    )
    field_order = ["agent", "customer", "kind", "since", "until"]

    def __init__(self, *args: Any, customers: QuerySet[CustomerAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the customers whose events the reader may see are offered.
        customer = self.fields["customer"]
        assert isinstance(customer, forms.ModelChoiceField)
        customer.queryset = customers

    def filter(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        data = self.cleaned_data
        if data.get("agent"):
            events = events.filter(actor=data["agent"])
        if data.get("customer"):
            events = events.filter(customer=data["customer"])
        if data.get("kind"):
            events = events.filter(kind=data["kind"])
        return self.within_dates(events)
