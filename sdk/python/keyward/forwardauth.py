"""A forward-authentication endpoint as a WSGI app: a reverse proxy (nginx
``auth_request``, Caddy ``forward_auth``, Traefik ``ForwardAuth``) asks it
about each request before passing the request on, as it would ask
keyward's own ``/v1/forward-auth``; the answers have the same form.

* 200 with the key's identity in Keyward-Key-Id, Keyward-Project-Id,
  Keyward-Owner-Id, Keyward-Scopes and Keyward-Metadata (and
  X-RateLimit-* for a key with a rate limit), for the proxy to copy
  upstream;
* otherwise the error contract, with the code again in Keyward-Error-Code
  (nginx drops the body), and 503 when keyward cannot be asked.

Scopes in the request's Keyward-Required-Scopes header (commas or spaces,
set per route by the proxy's configuration) are required on top of the
app's own ``scopes``; they can add requirements, never remove them.

Behind a proxy REMOTE_ADDR is the proxy: pass ``client_ip`` to read the
address it forwards (for keys with an IP allowlist), and only from it.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .guard import Guard
from .wsgi import StartResponse, remote_addr

if TYPE_CHECKING:
    from .client import Client
    from .localcache import LocalCache

REQUIRED_SCOPES_HEADER = "Keyward-Required-Scopes"
ERROR_CODE_HEADER = "Keyward-Error-Code"


def required_scopes(value: str) -> list[str]:
    """The scopes of a Keyward-Required-Scopes value."""
    return [s for s in re.split(r"[,\s]+", value) if s]


class ForwardAuthWSGI:
    """A WSGI app that answers a proxy's forward-authentication requests.
    The options are Guard's; see the module's documentation."""

    def __init__(
        self,
        client: Client | None = None,
        *,
        scopes: Iterable[str] = (),
        org: bool = False,
        local_cache: LocalCache | None = None,
        client_ip: Callable[[dict[str, Any]], str] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.guard = Guard(client, scopes=scopes, org=org, local_cache=local_cache, logger=logger)
        self._client_ip = client_ip or remote_addr

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = [
            (name, str(environ[var]))
            for name, var in (("x-api-key", "HTTP_X_API_KEY"), ("authorization", "HTTP_AUTHORIZATION"))
            if var in environ
        ]
        extra = required_scopes(str(environ.get("HTTP_KEYWARD_REQUIRED_SCOPES", "")))
        d = self.guard.check(headers, self._client_ip(environ), scopes=extra)
        if d.allowed:
            start_response("200 OK", d.identity_headers() + d.headers + [("Content-Length", "0")])
            return [b""]
        out = list(d.headers)
        if d.error is not None:
            out.append((ERROR_CODE_HEADER, d.error.code))
        start_response(f"{d.status} {HTTPStatus(d.status).phrase}", out)
        return [d.body]
