"""Audit logs: the caller's project's (``client.audit``) or the whole
org's (``client.org.audit``), newest first."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Iterator

from ._call import Call, Cred
from .models import AuditEvent, Page, format_time
from .paging import iterate, list_query, page_from_json

if TYPE_CHECKING:
    from .client import Client


class AuditService:
    """Reads one audit log."""

    def __init__(self, client: Client, path: str, cred: Cred) -> None:
        self._c = client
        self._path = path
        self._cred = cred

    def list(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        project_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AuditEvent]:
        """One page of events. ``action`` is an exact action or a prefix
        ending in "." ("key."); ``actor`` is a user or key id; ``since`` is
        inclusive and ``until`` exclusive. ``project_id`` narrows the org
        log to one project; the project log ignores it."""
        query = list_query(
            limit,
            cursor,
            project_id=project_id if self._cred is Cred.ORG else None,
            action=action,
            actor=actor,
            since=format_time(since) if since else None,
            until=format_time(until) if until else None,
        )
        doc = self._c.do(Call("GET", self._path, self._cred, query=query, idempotent=True))
        return page_from_json(doc, AuditEvent.from_json)

    def all(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        project_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[AuditEvent]:
        """Every event the filters select, from cursor on."""
        return iterate(
            lambda c: self.list(
                action=action, actor=actor, since=since, until=until, project_id=project_id, limit=limit, cursor=c
            ),
            cursor,
        )
