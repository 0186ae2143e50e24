"""One API call, as the services describe it to Client.do."""

from __future__ import annotations

import enum
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import ConfigError


class Cred(enum.Enum):
    """Which key a call sends."""

    NONE = 0
    PROJECT = 1  # x-api-key
    ORG = 2  # x-org-api-key


@dataclass
class Call:
    """One API call."""

    method: str
    path: str  # escaped path below the base URL, e.g. "/v1/keys/key_…"
    cred: Cred
    query: Mapping[str, str] | None = None
    body: Any = None  # JSON-encoded when not None
    idempotent: bool = False  # GET, DELETE and revoke may be retried
    headers: Mapping[str, str] = field(default_factory=dict)


def escape(item_id: str) -> str:
    """An id made safe as one path segment; an empty id is refused (it
    would address another route)."""
    if not item_id:
        raise ConfigError("keyward: empty id")
    return urllib.parse.quote(item_id, safe="")
