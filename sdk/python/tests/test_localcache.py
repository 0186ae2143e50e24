"""LocalCache against a real keyward, through a proxy that counts verify
calls and can cut, refuse or silence the change stream."""

from __future__ import annotations

import logging
import queue
import threading
import time
import unittest
from datetime import timedelta

from support import KeywardServer, Proxy, collect_events
from test_wsgi import Served, orders_app

import keyward
from keyward import ChangeEvent, ConfigError, RateLimit, TransportError

BOGUS = "kwp_" + "0123456789abcdef0123456789abcdef01234"


class Records(logging.Handler):
    """Keeps log records, to check what the cache says."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.lines.append(record.getMessage())

    def text(self) -> str:
        with self._lock2:
            return "\n".join(self.lines)


def setUpModule() -> None:
    global server
    server = KeywardServer()


def tearDownModule() -> None:
    server.stop()


class LocalCacheTest(unittest.TestCase):
    dead_after: float | None = None

    def setUp(self) -> None:
        self.project = server.project(f"Shop {self.id()}", custom_scopes=["orders:read"])
        sdk = server.key(self.project.id, "backend", scopes=["keys:verify"])
        self.proxy = Proxy(server.url)
        self.addCleanup(self.proxy.close)
        self.client = keyward.Client(self.proxy.url, api_key=sdk.secret, org_api_key="")
        self.client.min_backoff = 0.01  # reconnect soon
        self.addCleanup(self.client.close)
        self.records = Records()
        log = logging.getLogger(f"keyward.tests.{self.id()}")
        log.propagate = False
        log.setLevel(logging.DEBUG)
        log.addHandler(self.records)
        self.events: queue.Queue[ChangeEvent] = queue.Queue()
        self.lc = keyward.LocalCache(self.client, logger=log, on_event=self.events.put)
        if self.dead_after is not None:
            self.lc._reader.dead_after = self.dead_after
        self.lc.start()
        self.addCleanup(self.lc.close)
        self.assertTrue(self.lc.wait_live(True, 20), "the cache did not become live")

    def customer(self, name: str = "customer", **kw: object) -> keyward.Key:
        """A new key; its creation comes down the stream too, and an answer
        that crosses that event is not kept, so wait for it."""
        k = server.key(self.project.id, name, **kw)  # type: ignore[arg-type]
        collect_events(self.events, k.id)
        return k

    def calls(self, key: str, n: int, **kw: object) -> int:
        """Verifies key n times (each must be valid); the calls to keyward."""
        before = self.proxy.verifies
        for _ in range(n):
            r = self.lc.verify(key, **kw)  # type: ignore[arg-type]
            self.assertTrue(r.valid, r)
        return self.proxy.verifies - before


class FromMemoryTest(LocalCacheTest):
    def test_answers_from_memory_until_the_stream_names_the_key(self) -> None:
        k = self.customer(scopes=["orders:read"], ip_allowlist=["10.0.0.0/8"])
        ask = {"scopes": ["orders:read"], "ip": "10.1.2.3"}
        self.assertEqual(self.calls(k.secret, 1, **ask), 1)
        before = self.proxy.verifies
        for _ in range(5):
            r = self.lc.verify(k.secret, scopes=["orders:read"], ip="10.1.2.3")
            assert r.key is not None
            self.assertEqual((r.valid, r.key.id, r.key.status), (True, k.id, "active"))
        # keyward's checks hold on answers from memory.
        self.assertEqual(self.lc.verify(k.secret, ip="192.0.2.1").code, "IP_NOT_ALLOWED")
        self.assertEqual(self.lc.verify(k.secret, ip="10.1.2.3", scopes=["keys:write"]).code, "INSUFFICIENT_SCOPE")
        self.assertEqual(self.proxy.verifies - before, 0, "answers from memory make no calls")

        # Revoke it while requests keep verifying it: once the stream has
        # named it, no verification that starts afterwards accepts it.
        named = threading.Event()
        stop = threading.Event()
        violations: list[int] = []

        def hammer() -> None:
            while not stop.is_set():
                after = named.is_set()
                try:
                    r = self.lc.verify(k.secret, scopes=["orders:read"], ip="10.1.2.3")
                except keyward.KeywardError:
                    continue
                if r.valid and after:
                    violations.append(1)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            server.org_client().org.project_keys(self.project.id).revoke(k.id)
            collect_events(self.events, k.id)
            named.set()
            r = self.lc.verify(k.secret, scopes=["orders:read"], ip="10.1.2.3")
            self.assertEqual((r.valid, r.code), (False, "INVALID"), "the next verification after the event")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(violations, [], "verifications accepted the revoked key after the stream named it")

    def test_keeps_only_fresh_answers(self) -> None:
        limited = self.customer("limited", rate_limit=RateLimit(1000, timedelta(minutes=1)))
        plain = self.customer("plain")
        # A rate-limited key's budget is counted by keyward: always asked.
        self.assertEqual(self.calls(limited.secret, 3), 3)
        r = self.lc.verify(limited.secret)
        assert r.rate_limit is not None
        self.assertEqual(r.rate_limit.limit, 1000, "the window comes with the answer")

        # Every question carries the stream's position; an answer older
        # than it (a keyward that ignored it) is refused: fail closed.
        for seq in ["0", ""]:
            with self.subTest(position=seq):
                self.proxy.seq_override = seq
                with self.assertRaises(TransportError):
                    self.lc.verify(plain.secret)
        self.proxy.seq_override = None
        self.assertTrue(self.proxy.last_min, "verify requests carry Keyward-Min-Change-Seq")
        self.assertEqual(int(self.proxy.last_min or -1), self.lc._memory.position()[0])
        self.assertEqual(self.calls(plain.secret, 3), 1, "a fresh answer is kept")

        # Unknown keys are asked every time.
        before = self.proxy.verifies
        for _ in range(2):
            self.assertEqual(self.lc.verify(BOGUS).code, "INVALID")
        self.assertEqual(self.proxy.verifies - before, 2)

    def test_asks_again_after_the_ttl(self) -> None:
        k = self.customer()
        start = self.lc._now()
        self.lc._now = lambda: start
        self.assertEqual(self.calls(k.secret, 2), 1)
        self.lc._now = lambda: start + self.lc.ttl
        self.assertEqual(self.calls(k.secret, 1), 1, "a key used after its TTL is asked again")

    def test_the_middleware_sees_a_revoke_on_the_next_request(self) -> None:
        k = self.customer(scopes=["orders:read"])
        app = Served(keyward.KeywardWSGI(orders_app, local_cache=self.lc, scopes=["orders:read"]))
        self.addCleanup(app.close)
        self.assertEqual(app.get({"X-Api-Key": k.secret})[0], 200)
        before = self.proxy.verifies
        self.assertEqual(app.get({"X-Api-Key": k.secret})[0], 200)
        self.assertEqual(self.proxy.verifies - before, 0, "the second request is answered from memory")
        server.org_client().org.project_keys(self.project.id).revoke(k.id)
        collect_events(self.events, k.id)
        status, _, body = app.get({"X-Api-Key": k.secret})
        self.assertEqual(status, 401, body)
        self.assertIn(b"API_KEY_INVALID", body)


class StreamDownTest(LocalCacheTest):
    def test_asks_keyward_while_the_stream_is_down(self) -> None:
        k = self.customer()
        self.assertEqual(self.calls(k.secret, 2), 1)

        self.proxy.refuse_stream = True
        self.proxy.cut_streams()
        self.assertTrue(self.lc.wait_live(False, 20), "the cache stayed live after its stream was cut")
        self.assertEqual(self.calls(k.secret, 3), 3, "without a stream every verification asks keyward")

        # Back: it reconnects by itself and answers from memory again.
        self.proxy.refuse_stream = False
        self.assertTrue(self.lc.wait_live(True, 20))
        self.calls(k.secret, 1)
        self.assertEqual(self.calls(k.secret, 1), 0, "after reconnecting, memory answers again")
        log = self.records.text()
        self.assertIn("key change stream lost", log)
        self.assertIn("key change stream is back", log)
        self.assertNotIn(k.secret, log)


class SilentStreamTest(LocalCacheTest):
    dead_after = 6.0  # keyward beats every 5 s; 15 s in production

    def test_a_silent_stream_is_taken_for_dead(self) -> None:
        k = self.customer()
        self.assertEqual(self.calls(k.secret, 2), 1)
        silenced = time.monotonic()
        self.proxy.silence.set()  # the connection stays open; nothing arrives
        self.assertTrue(self.lc.wait_live(False, 20), "a silent stream kept the cache live")
        self.assertGreater(time.monotonic() - silenced, 0.5, "given up on a silence, not on an error")
        self.assertEqual(self.calls(k.secret, 2), 2)
        self.assertIn("missed heartbeats", self.records.text())
        self.proxy.silence.clear()
        self.assertTrue(self.lc.wait_live(True, 30))


class OrgCacheTest(unittest.TestCase):
    def test_org_cache_verifies_any_project_from_memory(self) -> None:
        project = server.project("Org cache")
        proxy = Proxy(server.url)
        self.addCleanup(proxy.close)
        org_key = server.org_client().org.keys.create("verifier", scopes=["keys:verify"])
        events: queue.Queue[ChangeEvent] = queue.Queue()
        lc = keyward.LocalCache(keyward.Client(proxy.url, org_api_key=org_key.secret, api_key=""), org=True, on_event=events.put)
        lc.start()
        self.addCleanup(lc.close)
        self.assertTrue(lc.wait_live(True, 20))
        k = server.key(project.id, "customer")
        collect_events(events, k.id)
        self.assertTrue(lc.verify(k.secret).valid)
        before = proxy.verifies
        self.assertTrue(lc.verify(k.secret).valid)
        self.assertEqual(proxy.verifies - before, 0)

    def test_start_checks_the_key(self) -> None:
        project = server.project("No verify")
        reader = server.key(project.id, "reader", scopes=["keys:read"])
        lc = keyward.LocalCache(keyward.Client(server.url, api_key=reader.secret))
        with self.assertRaisesRegex(ConfigError, "keys:verify"):
            lc.start()
        self.assertFalse(lc.live)


if __name__ == "__main__":
    unittest.main()
