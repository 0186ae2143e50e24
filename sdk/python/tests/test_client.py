"""The client against a real keyward: key management, the org endpoints,
typed errors and the key taken from KEYWARD_API_KEY."""

from __future__ import annotations

import os
import unittest
from datetime import datetime, timedelta, timezone
from unittest import mock

from support import KeywardServer

import keyward
from keyward import APIError, Code, ConfigError, MissingKeyError, RateLimit, TransportError

UNKNOWN_KEY_ID = "key_01J00000000000000000000000"


def setUpModule() -> None:
    global server
    server = KeywardServer()


def tearDownModule() -> None:
    server.stop()


class KeyManagementTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.project = server.project("Keys", custom_scopes=["orders:read"])
        cls.admin = server.key(cls.project.id, "admin")  # all of the org key's project scopes
        cls.c = keyward.Client(server.url, api_key=cls.admin.secret, org_api_key="")

    def test_create_get_update_rotate_revoke(self) -> None:
        c = self.c
        before = datetime.now(timezone.utc)
        k = c.keys.create(
            "reader",
            scopes=["keys:read", "audit:read"],
            metadata={"team": "a"},
            ip_allowlist=["10.0.0.0/8"],
            rate_limit=RateLimit(100, timedelta(minutes=1)),
            expires_in=timedelta(days=7),
        )
        self.assertTrue(k.secret.startswith("kwp_") and len(k.secret) == 40, k)
        self.assertEqual(k.scopes, ["keys:read", "audit:read"])
        self.assertEqual(k.metadata, {"team": "a"})
        self.assertEqual(k.ip_allowlist, ["10.0.0.0/8"])
        self.assertEqual(k.rate_limit, RateLimit(100, timedelta(minutes=1)))
        self.assertEqual(k.status, "active")
        self.assertEqual(k.project_id, self.project.id)
        assert k.expires_at is not None
        self.assertAlmostEqual((k.expires_at - before).total_seconds(), 7 * 86400, delta=60)

        got = c.keys.get(k.id)
        self.assertEqual(got.id, k.id)
        self.assertEqual(got.secret, "", "the secret is shown only once")
        self.assertEqual(got.hint, k.hint)

        upd = c.keys.update(k.id, name="reader 2", scopes=["keys:read"], rate_limit=None, ip_allowlist=None)
        self.assertEqual(upd.name, "reader 2")
        self.assertEqual(upd.scopes, ["keys:read"])
        self.assertIsNone(upd.rate_limit)
        self.assertEqual(upd.ip_allowlist, [])
        self.assertEqual(upd.metadata, {"team": "a"}, "a member left out keeps its value")

        new = c.keys.rotate(k.id, grace_period="1h")
        self.assertNotEqual(new.id, k.id)
        self.assertTrue(new.secret.startswith("kwp_") and new.secret != k.secret)
        old = c.keys.get(k.id)
        self.assertEqual(old.status, "expiring")
        self.assertEqual(old.replaced_by, new.id)
        self.assertTrue(c.verify(k.secret).valid, "the old key works in its grace period")

        revoked = c.keys.revoke(new.id, reason="test")
        self.assertEqual(revoked.status, "revoked")
        self.assertEqual(revoked.revoke_reason, "test")
        again = c.keys.revoke(new.id)
        self.assertEqual(again.status, "revoked", "revoking a revoked key succeeds")
        self.assertEqual(c.verify(new.secret).code, "INVALID")

        deleted = c.keys.delete(k.id)
        self.assertEqual(deleted.status, "revoked")
        self.assertEqual(c.verify(k.secret).code, "INVALID")

    def test_list_pages_with_cursor(self) -> None:
        made = [self.c.keys.create(f"pager-{i}", scopes=["keys:read"]) for i in range(3)]
        first = self.c.keys.list(q="pager-", limit=2)
        self.assertEqual(len(first.data), 2)
        self.assertIsNotNone(first.next_cursor)
        second = self.c.keys.list(q="pager-", limit=2, cursor=first.next_cursor)
        self.assertEqual(len(second.data), 1)
        self.assertIsNone(second.next_cursor)
        listed = [k.id for k in first.data + second.data]
        self.assertEqual(listed, [k.id for k in reversed(made)], "newest first, each key once")
        self.assertEqual([k.id for k in self.c.keys.all(q="pager-", limit=1)], listed)

        self.c.keys.revoke(made[0].id)
        self.assertNotIn(made[0].id, [k.id for k in self.c.keys.all(q="pager-")])
        self.assertEqual([k.id for k in self.c.keys.all(q="pager-", status="revoked")], [made[0].id])

    def test_key_and_url_from_the_environment(self) -> None:
        env = {"KEYWARD_API_KEY": self.admin.secret, "KEYWARD_URL": server.url, "KEYWARD_ORG_API_KEY": ""}
        with mock.patch.dict(os.environ, env):
            c = keyward.Client()
        self.assertEqual(c.base_url, server.url)
        w = c.whoami()
        self.assertEqual(w.key_id, self.admin.id)
        self.assertEqual(w.project_id, self.project.id)
        self.assertEqual(w.kind, "project")
        with mock.patch.dict(os.environ, {"KEYWARD_URL": "localhost:8080"}):
            with self.assertRaisesRegex(ConfigError, "KEYWARD_URL"):
                keyward.Client()

    def test_audit_log(self) -> None:
        k = self.c.keys.create("audited", scopes=["keys:read"])
        events = list(self.c.audit.all(action="key.", limit=50))
        self.assertTrue(any(e.target is not None and e.target.id == k.id for e in events), events[:3])
        self.assertTrue(all(e.action.startswith("key.") for e in events))


class ErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.project = server.project("Errors")
        cls.admin = server.key(cls.project.id, "admin")
        cls.c = keyward.Client(server.url, api_key=cls.admin.secret, org_api_key="")

    def test_api_error_carries_code_status_and_request_id(self) -> None:
        with self.assertRaises(APIError) as cm:
            self.c.keys.get(UNKNOWN_KEY_ID)
        e = cm.exception
        self.assertEqual((e.code, e.status), (Code.NOT_FOUND, 404))
        self.assertTrue(e.request_id.startswith("req_"), e.request_id)
        self.assertIn(e.request_id, str(e))
        self.assertNotIn(self.admin.secret, str(e) + repr(e))
        self.assertTrue(keyward.has_code(e, "NOT_FOUND"))
        self.assertIsInstance(e, keyward.KeywardError)

    def test_invalid_request_names_the_fields(self) -> None:
        with self.assertRaises(APIError) as cm:
            self.c.keys.create("bad", scopes=["no-such-scope"], ip_allowlist=["not an address"])
        e = cm.exception
        self.assertEqual((e.code, e.status), ("INVALID_REQUEST", 400))
        fields = {d.field for d in e.details}
        self.assertTrue(fields & {"scopes", "ip_allowlist"}, e.details)

    def test_refused_key(self) -> None:
        bogus = keyward.Client(server.url, api_key="kwp_" + "0" * 36, org_api_key="")
        with self.assertRaises(APIError) as cm:
            bogus.whoami()
        self.assertEqual((cm.exception.code, cm.exception.status), ("API_KEY_INVALID", 401))

    def test_missing_key_fails_before_any_request(self) -> None:
        nowhere = "http://127.0.0.1:9"  # nothing listens: a request would be a TransportError
        with self.assertRaises(MissingKeyError) as cm:
            keyward.Client(nowhere, api_key="", org_api_key="").keys.list()
        self.assertEqual(cm.exception.env, "KEYWARD_API_KEY")
        with self.assertRaises(MissingKeyError) as cm:
            self.c.org.projects.list()
        self.assertEqual(cm.exception.env, "KEYWARD_ORG_API_KEY")
        with self.assertRaises(ConfigError):
            self.c.keys.get("")

    def test_unreachable_server_is_a_transport_error(self) -> None:
        c = keyward.Client("http://127.0.0.1:9", api_key=self.admin.secret, retries=1)
        waits: list[float] = []
        c._sleep = waits.append
        with self.assertRaises(TransportError) as cm:
            c.whoami()
        self.assertIn("/v1/whoami", str(cm.exception))
        self.assertNotIn(self.admin.secret, str(cm.exception))
        self.assertEqual(len(waits), 1, "a read is retried once with retries=1")

    def test_rate_limited_caller_gets_retry_after_and_window(self) -> None:
        limited = server.key(self.project.id, "limited", scopes=["keys:read"], rate_limit=RateLimit(1, timedelta(hours=1)))
        c = keyward.Client(server.url, api_key=limited.secret, org_api_key="", retries=0)
        c.whoami()
        with self.assertRaises(APIError) as cm:
            c.whoami()
        e = cm.exception
        self.assertEqual((e.code, e.status), ("RATE_LIMITED", 429))
        self.assertIsNotNone(e.retry_after)
        assert e.retry_after is not None and e.rate_limit is not None
        self.assertGreater(e.retry_after, 0)
        self.assertEqual((e.rate_limit.limit, e.rate_limit.remaining), (1, 0))
        self.assertGreater(e.rate_limit.reset, datetime.now(timezone.utc))

    def test_check_verify(self) -> None:
        self.assertIsNone(self.c.check_verify())
        reader = server.key(self.project.id, "reader", scopes=["keys:read"])
        with self.assertRaisesRegex(ConfigError, "keys:verify"):
            keyward.Client(server.url, api_key=reader.secret).check_verify()
        server.org_client().org.project_keys(self.project.id).revoke(reader.id)
        with self.assertRaises(APIError) as cm:
            keyward.Client(server.url, api_key=reader.secret).check_verify()
        self.assertIn("from api_key does not work", str(cm.exception))
        with mock.patch.dict(os.environ, {"KEYWARD_API_KEY": ""}):
            with self.assertRaises(MissingKeyError):
                keyward.Client(server.url).check_verify()


