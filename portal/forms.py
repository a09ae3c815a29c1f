from datetime import date, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.l10n import day_example, day_text, parse_day
from portal.models import User, validate_time_zone
from portal.preferences import zone_groups


@lazy
def _password_help() -> str:
    return " ".join(password_validation.password_validators_help_texts())


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            gettext_lazy(
                "That email and password don't match an account. Check both and try again."
            )
        ),
    }
    username = forms.EmailField(
        label=gettext_lazy("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class PortalPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label=gettext_lazy("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class ChooseCustomerForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)


class ZoneSelect(forms.Select):
    """The time zone <select>. Its five hundred options are written by one template; Django's
    Select includes a template per option, which cost the account page most of its time."""

    template_name = "portal/widgets/zone_select.html"


class AccountSettingsForm(forms.ModelForm):
    """A person's language and time zone (/account/)."""

    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=settings.LANGUAGES,
        help_text=gettext_lazy(
            "The language of the portal's pages, and how it writes dates and amounts."
        ),
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        widget=ZoneSelect,
        validators=[validate_time_zone],
        help_text=gettext_lazy(
            "Every date and time the portal shows is in this zone, and 'today' is your "
            "day in it (for example, the start date a new order suggests)."
        ),
    )

    class Meta:
        model = User
        fields = ["language", "time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.time_zone or ""
        zones = self.fields["time_zone"]
        assert isinstance(zones, forms.ChoiceField)
        zones.choices = zone_groups(current)
        zones.initial = current or "UTC"


class LocalDateInput(forms.TextInput):
    """A date typed the way the pages print it in the person's language (portal.l10n), with
    that format shown by example. Not the browser's date picker: its format follows the
    browser's settings, not the page's, so it would show a German reader 11/23/2026 beside
    dates printed 23.11.2026."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        # The example follows the language of the request rendering the form.
        context["widget"]["attrs"].setdefault("placeholder", day_example())
        return context

    def format_value(self, value: Any) -> str | None:
        # A date, or text that reads as one (ISO 8601 from a link or a default), is shown in the
        # page's format; anything else as it was typed, beside its error.
        day = parse_day(value) if isinstance(value, str) else value
        if isinstance(day, date):
            return day_text(day)
        return super().format_value(value)


class LocalDateField(forms.DateField):
    """A date in the person's format (23 Nov 2026, 23.11.2026) or ISO 8601 (2026-11-23)."""

    widget = LocalDateInput

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        parsed = parse_day(str(value))
        if parsed is None:
            raise ValidationError(
                _("Enter a date like %(example)s.") % {"example": day_example()},
                code="invalid",
                params={"value": value},
            )
        return parsed


class JoinForm(forms.Form):
    """A new sign-in for an invited email: the person's name and the password they choose,
    checked by the site's password validators (AUTH_PASSWORD_VALIDATORS)."""

    first_name = forms.CharField(
        label=gettext_lazy("First name"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=gettext_lazy("Last name"),
        max_length=80,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        # Lazy: the validators' help reads in the language of the request showing the form.
        help_text=_password_help(),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ. Type the same one twice."))
        elif first:
            # The validators compare the password with the person's email and name.
            person = User(
                email=self.email,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(first, person)
            except ValidationError as error:
                self.add_error("password1", error)
        return data


def _code_input(**attrs: object) -> forms.TextInput:
    # The browser and password managers offer a code they received; no spelling help on codes.
    return forms.TextInput(
        attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"}
        | attrs
    )


AUTHENTICATOR_CODE_ERROR = gettext_lazy("Enter the 6 digits your authenticator app shows now.")


class AuthenticatorCodeForm(forms.Form):
    """The 6-digit code an authenticator app shows (spaces allowed, as apps group them)."""

    code = forms.CharField(
        label=gettext_lazy("Authentication code"),
        max_length=12,
        help_text=gettext_lazy("The 6-digit code your authenticator app shows for Nue portal."),
        widget=_code_input(inputmode="numeric", autofocus=True),
        error_messages={"required": AUTHENTICATOR_CODE_ERROR},
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            raise forms.ValidationError(AUTHENTICATOR_CODE_ERROR)
        return code


def normalized_recovery_code(text: str) -> str:
    """A recovery code as stored: lowercase, without the spaces or dashes people type in it."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


class RecoveryCodeForm(forms.Form):
    recovery_code = forms.CharField(
        label=gettext_lazy("Recovery code"),
        max_length=40,
        help_text=gettext_lazy(
            "One of the recovery codes you saved when you set up your second factor. "
            "Each works once."
        ),
        widget=_code_input(autocomplete="off"),
        error_messages={"required": gettext_lazy("Enter one of your recovery codes.")},
    )

    def clean_recovery_code(self) -> str:
        code = normalized_recovery_code(self.cleaned_data["recovery_code"])
        if not code:
            raise forms.ValidationError(_("Enter one of your recovery codes."))
        return code


class TurnOffForm(forms.Form):
    """A current code, from the authenticator app or a recovery code, to turn the second
    factor off: a session left open is not enough."""

    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app, or a recovery code"),
        max_length=40,
        widget=_code_input(),
        error_messages={
            "required": gettext_lazy("Enter a current code to turn the second factor off.")
        },
    )

    def clean_code(self) -> str:
        code = normalized_recovery_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(_("Enter a current code to turn the second factor off."))
        return code

    @property
    def is_recovery_code(self) -> bool:
        return not self.cleaned_data["code"].isdigit()


class RequirementForm(forms.Form):
    require_mfa = forms.BooleanField(
        label=gettext_lazy("Every member must sign in with a second factor"), required=False
    )


class NotificationChoicesForm(forms.Form):
    """Which of the choosable kinds of email a member wants (portal.notifications.choices):
    ticked ones on, the rest off. Kinds essential for them are not choices."""

    enabled = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: object, kinds: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["enabled"].choices = kinds  # type: ignore[attr-defined]
