"""The API's objects, as read from its JSON (docs/openapi.json).

Objects are frozen dataclasses; members a newer server adds are ignored.
Times are timezone-aware ``datetime`` values in UTC and durations are
``timedelta`` values.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class VerifyCode(enum.StrEnum):
    """The ``code`` of a verify answer."""

    VALID = "VALID"
    INVALID = "INVALID"
    EXPIRED = "EXPIRED"
    INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"


class Scope(enum.StrEnum):
    """keyward's built-in scopes (projects may add their own)."""

    KEYS_READ = "keys:read"
    KEYS_WRITE = "keys:write"
    KEYS_VERIFY = "keys:verify"
    AUDIT_READ = "audit:read"
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    MEMBERS_READ = "members:read"
    MEMBERS_WRITE = "members:write"
    SETTINGS_WRITE = "settings:write"


# --- times and durations -------------------------------------------------


def parse_time(raw: Any) -> datetime | None:
    """Reads an RFC 3339 time (None stays None)."""
    if raw is None or raw == "":
        return None
    t = datetime.fromisoformat(str(raw))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


def format_time(t: datetime) -> str:
    """Writes a time as RFC 3339 in UTC (a naive time is taken as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_UNITS = {
    "ns": timedelta(microseconds=0.001),
    "us": timedelta(microseconds=1),
    "µs": timedelta(microseconds=1),
    "μs": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(raw: str) -> timedelta:
    """Reads a duration as keyward writes it: ``"7d"``, ``"24h"``,
    ``"90m"``, ``"30s"``, Go's form (``"1h30m"``, ``"1.5s"``) or whole days
    in front (``"1d12h"``)."""
    s = raw.strip()
    total = timedelta()
    m = re.match(r"(\d+)d", s)
    if m:
        total += timedelta(days=int(m.group(1)))
        s = s[m.end() :]
        if s == "":
            return total
    if s == "0":
        return total
    pos = 0
    while pos < len(s):
        p = _PART.match(s, pos)
        if not p:
            raise ValueError(f"invalid duration {raw!r}")
        total += float(p.group(1)) * _UNITS[p.group(2)]
        pos = p.end()
    if pos == 0:
        raise ValueError(f"invalid duration {raw!r}")
    return total


def format_duration(d: timedelta | str) -> str:
    """Writes a duration as keyward reads it, in its largest whole unit
    (``"7d"``, ``"24h"``, ``"90m"``, ``"30s"``); a string is sent as is."""
    if isinstance(d, str):
        return d
    us = d // timedelta(microseconds=1)
    if us <= 0:
        return "0s"
    day, hour, minute, second = 86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000
    if us % day == 0 and us > day:
        return f"{us // day}d"
    if us % hour == 0:
        return f"{us // hour}h"
    if us % minute == 0:
        return f"{us // minute}m"
    if us % second == 0:
        return f"{us // second}s"
    if us % 1000 == 0:
        return f"{us // 1000}ms"
    return f"{us}us"


def _duration_or_none(raw: Any) -> timedelta | None:
    return None if raw is None else parse_duration(str(raw))


# --- objects --------------------------------------------------------------


@dataclass(frozen=True)
class ActorRef:
    """Who did something: ``type`` is "user", "key" or "system"."""

    type: str
    id: str = ""

    @classmethod
    def from_json(cls, d: Any) -> ActorRef | None:
        if not isinstance(d, dict):
            return None
        return cls(type=str(d.get("type", "")), id=str(d.get("id", "") or ""))


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests per ``window`` for one key."""

    limit: int
    window: timedelta

    @classmethod
    def from_json(cls, d: Any) -> RateLimit | None:
        if not isinstance(d, dict):
            return None
        return cls(limit=int(d["limit"]), window=parse_duration(str(d["window"])))

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "window": format_duration(self.window)}


@dataclass(frozen=True)
class RateLimitState:
    """A key's rate-limit window as of one request: the X-RateLimit-*
    headers, or a verify answer's ``rate_limit``. ``reset`` is when the
    window ends and the full limit is available again."""

    limit: int
    remaining: int
    reset: datetime

    @classmethod
    def from_json(cls, d: Any) -> RateLimitState | None:
        if not isinstance(d, dict):
            return None
        reset = parse_time(d.get("reset"))
        if reset is None:
            return None
        return cls(limit=int(d["limit"]), remaining=int(d["remaining"]), reset=reset)


