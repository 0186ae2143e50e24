"""ASGI middleware: protects an ASGI application (Starlette, FastAPI,
Django's ASGI, any) with keyward keys. See :class:`keyward.guard.Guard` for
what it answers.

The verification itself is the synchronous Guard.check (with a
LocalCache, usually from memory); it runs in a worker thread
(``asyncio.to_thread``), so it never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, MutableMapping

from .guard import Guard
from .models import Key

if TYPE_CHECKING:
    from .client import Client
    from .localcache import LocalCache

SCOPE_KEY = "keyward.key"
"""Where the verified Key is put in the ASGI scope."""

ASGIScope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[ASGIScope, Receive, Send], Awaitable[None]]

WEBSOCKET_POLICY_VIOLATION = 1008
"""The close code of a refused WebSocket (the server answers the handshake
with 403)."""


def key_from_scope(scope: ASGIScope) -> Key | None:
    """The key the middleware verified for this connection."""
    k = scope.get(SCOPE_KEY)
    return k if isinstance(k, Key) else None


def _peer(scope: ASGIScope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class KeywardASGI:
    """Wraps an ASGI app. HTTP requests and WebSocket connections with a
    valid key reach ``app`` with the key in ``scope["keyward.key"]``
    (key_from_scope) and, for a key with a rate limit, X-RateLimit-* on the
    answer; other HTTP requests get keyward's error contract (401, 403, 429
    with Retry-After, 400, and 503 when keyward cannot be asked), other
    WebSockets are closed before they are accepted. Lifespan events pass
    through.

    ``client_ip`` finds the caller's address from the scope (default
    ``scope["client"]``). The other options are Guard's.
    """

    def __init__(
        self,
        app: ASGIApp,
        client: Client | None = None,
        *,
        scopes: Iterable[str] = (),
        org: bool = False,
        local_cache: LocalCache | None = None,
        client_ip: Callable[[ASGIScope], str] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self.guard = Guard(client, scopes=scopes, org=org, local_cache=local_cache, logger=logger)
        self._client_ip = client_ip or _peer

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in scope.get("headers") or []]
        d = await asyncio.to_thread(self.guard.check, headers, self._client_ip(scope))
        if not d.allowed:
            if kind == "websocket":
                await receive()  # websocket.connect
                reason = d.error.code if d.error is not None else "refused"
                await send({"type": "websocket.close", "code": WEBSOCKET_POLICY_VIOLATION, "reason": reason})
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": d.status,
                    "headers": [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in d.headers],
                }
            )
            await send({"type": "http.response.body", "body": d.body})
            return
        inner = dict(scope)
        inner[SCOPE_KEY] = d.key
        if not d.headers or kind != "http":
            await self.app(inner, receive, send)
            return
        extra = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in d.headers]

        async def send_with_limits(message: Message) -> None:
            if message.get("type") == "http.response.start":
                have = {bytes(n).lower() for n, _ in message.get("headers") or []}
                message = dict(message)
                message["headers"] = list(message.get("headers") or []) + [(n, v) for n, v in extra if n not in have]
            await send(message)

        await self.app(inner, receive, send_with_limits)
