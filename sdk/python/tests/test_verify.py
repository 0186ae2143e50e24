"""Verification against a real keyward: valid, invalid, expired, scope,
IP allowlist, rate limit and revocation."""

from __future__ import annotations

import time
import unittest
from datetime import datetime, timedelta, timezone

from support import KeywardServer

import keyward
from keyward import RateLimit


def setUpModule() -> None:
    global server
    server = KeywardServer()


def tearDownModule() -> None:
    server.stop()


class VerifyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.project = server.project("Shop", custom_scopes=["orders:read"])
        sdk = server.key(cls.project.id, "backend", scopes=["keys:verify"])
        cls.c = keyward.Client(server.url, api_key=sdk.secret, org_api_key="")

    def customer(self, **kw: object) -> keyward.Key:
        return server.key(self.project.id, "customer", **kw)  # type: ignore[arg-type]

    def test_valid(self) -> None:
        k = self.customer(scopes=["orders:read"])
        r = self.c.verify(k.secret, scopes=["orders:read"])
        self.assertTrue(r.valid)
        self.assertEqual(r.code, "VALID")
        assert r.key is not None
        self.assertEqual((r.key.id, r.key.status, r.key.secret), (k.id, "active", ""))
        self.assertIsNone(r.rate_limit, "no window for a key without a rate limit")

    def test_invalid(self) -> None:
        for presented in ["kwp_" + "0123456789abcdef0123456789abcdef01234", "not a key", "kwo_x"]:
            with self.subTest(presented):
                r = self.c.verify(presented)
                self.assertEqual((r.valid, r.code, r.key), (False, "INVALID", None))

    def test_expired(self) -> None:
        k = self.customer(expires_in="1s")
        assert k.expires_at is not None
        self.assertTrue(self.c.verify(k.secret).valid)
        # Expiry is a moment on keyward's clock: wait until it has passed.
        time.sleep(max((k.expires_at - datetime.now(timezone.utc)).total_seconds(), 0) + 0.05)
        r = self.c.verify(k.secret)
        self.assertEqual((r.valid, r.code), (False, "EXPIRED"))

    def test_scope(self) -> None:
        k = self.customer(scopes=["orders:read"])
        r = self.c.verify(k.secret, scopes=["orders:read", "keys:write"])
        self.assertEqual((r.valid, r.code), (False, "INSUFFICIENT_SCOPE"))

    def test_ip_allowlist(self) -> None:
        k = self.customer(ip_allowlist=["10.0.0.0/8"])
        self.assertTrue(self.c.verify(k.secret, ip="10.1.2.3").valid)
        self.assertEqual(self.c.verify(k.secret, ip="192.0.2.1").code, "IP_NOT_ALLOWED")
        self.assertEqual(self.c.verify(k.secret).code, "IP_NOT_ALLOWED", "no address is outside every allowlist")

    def test_rate_limited(self) -> None:
        k = self.customer(rate_limit=RateLimit(2, timedelta(hours=1)))
        first = self.c.verify(k.secret)
        self.assertTrue(first.valid)
        assert first.rate_limit is not None
        self.assertEqual((first.rate_limit.limit, first.rate_limit.remaining), (2, 1))
        self.assertTrue(self.c.verify(k.secret).valid)
        third = self.c.verify(k.secret)
        self.assertEqual((third.valid, third.code), (False, "RATE_LIMITED"))
        assert third.rate_limit is not None
        self.assertEqual(third.rate_limit.remaining, 0)
        self.assertGreater(third.rate_limit.reset, datetime.now(timezone.utc))

    def test_revoked(self) -> None:
        k = self.customer()
        self.assertTrue(self.c.verify(k.secret).valid)
        server.org_client().org.project_keys(self.project.id).revoke(k.id)
        self.assertEqual(self.c.verify(k.secret).code, "INVALID")

    def test_org_verify_accepts_any_project(self) -> None:
        other = server.project("Other")
        k = server.key(other.id, "elsewhere")
        self.assertTrue(server.org_client().org.verify(k.secret).valid)
        self.assertEqual(self.c.verify(k.secret).code, "INVALID", "a project key verifies its own project's keys only")


if __name__ == "__main__":
    unittest.main()