@dataclass(frozen=True)
class Key:
    """An API key as keyward shows it. ``secret`` is set only in the answer
    that creates or rotates the key."""

    id: str
    kind: str
    name: str
    hint: str
    org_id: str
    scopes: list[str]
    status: str
    created_at: datetime | None
    project_id: str = ""
    created_by: ActorRef | None = None
    owner_user_id: str | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_ip: str | None = None
    last_used_user_agent: str | None = None
    revoked_at: datetime | None = None
    revoked_by: ActorRef | None = None
    revoke_reason: str | None = None
    ip_allowlist: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    replaced_by: str | None = None
    rate_limit: RateLimit | None = None
    secret: str = field(default="", repr=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Key:
        return cls(
            id=str(d.get("id", "")),
            kind=str(d.get("kind", "")),
            name=str(d.get("name", "")),
            hint=str(d.get("hint", "")),
            org_id=str(d.get("org_id", "")),
            scopes=list(d.get("scopes") or []),
            status=str(d.get("status", "")),
            created_at=parse_time(d.get("created_at")),
            project_id=str(d.get("project_id", "") or ""),
            created_by=ActorRef.from_json(d.get("created_by")),
            owner_user_id=d.get("owner_user_id"),
            expires_at=parse_time(d.get("expires_at")),
            last_used_at=parse_time(d.get("last_used_at")),
            last_used_ip=d.get("last_used_ip"),
            last_used_user_agent=d.get("last_used_user_agent"),
            revoked_at=parse_time(d.get("revoked_at")),
            revoked_by=ActorRef.from_json(d.get("revoked_by")),
            revoke_reason=d.get("revoke_reason"),
            ip_allowlist=list(d.get("ip_allowlist") or []),
            metadata=dict(d.get("metadata") or {}),
            replaced_by=d.get("replaced_by"),
            rate_limit=RateLimit.from_json(d.get("rate_limit")),
            secret=str(d.get("secret", "") or ""),
        )

    def status_at(self, now: datetime) -> str:
        """The key's status at ``now``: revoked, expired, expiring (rotated,
        in its grace period) or active."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        if self.replaced_by is not None:
            return "expiring"
        return "active"

    def has_scope(self, scope: str) -> bool:
        """Whether the key holds ``scope``."""
        return scope in self.scopes

    def allows_ip(self, ip: str) -> bool:
        """Whether the key may be used from ``ip``: always without an IP
        allowlist, otherwise only from an address inside one of its
        prefixes (an invalid or empty address is inside none)."""
        if not self.ip_allowlist:
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        for prefix in self.ip_allowlist:
            if "/" not in prefix:
                continue
            try:
                if addr in ipaddress.ip_network(prefix, strict=False):
                    return True
            except ValueError:
                continue
        return False


@dataclass(frozen=True)
class VerifyResult:
    """The answer of a verification. A key that is not valid is not an
    error: ``valid`` is False and ``code`` says why. ``rate_limit`` is the
    verified key's window (what to send the caller as X-RateLimit-*),
    absent for a key without a limit."""

    valid: bool
    code: str
    key: Key | None = None
    rate_limit: RateLimitState | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> VerifyResult:
        k = d.get("key")
        return cls(
            valid=bool(d.get("valid", False)),
            code=str(d.get("code", "")),
            key=Key.from_json(k) if isinstance(k, dict) else None,
            rate_limit=RateLimitState.from_json(d.get("rate_limit")),
        )


@dataclass(frozen=True)
class Whoami:
    """The calling key (GET /v1/whoami, GET /v1/org/whoami)."""

    key_id: str
    kind: str
    org_id: str
    scopes: list[str]
    project_id: str = ""
    owner_user_id: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Whoami:
        return cls(
            key_id=str(d.get("key_id", "")),
            kind=str(d.get("kind", "")),
            org_id=str(d.get("org_id", "")),
            scopes=list(d.get("scopes") or []),
            project_id=str(d.get("project_id", "") or ""),
            owner_user_id=d.get("owner_user_id"),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` is None on the last page."""

    data: list[T]
    next_cursor: str | None = None
    prev_cursor: str | None = None


@dataclass(frozen=True)
class Project:
    """A project of the org."""

    id: str
    org_id: str
    name: str
    slug: str
    custom_scopes: list[str]
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Project:
        return cls(
            id=str(d.get("id", "")),
            org_id=str(d.get("org_id", "")),
            name=str(d.get("name", "")),
            slug=str(d.get("slug", "")),
            custom_scopes=list(d.get("custom_scopes") or []),
            created_at=parse_time(d.get("created_at")),
            updated_at=parse_time(d.get("updated_at")),
        )


@dataclass(frozen=True)
class ProjectMember:
    """A member's role in one project ("" in a patch removes it)."""

    project_id: str
    role: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProjectMember:
        return cls(project_id=str(d.get("project_id", "")), role=str(d.get("role", "")))

    def to_json(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "role": self.role}


@dataclass(frozen=True)
class Invitation:
    """An invitation to the org. ``url`` (the one-time link) is set only in
    the answer that made it."""

    id: str
    org_id: str
    user_id: str
    email: str
    role: str
    projects: list[ProjectMember]
    created_by: str
    created_at: datetime | None
    expires_at: datetime | None
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    url: str = field(default="", repr=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Invitation:
        return cls(
            id=str(d.get("id", "")),
            org_id=str(d.get("org_id", "")),
            user_id=str(d.get("user_id", "")),
            email=str(d.get("email", "")),
            role=str(d.get("role", "")),
            projects=[ProjectMember.from_json(p) for p in d.get("projects") or []],
            created_by=str(d.get("created_by", "")),
            created_at=parse_time(d.get("created_at")),
            expires_at=parse_time(d.get("expires_at")),
            accepted_at=parse_time(d.get("accepted_at")),
            revoked_at=parse_time(d.get("revoked_at")),
            url=str(d.get("url", "") or ""),
        )


@dataclass(frozen=True)
class Member:
    """A member of the org. ``status`` is "pending" when adding an existing
    account made an invitation instead; ``invitation`` is set only in the
    answer to an add."""

    org_id: str
    user_id: str
    email: str
    name: str
    role: str
    created_at: datetime | None
    projects: list[ProjectMember]
    status: str = ""
    invitation: Invitation | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Member:
        inv = d.get("invitation")
        return cls(
            org_id=str(d.get("org_id", "")),
            user_id=str(d.get("user_id", "")),
            email=str(d.get("email", "")),
            name=str(d.get("name", "")),
            role=str(d.get("role", "")),
            created_at=parse_time(d.get("created_at")),
            projects=[ProjectMember.from_json(p) for p in d.get("projects") or []],
            status=str(d.get("status", "") or ""),
            invitation=Invitation.from_json(inv) if isinstance(inv, dict) else None,
        )


@dataclass(frozen=True)
class Settings:
    """The org's limits and policies."""

    max_keys_per_user: int
    max_keys_per_project: int
    max_org_keys: int
    max_key_lifetime: timedelta | None
    rotation_max_grace: timedelta

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Settings:
        return cls(
            max_keys_per_user=int(d.get("max_keys_per_user", 0)),
            max_keys_per_project=int(d.get("max_keys_per_project", 0)),
            max_org_keys=int(d.get("max_org_keys", 0)),
            max_key_lifetime=_duration_or_none(d.get("max_key_lifetime")),
            rotation_max_grace=parse_duration(str(d.get("rotation_max_grace", "0s"))),
        )


@dataclass(frozen=True)
class AuditEvent:
    """One event of an audit log. ``count`` is how many times a denied
    attempt was repeated within the same minute (1 otherwise)."""

    id: str
    org_id: str
    time: datetime | None
    actor: ActorRef | None
    action: str
    target: ActorRef | None
    result: str
    ip: str
    user_agent: str
    request_id: str
    project_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    count: int = 1

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AuditEvent:
        return cls(
            id=str(d.get("id", "")),
            org_id=str(d.get("org_id", "")),
            time=parse_time(d.get("time")),
            actor=ActorRef.from_json(d.get("actor")),
            action=str(d.get("action", "")),
            target=ActorRef.from_json(d.get("target")),
            result=str(d.get("result", "")),
            ip=str(d.get("ip", "")),
            user_agent=str(d.get("user_agent", "")),
            request_id=str(d.get("request_id", "")),
            project_id=str(d.get("project_id", "") or ""),
            details=dict(d.get("details") or {}),
            count=int(d.get("count", 1) or 1),
        )
