"""The portal's template engine: Jinja2, with what its pages need from Django.

Pages render through Jinja2 because rendering them with Django's template language was the
largest part of a page's own CPU time after the Nue reads, and Jinja2 renders them in about
40 % less (bench/RESULTS.md); the admin's and other packages' templates stay Django templates
(settings.TEMPLATES).

`render(request, "orders/dashboard.html#subscriptions-panel")` renders only the block
`subscriptions_panel` of the page: HTMX swaps a fragment that is defined once, inside the page
it belongs to, and named after the id of the element it is (hyphens become underscores).
"""

from __future__ import annotations

from datetime import date as date_type
from datetime import datetime, time
from decimal import Decimal
from functools import lru_cache
from types import MethodType
from typing import Any, NoReturn

import jinja2
from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.backends import jinja2 as django_jinja2
from django.template.defaultfilters import (
    date,
    floatformat,
    linebreaksbr,
    pluralize,
    timesince_filter,
    timeuntil_filter,
)
from django.templatetags.static import static
from django.test.signals import template_rendered
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.formats import localize
from markupsafe import Markup


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """`{{ url("orders:order_detail", order.id) }}`"""
    if kwargs:
        # Not remembered: the only such links carry a password reset token.
        return reverse(name, kwargs=kwargs)
    # Reversing writes every argument as text (the project's path converters all do), so
    # the text is the cache key: 1, 1.0 and True are equal keys but not the same URL.
    return _reverse(
        get_urlconf(settings.ROOT_URLCONF),
        get_script_prefix(),
        name,
        tuple(str(arg) for arg in args),
    )


@lru_cache(maxsize=4096)
def _reverse(
    urlconf: str,
    prefix: str,
    name: str,
    args: tuple[str, ...],
) -> str:
    # Django reverses afresh every time (~20 µs); a page links the same places on every visit:
    # the navigation, and the rows of a list a customer pages through. The URL patterns are
    # fixed once loaded; the urlconf and script prefix, which can differ, are in the key.
    return reverse(name, urlconf=urlconf, args=args or None)


def url_or_none(name: str, *args: Any) -> str | None:
    """A link to upstream data that may have no page here (a Nue name no URL can hold):
    `{% set link = url_or_none(...) %}{% if link %}...`, as Django's `{% url ... as link %}`."""
    try:
        return url(name, *args)
    except NoReverseMatch:
        return None


def _local(value: Any) -> Any:
    # What Django's templates do to a datetime before printing or filtering it.
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _local_date(value: Any, arg: str | None = None) -> str:
    return date(_local(value), arg)


def _finalize(value: Any) -> Any:
    if isinstance(value, str):
        return value
    # Django's templates call a method named without parentheses; Jinja2 would print
    # "<bound method ...>". Fail loudly instead, so a forgotten `()` never reaches a page.
    if callable(value) and not hasattr(value, "__html__"):
        raise TypeError(f"A template printed {value!r}: call it with ().")
    # Numbers, dates and times print as in Django's templates: in the locale's format (a
    # Decimal never as 1E+2), a datetime in the current time zone.
    if isinstance(value, Decimal | float | date_type | time):
        return localize(_local(value))
    return value


class Missing(jinja2.ChainableUndefined):
    """Like Django's templates, a missing variable or attribute renders as nothing, also
    further down a chain or called (`event.actor.get_full_name()` when the actor is gone), and
    `is none` holds for it. Unlike Django's, filters such as `date` or `floatformat` raise on
    it: test first, as the templates do."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Missing:  # type: ignore[override]
        return self


class Method:
    """A method a template named: calling it works; testing, printing or looping over it
    raises, where Django's templates would have called it for us (`{% if form.end_date %}`
    is always true in Jinja2)."""

    __slots__ = ("_method",)

    def __init__(self, method: MethodType) -> None:
        self._method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._method(*args, **kwargs)

    def _misused(self, *args: Any) -> NoReturn:
        raise TypeError(f"A template used {self._method!r} without calling it: add ().")

    __bool__ = __str__ = __iter__ = __len__ = _misused


class Environment(jinja2.Environment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        value = super().getattr(obj, attribute)
        return Method(value) if type(value) is MethodType else value


def htmx_script(nonce: str) -> Markup:
    """htmx itself, loaded with the nonce.

    Not django-htmx's `htmx_script`: with DEBUG on it adds a script that replaces the whole page
    with any 400/403/404/500 answer to an HTMX request and evals the scripts in it (which the CSP
    refuses), so `make run` would show a bare document where production shows the portal's own
    refusal or error partial. Both modes render the same.
    """
    return Markup('<script src="{}" defer nonce="{}"></script>').format(
        static("django_htmx/htmx-2.min.js"), nonce
    )


def environment(**options: Any) -> jinja2.Environment:
    options["undefined"] = Missing
    options.pop("autoescape", None)
    env = Environment(**options, autoescape=True, finalize=_finalize, keep_trailing_newline=True)
    env.globals.update(url=url, url_or_none=url_or_none, static=static, htmx_script=htmx_script)
    # A missing value is none, as Django's `{% if x.y is None %}` saw it.
    env.tests["none"] = lambda value: value is None or isinstance(value, jinja2.Undefined)
    env.filters.update(
        date=_local_date,
        floatformat=floatformat,
        linebreaksbr=linebreaksbr,
        pluralize=pluralize,
        timesince=timesince_filter,
        timeuntil=timeuntil_filter,
    )
    # Imported here: they import models, and settings import this module's path only.
    from orders.templating import environment as orders_environment
    from portal.audit import detail_fields

    env.filters["audit_details"] = detail_fields

    orders_environment.install(env)
    return env


class Jinja2(django_jinja2.Jinja2):
    """Django's Jinja2 backend, plus `name#block` and the test client's `response.context`."""

    def get_template(self, template_name: str) -> Template:
        name, _, fragment = template_name.partition("#")
        block = fragment.replace("-", "_")
        template = super().get_template(name)
        if block and block not in template.template.blocks:
            raise TemplateDoesNotExist(template_name, backend=self)
        return Template(template.template, self, block)


class Template(django_jinja2.Template):
    def __init__(self, template: jinja2.Template, backend: Jinja2, block: str = "") -> None:
        super().__init__(_Block(template, block) if block else template, backend)
        self.name = f"{template.name}#{block}" if block else template.name

    def render(self, context: dict[str, Any] | None = None, request: Any = None) -> str:
        # Django's render adds the request, CSRF and the context processors to this dict.
        context = {} if context is None else dict(context)
        html = super().render(context, request)
        # What Django's own templates send: the test client records it as response.context.
        template_rendered.send(sender=self, template=self, context=context)
        return html


class _Block:
    """One block of a template, rendered as the whole template would be."""

    def __init__(self, template: jinja2.Template, name: str) -> None:
        self._template = template
        self._name = name
        self.filename = template.filename
        self.name = template.name

    def render(self, context: dict[str, Any]) -> str:
        render_block = self._template.blocks[self._name]
        return "".join(render_block(self._template.new_context(context)))


def render_markup(env: jinja2.Environment, template_name: str, context: dict[str, Any]) -> Markup:
    """A template rendered inside another one, as safe markup (what an inclusion tag did)."""
    # Safe: the environment autoescapes everything the template prints.
    return Markup(env.get_template(template_name).render(context))  # noqa: S704
