"""keyward: the Python SDK of keyward, a self-hosted API-key platform.

Standard library only (Python 3.11+):

* :class:`Client`: every endpoint of the HTTP API — key management,
  projects, members, settings, audit logs, verification.
* :class:`LocalCache`: verification in your process, following keyward's
  key change stream.
* :class:`Guard`, :class:`KeywardWSGI`, :class:`KeywardASGI`: protect a
  service with keyward keys; fail closed. :class:`ForwardAuthWSGI`: the
  same as a forward-authentication endpoint for a reverse proxy.
* Errors: :class:`KeywardError`, :class:`APIError` (code, status,
  request_id), :class:`TransportError`, :class:`ConfigError`.
"""

from ._unset import UNSET
from .asgi import KeywardASGI, key_from_scope
from .changestream import ChangeEvent
from .client import DEFAULT_URL, ENV_API_KEY, ENV_ORG_API_KEY, ENV_URL, Client
from .errors import APIError, Code, ConfigError, FieldError, KeywardError, MissingKeyError, TransportError, has_code
from .forwardauth import ForwardAuthWSGI
from .guard import Decision, Guard
from .localcache import LocalCache
from .models import (
    ActorRef,
    AuditEvent,
    Invitation,
    Key,
    Member,
    Page,
    Project,
    ProjectMember,
    RateLimit,
    RateLimitState,
    Scope,
    Settings,
    VerifyCode,
    VerifyResult,
    Whoami,
)
from .webhooks import WebhookEvent, WebhookVerificationError, verify_webhook
from .wsgi import KeywardWSGI, key_from_environ

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "APIError",
    "ActorRef",
    "AuditEvent",
    "ChangeEvent",
    "Client",
    "Code",
    "ConfigError",
    "DEFAULT_URL",
    "Decision",
    "ENV_API_KEY",
    "ENV_ORG_API_KEY",
    "ENV_URL",
    "FieldError",
    "ForwardAuthWSGI",
    "Guard",
    "Invitation",
    "Key",
    "KeywardASGI",
    "KeywardError",
    "KeywardWSGI",
    "LocalCache",
    "Member",
    "MissingKeyError",
    "Page",
    "Project",
    "ProjectMember",
    "RateLimit",
    "RateLimitState",
    "Scope",
    "Settings",
    "TransportError",
    "VerifyCode",
    "VerifyResult",
    "WebhookEvent",
    "WebhookVerificationError",
    "Whoami",
    "has_code",
    "key_from_environ",
    "key_from_scope",
    "verify_webhook",
]
