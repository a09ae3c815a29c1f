"""The HTTP edge of the Nue API: one `httpx.Client` per process, the auth header, explicit
timeouts, GET-only retries with jitter and Retry-After, the response envelope, the error mapping,
and the process-wide client (in-process emulator or Nue over the network).

Tests swap the process-wide client with `install_client()`.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar, cast

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from orders.nue.calls import NueCall, note
from orders.nue.errors import (
    NueAuthError,
    NueConflict,
    NueError,
    NueNotFound,
    NueProtocolError,
    NueRateLimited,
    NueUnavailable,
    NueValidationError,
)

logger = logging.getLogger("orders.nue")

# httpx logs every request's full URL at INFO, query string included (contact emails, customer
# ids); this module logs its own calls without them.
logging.getLogger("httpx").setLevel(logging.WARNING)

# connect/pool short so a dead Nue fails fast; read long enough for pricing a large draft.
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=10.0, pool=3.0)
# A GET is sent at most 1 + MAX_GET_RETRIES times, and never again after a read timeout, so one
# call waits at most about one read timeout; a POST that may have reached Nue is never sent twice.
MAX_GET_RETRIES = 2
RETRY_BACKOFF_BASE = 0.2
# Retry-After is honoured up to this many seconds; a longer wait is not worth holding a worker.
MAX_RETRY_AFTER = 3.0
# Refuse rather than buffer anything larger: well above the largest legitimate answer measured,
# a 10,000-order history with lines, assets and invoices (bench/RESULTS.md).
MAX_BODY_BYTES = 64 * 1024 * 1024
# List answers at least this large are parsed again only when their bytes change
# (ParsedAnswers), which keeps at most PARSED_ANSWERS_BUDGET bytes of answers per process, each
# with its parse. A parse takes more memory than the bytes it was parsed from, so the memo holds
# a few times its budget.
PARSED_ANSWER_MIN_BYTES = 16 * 1024
PARSED_ANSWERS_BUDGET = 32 * 1024 * 1024
USER_AGENT = "nue-customer-portal/0.1 (+httpx)"

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded Nue answer: `data` is still raw JSON, parsed by the calling verb."""

    data: Any
    warnings: tuple[str, ...]
    total: int | None
    request_id: str


def _json_list_param(values: Iterable[str]) -> str:
    # nue-api.md §1.3: list parameters are JSON-encoded arrays, then URL-encoded (httpx does that).
    return json.dumps(list(values), separators=(",", ":"))


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(when.tzinfo)).total_seconds()
    return float(max(0.0, min(seconds, MAX_RETRY_AFTER)))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _map_field_path(path: str, renames: Mapping[str, str]) -> str:
    """`orderProducts[0].addOns[1].productOptionId` -> `lines[0].add_ons[1].product_option_id`."""
    parts = []
    for part in path.split("."):
        name, bracket, rest = part.partition("[")
        parts.append(renames.get(name, _snake(name)) + (bracket + rest if bracket else ""))
    return ".".join(parts)


class ParsedAnswer(Generic[T]):
    """One answer's parse, and what requests derived from it (the orders a customer may see,
    sorted and filtered as asked), so a parse that serves again serves those again too.

    Derived values are shared between requests: a derivation must return an immutable value,
    and depend only on the parse and on its key.
    """

    DERIVED_LIMIT = 16

    def __init__(self, value: T) -> None:
        self.value = value
        self._derived: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def derive(self, key: Hashable, derivation: Callable[[T], U]) -> U:
        with self._lock:
            if key in self._derived:
                self._derived.move_to_end(key)
                return cast("U", self._derived[key])
        # Computed outside the lock: two requests deriving the same key at once get equal values.
        value = derivation(self.value)
        with self._lock:
            self._derived[key] = value
            while len(self._derived) > self.DERIVED_LIMIT:
                self._derived.popitem(last=False)
        return value


