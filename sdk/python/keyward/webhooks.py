"""Verification of keyward's webhook deliveries (the Standard Webhooks scheme).

Each delivery is a POST of a JSON event with three headers:
``webhook-id`` (the message id, the same on every retry of one event),
``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (space-separated ``v1,<base64>`` entries, each an
HMAC-SHA256 of ``id.timestamp.body`` under the endpoint's signing secret).
:func:`verify_webhook` checks one and returns its :class:`WebhookEvent`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .errors import ConfigError, KeywardError

__all__ = ["DEFAULT_TOLERANCE", "WebhookEvent", "WebhookVerificationError", "verify_webhook"]

#: How far, in seconds, a delivery's timestamp may be from now by default.
DEFAULT_TOLERANCE = 300

WebhookFailure = Literal["missing_header", "timestamp", "signature", "payload"]

_PREFIX = "whsec_"
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_DIGITS = re.compile(r"[0-9]+")
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.ASCII)
_SIGNATURE_LENGTH = 44  # base64 of 32 bytes


class WebhookVerificationError(KeywardError):
    """A delivery that :func:`verify_webhook` refused.

    ``reason`` says why: ``missing_header``, ``timestamp`` (not integer
    seconds, or outside the tolerance), ``signature`` (no v1 entry
    matches) or ``payload`` (signed, but not a keyward event). The message
    never holds the secret or a signature.
    """

    reason: WebhookFailure

    def __init__(self, reason: WebhookFailure, message: str) -> None:
        self.reason = reason
        super().__init__(f"keyward: webhook refused: {message}")


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery."""

    id: str
    """The message id (``webhook-id``): the same on every retry and redelivery of one event."""
    type: str
    """The event's type, e.g. ``key.created``; types this SDK does not know pass through."""
    timestamp: datetime
    """When the event happened (the body's timestamp), timezone-aware."""
    data: Any
    """The event's data as parsed JSON (``None`` when the body has none)."""


def verify_webhook(
    secret: str,
    headers: Mapping[str, Any],
    body: bytes | bytearray | memoryview | str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> WebhookEvent:
    """Verify a webhook delivery from keyward and return its event.

    ``secret`` is the endpoint's signing secret (``whsec_`` and base64, or
    the base64 alone). ``headers`` is any mapping of the request's headers
    (a dict, ``email.message.Message``, Flask's or Django's headers); names
    match case-insensitively. ``body`` is the raw body as received, before
    any JSON parsing (a ``str`` is taken as UTF-8).

    In order: the three headers must be present, ``webhook-timestamp``
    within ``tolerance`` seconds of ``now`` (which bounds replays), one v1
    entry of ``webhook-signature`` must match (other versions are ignored;
    compared in constant time); only then is the body parsed. Keep the ids
    you have handled to act once per event.

    Raises :class:`WebhookVerificationError` for a refused delivery and
    :class:`ConfigError` for a secret that is empty or not base64, or a bad
    option.
    """
    key = _decode_secret(secret)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) or tolerance < 1:
        raise ConfigError("keyward: tolerance must be a number of seconds of at least 1")
    if now is None:
        now_seconds = math.floor(time.time())
    elif isinstance(now, datetime) and now.tzinfo is not None:
        now_seconds = math.floor(now.timestamp())
    else:
        raise ConfigError("keyward: now must be a timezone-aware datetime")
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else bytes(body)

    msg_id = _first(_header_values(headers, "webhook-id"))
    ts_text = _first(_header_values(headers, "webhook-timestamp"))
    signatures = " ".join(_header_values(headers, "webhook-signature"))
    for name, value in (("webhook-id", msg_id), ("webhook-timestamp", ts_text), ("webhook-signature", signatures)):
        if not value.strip():
            raise WebhookVerificationError("missing_header", f"missing {name} header")

    if not _DIGITS.fullmatch(ts_text) or len(ts_text) > 30:
        raise WebhookVerificationError("timestamp", "webhook-timestamp is not integer Unix seconds")
    ts = int(ts_text)
    age = now_seconds - ts
    tol = math.floor(tolerance)
    if age > tol:
        raise WebhookVerificationError("timestamp", f"webhook-timestamp is too old: {age}s before now (tolerance {tol}s)")
    if age < -tol:
        raise WebhookVerificationError("timestamp", f"webhook-timestamp is too new: {-age}s after now (tolerance {tol}s)")

    want = hmac.new(key, f"{msg_id}.{ts}.".encode("utf-8", "replace") + raw, hashlib.sha256).digest()
    _match_signature(signatures, want)
    return _parse_event(msg_id, raw)


def _decode_secret(secret: str) -> bytes:
    s = secret.strip() if isinstance(secret, str) else ""
    s = s.removeprefix(_PREFIX)
    if not s or not _BASE64.fullmatch(s):
        raise ConfigError('keyward: invalid webhook signing secret: want "whsec_" followed by standard base64')
    return base64.b64decode(s)


def _match_signature(signatures: str, want: bytes) -> None:
    v1 = 0
    for raw in signatures.split():
        # Some frameworks join repeated headers with ", ": base64 holds no comma.
        entry = raw.removesuffix(",")
        if not entry.startswith("v1,"):
            continue
        v1 += 1
        b64 = entry[3:]
        if len(b64) != _SIGNATURE_LENGTH or not _BASE64.fullmatch(b64):
            continue
        try:
            got = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(got, want):
            return
    if v1 == 0:
        raise WebhookVerificationError("signature", "webhook-signature has no v1 entry")
    raise WebhookVerificationError("signature", "no v1 signature matches (a different secret, or a changed body)")


def _parse_event(msg_id: str, raw: bytes) -> WebhookEvent:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WebhookVerificationError("payload", f"the signed body is not a keyward event: {e}") from None
    event_type = obj.get("type") if isinstance(obj, dict) else None
    stamp = _parse_rfc3339(obj.get("timestamp")) if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or not isinstance(event_type, str) or not event_type or stamp is None:
        raise WebhookVerificationError(
            "payload", "the signed body is not a keyward event: it needs a type and an RFC 3339 timestamp"
        )
    return WebhookEvent(id=msg_id, type=event_type, timestamp=stamp, data=obj.get("data"))


def _parse_rfc3339(value: object) -> datetime | None:
    m = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    whole, frac, zone = m.groups()
    text = whole + (frac or "")[:7] + ("+00:00" if zone == "Z" else zone)  # datetime keeps microseconds
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _header_values(headers: Mapping[str, Any], name: str) -> list[str]:
    """Every value of a header, found case-insensitively."""
    get_all = getattr(headers, "get_all", None)  # email.message.Message, http.client.HTTPMessage
    if callable(get_all):
        values = get_all(name)
        if values:
            return [v for v in values if isinstance(v, str)]
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name), None)
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def _first(values: list[str]) -> str:
    return values[0] if values else ""
