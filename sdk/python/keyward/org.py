"""The org endpoints (/v1/org/…), called with the org key: projects, any
project's keys, the org's own keys, members, invitations, settings, the
org-wide audit log and verification of any project's keys."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ._call import Call, Cred, escape
from ._unset import UNSET, Unset, patch_body
from .audit import AuditService
from .keys import KeysService
from .models import (
    Invitation,
    Member,
    Page,
    Project,
    ProjectMember,
    Settings,
    VerifyResult,
    Whoami,
    format_duration,
)
from .paging import iterate, list_query, page_from_json

if TYPE_CHECKING:
    from .client import Client


class OrgService:
    """The org endpoints (org key)."""

    def __init__(self, client: Client) -> None:
        self._c = client
        self.keys = KeysService(client, "/v1/org/keys", Cred.ORG)
        """The org's own keys (kwo_…)."""
        self.projects = ProjectsService(client)
        """The org's projects."""
        self.members = MembersService(client)
        """The org's members and their roles."""
        self.invitations = InvitationsService(client)
        """The org's pending invitations."""
        self.settings = SettingsService(client)
        """The org's limits and policies."""
        self.audit = AuditService(client, "/v1/org/audit-events", Cred.ORG)
        """The whole org's audit log."""

    def whoami(self) -> Whoami:
        """Describes the client's org key (GET /v1/org/whoami)."""
        return Whoami.from_json(self._c.do(Call("GET", "/v1/org/whoami", Cred.ORG, idempotent=True)))

    def verify(self, key: str, *, scopes: Iterable[str] | None = None, ip: str | None = None) -> VerifyResult:
        """Checks a key of any project of the org (POST /v1/org/verify)."""
        return self._c.verify_raw("/v1/org/verify", Cred.ORG, key, scopes, ip)[0]

    def check_verify(self) -> None:
        """Client.check_verify for the org key (GET /v1/org/whoami)."""
        self._c.check_verify_with(Cred.ORG)

    def project_keys(self, project_id: str) -> KeysService:
        """The keys of one project of the org, with the same methods as
        ``client.keys``."""
        return KeysService(self._c, f"/v1/org/projects/{escape(project_id)}/keys", Cred.ORG)


