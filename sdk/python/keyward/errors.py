"""The errors the SDK raises.

Every error derives from :class:`KeywardError`:

* :class:`APIError` is an error answered by keyward (or by a proxy in front
  of it), with the API's ``code``, the HTTP ``status``, the ``request_id``,
  the fields at fault (``details``), ``retry_after`` and ``rate_limit``.
* :class:`TransportError` means keyward could not be asked: it could not be
  reached, timed out, or sent an answer that is not the API's.
* :class:`ConfigError` is raised before any request: no key, a bad URL, an
  empty id.

Messages never hold a key.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import RateLimitState


class Code(enum.StrEnum):
    """The error codes of keyward's error contract (README, Error codes).

    ``APIError.code`` is a plain ``str`` (a newer server may send a code
    this SDK does not know); these constants compare equal to it.
    """

    INVALID_REQUEST = "INVALID_REQUEST"
    AMBIGUOUS_CREDENTIALS = "AMBIGUOUS_CREDENTIALS"
    API_KEY_MISSING = "API_KEY_MISSING"
    API_KEY_INVALID = "API_KEY_INVALID"
    API_KEY_EXPIRED = "API_KEY_EXPIRED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    KEY_LIMIT_REACHED = "KEY_LIMIT_REACHED"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL = "INTERNAL"
    UNAVAILABLE = "UNAVAILABLE"
    PROXY_MISCONFIGURED = "PROXY_MISCONFIGURED"


class KeywardError(Exception):
    """The base class of every error the SDK raises."""


@dataclass(frozen=True)
class FieldError:
    """One invalid field of a request and what is wrong with it."""

    field: str
    problem: str


class APIError(KeywardError):
    """An error answered by the keyward API.

    ``status`` is set even when the body was not the contract's JSON (a
    proxy's HTML page, say), with a ``code`` that fits the status.
    """

    code: str
    message: str
    status: int
    request_id: str
    details: list[FieldError]
    retry_after: float | None
    rate_limit: RateLimitState | None

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        request_id: str = "",
        details: list[FieldError] | None = None,
        retry_after: float | None = None,
        rate_limit: RateLimitState | None = None,
    ) -> None:
        self.code = str(code)  # a Code member becomes its plain value
        self.message = message
        self.status = status
        self.request_id = request_id
        self.details = list(details or [])
        self.retry_after = retry_after
        self.rate_limit = rate_limit
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"keyward: {self.code}: {self.message}"
        if len(self.details) > 1:
            text += ": " + "; ".join(f"{d.field} {d.problem}" for d in self.details)
        if self.request_id:
            text += f" ({self.request_id})"
        return text

    def to_json(self) -> dict[str, Any]:
        """The error object of the contract's body: ``{"error": <this>}``."""
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "request_id": self.request_id,
        }
        if self.details:
            out["details"] = [{"field": d.field, "problem": d.problem} for d in self.details]
        return out

    def __repr__(self) -> str:
        return (
            f"APIError(code={self.code!r}, status={self.status}, "
            f"request_id={self.request_id!r}, message={self.message!r})"
        )


class TransportError(KeywardError):
    """keyward could not be asked, or its answer could not be read."""


class ConfigError(KeywardError, ValueError):
    """The client is not set up for a call; raised before any request."""


class MissingKeyError(ConfigError):
    """The call needs a key the client does not have.

    ``env`` names the environment variable that would provide it.
    """

    def __init__(self, what: str, env: str, option: str) -> None:
        self.env = env
        super().__init__(f"keyward: no {what}: set {env} or pass {option}=")


def has_code(err: BaseException | None, code: str) -> bool:
    """Whether ``err`` is an :class:`APIError` with the given code."""
    return isinstance(err, APIError) and err.code == code
