"""Following keyward's key change stream (GET /v1/key-changes): server-sent
events, read by hand, one connection at a time.

Each ``changes`` event carries the stream's position (``seq``), the ids of
the keys that changed since the previous event (``key_ids``) and whether
the answering node's own invalidation feed is live (``live``). keyward
sends one at least every 5 seconds; a stream silent for three of those is
taken for dead.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from . import _http
from ._call import Cred
from .errors import TransportError

if TYPE_CHECKING:
    from .client import Client

STREAM_DEAD_AFTER = 15.0
"""Seconds a stream may stay silent before it is taken for dead: three of
keyward's 5-second heartbeats."""

MAX_EVENT_BYTES = 1 << 20
"""The longest event line read; keyward sends at most 500 key ids (about
16 KB) per event."""


@dataclass(frozen=True)
class ChangeEvent:
    """One ``changes`` event of the stream."""

    seq: int
    key_ids: list[str]
    live: bool


def parse_event(data: str) -> ChangeEvent:
    """Reads the data of a ``changes`` event."""
    try:
        doc = json.loads(data)
        seq = doc["seq"]
        ids = doc.get("key_ids") or []
        live = doc.get("live", False)
        if not isinstance(seq, int) or not isinstance(ids, list) or not isinstance(live, bool):
            raise ValueError("unexpected member types")
        return ChangeEvent(seq=seq, key_ids=[str(i) for i in ids], live=live)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise TransportError(f"keyward: bad change event: {e}") from e


class StreamReader:
    """Reads one connection of the stream at a time; ``interrupt`` ends the
    one being read, from any thread."""

    def __init__(self, client: Client, path: str, cred: Cred, dead_after: float = STREAM_DEAD_AFTER) -> None:
        self._c = client
        self._path = path
        self._cred = cred
        self.dead_after = dead_after
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._interrupted = False

    def interrupt(self) -> None:
        """Ends the connection being read (and any later one)."""
        with self._lock:
            self._interrupted = True
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def follow(self, apply: Callable[[ChangeEvent], None]) -> None:
        """Reads one connection until it ends, calling apply for each event.
        It always ends with an exception saying why."""
        name, key = self._c.credential(self._cred)
        # The stream is bounded by its heartbeats from the moment it is
        # asked for: a server that never answers is given up like one that
        # falls silent.
        deadline = time.monotonic() + self.dead_after
        conn = self._c.connect(timeout=self.dead_after)
        try:
            conn.connect()
            sock = conn.sock
            assert sock is not None
            sock.settimeout(_remaining(deadline))
            with self._lock:
                if self._interrupted:
                    raise TransportError("keyward: the change stream was stopped")
                self._sock = sock
            conn.request(
                "GET",
                self._c.path_prefix + self._path,
                headers={"Accept": "text/event-stream", "User-Agent": self._c.user_agent, name: key},
            )
            sock.settimeout(_remaining(deadline))
            resp = conn.getresponse()
            if resp.status != 200:
                raise _http.decode_error(resp.status, resp.headers, resp.read(64 << 10))
            ctype = resp.headers.get("Content-Type", "")
            if not ctype.startswith("text/event-stream"):
                raise TransportError(f"keyward: GET {self._path}: answered {ctype!r}, not an event stream")
            event = ""
            while True:
                sock.settimeout(_remaining(deadline))
                raw = resp.readline(MAX_EVENT_BYTES + 1)
                if not raw:
                    raise TransportError(f"keyward: GET {self._path}: the stream ended")
                if len(raw) > MAX_EVENT_BYTES:
                    raise TransportError(f"keyward: GET {self._path}: an event line over {MAX_EVENT_BYTES} bytes")
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    event = ""
                elif line.startswith("event:"):
                    event = line[len("event:") :].strip()
                elif line.startswith("data:") and event == "changes":
                    e = parse_event(line[len("data:") :].strip())
                    deadline = time.monotonic() + self.dead_after
                    apply(e)
        except TimeoutError as e:
            raise TransportError(
                f"keyward: GET {self._path}: no event for {self.dead_after:g} s (three missed heartbeats)"
            ) from e
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(f"keyward: GET {self._path}: {e or type(e).__name__}") from e
        finally:
            with self._lock:
                self._sock = None
            conn.close()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left
