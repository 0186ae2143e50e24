"""Rules that need no server: durations, times, the presented key, the
error answers, base URLs, change events, and the memory's epoch."""

from __future__ import annotations

import json
import re
import threading
import time
import unittest
from datetime import datetime, timedelta, timezone

import support  # noqa: F401 - puts the package on sys.path

from keyward import APIError, ConfigError, Key, RateLimitState, TransportError, VerifyResult
from keyward._http import BaseURL, parse_retry_after
from keyward._memory import Memory, Unkept
from keyward.changestream import parse_event
from keyward.guard import new_request_id, presented_key, rate_limit_headers, refuse, verify_failure
from keyward.localcache import check
from keyward.models import format_duration, parse_duration, parse_time

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def key(**kw: object) -> Key:
    base: dict[str, object] = dict(id="key_1", kind="project", name="k", hint="h", org_id="o", scopes=["orders:read"], status="active", created_at=NOW)
    base.update(kw)
    return Key(**base)  # type: ignore[arg-type]


class DurationTest(unittest.TestCase):
    def test_parse(self) -> None:
        for text, want in {
            "7d": timedelta(days=7),
            "24h": timedelta(hours=24),
            "90m": timedelta(minutes=90),
            "30s": timedelta(seconds=30),
            "1h30m": timedelta(hours=1, minutes=30),
            "1d12h": timedelta(days=1, hours=12),
            "168h0m0s": timedelta(days=7),
            "1.5s": timedelta(seconds=1.5),
            "250ms": timedelta(milliseconds=250),
            "0s": timedelta(0),
        }.items():
            with self.subTest(text):
                self.assertEqual(parse_duration(text), want)
        for bad in ["", "7", "1x", "d", "-5s", "1h-5m"]:
            with self.subTest(bad), self.assertRaises(ValueError):
                parse_duration(bad)

    def test_format_in_the_largest_whole_unit(self) -> None:
        for d, want in {
            timedelta(days=7): "7d",
            timedelta(days=1): "24h",
            timedelta(minutes=90): "90m",
            timedelta(seconds=30): "30s",
            timedelta(hours=1, seconds=1): "3601s",
            timedelta(milliseconds=1500): "1500ms",
            timedelta(0): "0s",
        }.items():
            with self.subTest(d):
                self.assertEqual(format_duration(d), want)
                self.assertEqual(parse_duration(want), d)

    def test_times(self) -> None:
        t = parse_time("2026-12-06T06:29:50.358329467Z")
        self.assertEqual(t, datetime(2026, 12, 6, 6, 29, 50, 358329, tzinfo=timezone.utc))
        self.assertIsNone(parse_time(None))


class PresentedKeyTest(unittest.TestCase):
    def test_cases(self) -> None:
        for name, headers, want_key, want_code in [
            ("x-api-key", [("X-Api-Key", " kwp_a ")], "kwp_a", None),
            ("bearer in any case", [("authorization", "bearer kwp_a")], "kwp_a", None),
            ("same key twice", [("x-api-key", "kwp_a"), ("Authorization", "Bearer kwp_a")], "kwp_a", None),
            ("nothing", [("Accept", "*/*")], None, "API_KEY_MISSING"),
            ("basic auth is not a key", [("Authorization", "Basic dXNlcjpwYXNz")], None, "API_KEY_MISSING"),
            ("empty bearer", [("Authorization", "Bearer  ")], None, "API_KEY_MISSING"),
            ("two keys", [("x-api-key", "kwp_a"), ("authorization", "Bearer kwp_b")], None, "AMBIGUOUS_CREDENTIALS"),
            ("a header sent twice, joined", [("x-api-key", "kwp_a, kwp_b")], None, "AMBIGUOUS_CREDENTIALS"),
        ]:
            with self.subTest(name):
                got, err = presented_key(headers)
                self.assertEqual(got, want_key)
                self.assertEqual(err.code if err else None, want_code)