class ParsedAnswers:
    """The parses of the last large answers, one per question, least recently used first out.

    Paging, sorting or filtering an order history asks Nue for the same list each time, and
    decoding and parsing a long history is most of such a page's time: it is kept because a
    side-by-side run with it off (bench/pages_history.py --memo) shows it saving more than a
    tenth of the pages a user waits for. Nue is still asked on every request, so nothing is
    served stale: when its answer is, byte for byte, the one last parsed for the same question
    (path, query and parse), that parse serves again. Comparing the bytes is exact and much
    cheaper than hashing them, and NueClient does it while they arrive. Parses are tuples of
    immutable records, safe to share between requests; the budget counts the bytes of the
    answers kept to compare with.
    """

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._size = 0
        self._entries: OrderedDict[Hashable, tuple[bytes, ParsedAnswer[Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self, key: Hashable) -> tuple[bytes, ParsedAnswer[Any]] | None:
        """The answer last parsed for `key`, and its parse: it serves again only for the very
        same bytes."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, payload: bytes, parsed: ParsedAnswer[Any]) -> None:
        size = len(payload)
        if size > self._budget:
            return
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._size -= len(replaced[0])
            self._entries[key] = (payload, parsed)
            self._size += size
            while self._size > self._budget:
                _, (dropped, _) = self._entries.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0


PARSED_ANSWERS = ParsedAnswers(PARSED_ANSWERS_BUDGET)


class NueClient:
    """One `httpx.Client` per process: pooled connections, explicit timeouts, careful retries."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sleep = sleep
        self._max_body_bytes = max_body_bytes
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "nue-api-key": api_key,
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def get(
        self, path: str, params: Mapping[str, str | int] | None = None, *, bare: bool = False
    ) -> Envelope:
        return self._call("GET", path, params=params, bare=bare)

    def post(
        self,
        path: str,
        body: object,
        *,
        field_renames: Mapping[str, str] | None = None,
    ) -> Envelope:
        return self._call("POST", path, body=body, field_renames=field_renames or {})

    def get_parsed(
        self, path: str, params: Mapping[str, str | int], parse: Callable[[Envelope], T]
    ) -> ParsedAnswer[T]:
        """GET, then `parse(envelope)`. Nue is asked every time; a large answer whose bytes are
        the very bytes last parsed for this question is not decoded and parsed again, and what
        was derived from its parse is not derived again (PARSED_ANSWERS)."""
        key = (path, tuple(sorted(params.items())), parse)
        latest = PARSED_ANSWERS.latest(key)
        status, payload, retry_after, request_id = self._exchange(
            "GET", path, params, None, expected=latest[0] if latest else None
        )
        if latest is not None and 200 <= status < 300 and payload is latest[0]:
            return cast("ParsedAnswer[T]", latest[1])
        envelope = self._decode(
            status, payload, request_id, bare=False, retry_after=retry_after, field_renames={}
        )
        parsed = ParsedAnswer(parse(envelope))
        if len(payload) >= PARSED_ANSWER_MIN_BYTES:
            PARSED_ANSWERS.put(key, payload, parsed)
        return parsed

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: object = None,
        bare: bool = False,
        field_renames: Mapping[str, str] | None = None,
    ) -> Envelope:
        status, payload, retry_after, request_id = self._exchange(method, path, params, body)
        return self._decode(
            status,
            payload,
            request_id,
            bare=bare,
            retry_after=retry_after,
            field_renames=field_renames or {},
        )

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: object,
        *,
        expected: bytes | None = None,
    ) -> tuple[int, bytes, float | None, str]:
        """Send (retrying as the method allows); the final status, body, Retry-After and id.

        A body that is byte for byte `expected` is returned as that very object (see _send)."""
        request_id = uuid.uuid4().hex[:12]
        content = None
        headers = {"X-Request-Id": request_id}
        if body is not None:
            content = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        attempts = 1 + (MAX_GET_RETRIES if method == "GET" else 0)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                status, payload, retry_after = self._send(
                    method, path, params, content, headers, expected
                )
            except NueUnavailable as error:
                error.reference = request_id
                self._log(request_id, method, path, "error", started, attempt, repr(error))
                # A POST whose connection was never established did not reach Nue: safe to resend.
                never_sent = isinstance(error.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
                # After a read timeout Nue is hung or swamped: asking again would make the page
                # wait the whole read timeout once per attempt (45 s for a GET) and add load.
                gave_up = error.timed_out and not never_sent
                if not gave_up and (
                    attempt < attempts or (never_sent and attempt < 1 + MAX_GET_RETRIES)
                ):
                    self._sleep(self._backoff(attempt, None))
                    continue
                raise
            except NueProtocolError as error:
                # An answer too large to read: its reference is the call's, as for any failure.
                error.reference = request_id
                self._log(request_id, method, path, "error", started, attempt, repr(error))
                raise
            self._log(request_id, method, path, status, started, attempt)
            if status in RETRYABLE_STATUSES and attempt < attempts:
                self._sleep(self._backoff(attempt, retry_after))
                continue
            return status, payload, retry_after, request_id

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return RETRY_BACKOFF_BASE * (2.0 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
        headers: Mapping[str, str],
        expected: bytes | None = None,
    ) -> tuple[int, bytes, float | None]:
        """One request; its status, body and Retry-After.

        The body is compared with `expected` while it arrives, and if it is the same bytes,
        `expected` itself is returned: the page that reads an unchanged large answer neither
        joins its chunks nor compares them after the last one came.
        """
        try:
            request = self._http.build_request(
                method, path, params=params, content=content, headers=headers
            )
            response = self._http.send(request, stream=True)
            try:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self._max_body_bytes:
                    raise NueProtocolError("Nue sent a response body larger than allowed.")
                # While the body matches `expected`, its chunks are not kept: they are its prefix.
                known = expected if expected is not None else b""
                matching = expected is not None
                chunks: list[bytes | memoryview] = []
                size = 0
                for chunk in response.iter_bytes():
                    if matching and not known.startswith(chunk, size):
                        matching = False
                        chunks.append(memoryview(known)[:size])  # joined below, copied once
                    size += len(chunk)
                    if size > self._max_body_bytes:
                        raise NueProtocolError("Nue sent a response body larger than allowed.")
                    if not matching:
                        chunks.append(chunk)
            finally:
                response.close()
        except httpx.TimeoutException as error:
            raise NueUnavailable("Nue did not answer in time.", timed_out=True) from error
        except (httpx.TransportError, OSError) as error:
            # WSGITransport lets the in-process app's exceptions (ConnectionResetError) through.
            raise NueUnavailable("Could not reach Nue.") from error
        if matching:  # all of `expected`, or a shorter prefix of it
            body = known if size == len(known) else known[:size]
            return response.status_code, body, _retry_after(response)
        return response.status_code, b"".join(chunks), _retry_after(response)

    def _decode(
        self,
        status: int,
        payload: bytes,
        request_id: str,
        *,
        bare: bool,
        retry_after: float | None,
        field_renames: Mapping[str, str],
    ) -> Envelope:
        body: Any = None
        if payload.strip():
            try:
                body = json.loads(payload, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                body = None
                if 200 <= status < 300:
                    raise NueProtocolError(
                        "Nue sent a body that is not JSON.", status=status, reference=request_id
                    ) from None
        if not 200 <= status < 300:
            raise self._error(status, body, request_id, retry_after, field_renames)
        if body is None:
            raise NueProtocolError("Nue sent an empty body.", status=status, reference=request_id)
        if isinstance(body, dict) and "status" in body:
            outcome = body.get("status")
            if not isinstance(outcome, str) or outcome.upper() != "SUCCESS":
                raise self._error(400, body, request_id, None, field_renames)
            if "data" not in body:
                raise NueProtocolError(
                    "Nue sent an envelope without data.", status=status, reference=request_id
                )
            warnings = warning_texts(body.get("warnings"))
            pagination = body.get("pagination")
            total = pagination.get("total") if isinstance(pagination, dict) else None
            return Envelope(
                data=body["data"],
                warnings=warnings,
                total=total if isinstance(total, int) else None,
                request_id=request_id,
            )
        if bare and isinstance(body, dict | list):
            return Envelope(data=body, warnings=(), total=None, request_id=request_id)
        raise NueProtocolError(
            "Nue sent a body without the response envelope.", status=status, reference=request_id
        )

    def _error(
        self,
        status: int,
        body: object,
        request_id: str,
        retry_after: float | None,
        field_renames: Mapping[str, str],
    ) -> NueError:
        d = body if isinstance(body, dict) else {}
        entries = _error_entries(d.get("errors"))
        raw_message = d.get("message") or d.get("error")
        # Without a summary, what errors[] says is the message.
        texts = dict.fromkeys(text for _field, text in entries if text)
        if isinstance(raw_message, str) and raw_message:
            message = raw_message
        elif texts:
            message = " ".join(texts)
        else:
            message = f"Nue answered {status}."
        code = d.get("errorCode") if isinstance(d.get("errorCode"), str) else None
        kw: dict[str, Any] = {"status": status, "error_code": code, "reference": request_id}
        if status in (401, 403):
            return NueAuthError(message, **kw)
        if status == 404:
            return NueNotFound(message, **kw)
        if status == 409:
            return NueConflict(message, **kw)
        if status == 429:
            return NueRateLimited(message, retry_after=retry_after, **kw)
        if status >= 500:
            return NueUnavailable(message, **kw)
        if 400 <= status < 500:
            field_errors: dict[str, list[str]] = {}
            for where, text in entries:
                key = _map_field_path(where, field_renames) if where else ""
                field_errors.setdefault(key or "__all__", []).append(text or message)
            return NueValidationError(message, field_errors=field_errors, **kw)
        return NueProtocolError(f"Nue answered with status {status}.", **kw)

    @staticmethod
    def _log(
        request_id: str,
        method: str,
        path: str,
        status: int | str,
        started: float,
        attempt: int,
        detail: str = "",
    ) -> None:
        # Paths carry only ids; query strings (emails, customer ids) and bodies are never logged,
        # nor noted for support's lookup of a failure's reference (orders.nue.calls).
        note(NueCall(request_id, method, path, status, attempt))
        logger.info(
            "nue request_id=%s method=%s path=%s status=%s duration_ms=%.1f attempt=%d%s",
            request_id,
            method,
            path,
            status,
            (time.perf_counter() - started) * 1000,
            attempt,
            f" error={detail}" if detail else "",
        )


def warning_texts(warnings: object) -> tuple[str, ...]:
    """The texts of a `warnings` list: strings, or objects with a `message` (the create-draft
    guide prints `warning.message`); one without a text says nothing a customer can read."""
    texts: list[str] = []
    for warning in warnings if isinstance(warnings, list) else ():
        text = warning.get("message") if isinstance(warning, dict) else warning
        if isinstance(text, str) and text:
            texts.append(text)
    return tuple(texts)


def _error_entries(errors: object) -> list[tuple[str, str]]:
    """(field, text) of each entry of a failure's `errors[]`, field "" where none is named.

    nue-api.md §1.5: Nue documents no error body; the portal reads {"field", "message"} entries
    (the emulator's), the `error` key real-API clients read for a text, and bare strings, the
    form the create-draft guide's own validator gives its list of errors in.
    """
    found: list[tuple[str, str]] = []
    for item in errors if isinstance(errors, list) else ():
        if isinstance(item, str):
            if item:
                found.append(("", item))
            continue
        if not isinstance(item, dict):
            continue
        text = item.get("message") or item.get("error")
        where = item.get("field")
        found.append(
            (where if isinstance(where, str) else "", text if isinstance(text, str) else "")
        )
    return found


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # Nue takes numbers; a Decimal that is whole goes as an int, else as its exact string form.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"Cannot send {type(value).__name__} to Nue")


_client: NueClient | None = None
_client_lock = threading.Lock()

# The origin ("https://portal.example.com") of the portal request being served, set by
# orders.middleware: the in-process emulator answers as that host, so the quote and invoice links
# it hands out open where the browser already is (unless SITE_URL names the portal's address).
serving_origin: ContextVar[str] = ContextVar("serving_origin", default="")


def site_url(path: str) -> str:
    """An absolute link to a portal path: on SITE_URL when set, else on the request's own host."""
    return (settings.SITE_URL or serving_origin.get()) + path


# The in-process emulator runs on the caller's thread, where no socket timeout can end a wait:
# the transport hands it the client's read timeout on the WSGI environ under this key, and the
# emulator answers within it as a server behind a socket would appear to.
EMBEDDED_READ_TIMEOUT = "nue_emulator.read_timeout"
_read_timeout: ContextVar[float | None] = ContextVar("_read_timeout", default=None)


def embedded_emulator() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The in-process emulator's WSGI app, called as the host of the portal request served."""
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)

    def as_serving_host(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        scheme, _, host = serving_origin.get().partition("://")
        environ = {**environ, EMBEDDED_READ_TIMEOUT: _read_timeout.get()}
        if host:
            environ = {**environ, "wsgi.url_scheme": scheme, "HTTP_HOST": host}
        return cast("Iterable[bytes]", app(environ, start_response))

    return as_serving_host


class EmbeddedTransport(httpx.BaseTransport):
    """The in-process emulator, with the client's read timeout as a socket would impose it."""

    def __init__(self, app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]):
        self._inner = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout") or {}
        token = _read_timeout.set(timeout.get("read"))
        try:
            return self._inner.handle_request(request)
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error), request=request) from error
        finally:
            _read_timeout.reset(token)


def build_default_client() -> NueClient:
    """The process-wide client from settings: in-process emulator, or Nue over the network."""
    if settings.NUE_EMULATOR_ENABLED:
        return NueClient(
            settings.NUE_EMULATOR_URL,
            settings.NUE_API_KEY,
            transport=EmbeddedTransport(embedded_emulator()),
        )
    return NueClient(settings.NUE_API_URL, settings.NUE_API_KEY)


def get_client() -> NueClient:
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = build_default_client()
            client = _client
    return client


def install_client(client: NueClient | None) -> NueClient | None:
    """Swap the process-wide client (tests install one on a mock transport); returns the old one.

    Passing None makes the next call build the default client from settings again.
    """
    global _client
    with _client_lock:
        previous, _client = _client, client
    return previous


def _list_data(envelope: Envelope, kind: str) -> list[Any]:
    if not isinstance(envelope.data, list):
        raise NueProtocolError(
            f"Nue sent {kind} that are not a list.", reference=envelope.request_id
        )
    return envelope.data
