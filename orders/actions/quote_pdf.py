"""A quote as a PDF (issue 26, item 2): the quote page's content, in the tenant's branding,
rendered by WeasyPrint from templates/quotes/quote_pdf.html.

WeasyPrint needs Pango from the system (scripts/ensure-pango.sh installs it in CI); where it is
missing, `render` raises PdfUnavailable and the page says the PDF cannot be made just now. The
PDF is made from the portal's own data only: no URL is fetched while rendering (the logo is
embedded), so a quote cannot make the server reach anything.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

logger = logging.getLogger("orders.quotes")


class PdfUnavailable(Exception):
    """The PDF renderer cannot run on this server (Pango missing)."""


def logo_data_uri() -> str:
    """The tenant's logo (settings.PORTAL_BRAND_LOGO, a static file) as a data: URI, or ""."""
    found = finders.find(settings.PORTAL_BRAND_LOGO)
    if not found:
        return ""
    path = Path(str(found))
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def render(ctx: dict[str, Any]) -> bytes:
    """The PDF of templates/quotes/quote_pdf.html with `ctx` (the quote page's context)."""
    try:
        from weasyprint import HTML, URLFetcher
    except OSError as error:  # Pango or its fonts are not installed
        logger.error("quote PDF unavailable: %s", error)
        raise PdfUnavailable(str(error)) from error
    html = render_to_string(
        "quotes/quote_pdf.html",
        {
            **ctx,
            "brand": {"name": settings.PORTAL_BRAND_NAME},
            "brand_logo": logo_data_uri(),
            "brand_color": settings.PORTAL_BRAND_COLOR,
        },
    )
    # Only the embedded logo may be read: nothing on the network or the disk.
    fetcher = URLFetcher(allowed_protocols=("data",))
    return bytes(HTML(string=html, url_fetcher=fetcher).write_pdf())
