"""HTTP with the standard library: one request, bounded retries, problem+json errors."""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Union
from urllib.parse import urlencode, urlsplit

from .errors import APIError, TransportError, error_for

__all__ = ["RetryPolicy", "Response", "Transport"]

QueryValue = Union[str, int, float, bool, None]


@dataclass
class RetryPolicy:
    """How a request that is safe to repeat is retried.

    A connection error, a 5xx or a 429 is retried up to ``max_retries`` times. The wait
    before retry *n* (0-based) is the ``Retry-After`` the service sent, or else
    ``backoff * 2**n`` plus up to ``backoff`` of jitter, capped at ``max_wait`` seconds;
    a ``Retry-After`` longer than ``max_wait`` is not waited for: the error is raised
    (its ``retry_after`` says how long the service asked for). Requests that are not safe
    to repeat (creating a model, an era, a policy) are sent once, except when the
    connection was refused, which means nothing was sent. ``sleep`` is called with each
    wait (replace it to log or to test).
    """

    max_retries: int = 4
    backoff: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: Optional[float]) -> Optional[float]:
        """Seconds to wait before retry ``attempt``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return float(min(self.max_wait, self.backoff * (2**attempt) + random.uniform(0, self.backoff)))


@dataclass
class Response:
    status: int
    headers: Dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def text(self) -> str:
        return self.body.decode("utf-8")


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _parse_retry_after(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Transport:
    """Sends requests to one base URL with one key."""

    def __init__(self, url: str, key: Optional[str], *, timeout: float, retry: RetryPolicy, user_agent: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url.rstrip("/")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.retry = retry
        self.user_agent = user_agent

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, QueryValue]] = None,
        json_body: Any = None,
        body: Optional[bytes] = None,
        content_type: Optional[str] = None,
        accept: str = "application/json",
        safe: bool,
        auth: bool = True,
    ) -> Response:
        """Sends one request, retrying as ``safe`` allows; raises APIError or TransportError."""
        target = self._prefix + path
        if query:
            pairs = {k: _query_text(v) for k, v in query.items() if v is not None}
            if pairs:
                target += "?" + urlencode(pairs)
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if auth and self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode("utf-8")
            content_type = "application/json"
        if body is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
        full_url = self.url + path
        attempt = 0
        while True:
            try:
                response = self._send(method, target, headers, body)
            except ConnectionRefusedError as error:
                # Nothing reached the service: repeating is safe for every request.
                wait = self.retry.delay(attempt, None)
                last: BaseException = error
            except (OSError, http.client.HTTPException) as error:
                wait = self.retry.delay(attempt, None) if safe else None
                last = error
            else:
                if response.status < 400:
                    return response
                retry_after = _parse_retry_after(response.headers.get("retry-after"))
                wait = self.retry.delay(attempt, retry_after) if safe and _retryable_status(response.status) else None
                if wait is None:
                    raise self._error(response, method, full_url, retry_after, attempt + 1)
                self.retry.sleep(wait)
                attempt += 1
                continue
            if wait is None:
                raise TransportError(
                    f"{method} {full_url} failed after {attempt + 1} attempt(s): {last.__class__.__name__}: {last}",
                    method=method,
                    url=full_url,
                    attempts=attempt + 1,
                    cause=last,
                )
            self.retry.sleep(wait)
            attempt += 1

    def _send(self, method: str, target: str, headers: Mapping[str, str], body: Optional[bytes]) -> Response:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.timeout)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body) if body is not None else 0))
            conn.endheaders()
            if body:
                try:
                    conn.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    # A service refusing a large body (413) may answer and close before
                    # reading it: its answer is still there to read.
                    pass
            raw = conn.getresponse()
            data = raw.read()
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
        except socket.timeout as error:
            raise TimeoutError(f"no answer within {self.timeout} s") from error
        finally:
            conn.close()

    @staticmethod
    def _error(response: Response, method: str, url: str, retry_after: Optional[float], attempts: int) -> APIError:
        problem: Dict[str, Any] = {}
        if response.body:
            try:
                parsed = response.json()
                if isinstance(parsed, dict):
                    problem = parsed
            except ValueError:
                problem = {"detail": response.body[:500].decode("utf-8", "replace")}
        return error_for(response.status, problem, method=method, url=url, retry_after=retry_after, attempts=attempts)


def _query_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
