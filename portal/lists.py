"""What every filtered, paged list of the portal shares (the orders app's lists and the account's
activity log): the query of the pages beside one, which keeps its filters, and its CSV, streamed
row by row with no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.core.paginator import Page
from django.http import QueryDict


def query_string(params: QueryDict, **changes: object) -> str:
    """`params` as a query string ("?..."), with `changes` set (None: left out)."""
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def page_links(params: QueryDict, page: Page[Any]) -> dict[str, str | None]:
    """The links to the pages beside `page` and the query its CSV export repeats (every page),
    each with the list's filters."""
    return {
        "previous_url": query_string(params, page=page.previous_page_number())
        if page.has_previous()
        else None,
        "next_url": query_string(params, page=page.next_page_number()) if page.has_next() else None,
        "export_query": query_string(params, page=None),
    }


class _Echo:
    """csv.writer's file: hands each row back instead of storing it, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_text(value: str | None) -> str:
    """Text for a spreadsheet cell: a leading = + - @ would make it a formula (CSV injection)."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """The CSV of `rows` under `header`, one line at a time (a StreamingHttpResponse's content)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
