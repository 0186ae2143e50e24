"""WSGI middleware: protects a WSGI application (Flask, Django, any) with
keyward keys. See :class:`keyward.guard.Guard` for what it answers."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .guard import Guard
from .models import Key

if TYPE_CHECKING:
    from .client import Client
    from .localcache import LocalCache

ENVIRON_KEY = "keyward.key"
"""Where the verified Key is put in the WSGI environ."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def key_from_environ(environ: dict[str, Any]) -> Key | None:
    """The key the middleware verified for this request."""
    k = environ.get(ENVIRON_KEY)
    return k if isinstance(k, Key) else None


def remote_addr(environ: dict[str, Any]) -> str:
    """The default client address: REMOTE_ADDR."""
    return str(environ.get("REMOTE_ADDR", ""))


class KeywardWSGI:
    """Wraps a WSGI app: a request with a valid key reaches ``app`` with
    the key in ``environ["keyward.key"]`` (key_from_environ) and, for a key
    with a rate limit, X-RateLimit-* on its answer; any other request gets
    keyward's error contract (401, 403, 429 with Retry-After, 400, and 503
    when keyward cannot be asked).

    ``client_ip`` finds the caller's address for IP allowlists (default
    REMOTE_ADDR; behind a trusted proxy, return the address it reports).
    The other options are Guard's.
    """

    def __init__(
        self,
        app: WSGIApp,
        client: Client | None = None,
        *,
        scopes: Iterable[str] = (),
        org: bool = False,
        local_cache: LocalCache | None = None,
        client_ip: Callable[[dict[str, Any]], str] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self.guard = Guard(client, scopes=scopes, org=org, local_cache=local_cache, logger=logger)
        self._client_ip = client_ip or remote_addr

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = [
            (name, str(environ[var]))
            for name, var in (("x-api-key", "HTTP_X_API_KEY"), ("authorization", "HTTP_AUTHORIZATION"))
            if var in environ
        ]
        d = self.guard.check(headers, self._client_ip(environ))
        if not d.allowed:
            start_response(f"{d.status} {HTTPStatus(d.status).phrase}", d.headers)
            return [d.body]
        environ[ENVIRON_KEY] = d.key
        if not d.headers:
            return self.app(environ, start_response)
        extra = d.headers

        def with_limits(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            have = {name.lower() for name, _ in response_headers}
            merged = list(response_headers) + [(n, v) for n, v in extra if n.lower() not in have]
            if exc_info is not None:
                return start_response(status, merged, exc_info)
            return start_response(status, merged)

        return self.app(environ, with_limits)