class ErrorAnswerTest(unittest.TestCase):
    def test_verify_failures(self) -> None:
        cases = {
            "EXPIRED": (401, "API_KEY_EXPIRED"),
            "INSUFFICIENT_SCOPE": (403, "PERMISSION_DENIED"),
            "IP_NOT_ALLOWED": (403, "IP_NOT_ALLOWED"),
            "RATE_LIMITED": (429, "RATE_LIMITED"),
            "INVALID": (401, "API_KEY_INVALID"),
            "SOMETHING_NEW": (401, "API_KEY_INVALID"),
        }
        for code, (status, want) in cases.items():
            with self.subTest(code):
                e = verify_failure(VerifyResult(valid=False, code=code), ["orders:read"])
                self.assertEqual((e.status, e.code), (status, want))

    def test_rate_limited_waits_for_the_window(self) -> None:
        rl = RateLimitState(limit=5, remaining=0, reset=NOW + timedelta(seconds=41.2))
        e = verify_failure(VerifyResult(valid=False, code="RATE_LIMITED", rate_limit=rl), [], now=NOW)
        d = refuse(e, rate_limit_headers(rl))
        h = dict(d.headers)
        self.assertEqual(h["Retry-After"], "42")
        self.assertEqual(h["X-RateLimit-Reset"], str(int((NOW + timedelta(seconds=42)).timestamp())), "rounded up")
        self.assertEqual(h["X-RateLimit-Remaining"], "0")
        e = verify_failure(VerifyResult(valid=False, code="RATE_LIMITED"), [], now=NOW)
        self.assertEqual(e.retry_after, 1.0, "1 s when keyward did not say")

    def test_refusal_is_the_error_contract(self) -> None:
        d = refuse(APIError("API_KEY_INVALID", "Invalid API key provided", 401))
        body = json.loads(d.body)["error"]
        h = dict(d.headers)
        self.assertEqual((body["code"], body["status"]), ("API_KEY_INVALID", 401))
        self.assertEqual(body["request_id"], h["X-Request-Id"])
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertEqual(h["WWW-Authenticate"], 'Bearer realm="api"')
        self.assertFalse(d.allowed)

    def test_request_ids(self) -> None:
        a, b = new_request_id(), new_request_id()
        self.assertRegex(a, r"^req_[0-9A-HJKMNP-TV-Z]{26}$")
        self.assertNotEqual(a, b)


class BaseURLTest(unittest.TestCase):
    def test_parse(self) -> None:
        self.assertEqual(str(BaseURL.parse("https://keys.example.com/")), "https://keys.example.com")
        self.assertEqual(str(BaseURL.parse(" http://[::1]:8080/kw ")), "http://[::1]:8080/kw")
        for bad in ["localhost:8080", "ftp://x", "http://", "http://u:p@x", "http://x/?a=1", "http://x/#f", "http://x:99999"]:
            with self.subTest(bad), self.assertRaises(ConfigError):
                BaseURL.parse(bad)

    def test_retry_after(self) -> None:
        self.assertEqual(parse_retry_after("7"), 7.0)
        self.assertEqual(parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=NOW), 30.0)
        self.assertIsNone(parse_retry_after("-1"))
        self.assertIsNone(parse_retry_after(None))


class LocalCheckTest(unittest.TestCase):
    """check() mirrors keyward's checks, in keyward's order."""

    def test_order_and_rules(self) -> None:
        k = key(ip_allowlist=["10.0.0.0/8", "2001:db8::/32"], expires_at=NOW + timedelta(hours=1))
        self.assertTrue(check(k, ["orders:read"], "10.1.2.3", NOW).valid)
        self.assertTrue(check(k, [], "::ffff:10.1.2.3", NOW).valid, "IPv4-mapped addresses are unmapped")
        self.assertTrue(check(k, [], "2001:db8::1", NOW).valid)
        self.assertEqual(check(k, [], "192.0.2.1", NOW).code, "IP_NOT_ALLOWED")
        self.assertEqual(check(k, [], "", NOW).code, "IP_NOT_ALLOWED", "no address is inside no allowlist")
        self.assertEqual(check(k, ["keys:write"], "10.1.2.3", NOW).code, "INSUFFICIENT_SCOPE")
        later = NOW + timedelta(hours=1)
        self.assertEqual(check(k, ["keys:write"], "192.0.2.1", later).code, "EXPIRED", "expiry first")
        self.assertEqual(check(key(), [], "", NOW).code, "VALID", "no allowlist: any address")
        shown = check(key(replaced_by="key_2"), [], "", NOW).key
        assert shown is not None
        self.assertEqual(shown.status, "expiring")


