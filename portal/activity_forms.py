"""The filters of the account activity log: member, kind of activity, days, order number."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from portal.activity import ACTIVITY_CHOICES, activity_q, by_member, by_order_number
from portal.models import AuditEvent, CustomerAccount, User
from portal.support_forms import DateRangeForm


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.email})" if name else obj.email


class ActivityFilterForm(DateRangeForm):
    """Only the account's own members are offered or accepted: another customer's member (or any
    value not offered) is an error on that filter, which is then left out, never applied."""

    member = MemberChoiceField(
        label=gettext_lazy("Member"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Anyone"),
    )
    activity = forms.ChoiceField(
        label=gettext_lazy("Activity"),
        choices=[("", gettext_lazy("Any activity")), *ACTIVITY_CHOICES],
        required=False,
    )
    q = forms.CharField(
        label=gettext_lazy("Order number"),
        required=False,
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    field_order = ["member", "activity", "since", "until", "q"]

    def __init__(self, *args: Any, account: CustomerAccount, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        member = self.fields["member"]
        assert isinstance(member, forms.ModelChoiceField)
        member.queryset = User.objects.filter(memberships__account=account).order_by("email")

    def filter(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """`events` by the filters that are valid (an invalid one is reported, not applied)."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("member"):
            events = by_member(events, data["member"])
        if data.get("activity"):
            events = events.filter(activity_q(data["activity"]))
        if data.get("q"):
            events = by_order_number(events, data["q"])
        return self.within_dates(events)

    @property
    def filtered(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.fields)
