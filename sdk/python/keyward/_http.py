"""HTTP for the client: one pool of keep-alive connections to one server,
and the decoding of error answers. Redirects are never followed, so a key
header can never be carried to another host."""

from __future__ import annotations

import email.utils
import http.client
import json
import queue
import select
import ssl
import time
import urllib.parse
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from .errors import APIError, Code, ConfigError, FieldError, TransportError
from .models import RateLimitState

MAX_RESPONSE_BYTES = 16 << 20
"""What is read of a response body at most."""

_MAX_IDLE = 16
"""How many idle connections the pool keeps."""


@dataclass(frozen=True)
class BaseURL:
    """An http(s) server address with an optional path prefix."""

    scheme: str
    host: str
    port: int | None
    prefix: str  # "" or "/path", without a trailing slash

    @classmethod
    def parse(cls, raw: str) -> BaseURL:
        """Accepts http(s)://host[:port][/prefix]; no user info, query or
        fragment."""
        text = raw.strip()
        bad = f"keyward: invalid base URL {raw!r}: want http(s)://host[:port]"
        try:
            u = urllib.parse.urlsplit(text)
            port = u.port
        except ValueError as e:
            raise ConfigError(bad) from e
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(bad)
        if u.username is not None or u.password is not None or u.query or u.fragment or "?" in text:
            raise ConfigError(f"keyward: invalid base URL {raw!r}: no user info, query or fragment allowed")
        return cls(scheme=u.scheme, host=u.hostname, port=port, prefix=u.path.rstrip("/"))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{host}{port}{self.prefix}"


@dataclass(frozen=True)
class Response:
    """A whole answer: status, headers and body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


class Transport:
    """Sends requests to one server over pooled connections; safe for use
    from many threads."""

    def __init__(self, base: BaseURL, timeout: float, ssl_context: ssl.SSLContext | None) -> None:
        self.base = base
        self.timeout = timeout
        self._ssl = ssl_context
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        # A client dropped without close() still closes its idle connections.
        weakref.finalize(self, _close_all, self._idle)

    def connect(self, timeout: float | None) -> http.client.HTTPConnection:
        """A new connection (not from the pool), for a change stream."""
        if self.base.scheme == "https":
            ctx = self._ssl or ssl.create_default_context()
            return http.client.HTTPSConnection(self.base.host, self.base.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection(self.base.host, self.base.port, timeout=timeout)

    def _take(self) -> http.client.HTTPConnection:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return self.connect(self.timeout)
            if _dropped(conn):
                conn.close()
                continue
            return conn

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        if self._idle.qsize() >= _MAX_IDLE:
            conn.close()
            return
        self._idle.put(conn)

    def close(self) -> None:
        """Closes the idle connections."""
        _close_all(self._idle)

    def send(self, method: str, target: str, body: bytes | None, headers: Mapping[str, str]) -> Response:
        """Sends one request; target is the path (with query) below the
        base URL. Network failures raise TransportError."""
        path = urllib.parse.urlsplit(target).path
        conn = self._take()
        try:
            conn.request(method, self.base.prefix + target, body=body, headers=dict(headers))
            resp = conn.getresponse()
            data = resp.read(MAX_RESPONSE_BYTES + 1)
            if len(data) > MAX_RESPONSE_BYTES:
                conn.close()
                raise TransportError(f"keyward: {method} {path}: response larger than {MAX_RESPONSE_BYTES} bytes")
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            # The exception names the failure, never the headers: no key leaks.
            raise TransportError(f"keyward: {method} {path}: {_describe(e)}") from e
        if resp.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return Response(status=resp.status, headers=resp.headers, body=data)


def _close_all(idle: queue.LifoQueue[http.client.HTTPConnection]) -> None:
    while True:
        try:
            idle.get_nowait().close()
        except queue.Empty:
            return


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection was closed by the server (it is readable:
    end of file, or bytes nobody asked for)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _describe(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, TimeoutError):
        return f"timed out ({text})"
    return text


# --- error answers ---------------------------------------------------------


def decode_error(status: int, headers: http.client.HTTPMessage, body: bytes) -> APIError:
    """Turns a non-2xx answer into an APIError."""
    code, message, details = "", "", []
    body_status, request_id = 0, ""
    try:
        doc = json.loads(body)
        e = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(e, dict) and e.get("code"):
            code = str(e["code"])
            message = str(e.get("message", ""))
            body_status = int(e.get("status") or 0)
            request_id = str(e.get("request_id") or "")
            details = [
                FieldError(field=str(d.get("field", "")), problem=str(d.get("problem", "")))
                for d in e.get("details") or []
                if isinstance(d, dict)
            ]
    except (ValueError, TypeError):
        pass
    if not code:
        code = code_for_status(status)
        message = f"unexpected response from keyward: {_status_text(status)}"
    return APIError(
        code=code,
        message=message,
        status=body_status or status,
        request_id=request_id or headers.get("X-Request-Id", ""),
        details=details,
        retry_after=parse_retry_after(headers.get("Retry-After")),
        rate_limit=parse_rate_limit(headers),
    )


def code_for_status(status: int) -> str:
    """The contract's code for a status whose body did not say one."""
    return {
        502: Code.UNAVAILABLE,
        503: Code.UNAVAILABLE,
        504: Code.UNAVAILABLE,
        429: Code.RATE_LIMITED,
        404: Code.NOT_FOUND,
        413: Code.PAYLOAD_TOO_LARGE,
        401: Code.UNAUTHENTICATED,
        403: Code.PERMISSION_DENIED,
    }.get(status, Code.INTERNAL).value


def _status_text(status: int) -> str:
    try:
        from http import HTTPStatus

        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"status {status}"


def parse_retry_after(raw: str | None, now: datetime | None = None) -> float | None:
    """Reads Retry-After: delay seconds or an HTTP date; None when absent or
    unreadable."""
    if raw is None:
        return None
    v = raw.strip()
    if not v:
        return None
    if v.isdigit():
        return float(int(v))
    try:
        t = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return max((t - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)


def parse_rate_limit(headers: http.client.HTTPMessage | Mapping[str, str]) -> RateLimitState | None:
    """Reads X-RateLimit-*; None when the answer had none or they do not
    parse."""
    try:
        limit = int(headers.get("X-RateLimit-Limit") or "")
        remaining = int(headers.get("X-RateLimit-Remaining") or "")
        reset = int(headers.get("X-RateLimit-Reset") or "")
    except ValueError:
        return None
    return RateLimitState(limit=limit, remaining=remaining, reset=datetime.fromtimestamp(reset, timezone.utc))


def decode_json(method: str, path: str, body: bytes) -> Any:
    """Decodes a 2xx body."""
    try:
        return json.loads(body)
    except ValueError as e:
        raise TransportError(f"keyward: {method} {path}: decode response: {e}") from e


def sleep(seconds: float) -> None:
    """Waits between retries (tests replace Client._sleep)."""
    if seconds > 0:
        time.sleep(seconds)
