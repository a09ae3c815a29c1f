"""The kinds of change the wizard offers, each with Nue's change type (nue-api.md §2.2) and the
words a customer reads: the one vocabulary of the change actions, their forms and the badges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_noop, pgettext_lazy

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

# The words are marked here and translated when read, in the reader's language. A label is a
# change kind's name ("Cancel" is to end a subscription, not a button that goes back).
_ = gettext_noop


@dataclass(frozen=True, slots=True)
class Kind:
    slug: str
    change_type: str
    label_text: _StrPromise
    summary_text: str

    @property
    def label(self) -> str:
        return str(self.label_text)

    @property
    def summary(self) -> str:
        return gettext(self.summary_text)


KINDS: tuple[Kind, ...] = (
    Kind(
        "quantity",
        "UpdateQuantity",
        pgettext_lazy("change kind", "Change quantity"),
        _("Add or remove seats or units."),
    ),
    Kind(
        "term",
        "UpdateTerm",
        pgettext_lazy("change kind", "Extend the term"),
        _("Move the end date out by whole months."),
    ),
    Kind(
        "upgrade", "Upgrade", pgettext_lazy("change kind", "Upgrade"), _("Move to a higher plan.")
    ),
    Kind(
        "downgrade",
        "Downgrade",
        pgettext_lazy("change kind", "Downgrade"),
        _("Move to a lower plan."),
    ),
    Kind(
        "swap", "Swap", pgettext_lazy("change kind", "Swap"), _("Switch to an equivalent product.")
    ),
    Kind(
        "renew",
        "Renew",
        pgettext_lazy("change kind", "Renew"),
        _("Add a new term starting the day after this one ends."),
    ),
    Kind(
        "coterm",
        "CoTerm",
        pgettext_lazy("change kind", "Align end dates"),
        _("End together with another subscription."),
    ),
    Kind(
        "trial",
        "ConvertFreeTrial",
        pgettext_lazy("change kind", "Convert trial to paid"),
        _("Keep it after the free trial."),
    ),
    Kind(
        "addons",
        "Reconfigure",
        pgettext_lazy("change kind", "Change add-ons"),
        _("Add, remove or resize a bundle's add-ons."),
    ),
    Kind(
        "cancel",
        "Cancel",
        pgettext_lazy("change kind", "Cancel"),
        _("End the subscription and get credit for unused time."),
    ),
)
KINDS_BY_SLUG = {k.slug: k for k in KINDS}
KINDS_BY_CHANGE_TYPE = {k.change_type: k for k in KINDS}
# Upgrade, downgrade and swap move to another product, one of the subscription's relationships.
PRODUCT_KINDS = ("upgrade", "downgrade", "swap")


def change_type_label(change_type: str) -> str:
    """What the wizard calls one of Nue's change types: UpdateQuantity is "Change quantity"."""
    kind = KINDS_BY_CHANGE_TYPE.get(change_type)
    if kind is not None:
        return kind.label
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", change_type).capitalize()
