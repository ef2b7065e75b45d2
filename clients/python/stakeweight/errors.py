"""Exceptions raised by the client.

Every refusal by the service is an :class:`APIError` (or one of its subclasses) carrying the
RFC 9457 problem+json body the service sent: ``status``, ``title``, ``detail`` and, for
validation failures, ``errors`` (each naming the offending ids, CSV lines or JSON indexes).
``str(error)`` is the service's own message, so printing it tells a user what to fix.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Type

__all__ = [
    "StakeweightError",
    "InputError",
    "TransportError",
    "VerificationError",
    "HistoryRewrittenError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "InsufficientFundsError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "RateLimitedError",
    "ServerError",
]

# How many ids, lines or indexes of one problem are spelled out in str(error).
_SHOWN = 20


class StakeweightError(Exception):
    """Base class of every error this package raises."""


class InputError(StakeweightError, ValueError):
    """A problem found before anything was sent: a missing file, a DataFrame without an
    ``id`` column, an unknown model name, a negative stake."""


class VerificationError(StakeweightError):
    """A downloaded bundle whose digest or chain does not match what it claims."""


class HistoryRewrittenError(VerificationError):
    """A chain of the service (``bundles``: resolved eras' bundles; ``audit``: the audit log) no
    longer extends the heads kept from an earlier check: links were removed or rewritten.
    ``problems`` maps each such chain to what differs; ``saved`` and ``current`` are the heads."""

    def __init__(self, problems: Mapping[str, str], *, saved: Any, current: Any, path: str) -> None:
        self.problems = dict(problems)
        self.chains = list(self.problems)
        self.saved = saved
        self.current = current
        self.path = path
        described = "; ".join(f"the {chain} chain does not extend the kept head: {problem}" for chain, problem in self.problems.items())
        super().__init__(f"history was rewritten: {described} (heads kept in {path})")


class TransportError(StakeweightError):
    """The service could not be reached (connection refused or reset, timeout), after the
    retries allowed for the request. ``cause`` is the last low-level error."""

    def __init__(self, message: str, *, method: str, url: str, attempts: int, cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts
        self.cause = cause


class APIError(StakeweightError):
    """The service answered with an error status.

    Attributes mirror the problem+json body: ``status``, ``title``, ``detail``, ``type``,
    ``errors`` (a list of dicts with ``message`` and optionally ``path``, ``ids``,
    ``lines``, ``indexes``, ``count``), ``request_id``; ``problem`` is the whole body as
    received, ``method`` and ``url`` the request, ``retry_after`` the seconds the service
    asked to wait (429 and 503), ``attempts`` how many times the request was sent.
    """

    def __init__(
        self,
        status: int,
        problem: Mapping[str, Any],
        *,
        method: str,
        url: str,
        retry_after: Optional[float] = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.problem: Dict[str, Any] = dict(problem)
        self.title: str = str(problem.get("title") or _REASONS.get(status, "Error"))
        self.detail: str = str(problem.get("detail") or "")
        self.type: Optional[str] = problem.get("type")
        raw_errors = problem.get("errors")
        self.errors: List[Dict[str, Any]] = [dict(e) for e in raw_errors] if isinstance(raw_errors, list) else []
        self.request_id: Optional[str] = problem.get("requestId")
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.attempts = attempts
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"{self.status} {self.title}"
        # A validation detail is its problems' messages joined: say each once, on its own line.
        repeated = bool(self.errors) and all(str(e.get("message", "")) in self.detail for e in self.errors)
        if self.detail and not repeated:
            head += f": {self.detail}"
        lines = [head]
        for problem in self.errors:
            lines.append("  - " + _describe(problem))
        return "\n".join(lines)


def _describe(problem: Mapping[str, Any]) -> str:
    text = str(problem.get("message", ""))
    path = problem.get("path")
    if path and str(path) not in text:
        text = f"{path}: {text}"
    for key in ("ids", "lines", "indexes"):
        values = problem.get(key)
        if not isinstance(values, list) or not values:
            continue
        shown = ", ".join(str(v) for v in values[:_SHOWN])
        count = problem.get("count")
        total = count if isinstance(count, int) else len(values)
        more = f" and {total - min(len(values), _SHOWN)} more" if total > min(len(values), _SHOWN) else ""
        if shown not in text:
            text += f" ({key}: {shown}{more})"
    return text


class BadRequestError(APIError):
    """400: the request (a body, a parameter) is invalid; ``errors`` says where."""


class AuthenticationError(APIError):
    """401: no key, an unknown, revoked or expired key."""


class PermissionDeniedError(APIError):
    """403: the key's role or scope does not allow this, the model is not yours, four-eyes
    refuses it, or the key's admin account awaits confirmation by another admin."""


class NotFoundError(APIError):
    """404: no such era, model, policy or resource (yet)."""


class ConflictError(APIError):
    """409: the resource is in the wrong state (era not open, already resolved, ...)."""


class InsufficientFundsError(ConflictError):
    """409 insufficient funds: a stake raise or a withdrawal needs more than the wallet holds
    available. ``available`` is that amount as a ``Decimal`` (None if the service did not say);
    ``problem`` is the whole problem body. Ask an operator to credit the wallet, or ask for less."""

    def __init__(self, status: int, problem: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(status, problem, **kwargs)
        raw = problem.get("available")
        self.available: Optional[Decimal] = Decimal(str(raw)) if isinstance(raw, str) else None


class PayloadTooLargeError(APIError):
    """413: the body is larger than the service accepts."""


class UnsupportedMediaTypeError(APIError):
    """415: the body's content type is not one the route reads."""


class RateLimitedError(APIError):
    """429: too many requests for this key; ``retry_after`` says when to try again."""


class ServerError(APIError):
    """5xx: the service failed or is unavailable (database away, load shed)."""


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_BY_STATUS: Dict[int, Type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    429: RateLimitedError,
}


def error_for(status: int, problem: Mapping[str, Any], **kwargs: Any) -> APIError:
    """The exception class for ``status``, built from the problem body."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    if status == 409 and str(problem.get("type") or "").endswith("/problems/insufficient-funds"):
        cls = InsufficientFundsError
    return cls(status, problem, **kwargs)
