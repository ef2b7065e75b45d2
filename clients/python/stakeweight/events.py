"""Events: the server-sent event stream and Standard Webhooks signature checks (docs/events.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from typing import Any, Dict, Iterator, Mapping, Optional, Union
from urllib.parse import urlsplit

from .errors import TransportError, VerificationError
from .transport import Response, Transport

__all__ = ["verify_webhook", "stream_events"]

# A delivery signed longer ago (or further ahead) than this is refused as a possible replay.
DEFAULT_TOLERANCE_SECONDS = 300


def _header(headers: Mapping[str, Any], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    raise VerificationError(f"the {name} header is missing")


def verify_webhook(
    secret: str,
    headers: Mapping[str, Any],
    body: Union[bytes, str],
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """Checks a webhook delivery as Standard Webhooks says and returns its payload
    ``{type, timestamp, data}``; raises :class:`~stakeweight.errors.VerificationError` when the
    signature does not match, a header is missing or the timestamp is outside ``tolerance``.

    ``secret`` is the ``whsec_…`` value returned when the webhook was registered; ``body`` the
    request body exactly as received (bytes, or the text it decodes to).
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        sent = int(timestamp)
    except ValueError as error:
        raise VerificationError(f"webhook-timestamp {timestamp!r} is not a Unix time in seconds") from error
    if abs((time.time() if now is None else now) - sent) > tolerance:
        raise VerificationError(f"webhook-timestamp {sent} is more than {tolerance:g} s away from now")
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{sent}.".encode("utf-8") + raw, hashlib.sha256).digest()).decode("ascii")
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            payload = json.loads(raw.decode("utf-8"))
            if not isinstance(payload, dict):
                raise VerificationError("the payload is not a JSON object")
            return payload
    raise VerificationError("no webhook-signature matches the body: wrong secret, or the body was changed")


def stream_events(
    transport: Transport,
    last_event_id: Optional[Union[int, str]] = None,
    *,
    reconnect: bool = True,
    timeout: float = 60.0,
) -> Iterator[Dict[str, Any]]:
    """Yields ``{id, type, timestamp, data}`` for each event of ``GET /v1/events``; resumes after
    ``last_event_id`` and, when ``reconnect``, re-connects after a dropped connection from the
    last event seen. ``timeout`` is how long a silent connection is trusted (the service sends a
    comment every 15 s)."""
    last = None if last_event_id is None else str(last_event_id)
    parts = urlsplit(transport.url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    while True:
        cls = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        conn = cls(parts.hostname or "localhost", port, timeout=timeout)
        try:
            headers = {"Accept": "text/event-stream", "User-Agent": transport.user_agent}
            if transport.key:
                headers["Authorization"] = f"Bearer {transport.key}"
            if last is not None:
                headers["Last-Event-ID"] = last
            conn.request("GET", parts.path.rstrip("/") + "/v1/events", headers=headers)
            response = conn.getresponse()
            if response.status >= 400:
                # The service's problem+json, raised as every other call raises it.
                refused = Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
                raise Transport._error(refused, "GET", transport.url + "/v1/events", None, 1)
            frame: Dict[str, Any] = {}
            for line_bytes in response:
                line = line_bytes.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if "data" in frame:
                        payload = json.loads(frame["data"])
                        last = frame.get("id", last)
                        yield {"id": frame.get("id"), "type": payload.get("type"), "timestamp": payload.get("timestamp"), "data": payload.get("data")}
                    frame = {}
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(":")
                    frame[name] = value[1:] if value.startswith(" ") else value
        except (OSError, http.client.HTTPException) as error:
            if not reconnect:
                raise TransportError(f"GET {transport.url}/v1/events: {error.__class__.__name__}: {error}", method="GET", url=transport.url + "/v1/events", attempts=1, cause=error) from error
        finally:
            conn.close()
        if not reconnect:
            return
        time.sleep(1.0)