class OrgTest(unittest.TestCase):
    def setUp(self) -> None:
        self.org = server.org_client().org

    def test_whoami(self) -> None:
        w = self.org.whoami()
        self.assertEqual(w.kind, "org")
        self.assertIn("projects:write", w.scopes)

    def test_projects(self) -> None:
        p = self.org.projects.create("Billing", custom_scopes=["invoices:read"])
        self.assertEqual((p.name, p.slug, p.custom_scopes), ("Billing", "billing", ["invoices:read"]))
        self.assertEqual(self.org.projects.get(p.id).id, p.id)
        upd = self.org.projects.update(p.id, name="Billing 2", custom_scopes=None)
        self.assertEqual((upd.name, upd.custom_scopes), ("Billing 2", []))
        self.assertIn(p.id, [x.id for x in self.org.projects.all(limit=1)])
        self.org.projects.delete(p.id)
        with self.assertRaises(APIError) as cm:
            self.org.projects.get(p.id)
        self.assertEqual(cm.exception.code, "NOT_FOUND")

    def test_project_keys_and_org_keys(self) -> None:
        p = self.org.projects.create("Shop")
        k = self.org.project_keys(p.id).create("svc", scopes=["keys:verify"])
        self.assertEqual(k.project_id, p.id)
        self.assertEqual([x.id for x in self.org.project_keys(p.id).all()], [k.id])
        ok = self.org.keys.create("automation", scopes=["projects:read"])
        self.assertTrue(ok.secret.startswith("kwo_"))
        self.assertEqual(ok.kind, "org")
        self.assertEqual(keyward.Client(server.url, org_api_key=ok.secret).org.whoami().key_id, ok.id)
        self.assertEqual(self.org.keys.revoke(ok.id).status, "revoked")
        self.assertTrue(self.org.verify(k.secret).valid, "org verify accepts any project's key")

    def test_settings(self) -> None:
        before = self.org.settings.get()
        self.assertEqual(before.rotation_max_grace, timedelta(days=7))
        after = self.org.settings.update(max_keys_per_user=5, max_key_lifetime=timedelta(days=90))
        self.assertEqual((after.max_keys_per_user, after.max_key_lifetime), (5, timedelta(days=90)))
        cleared = self.org.settings.update(max_keys_per_user=before.max_keys_per_user, max_key_lifetime=None)
        self.assertIsNone(cleared.max_key_lifetime)
        self.assertEqual(cleared.max_keys_per_user, before.max_keys_per_user)

    def test_members_and_invitations(self) -> None:
        members = list(self.org.members.all())
        self.assertIn("owner@example.com", [m.email for m in members])
        added = self.org.members.add("new.person@example.com", "member", name="New Person")
        self.assertEqual(added.email, "new.person@example.com")
        assert added.invitation is not None
        self.assertIn("http", added.invitation.url)
        pending = self.org.invitations.list().data
        inv = next(i for i in pending if i.email == "new.person@example.com")
        self.assertEqual(inv.url, "", "an invitation's link is never shown again")
        self.assertIsNotNone(self.org.invitations.revoke(inv.id).revoked_at)
        with self.assertRaises(APIError) as cm:
            self.org.invitations.revoke(inv.id)
        self.assertEqual(cm.exception.code, "CONFLICT")
        self.org.members.remove(added.user_id)
        self.assertNotIn(added.user_id, [m.user_id for m in self.org.members.all()])

    def test_org_audit(self) -> None:
        p = self.org.projects.create("Audited")
        events = self.org.audit.list(action="project.", limit=200).data
        self.assertTrue(any(e.target is not None and e.target.id == p.id for e in events))


if __name__ == "__main__":
    unittest.main()
