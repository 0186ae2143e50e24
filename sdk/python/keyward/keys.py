"""Key management: the caller's project's keys (``client.keys``), any
project's (``client.org.project_keys(id)``) and the org's own keys
(``client.org.keys``), all with the same methods."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from ._call import Call, Cred, escape
from ._unset import UNSET, Unset, patch_body
from .models import Key, Page, RateLimit, format_duration, format_time
from .paging import iterate, list_query, page_from_json

if TYPE_CHECKING:
    from .client import Client


class KeysService:
    """Manages keys below one route (/v1/keys, /v1/org/keys or
    /v1/org/projects/{id}/keys)."""

    def __init__(self, client: Client, base: str, cred: Cred) -> None:
        self._c = client
        self._base = base
        self._cred = cred

    def list(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        q: str | None = None,
        owner: str | None = None,
        scope: str | None = None,
        sort: str | None = None,
    ) -> Page[Key]:
        """One page of keys, newest first. ``status`` is "active" (the
        default: active and expiring keys), "expiring", "revoked", "expired"
        or "all"; ``q`` searches names and hints; ``sort`` is "oldest",
        "used" or "used_least"."""
        query = list_query(limit, cursor, status=status, q=q, owner=owner, scope=scope, sort=sort)
        doc = self._c.do(Call("GET", self._base, self._cred, query=query, idempotent=True))
        return page_from_json(doc, Key.from_json)

    def all(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        q: str | None = None,
        owner: str | None = None,
        scope: str | None = None,
        sort: str | None = None,
    ) -> Iterator[Key]:
        """Every key that the filters select, from cursor on, fetching pages
        of ``limit`` as the loop goes."""
        return iterate(
            lambda c: self.list(status=status, limit=limit, cursor=c, q=q, owner=owner, scope=scope, sort=sort),
            cursor,
        )

    def create(
        self,
        name: str,
        *,
        scopes: Iterable[str] | None = None,
        expires_at: datetime | None = None,
        expires_in: timedelta | str | None = None,
        ip_allowlist: Iterable[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        rate_limit: RateLimit | None = None,
    ) -> Key:
        """Creates a key. The answer's ``secret`` is the key itself, shown
        only in this answer. Without ``scopes`` the key gets its maker's.
        Never retried."""
        body: dict[str, Any] = {"name": name}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if expires_at is not None:
            body["expires_at"] = format_time(expires_at)
        if expires_in is not None:
            body["expires_in"] = format_duration(expires_in)
        if ip_allowlist is not None:
            body["ip_allowlist"] = list(ip_allowlist)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if rate_limit is not None:
            body["rate_limit"] = rate_limit.to_json()
        return self._send("POST", None, "", body, idempotent=False)

    def get(self, key_id: str) -> Key:
        """One key."""
        return self._send("GET", key_id, "", None, idempotent=True)

    def update(
        self,
        key_id: str,
        *,
        name: str | Unset = UNSET,
        scopes: Iterable[str] | Unset = UNSET,
        ip_allowlist: Iterable[str] | None | Unset = UNSET,
        metadata: Mapping[str, str] | None | Unset = UNSET,
        rate_limit: RateLimit | None | Unset = UNSET,
    ) -> Key:
        """Renames a key or changes its metadata, IP allowlist, rate limit
        or (only narrowing) scopes. What is left out keeps its value;
        ``None`` clears the allowlist, the metadata or the rate limit."""
        body = patch_body(
            name=name,
            scopes=scopes if isinstance(scopes, Unset) else list(scopes),
            ip_allowlist=ip_allowlist if ip_allowlist is None or isinstance(ip_allowlist, Unset) else list(ip_allowlist),
            metadata=metadata if metadata is None or isinstance(metadata, Unset) else dict(metadata),
            rate_limit=rate_limit.to_json() if isinstance(rate_limit, RateLimit) else rate_limit,
        )
        return self._send("PATCH", key_id, "", body, idempotent=False)

    def rotate(self, key_id: str, *, grace_period: timedelta | str | None = None) -> Key:
        """Replaces a key and returns the new one, with its ``secret``. The
        old key is revoked now, or at the end of ``grace_period``. Never
        retried."""
        body: dict[str, Any] = {}
        if grace_period is not None:
            body["grace_period"] = format_duration(grace_period)
        return self._send("POST", key_id, "/rotate", body, idempotent=False)

    def revoke(self, key_id: str, *, reason: str | None = None) -> Key:
        """Revokes a key for good and returns it. Revoking a revoked key
        succeeds and changes nothing, so revoke is retried like a read."""
        body: dict[str, Any] = {}
        if reason:
            body["reason"] = reason
        return self._send("POST", key_id, "/revoke", body, idempotent=True)

    def delete(self, key_id: str) -> Key:
        """Revokes a key, like revoke without a reason (DELETE)."""
        return self._send("DELETE", key_id, "", None, idempotent=True)

    def _send(self, method: str, key_id: str | None, suffix: str, body: Any, *, idempotent: bool) -> Key:
        path = self._base if key_id is None else f"{self._base}/{escape(key_id)}{suffix}"
        doc = self._c.do(Call(method, path, self._cred, body=body, idempotent=idempotent))
        return Key.from_json(doc if isinstance(doc, dict) else {})
