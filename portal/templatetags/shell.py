"""`{% htmx_script %}`: htmx itself, loaded with the page's CSP nonce."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def htmx_script(context: template.Context) -> SafeString:
    """Not django-htmx's `htmx_script`: with DEBUG on it adds a script that replaces the whole page
    with any 400/403/404/500 answer to an HTMX request and evals the scripts in it (which the CSP
    refuses), so `make run` would show a bare document where production shows the portal's own
    refusal or error partial. Both modes render the same.
    """
    return format_html(
        '<script src="{}" defer nonce="{}"></script>',
        static("django_htmx/htmx-2.min.js"),
        context.get("csp_nonce", ""),
    )
