"""The memory of a LocalCache: verified keys by digest, the trust switch
and the stream position, and one shared load per missing key.

Correctness rests on the epoch: every invalidation (and every change of
trust) moves it, and a loaded key is kept only if the epoch did not move
while it was loaded. So a verification racing with a revoke can never put
the revoked key back, and a request that comes after an invalidation never
joins a load that began before it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable

from .models import Key


@dataclass(frozen=True)
class Unkept:
    """What a loader returns for a key to hand to the callers waiting on
    this load without keeping it."""

    key: Key


@dataclass
class _Entry:
    key: Key
    expires: datetime


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    key: Key | None = None
    error: BaseException | None = None


Loader = Callable[[], "Key | Unkept"]


class Memory:
    """Keys by digest, trusted only while a change stream vouches for them."""

    def __init__(self, max_entries: int, ttl: timedelta) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._max = max_entries
        self._ttl = ttl
        self._entries: dict[bytes, _Entry] = {}
        self._by_id: dict[str, bytes] = {}
        self._flights: dict[tuple[bytes, int], _Flight] = {}
        self._epoch = 0
        self._trusted = False
        self._pos = 0
        self.hits = 0
        self.misses = 0

    def get(self, d: bytes, now: datetime, load: Loader) -> Key:
        """The key with digest d, from memory when trusted and fresh,
        otherwise from load. Concurrent misses for d share one load; a
        load's error is raised to all of them."""
        with self._lock:
            if self._trusted:
                e = self._entries.get(d)
                if e is not None and now < e.expires:
                    self.hits += 1
                    return e.key
            self.misses += 1
            epoch = self._epoch
            flight = self._flights.get((d, epoch))
            leader = flight is None
            if flight is None:
                flight = self._flights[(d, epoch)] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.key is not None
            return flight.key

        key: Key | None = None
        keep = False
        try:
            got = load()
            if isinstance(got, Unkept):
                key = got.key
            else:
                key, keep = got, True
        except BaseException as e:
            flight.error = e
            raise
        finally:
            with self._lock:
                if keep and key is not None:
                    self._put_locked(d, key, now + self._ttl, epoch)
                del self._flights[(d, epoch)]
                flight.key = key
            flight.done.set()
        assert key is not None  # load returned a Key or an Unkept Key
        return key

    def _put_locked(self, d: bytes, key: Key, expires: datetime, epoch: int) -> None:
        """Keeps a key loaded at epoch, unless anything was invalidated
        since or the memory is not trusted."""
        if epoch != self._epoch or not self._trusted:
            return
        if len(self._entries) >= self._max:
            for d_old in list(self._entries)[: max(self._max // 100, 1)]:  # the oldest first
                self._delete_locked(d_old)
        old = self._entries.pop(d, None)
        if old is not None and self._by_id.get(old.key.id) == d:
            del self._by_id[old.key.id]
        self._entries[d] = _Entry(key, expires)
        self._by_id[key.id] = d

    def _delete_locked(self, d: bytes) -> None:
        e = self._entries.pop(d, None)
        if e is not None and self._by_id.get(e.key.id) == d:
            del self._by_id[e.key.id]

    def apply(self, seq: int, key_ids: Iterable[str], live: bool) -> None:
        """Takes one change event into account, in one step: the stream's
        position, the keys to forget, and whether memory may answer."""
        ids = list(key_ids)
        with self._lock:
            self._pos = seq
            if ids:
                self._epoch += 1
            for key_id in ids:
                d = self._by_id.pop(key_id, None)
                if d is not None:
                    self._entries.pop(d, None)
            self._set_trusted_locked(live)

    def distrust(self) -> None:
        """Forgets everything and answers nothing from memory until a live
        event comes."""
        with self._lock:
            self._set_trusted_locked(False)

    def _set_trusted_locked(self, ok: bool) -> None:
        was = self._trusted
        if not ok:
            self._entries.clear()
            self._by_id.clear()
            self._epoch += 1
        elif not was:
            # A load that began while memory was off is not kept: the stream
            # that now vouches for memory did not cover it.
            self._epoch += 1
        self._trusted = ok
        if was != ok:
            self._changed.notify_all()

    def position(self) -> tuple[int, bool]:
        """The stream's position and whether memory is trusted, read
        together."""
        with self._lock:
            return self._pos, self._trusted

    @property
    def trusted(self) -> bool:
        """Whether memory may answer."""
        with self._lock:
            return self._trusted

    def wait_trusted(self, state: bool, timeout: float | None) -> bool:
        """Waits until trust is state; False when timeout passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._trusted == state, timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
