"""The decision a protected service makes for each request, independent of
any framework: read the caller's key, verify it (with keyward, or through a
LocalCache), and either let the request in with the verified key or answer
with keyward's error contract. The WSGI and ASGI middleware are thin
adapters around :class:`Guard`; any other framework (or a forward-auth
endpoint of your own) can call :meth:`Guard.check` directly.

It fails closed: when keyward cannot be asked, the answer is 503
UNAVAILABLE, never the protected handler.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from ._call import Cred
from .errors import APIError, Code
from .models import Key, RateLimitState, VerifyCode, VerifyResult

if TYPE_CHECKING:
    from .client import Client
    from .localcache import LocalCache

MAX_KEY_LENGTH = 256
"""Longer presented keys are refused without a call to keyward (real keys
are 40 characters)."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_request_id() -> str:
    """A request id like keyward's: "req_" and 26 Crockford base32 digits
    (milliseconds since 1970, then random bits)."""
    n = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    digits = []
    for _ in range(26):
        digits.append(_CROCKFORD[n & 31])
        n >>= 5
    return "req_" + "".join(reversed(digits))


@dataclass(frozen=True)
class Decision:
    """What to do with one request.

    When ``allowed``, ``key`` is the verified key and ``headers`` are the
    key's X-RateLimit-* headers, to add to the handler's answer. Otherwise
    answer ``status`` with ``headers`` and ``body`` (the error contract's
    JSON); ``error`` is the same error as an object.
    """

    status: int
    key: Key | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: APIError | None = None

    @property
    def allowed(self) -> bool:
        """Whether the request may go on to the protected handler."""
        return self.key is not None

    def identity_headers(self) -> list[tuple[str, str]]:
        """The verified key as keyward's forward authentication and
        ``keyward proxy`` pass it upstream (Keyward-Key-Id, -Project-Id,
        -Owner-Id, -Scopes, -Metadata); none for a refusal."""
        return identity_headers(self.key) if self.key is not None else []