class ProjectsService:
    """The org's projects (org key)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Project]:
        """One page of projects."""
        doc = self._c.do(Call("GET", "/v1/org/projects", Cred.ORG, query=list_query(limit, cursor), idempotent=True))
        return page_from_json(doc, Project.from_json)

    def all(self, *, limit: int | None = None, cursor: str | None = None) -> Iterator[Project]:
        """Every project from cursor on."""
        return iterate(lambda c: self.list(limit=limit, cursor=c), cursor)

    def create(self, name: str, *, slug: str | None = None, custom_scopes: Iterable[str] | None = None) -> Project:
        """Creates a project (its slug defaults to one made from the name).
        Never retried."""
        body: dict[str, Any] = {"name": name}
        if slug:
            body["slug"] = slug
        if custom_scopes is not None:
            body["custom_scopes"] = list(custom_scopes)
        return self._send(Call("POST", "/v1/org/projects", Cred.ORG, body=body))

    def get(self, project_id: str) -> Project:
        """One project."""
        return self._send(Call("GET", f"/v1/org/projects/{escape(project_id)}", Cred.ORG, idempotent=True))

    def update(
        self,
        project_id: str,
        *,
        name: str | Unset = UNSET,
        slug: str | Unset = UNSET,
        custom_scopes: Iterable[str] | None | Unset = UNSET,
    ) -> Project:
        """Renames a project or changes its slug or custom scopes (None
        clears them)."""
        scopes = custom_scopes if custom_scopes is None or isinstance(custom_scopes, Unset) else list(custom_scopes)
        body = patch_body(name=name, slug=slug, custom_scopes=scopes)
        return self._send(Call("PATCH", f"/v1/org/projects/{escape(project_id)}", Cred.ORG, body=body))

    def delete(self, project_id: str) -> None:
        """Deletes a project."""
        self._c.do(Call("DELETE", f"/v1/org/projects/{escape(project_id)}", Cred.ORG, idempotent=True), decode=False)

    def _send(self, call: Call) -> Project:
        doc = self._c.do(call)
        return Project.from_json(doc if isinstance(doc, dict) else {})


class MembersService:
    """The org's members and their roles (org key)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Member]:
        """One page of members."""
        doc = self._c.do(Call("GET", "/v1/org/members", Cred.ORG, query=list_query(limit, cursor), idempotent=True))
        return page_from_json(doc, Member.from_json)

    def all(self, *, limit: int | None = None, cursor: str | None = None) -> Iterator[Member]:
        """Every member from cursor on."""
        return iterate(lambda c: self.list(limit=limit, cursor=c), cursor)

    def add(
        self, email: str, role: str, *, name: str | None = None, projects: Iterable[ProjectMember] | None = None
    ) -> Member:
        """Adds a new person to the org by email; the answer's
        ``invitation.url`` is the link that sets their password. An email
        that already has an account is only invited (``status`` "pending")."""
        body: dict[str, Any] = {"email": email, "role": role}
        if name:
            body["name"] = name
        if projects is not None:
            body["projects"] = [p.to_json() for p in projects]
        return self._send(Call("POST", "/v1/org/members", Cred.ORG, body=body))

    def update(
        self,
        user_id: str,
        *,
        role: str | Unset = UNSET,
        projects: Iterable[ProjectMember] | None = None,
        key_handling: str | None = None,
        transfer_to: str | None = None,
    ) -> Member:
        """Changes a member's org role and project roles (a project role of
        "" removes the member from that project, their keys there handled
        as ``key_handling`` says: "revoke", the default, or "transfer")."""
        body = patch_body(role=role)
        if projects is not None:
            body["projects"] = [p.to_json() for p in projects]
        if key_handling:
            body["key_handling"] = key_handling
        if transfer_to:
            body["transfer_to"] = transfer_to
        return self._send(Call("PATCH", f"/v1/org/members/{escape(user_id)}", Cred.ORG, body=body))

    def remove(self, user_id: str, *, key_handling: str | None = None, transfer_to: str | None = None) -> None:
        """Removes a member; their keys are revoked (the default) or
        transferred to ``transfer_to``."""
        query = list_query(None, None, key_handling=key_handling, transfer_to=transfer_to)
        call = Call("DELETE", f"/v1/org/members/{escape(user_id)}", Cred.ORG, query=query, idempotent=True)
        self._c.do(call, decode=False)

    def _send(self, call: Call) -> Member:
        doc = self._c.do(call)
        return Member.from_json(doc if isinstance(doc, dict) else {})


class InvitationsService:
    """The org's pending invitations (org key); members.add makes them."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self) -> Page[Invitation]:
        """The pending invitations, in one page (at most 200)."""
        doc = self._c.do(Call("GET", "/v1/org/invitations", Cred.ORG, idempotent=True))
        return page_from_json(doc, Invitation.from_json)

    def revoke(self, invitation_id: str) -> Invitation:
        """Ends a pending invitation: its link stops working. Revoking one
        that is no longer pending is a CONFLICT error; never retried."""
        doc = self._c.do(Call("POST", f"/v1/org/invitations/{escape(invitation_id)}/revoke", Cred.ORG))
        return Invitation.from_json(doc if isinstance(doc, dict) else {})


class SettingsService:
    """The org's limits and policies (org key)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def get(self) -> Settings:
        """The org's settings."""
        doc = self._c.do(Call("GET", "/v1/org/settings", Cred.ORG, idempotent=True))
        return Settings.from_json(doc if isinstance(doc, dict) else {})

    def update(
        self,
        *,
        max_keys_per_user: int | Unset = UNSET,
        max_keys_per_project: int | Unset = UNSET,
        max_org_keys: int | Unset = UNSET,
        max_key_lifetime: timedelta | str | None | Unset = UNSET,
        rotation_max_grace: timedelta | str | Unset = UNSET,
    ) -> Settings:
        """Changes some settings and returns all of them; None for
        ``max_key_lifetime`` clears it."""
        body = patch_body(
            max_keys_per_user=max_keys_per_user,
            max_keys_per_project=max_keys_per_project,
            max_org_keys=max_org_keys,
            max_key_lifetime=max_key_lifetime
            if max_key_lifetime is None or isinstance(max_key_lifetime, Unset)
            else format_duration(max_key_lifetime),
            rotation_max_grace=rotation_max_grace
            if isinstance(rotation_max_grace, Unset)
            else format_duration(rotation_max_grace),
        )
        doc = self._c.do(Call("PATCH", "/v1/org/settings", Cred.ORG, body=body))
        return Settings.from_json(doc if isinstance(doc, dict) else {})
