"""HTTP plumbing shared by the emulator's API views: envelope, errors, auth, faults, journal.

Every API view is wrapped by `endpoint()`: it checks the `nue-api-key` header, then applies injected
faults, parses the JSON body, runs the view in one transaction (a rejected request changes
nothing), turns `ApiError` into Nue's FAILURE envelope and records the call in the journal. The
fault taken and the journal row are written outside that transaction (db.bookkeeping): they are
shared through the database by every worker and instance, and must outlast a rolled-back call.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from nue_emulator import faults, journal
from nue_emulator.db import SQLITE_LOCK_RETRIES, SQLITE_LOCK_WAIT, serialised, sqlite_locked

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.errors = errors or []


def not_found(kind: str, ident: object) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{kind} {ident} was not found.")


def invalid(field: str, message: str, code: str = "VALIDATION_ERROR") -> ApiError:
    return ApiError(400, code, f"{field}: {message}", [{"field": field, "message": message}])


def no_route(path: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"No emulator route for {path}.")


def extensions_enabled() -> bool:
    """Whether the emulator serves what Nue does not document (nue-api.md §5.18c): off unless
    settings.NUE_EMULATOR_EXTENSIONS turns it on, so a client tested against the emulator
    depends on nothing Nue lacks. Read per call, so a test can turn it on for itself."""
    return bool(getattr(settings, "NUE_EMULATOR_EXTENSIONS", False))


class ConnectionReset(ConnectionResetError):
    """Raised to drop the connection when a reset fault fires outside gunicorn."""


class InjectedTimeout(TimeoutError):
    """Raised after a hang fault in embedded mode, where no socket timeout can end the wait."""


# Set by embedded.application on the WSGI environ of in-process calls.
EMBEDDED_FLAG = "nue_emulator.embedded"
# Set by the portal's in-process transport: the seconds its client waits for an answer.
EMBEDDED_READ_TIMEOUT = "nue_emulator.read_timeout"


def encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(payload: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(payload, default=encode, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


def success(data: Any, status: int = 200, warnings: list[Any] | None = None, **extra: Any) -> Any:
    return {"status": "SUCCESS", "data": data, "warnings": warnings or [], **extra}, status


def failure(error: ApiError) -> HttpResponse:
    return json_response(
        {
            "status": "FAILURE",
            "message": error.message,
            "errorCode": error.error_code,
            "errors": error.errors,
        },
        error.status,
    )


def _fault_response(fault: faults.Fault) -> HttpResponse | None:
    if fault.status is None and fault.body is None:
        return None
    status = fault.status or 200
    if fault.body == "malformed":
        response = HttpResponse(
            '{"status": "SUCCESS", "data": [', status=status, content_type="application/json"
        )
    elif fault.body == "empty":
        response = HttpResponse(b"", status=status, content_type="application/json")
    elif fault.body == "html":
        response = HttpResponse(
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            status=status,
            content_type="text/html",
        )
    else:
        response = failure(ApiError(status, "INJECTED_FAULT", f"Injected fault: HTTP {status}."))
    if fault.retry_after is not None:
        response["Retry-After"] = str(fault.retry_after)
    return response


def _reset_connection(request: HttpRequest) -> None:
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        import socket

        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionReset("Injected fault: connection reset by the emulator.")


class _WriteWatcher:
    """Notes whether any statement run while it is installed changed data."""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb in ("INSERT", "UPDATE", "DELETE"):
            self.wrote = True
        return execute(sql, params, many, context)


def api_key_ok(request: HttpRequest) -> bool:
    supplied = request.headers.get("nue-api-key", "")
    return bool(supplied) and secrets.compare_digest(supplied, settings.NUE_EMULATOR_API_KEY)


# The views endpoint() made: embedded.dispatch() leaves their transactions to them.
_endpoints: set[Callable[..., HttpResponse]] = set()


def is_endpoint(view: Callable[..., Any]) -> bool:
    return view in _endpoints


def endpoint(
    route: str,
    methods: tuple[str, ...],
    *,
    key: bool = True,
    extensions: tuple[str, ...] = (),
) -> Callable[..., Any]:
    """Decorate an API view `view(request, body, **kwargs) -> (payload, status)`.

    `methods` are what Nue documents on the route; `extensions` are served besides only while
    extensions_enabled(). Without them a route with no documented method is unknown (404) and
    an extension method is not allowed (405), as for any path or method Nue does not serve.

    The view runs in its own transaction; the fault it takes and its journal row are written
    outside it, so both last when the call is rejected and rolled back, or drops the connection.
    """

    def decorate(view: Callable[..., tuple[Any, int]]) -> Callable[..., HttpResponse]:
        @login_not_required
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            started = time.perf_counter()
            watcher = _WriteWatcher()
            response = HttpResponse(status=500)
            try:
                served = methods + extensions if extensions_enabled() else methods
                # Nue keeps its own clock and speaks English: called in-process from a portal
                # request, the emulator must not take on that person's time zone ("today")
                # or language.
                with timezone.override(None), translation.override(None):
                    response = _handle(request, view, route, served, key, watcher, kwargs)
                return response
            finally:
                if not route.startswith(faults.CONTROL_PREFIX):
                    _journal(
                        journal.Entry(
                            method=request.method or "",
                            path=request.path,
                            query=request.META.get("QUERY_STRING", ""),
                            route=route,
                            status=response.status_code,
                            duration_ms=(time.perf_counter() - started) * 1000,
                            wrote=watcher.wrote and response.status_code < 400,
                        )
                    )

        _endpoints.add(wrapper)
        return wrapper

    return decorate


def _journal(entry: journal.Entry) -> None:
    # The journal is for tests to read; a call it cannot record is still answered.
    try:
        journal.record(entry)
    except Exception:
        logger.exception("Nue emulator could not journal %s %s", entry.method, entry.path)


def _handle(
    request: HttpRequest,
    view: Callable[..., tuple[Any, int]],
    route: str,
    methods: tuple[str, ...],
    key: bool,
    watcher: _WriteWatcher,
    kwargs: dict[str, Any],
) -> HttpResponse:
    if not methods:
        # An extension route while extensions are off: as unknown as any path Nue lacks.
        return failure(no_route(request.path))
    # The key first: a caller without it must neither trigger nor use up an injected fault.
    if key and not api_key_ok(request):
        return failure(ApiError(401, "UNAUTHORIZED", "Missing or invalid nue-api-key header."))
    latency = faults.global_latency_ms()
    fault = faults.take(route, request.method or "")
    if fault is not None:
        latency += fault.latency_ms
    if latency:
        time.sleep(latency / 1000)
    if fault is not None:
        if fault.hang_seconds:
            if request.META.get(EMBEDDED_FLAG):
                # In-process no socket ends the wait: the caller's read timeout does.
                budget = request.META.get(EMBEDDED_READ_TIMEOUT)
                time.sleep(min(fault.hang_seconds, budget) if budget else fault.hang_seconds)
                raise InjectedTimeout("Injected fault: the emulator did not answer in time.")
            time.sleep(fault.hang_seconds)
        if fault.reset:
            _reset_connection(request)
        injected = _fault_response(fault)
        if injected is not None:
            return injected
    if request.method not in methods:
        response = failure(
            ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here.")
        )
        response["Allow"] = ", ".join(methods)
        return response
    try:
        body = _parse_body(request)
        writes = request.method != "GET"
        for attempt in range(SQLITE_LOCK_RETRIES):
            try:
                with connection.execute_wrapper(watcher):
                    if writes:
                        with serialised(), transaction.atomic():
                            payload, status = view(request, body, **kwargs)
                    else:
                        with transaction.atomic():
                            payload, status = view(request, body, **kwargs)
                break
            except OperationalError as error:
                locked = sqlite_locked(error)
                if not locked or attempt == SQLITE_LOCK_RETRIES - 1 or connection.in_atomic_block:
                    raise
                time.sleep(SQLITE_LOCK_WAIT)
    except ApiError as error:
        return failure(error)
    except IntegrityError:
        # Two writers raced for the same number or version; the loser changed nothing.
        return failure(ApiError(409, "CONFLICT", "A concurrent request changed this; retry."))
    if isinstance(payload, HttpResponse):
        return payload
    return json_response(payload, status)


def _parse_body(request: HttpRequest) -> Any:
    if request.method in ("GET", "DELETE", "HEAD"):
        return None
    length = request.META.get("CONTENT_LENGTH") or "0"
    try:
        declared = int(length)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {MAX_BODY_BYTES} bytes.")
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "MALFORMED_JSON", f"Request body is not valid JSON: {error}") from None


# Query-string helpers ----------------------------------------------------------------------------


def json_list_param(request: HttpRequest, name: str, *, required: bool = False) -> list[str] | None:
    """A JSON-array query parameter (`customerIds=["…"]`, URL-encoded as Nue documents)."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        if required:
            raise invalid(name, "is required (a JSON array of strings).")
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        # Tolerate a bare comma-separated list of plain ids; anything JSON-looking must parse.
        if any(ch in raw for ch in '[]{}"'):
            raise invalid(name, "is not a valid JSON array of strings.") from None
        value = [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(name, "must be a JSON array of strings.")
    if len(value) > 500:
        raise invalid(name, "may hold at most 500 values.")
    return value


def includes_param(request: HttpRequest, allowed: tuple[str, ...]) -> set[str]:
    raw = request.GET.get("includes", "")
    names = {part.strip() for part in raw.split(",") if part.strip()}
    lookup = {a.lower(): a for a in allowed}
    unknown = sorted(n for n in names if n.lower() not in lookup)
    if unknown:
        raise invalid(
            "includes", f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}."
        )
    return {lookup[n.lower()] for n in names}


def int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, "must be an integer.") from None
    if not low <= value <= high:
        raise invalid(name, f"must be between {low} and {high}.")
    return value


def public_base(request: HttpRequest) -> str:
    """Absolute URL of the emulator's mount point, for links a browser will open.

    On SITE_URL when the settings name one, else on the host the request came to (embedded, the
    portal calls as the host its own browser request came to).
    """
    prefix = settings.NUE_EMULATOR_PREFIX.rstrip("/")
    site = getattr(settings, "SITE_URL", "")
    if site:
        return site.rstrip("/") + prefix
    return request.build_absolute_uri(prefix + "/").rstrip("/")
