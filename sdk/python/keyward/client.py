"""The client: one object per keyward server, safe for use from many
threads.

A Client reads KEYWARD_URL, KEYWARD_API_KEY and KEYWARD_ORG_API_KEY by
default. Project calls (``keys``, ``whoami``, ``audit``, ``verify``) send
the project key in ``x-api-key``; org calls (everything under ``org``) send
the org key in ``x-org-api-key``. A call made without the key it needs
raises :class:`MissingKeyError` at once, without a request.

Idempotent calls (reads, deletes and key revokes) are retried on network
errors and on 429, 502, 503 and 504; calls that create or change something
are never retried, so a lost answer cannot create two keys. Verification is
never retried either: a middleware that fails closed answers 503 at once
instead of holding its caller.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import ssl
import urllib.parse
from typing import Any, Callable, Iterable, Mapping

from . import _http
from ._call import Call, Cred
from .errors import APIError, ConfigError, KeywardError, MissingKeyError, TransportError
from .audit import AuditService
from .keys import KeysService
from .models import Scope, VerifyResult, Whoami
from .org import OrgService

ENV_URL = "KEYWARD_URL"
ENV_API_KEY = "KEYWARD_API_KEY"
ENV_ORG_API_KEY = "KEYWARD_ORG_API_KEY"

DEFAULT_URL = "http://127.0.0.1:8080"
"""The server used when neither ``base_url`` nor KEYWARD_URL gives one."""

DEFAULT_RETRIES = 2
"""How many times an idempotent call is retried."""

DEFAULT_USER_AGENT = "keyward-python"

CHANGE_SEQ_HEADER = "Keyward-Change-Seq"
"""On a verify answer: the last key change the answering node had applied."""

MIN_CHANGE_SEQ_HEADER = "Keyward-Min-Change-Seq"
"""On a verify request: answer reflecting at least every change up to here."""


class Client:
    """A client of one keyward server.

    ``api_key`` and ``org_api_key`` default to KEYWARD_API_KEY and
    KEYWARD_ORG_API_KEY; pass ``""`` for none. ``base_url`` defaults to
    KEYWARD_URL, else http://127.0.0.1:8080. ``timeout`` bounds each
    connect and each read of a socket, in seconds.

    >>> c = Client()                              # doctest: +SKIP
    >>> k = c.keys.create("CI", scopes=["keys:read"])  # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        org_api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = DEFAULT_RETRIES,
        user_agent: str = DEFAULT_USER_AGENT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if retries < 0:
            raise ConfigError(f"keyward: negative retries {retries}")
        if base_url is None:
            raw = os.environ.get(ENV_URL) or DEFAULT_URL
            try:
                self._base = _http.BaseURL.parse(raw)
            except ConfigError as e:
                raise ConfigError(f"{e} (from {ENV_URL})") from None
        else:
            self._base = _http.BaseURL.parse(base_url)
        if api_key is None:
            self._api_key, self._api_key_from = os.environ.get(ENV_API_KEY, "").strip(), ENV_API_KEY
        else:
            self._api_key, self._api_key_from = api_key.strip(), "api_key"
        if org_api_key is None:
            self._org_key, self._org_key_from = os.environ.get(ENV_ORG_API_KEY, "").strip(), ENV_ORG_API_KEY
        else:
            self._org_key, self._org_key_from = org_api_key.strip(), "org_api_key"
        self._transport = _http.Transport(self._base, timeout, ssl_context)
        self.timeout = timeout
        self.retries = retries
        self.user_agent = user_agent
        # Backoff between retries: min doubles per attempt up to max, with
        # jitter; a Retry-After longer than max_retry_after is not waited for.
        self.min_backoff = 0.1
        self.max_backoff = 2.0
        self.max_retry_after = 30.0
        self._sleep: Callable[[float], None] = _http.sleep

        self.keys = KeysService(self, "/v1/keys", Cred.PROJECT)
        """The keys of the caller's project (project key)."""
        self.audit = AuditService(self, "/v1/audit-events", Cred.PROJECT)
        """The audit log of the caller's project (project key)."""
        self.org = OrgService(self)
        """The org endpoints (org key)."""

    # --- configuration ---------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server address the client calls."""
        return str(self._base)

    @property
    def has_api_key(self) -> bool:
        """Whether the client holds a project key."""
        return self._api_key != ""

    @property
    def has_org_api_key(self) -> bool:
        """Whether the client holds an org key."""
        return self._org_key != ""

    @property
    def path_prefix(self) -> str:
        """The base URL's path ("" or "/prefix"), which every API path follows."""
        return self._base.prefix

    def connect(self, timeout: float | None) -> http.client.HTTPConnection:
        """A new connection to the server, outside the pool (for a change
        stream, which holds its connection for as long as it runs)."""
        return self._transport.connect(timeout)

    def close(self) -> None:
        """Closes idle connections (the client stays usable)."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, api_key={'set' if self.has_api_key else 'none'}, org_api_key={'set' if self.has_org_api_key else 'none'})"

    # --- project calls ---------------------------------------------------

    def whoami(self) -> Whoami:
        """Describes the client's project key (GET /v1/whoami)."""
        return Whoami.from_json(self.do(Call("GET", "/v1/whoami", Cred.PROJECT, idempotent=True)))

    def verify(self, key: str, *, scopes: Iterable[str] | None = None, ip: str | None = None) -> VerifyResult:
        """Checks a key that your service received from its own client,
        against the client's project (POST /v1/verify). A key that is not
        valid is not an error: ``valid`` is False and ``code`` says why.
        ``ip`` is your client's address, for keys with an IP allowlist."""
        return self.verify_raw("/v1/verify", Cred.PROJECT, key, scopes, ip)[0]

    def check_verify(self) -> None:
        """Asks keyward once whether the project key can verify keys, so
        that a service finds a missing or wrong key when it starts instead
        of answering 503 to every request. The error names the variable (or
        argument) the key came from, or the keys:verify scope it lacks.
        LocalCache.start calls it for you."""
        self.check_verify_with(Cred.PROJECT)

    def health(self) -> None:
        """Checks that the server process is up (GET /healthz)."""
        self.do(Call("GET", "/healthz", Cred.NONE, idempotent=True), decode=False)

    def ready(self) -> None:
        """Checks that the server can reach its store (GET /readyz); a
        server that cannot answers an APIError with status 503."""
        self.do(Call("GET", "/readyz", Cred.NONE, idempotent=True), decode=False)

    # --- shared by the services -------------------------------------------

    def verify_raw(
        self,
        path: str,
        cred: Cred,
        key: str,
        scopes: Iterable[str] | None,
        ip: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[VerifyResult, http.client.HTTPMessage]:
        """POST path (/v1/verify or /v1/org/verify); the answer and its
        headers. Never retried."""
        body: dict[str, Any] = {"key": key}
        if scopes:
            body["scopes"] = list(scopes)
        if ip:
            body["ip"] = ip
        doc, answer_headers = self.do_full(Call("POST", path, cred, body=body, headers=headers or {}))
        if not isinstance(doc, dict):
            raise TransportError(f"keyward: POST {path}: the answer is not an object")
        return VerifyResult.from_json(doc), answer_headers

    def check_verify_with(self, cred: Cred) -> None:
        """check_verify for either key."""
        if cred is Cred.ORG:
            what, source = "org API key", self._org_key_from
        else:
            what, source = "project API key", self._api_key_from
        self.credential(cred)  # MissingKeyError names the variable
        try:
            w = self.org.whoami() if cred is Cred.ORG else self.whoami()
        except APIError as e:
            if e.status == 401 or e.code == "PERMISSION_DENIED":
                msg = f"the {what} from {source} does not work: {e.message}"
            else:
                msg = f"cannot check the {what} from {source} with keyward at {self.base_url}: {e.message}"
            raise APIError(e.code, msg, e.status, e.request_id, e.details, e.retry_after, e.rate_limit) from e
        except TransportError as e:
            raise TransportError(f"keyward: cannot check the {what} from {source} with keyward at {self.base_url}: {e}") from e
        if Scope.KEYS_VERIFY not in w.scopes:
            raise ConfigError(
                f"keyward: the {what} from {source} ({w.key_id}) lacks the keys:verify scope, which verifying "
                "keys needs; use a key that has it (keyward keys create --scopes keys:verify)"
            )

    def credential(self, cred: Cred) -> tuple[str, str]:
        """The header and key a call with cred sends (("", "") for none)."""
        if cred is Cred.PROJECT:
            if not self._api_key:
                raise MissingKeyError("project API key", ENV_API_KEY, "api_key")
            return "X-Api-Key", self._api_key
        if cred is Cred.ORG:
            if not self._org_key:
                raise MissingKeyError("org API key", ENV_ORG_API_KEY, "org_api_key")
            return "X-Org-Api-Key", self._org_key
        return "", ""

    def do(self, call: Call, *, decode: bool = True) -> Any:
        """Runs a call, retrying it when it is idempotent, and returns the
        decoded 2xx body (None for 204 or when decode is False)."""
        return self.do_full(call, decode=decode)[0]

    def do_full(self, call: Call, *, decode: bool = True) -> tuple[Any, http.client.HTTPMessage]:
        """do, with the headers of the answer."""
        name, key = self.credential(call.cred)
        payload = None if call.body is None else json.dumps(call.body).encode()
        target = call.path
        if call.query:
            target += "?" + urllib.parse.urlencode(call.query)
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if key:
            headers[name] = key
        headers.update(call.headers)

        attempt = 0
        while True:
            try:
                resp = self._transport.send(call.method, target, payload, headers)
                if not 200 <= resp.status <= 299:
                    raise _http.decode_error(resp.status, resp.headers, resp.body)
            except (APIError, TransportError) as err:
                wait = self._retry_after(call, attempt, err)
                if wait is None:
                    raise
                self._sleep(wait)
                attempt += 1
                continue
            if not decode or resp.status == 204 or not resp.body:
                return None, resp.headers
            return _http.decode_json(call.method, call.path, resp.body), resp.headers

    def _retry_after(self, call: Call, attempt: int, err: KeywardError) -> float | None:
        """How long to wait before retrying, or None for no retry."""
        if not call.idempotent or attempt >= self.retries:
            return None
        if not isinstance(err, APIError):
            return self._backoff(attempt)  # network error
        if err.status in (429, 503):
            if err.retry_after is not None and err.retry_after > 0:
                return err.retry_after if err.retry_after <= self.max_retry_after else None
            return self._backoff(attempt)
        if err.status in (502, 504):
            return self._backoff(attempt)
        return None

    def _backoff(self, attempt: int) -> float:
        """min_backoff doubled per attempt, capped at max_backoff, with
        "equal jitter" (a random point in the upper half)."""
        d = min(self.min_backoff * (2**attempt), self.max_backoff)
        return d / 2 + random.uniform(0, d / 2)
