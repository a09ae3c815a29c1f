"""One error taxonomy for every failure of a Nue call: not-found, validation (with field errors),
conflict, auth, rate-limited, unavailable (connection, timeout, 5xx), protocol; and the ledger's
refusal while an earlier submit of the same write is still open."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx


class NueError(Exception):
    """Base of every failure the gateway raises; `reference` is the request id shown to users."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.reference = reference or uuid.uuid4().hex[:12]
        # Set by the operation ledger when Nue may have done the work although this was raised.
        self.outcome_unknown = False
        # Set when creating a draft (order or change order) failed after the request reached
        # Nue: the draft may exist, and sending again would make another (no ledger guards it).
        self.draft_may_exist = False


class NueNotFound(NueError):
    """Unknown id, malformed id, or an object of another customer: all look the same to a user."""


class NueValidationError(NueError):
    """Nue rejected the input; `field_errors` is keyed by the verb's own argument paths."""

    def __init__(
        self,
        message: str,
        *,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        status: int | None = 400,
        error_code: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code, reference=reference)
        self.field_errors: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in (field_errors or {}).items()
        }


class NueConflict(NueError):
    """The object is in the wrong state for the action (e.g. activating a non-draft order)."""


class NueAuthError(NueError):
    """The tenant API key is missing, wrong or lacks the Self Service API permission."""


class NueRateLimited(NueError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class NueUnavailable(NueError):
    """Connection failure, timeout or 5xx. `timed_out` distinguishes a 504 from a 502/503."""

    def __init__(self, message: str, *, timed_out: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.timed_out = timed_out

    @property
    def never_sent(self) -> bool:
        """The connection failed before the request left: Nue cannot have acted on it."""
        return isinstance(self.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


class NueProtocolError(NueError):
    """Nue answered something this module cannot trust: bad JSON, wrong schema, HTML, huge body."""


class OperationInProgress(NueError):
    """Another submit of the same activation or change is still open in the operation ledger."""