class Guard:
    """Verifies the keys of incoming requests.

    ``scopes``: every one of them is required (others get 403
    PERMISSION_DENIED). ``org``: verify with the client's org key (POST
    /v1/org/verify, keys of any project of the org) instead of its project
    key. ``local_cache``: verify through a LocalCache (its own ``org``
    option then decides the endpoint). Log lines never hold the presented
    key.
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        scopes: Iterable[str] = (),
        org: bool = False,
        local_cache: LocalCache | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if client is None and local_cache is None:
            raise ValueError("keyward: Guard needs a client or a local cache")
        self._client = client
        self._local = local_cache
        self._org = org
        self.scopes = list(scopes)
        self._log = logger or logging.getLogger("keyward")

    def check(self, headers: Iterable[tuple[str, str]], client_ip: str, scopes: Iterable[str] = ()) -> Decision:
        """Decides for a request with these headers (name, value pairs;
        names in any case) from the address client_ip (for keys with an IP
        allowlist). ``scopes`` are required on top of the Guard's own. It
        blocks while keyward is asked."""
        required = self.scopes + [s for s in scopes if s not in self.scopes]
        key, refusal = presented_key(headers)
        if refusal is not None:
            return refuse(refusal)
        assert key is not None
        if len(key) > MAX_KEY_LENGTH:
            return refuse(verify_failure(VerifyResult(valid=False, code=VerifyCode.INVALID), required))
        try:
            res = self._verify(key, client_ip, required)
        except Exception as e:  # noqa: BLE001 - whatever failed, fail closed
            self._log.error("keyward: verify failed; rejecting request: %s", e)
            return refuse(unavailable())
        limits = rate_limit_headers(res.rate_limit)
        if res.valid and res.key is not None:
            return Decision(status=200, key=res.key, headers=limits)
        if res.valid:  # valid without a key breaks the contract: fail closed
            self._log.error("keyward: verify answered valid without a key; rejecting request")
            return refuse(unavailable())
        return refuse(verify_failure(res, required), limits)

    def _verify(self, key: str, client_ip: str, scopes: list[str]) -> VerifyResult:
        if self._local is not None:
            return self._local.verify(key, scopes=scopes, ip=client_ip)
        assert self._client is not None
        if self._org:
            return self._client.verify_raw("/v1/org/verify", Cred.ORG, key, scopes, client_ip)[0]
        return self._client.verify_raw("/v1/verify", Cred.PROJECT, key, scopes, client_ip)[0]


def presented_key(headers: Iterable[tuple[str, str]]) -> tuple[str | None, APIError | None]:
    """The key of x-api-key or "Authorization: Bearer"; two different keys
    are ambiguous, none is missing. Values joined by commas (a header sent
    twice, as WSGI servers pass it) count as separate values: a key never
    holds a comma."""
    keys: list[str] = []
    for name, value in headers:
        lname = name.lower()
        if lname == "x-api-key":
            keys.extend(v.strip() for v in value.split(",") if v.strip())
        elif lname == "authorization":
            for part in value.split(","):
                scheme, _, token = part.strip().partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    keys.append(token.strip())
    if not keys:
        return None, APIError(
            Code.API_KEY_MISSING,
            "No API key provided: send it in the x-api-key header or as Authorization: Bearer",
            401,
        )
    if any(k != keys[0] for k in keys[1:]):
        return None, APIError(Code.AMBIGUOUS_CREDENTIALS, "The request carries two different API keys; send one", 400)
    return keys[0], None


def verify_failure(res: VerifyResult, scopes: list[str], now: datetime | None = None) -> APIError:
    """The error a caller gets for a verify answer that is not valid.
    Unknown codes are taken as invalid keys. A rate-limited caller is told
    to come back when its key's window resets (1 s when keyward did not
    say)."""
    if res.code == VerifyCode.EXPIRED:
        return APIError(Code.API_KEY_EXPIRED, "The API key has expired", 401)
    if res.code == VerifyCode.INSUFFICIENT_SCOPE:
        return APIError(
            Code.PERMISSION_DENIED, "The API key lacks a required scope (needs " + ", ".join(scopes) + ")", 403
        )
    if res.code == VerifyCode.IP_NOT_ALLOWED:
        return APIError(Code.IP_NOT_ALLOWED, "The API key may not be used from this address", 403)
    if res.code == VerifyCode.RATE_LIMITED:
        wait = 1.0
        now = now or datetime.now(timezone.utc)
        if res.rate_limit is not None and res.rate_limit.reset > now:
            wait = (res.rate_limit.reset - now).total_seconds()
        return APIError(Code.RATE_LIMITED, "Too many requests; retry later", 429, retry_after=wait)
    return APIError(Code.API_KEY_INVALID, "Invalid API key provided", 401)


def unavailable() -> APIError:
    """The answer when keyward cannot be asked."""
    return APIError(Code.UNAVAILABLE, "API key verification is temporarily unavailable", 503)


def refuse(e: APIError, extra: list[tuple[str, str]] | None = None) -> Decision:
    """The error contract's answer for e, with a fresh request id."""
    e = APIError(e.code, e.message, e.status, new_request_id(), e.details, e.retry_after)
    headers = list(extra or [])
    headers += [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        ("X-Request-Id", e.request_id),
    ]
    if e.retry_after is not None and e.retry_after > 0:
        headers.append(("Retry-After", str(math.ceil(e.retry_after))))
    if e.status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="api"'))
    body = (json.dumps({"error": e.to_json()}) + "\n").encode()
    return Decision(status=e.status, headers=headers, body=body, error=e)


def rate_limit_headers(rl: RateLimitState | None) -> list[tuple[str, str]]:
    """A key's window as keyward writes it (the reset as a Unix time,
    rounded up); none when the key has no rate limit."""
    if rl is None:
        return []
    return [
        ("X-RateLimit-Limit", str(rl.limit)),
        ("X-RateLimit-Remaining", str(rl.remaining)),
        ("X-RateLimit-Reset", str(math.ceil(rl.reset.timestamp()))),
    ]


def identity_headers(k: Key) -> list[tuple[str, str]]:
    """Every identity header for the verified key k, as keyward writes them:
    each always present (empty when there is nothing to say), the scopes
    comma-separated, the metadata one JSON object with every non-ASCII
    character escaped ({} for none)."""
    meta = "{}"
    if k.metadata:
        meta = json.dumps(k.metadata, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        # As Go's encoding/json writes them, so the header reads the same.
        meta = meta.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return [
        ("Keyward-Key-Id", k.id),
        ("Keyward-Project-Id", k.project_id),
        ("Keyward-Owner-Id", k.owner_user_id or ""),
        ("Keyward-Scopes", ",".join(k.scopes)),
        ("Keyward-Metadata", meta),
    ]
