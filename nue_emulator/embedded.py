"""The emulator as a WSGI callable for the portal's in-process transport.

The portal wraps `application` in `httpx.WSGITransport`, with base URL NUE_EMULATOR_URL,
and calls it on the same thread and database connection as the portal request that is running.
So this dispatcher deliberately skips Django's request handler: no portal middleware, no
`request_started`/`request_finished` signals (they would close the caller's connection), no
`set_script_prefix` (thread-local; would corrupt the caller's reverse()).

An API view runs in its own transaction (api.endpoint; a savepoint inside the caller's
transaction), so a rejected request changes nothing, while the fault it used up and its journal
row are written outside it and stay, as they do behind gunicorn. Any other route (the link pages)
runs in a savepoint of its own, so a database error there leaves the caller's transaction usable.
An unexpected exception becomes a JSON 500 FAILURE envelope, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.db import transaction
from django.http import HttpResponse
from django.urls import URLResolver, get_resolver

from nue_emulator.api import (
    EMBEDDED_FLAG,
    ApiError,
    ConnectionReset,
    InjectedTimeout,
    failure,
    is_endpoint,
)

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


def _resolver() -> URLResolver:
    return get_resolver("nue_emulator.urls")


def _strip_prefix(path: str) -> str:
    prefix = settings.NUE_EMULATOR_PREFIX.rstrip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :]
    return path or "/"


def dispatch(request: WSGIRequest, path: str) -> HttpResponse:
    # Every path resolves: the last route (urls.unknown_route) answers Nue's JSON 404.
    match = _resolver().resolve(path)
    request.resolver_match = match
    view = match.func
    try:
        if is_endpoint(view):
            response = view(request, *match.args, **match.kwargs)
        else:
            with transaction.atomic():
                response = view(request, *match.args, **match.kwargs)
    except (ConnectionReset, InjectedTimeout):
        # Injected transport faults reach the caller as the OSError a socket would raise.
        raise
    except Exception:
        logger.exception("Nue emulator failed on %s %s", request.method, path)
        return failure(ApiError(500, "INTERNAL_ERROR", "The emulator failed unexpectedly."))
    return response


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    environ = dict(environ)
    path = _strip_prefix(environ.get("PATH_INFO", "/"))
    environ["PATH_INFO"] = settings.NUE_EMULATOR_PREFIX.rstrip("/") + path
    environ["SCRIPT_NAME"] = ""
    environ[EMBEDDED_FLAG] = True
    request = WSGIRequest(environ)
    response = dispatch(request, path)
    headers = [(name, value) for name, value in response.items()]
    status = f"{response.status_code} {response.reason_phrase}"
    start_response(status, headers)
    return [response.content]