class ChangeEventTest(unittest.TestCase):
    def test_parse(self) -> None:
        e = parse_event('{"seq":8,"key_ids":["key_a"],"live":true}')
        self.assertEqual((e.seq, e.key_ids, e.live), (8, ["key_a"], True))
        self.assertEqual(parse_event('{"seq":0,"key_ids":[],"live":false}').live, False)
        for bad in ["", "{", '{"key_ids":[]}', '{"seq":"8"}', "[]"]:
            with self.subTest(bad), self.assertRaises(TransportError):
                parse_event(bad)


class MemoryTest(unittest.TestCase):
    """The epoch rules: nothing loaded across an invalidation is kept."""

    D = b"d" * 32

    def setUp(self) -> None:
        self.m = Memory(100, timedelta(seconds=60))
        self.m.apply(1, [], True)

    def test_kept_then_forgotten_by_id(self) -> None:
        loads = []
        self.m.get(self.D, NOW, lambda: loads.append(1) or key())
        self.m.get(self.D, NOW, lambda: loads.append(1) or key())
        self.assertEqual(len(loads), 1)
        self.m.apply(2, ["key_1"], True)
        self.m.get(self.D, NOW, lambda: loads.append(1) or key())
        self.assertEqual(len(loads), 2, "a key named by an event is asked again")
        self.m.get(self.D, NOW + timedelta(seconds=60), lambda: loads.append(1) or key())
        self.assertEqual(len(loads), 3, "and again after its TTL")

    def test_a_load_crossing_an_invalidation_is_not_kept(self) -> None:
        def load() -> Key:
            self.m.apply(2, ["key_other"], True)
            return key()

        self.m.get(self.D, NOW, load)
        self.assertEqual(len(self.m), 0)

    def test_nothing_is_kept_or_answered_while_distrusted(self) -> None:
        self.m.get(self.D, NOW, key)
        self.m.distrust()
        self.assertEqual(len(self.m), 0, "distrust empties memory")
        self.m.get(self.D, NOW, key)
        self.assertEqual(len(self.m), 0)

        def load() -> Key:
            self.m.apply(3, [], True)  # trust comes back during the load
            return key()

        self.m.get(self.D, NOW, load)
        self.assertEqual(len(self.m), 0, "a load that began while distrusted is not kept")

    def test_unkept_answers(self) -> None:
        self.assertEqual(self.m.get(self.D, NOW, lambda: Unkept(key())).id, "key_1")
        self.assertEqual(len(self.m), 0)

    def test_concurrent_misses_share_one_load(self) -> None:
        started, release = threading.Event(), threading.Event()
        loads = []

        def load() -> Key:
            loads.append(1)
            started.set()
            release.wait(5)
            return Unkept(key())  # type: ignore[return-value]

        results: list[str] = []
        leader = threading.Thread(target=lambda: results.append(self.m.get(self.D, NOW, load).id))
        leader.start()
        self.assertTrue(started.wait(5))
        joiner = threading.Thread(target=lambda: results.append(self.m.get(self.D, NOW, load).id))
        joiner.start()
        # The joiner counts its miss in the same step as it joins the flight
        # (the leader is still loading): wait for that, then let the load end.
        deadline = time.monotonic() + 5
        while self.m.misses < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        self.assertEqual(self.m.misses, 2)
        release.set()
        leader.join(5)
        joiner.join(5)
        self.assertEqual(results, ["key_1", "key_1"])
        self.assertEqual(len(loads), 1)

    def test_eviction_bounds_the_entries(self) -> None:
        m = Memory(10, timedelta(seconds=60))
        m.apply(1, [], True)
        for i in range(25):
            m.get(bytes([i]) * 32, NOW, lambda i=i: key(id=f"key_{i}"))
        self.assertLessEqual(len(m), 10)


if __name__ == "__main__":
    unittest.main()
