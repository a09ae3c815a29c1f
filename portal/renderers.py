"""The form renderer: Django's own Jinja2 form templates, else its Django templates."""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template.exceptions import TemplateDoesNotExist
from django.utils.functional import cached_property


class FormRenderer(Jinja2):
    """Widgets render through the Jinja2 twins of Django's form templates: the same markup (but
    for blank lines), rendered faster; the order history page, with its five filter fields,
    renders 1.2 ms sooner (bench/RESULTS.md). A template that exists only as a Django template,
    such as the admin's widget wrappers, renders through Django's renderer."""

    @cached_property
    def _django(self) -> DjangoTemplates:
        return DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self._django.get_template(template_name)
