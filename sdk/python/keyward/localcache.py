"""LocalCache: verify keys in this process, without a call to keyward per
request, following keyward's key change stream to forget a key the moment
keyward announces that it changed.

The rules are keyward's own:

* Memory is used only while the change stream is connected and says its
  node is live. A connection that breaks, or sends nothing for three
  heartbeats (15 s), empties memory, and every key is asked of keyward
  until the stream is back.
* A key the stream has named is forgotten at once. Each question to
  keyward carries the stream's position (Keyward-Min-Change-Seq), and an
  answer is kept only if the answering node had applied every change the
  stream had delivered when it was asked (Keyward-Change-Seq); a node that
  accepts a key from an older position is refused (fail closed).
* Keys with a rate limit are never answered from memory: keyward counts
  their budget. Unknown (and otherwise not valid) keys are never
  remembered: each is a call to keyward.
* A key in use is asked about again once per TTL (60 s by default), and
  that answer records its use, so its ``last_used_at`` lags by at most the
  TTL.
* Scopes, IP allowlists and expiry are checked locally, in keyward's order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterable

from ._call import Cred
from ._memory import Memory, Unkept
from .changestream import STREAM_DEAD_AFTER, ChangeEvent, StreamReader
from .client import CHANGE_SEQ_HEADER, MIN_CHANGE_SEQ_HEADER
from .errors import TransportError
from .models import Key, VerifyCode, VerifyResult

if TYPE_CHECKING:
    from .client import Client


class _NotValid(Exception):
    """A loaded answer other than VALID: never kept, and asked again by a
    caller whose own request did not make the call."""


class LocalCache:
    """Verifies keys from memory when it safely can.

    >>> lc = LocalCache(Client())   # doctest: +SKIP
    >>> lc.start()                  # checks the key, then follows the stream
    >>> lc.verify(presented_key, scopes=["orders:read"], ip=client_ip)

    ``org``: verify with the client's org key (POST /v1/org/verify and GET
    /v1/org/key-changes, keys of any project of the org) instead of its
    project key. ``on_event`` is called on the follower thread after each
    change event is applied (for metrics; it must not block).
    """

    def __init__(
        self,
        client: Client,
        *,
        org: bool = False,
        max_entries: int = 10_000,
        ttl: float = 60.0,
        logger: logging.Logger | None = None,
        on_event: Callable[[ChangeEvent], None] | None = None,
    ) -> None:
        self._c = client
        self.org = org
        self.ttl = timedelta(seconds=ttl if ttl > 0 else 60.0)
        self._memory = Memory(max_entries if max_entries > 0 else 10_000, self.ttl)
        self._log = logger or logging.getLogger("keyward")
        self._on_event = on_event
        self._now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        if org:
            self._verify_path, stream_path, self._cred = "/v1/org/verify", "/v1/org/key-changes", Cred.ORG
        else:
            self._verify_path, stream_path, self._cred = "/v1/verify", "/v1/key-changes", Cred.PROJECT
        self._reader = StreamReader(client, stream_path, self._cred, STREAM_DEAD_AFTER)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = False  # only the follower thread uses it

    # --- life cycle ------------------------------------------------------

    def start(self) -> None:
        """Checks once that the key can verify keys (the error names the
        variable the key came from, or the keys:verify scope it lacks), then
        follows the change stream on a daemon thread until close()."""
        if self.org:
            self._c.org.check_verify()
        else:
            self._c.check_verify()
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="keyward-key-changes", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stops following the stream and forgets everything; verify then
        asks keyward every time."""
        self._stop.set()
        self._reader.interrupt()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._memory.distrust()

    def __enter__(self) -> LocalCache:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self) -> None:
        """Follows the stream until close(), reconnecting with backoff when
        it breaks (start runs it on a thread). The log says when the stream
        is lost and when it is back."""
        backoff = self._c.min_backoff
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._reader.follow(self._apply)
                err: BaseException = TransportError("the stream ended")
            except Exception as e:  # noqa: BLE001 - every failure means: reconnect
                err = e
            self._memory.distrust()  # forget everything until the stream is back
            if self._stop.is_set():
                return
            self._lost = True
            if time.monotonic() - began > 60:
                backoff = self._c.min_backoff  # it had been working: retry soon
            self._log.warning(
                "keyward: key change stream lost; verifying every key with keyward until it is back: %s (retry in %.1fs)",
                err,
                backoff,
            )
            if self._stop.wait(backoff):
                return
            backoff = min(2 * backoff, self._c.max_backoff)

    def _apply(self, e: ChangeEvent) -> None:
        self._memory.apply(e.seq, e.key_ids, e.live)
        if e.live and self._lost:
            self._lost = False
            self._log.info("keyward: key change stream is back; verifying from memory again (seq %d)", e.seq)
        if self._on_event is not None:
            try:
                self._on_event(e)
            except Exception:  # noqa: BLE001 - a hook must not break the stream
                self._log.exception("keyward: on_event failed")

    # --- state -----------------------------------------------------------

    @property
    def live(self) -> bool:
        """Whether verify may currently answer from memory."""
        return self._memory.trusted

    def wait_live(self, live: bool = True, timeout: float | None = None) -> bool:
        """Waits until the cache is live (or not); False if timeout passed
        first."""
        return self._memory.wait_trusted(live, timeout)

    def stats(self) -> dict[str, int]:
        """Entries held, and answers from memory (hits) and not (misses)."""
        return {"entries": len(self._memory), "hits": self._memory.hits, "misses": self._memory.misses}

    # --- verification ----------------------------------------------------

    def verify(self, key: str, *, scopes: Iterable[str] | None = None, ip: str | None = None) -> VerifyResult:
        """Answers like Client.verify (or org.verify), from memory when it
        safely can. Raises when keyward cannot be asked."""
        scope_list = list(scopes or [])
        now = self._now()
        # The digest is only a map key in this process; keyward's own digest
        # (with the server's pepper) is never known here.
        d = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        own: list[VerifyResult] = []  # set when this call's own request asked keyward

        def load() -> Key | Unkept:
            res, fresh = self._remote(key, scope_list, ip)
            own.append(res)
            if not res.valid or res.key is None:
                raise _NotValid()
            # Keep the answer only if it reflects every change the stream had
            # delivered before the question: any later change to this key
            # will still come down the stream and remove it.
            if not fresh or res.key.rate_limit is not None:
                return Unkept(res.key)
            return res.key

        try:
            k = self._memory.get(d, now, load)
        except _NotValid:
            if own:
                return own[0]  # keyward answered this very request
            return self._ask(key, scope_list, ip)  # another request's answer, for its own scopes and address
        if own:
            return own[0]
        if k.rate_limit is not None:
            return self._ask(key, scope_list, ip)  # keyward counts the budget
        return check(k, scope_list, ip or "", now)

    def _ask(self, key: str, scopes: list[str], ip: str | None) -> VerifyResult:
        """Verifies with keyward, without keeping the answer."""
        return self._remote(key, scopes, ip)[0]

    def _remote(self, key: str, scopes: list[str], ip: str | None) -> tuple[VerifyResult, bool]:
        """Calls keyward's verify. While the stream is live it asks for an
        answer at least as fresh as the stream, and fails closed if keyward
        accepts the key from an older position. The flag says the answer
        reflects every change the stream had delivered when it was asked."""
        pos, trusted = self._memory.position()  # before asking
        min_seq = pos if trusted else -1
        headers = {MIN_CHANGE_SEQ_HEADER: str(min_seq)} if min_seq >= 0 else {}
        res, answer = self._c.verify_raw(self._verify_path, self._cred, key, scopes, ip, headers)
        try:
            seq = int(answer.get(CHANGE_SEQ_HEADER, ""))
        except ValueError:
            seq = -1  # the node vouched for no position
        if min_seq >= 0 and seq < min_seq:
            if res.valid:
                raise TransportError(f"keyward: verify answered from change {seq}, older than the stream's {min_seq}")
            return res, False
        return res, min_seq >= 0


def check(k: Key, scopes: list[str], ip: str, now: datetime) -> VerifyResult:
    """keyward's checks, in keyward's order, for a key known to be valid:
    expiry, IP allowlist, scopes."""
    if k.expires_at is not None and now >= k.expires_at:
        return VerifyResult(valid=False, code=VerifyCode.EXPIRED)
    if not k.allows_ip(ip):
        return VerifyResult(valid=False, code=VerifyCode.IP_NOT_ALLOWED)
    for scope in scopes:
        if scope not in k.scopes:
            return VerifyResult(valid=False, code=VerifyCode.INSUFFICIENT_SCOPE)
    return VerifyResult(valid=True, code=VerifyCode.VALID, key=dataclasses.replace(k, status=k.status_at(now)))
