from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password don't match an account. Check both and try again."
        ),
    }
    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class PortalPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class ChooseCustomerForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)


def _code_input(**attrs: object) -> forms.TextInput:
    # The browser and password managers offer a code they received; no spelling help on codes.
    return forms.TextInput(
        attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"}
        | attrs
    )


AUTHENTICATOR_CODE_ERROR = "Enter the 6 digits your authenticator app shows now."


class AuthenticatorCodeForm(forms.Form):
    """The 6-digit code an authenticator app shows (spaces allowed, as apps group them)."""

    code = forms.CharField(
        label="Authentication code",
        max_length=12,
        help_text="The 6-digit code your authenticator app shows for Nue portal.",
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
        label="Recovery code",
        max_length=40,
        help_text="One of the recovery codes you saved when you set up your second factor. "
        "Each works once.",
        widget=_code_input(autocomplete="off"),
        error_messages={"required": "Enter one of your recovery codes."},
    )

    def clean_recovery_code(self) -> str:
        code = normalized_recovery_code(self.cleaned_data["recovery_code"])
        if not code:
            raise forms.ValidationError("Enter one of your recovery codes.")
        return code


class TurnOffForm(forms.Form):
    """A current code, from the authenticator app or a recovery code, to turn the second
    factor off: a session left open is not enough."""

    code = forms.CharField(
        label="Code from your authenticator app, or a recovery code",
        max_length=40,
        widget=_code_input(),
        error_messages={"required": "Enter a current code to turn the second factor off."},
    )

    def clean_code(self) -> str:
        code = normalized_recovery_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError("Enter a current code to turn the second factor off.")
        return code

    @property
    def is_recovery_code(self) -> bool:
        return not self.cleaned_data["code"].isdigit()


class RequirementForm(forms.Form):
    require_mfa = forms.BooleanField(
        label="Every member must sign in with a second factor", required=False
    )
