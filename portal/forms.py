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


class NotificationChoicesForm(forms.Form):
    """Which of the choosable kinds of email a member wants (portal.notifications.choices):
    ticked ones on, the rest off. Kinds essential for them are not choices."""

    enabled = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: object, kinds: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["enabled"].choices = kinds  # type: ignore[attr-defined]
