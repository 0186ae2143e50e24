"""The WSGI middleware end to end: a wsgiref server on loopback, in front
of an app, verifying with a real keyward."""

from __future__ import annotations

import http.client
import json
import threading
import unittest
from datetime import timedelta
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from support import KeywardServer

import keyward
from keyward import RateLimit


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Served:
    """A WSGI app served on a loopback port."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.httpd: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def get(self, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/orders", headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def orders_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The protected app: answers the verified key's id."""
    k = keyward.key_from_environ(environ)
    body = json.dumps({"key_id": k.id if k else None}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def assert_error(t: unittest.TestCase, got: tuple[int, dict[str, str], bytes], status: int, code: str) -> dict[str, Any]:
    """Checks the error contract of a refusal."""
    got_status, headers, body = got
    t.assertEqual(got_status, status, body)
    e = json.loads(body)["error"]
    t.assertEqual((e["code"], e["status"]), (code, status))
    t.assertTrue(e["message"])
    t.assertTrue(e["request_id"].startswith("req_"))
    t.assertEqual(headers["x-request-id"], e["request_id"])
    t.assertEqual(headers["content-type"], "application/json")
    t.assertNotIn(b"kwp_", body, "the error never echoes the key")
    if status == 401:
        t.assertIn("www-authenticate", headers)
    return headers


def setUpModule() -> None:
    global server
    server = KeywardServer()


def tearDownModule() -> None:
    server.stop()


class WSGIMiddlewareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.project = server.project("Shop", custom_scopes=["orders:read"])
        sdk = server.key(cls.project.id, "backend", scopes=["keys:verify"])
        cls.client = keyward.Client(server.url, api_key=sdk.secret, org_api_key="")
        cls.app = Served(keyward.KeywardWSGI(orders_app, cls.client, scopes=["orders:read"]))
        cls.reader = server.key(cls.project.id, "reader", scopes=["orders:read"])

    @classmethod
    def tearDownClass(cls) -> None:
        cls.app.close()

    def test_valid_key_reaches_the_app(self) -> None:
        for name, headers in {
            "x-api-key": {"X-Api-Key": self.reader.secret},
            "bearer": {"Authorization": "Bearer " + self.reader.secret},
        }.items():
            with self.subTest(name):
                status, h, body = self.app.get(headers)
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body), {"key_id": self.reader.id})
                self.assertNotIn("x-ratelimit-limit", h, "no window for a key without a rate limit")

    def test_refusals(self) -> None:
        no_scope = server.key(self.project.id, "no scope", scopes=["keys:read"])
        fenced = server.key(self.project.id, "fenced", scopes=["orders:read"], ip_allowlist=["10.0.0.0/8"])
        for name, headers, status, code in [
            ("missing", {}, 401, "API_KEY_MISSING"),
            ("ambiguous", {"X-Api-Key": self.reader.secret, "Authorization": "Bearer " + no_scope.secret}, 400, "AMBIGUOUS_CREDENTIALS"),
            ("unknown", {"X-Api-Key": "kwp_" + "0123456789abcdef0123456789abcdef01234"}, 401, "API_KEY_INVALID"),
            ("overlong", {"X-Api-Key": "kwp_" + "a" * 300}, 401, "API_KEY_INVALID"),
            ("lacks the scope", {"X-Api-Key": no_scope.secret}, 403, "PERMISSION_DENIED"),
            ("outside its allowlist", {"X-Api-Key": fenced.secret}, 403, "IP_NOT_ALLOWED"),
        ]:
            with self.subTest(name):
                assert_error(self, self.app.get(headers), status, code)

    def test_rate_limit_headers_and_429(self) -> None:
        k = server.key(self.project.id, "limited", scopes=["orders:read"], rate_limit=RateLimit(1, timedelta(hours=1)))
        status, h, _ = self.app.get({"X-Api-Key": k.secret})
        self.assertEqual(status, 200)
        self.assertEqual((h["x-ratelimit-limit"], h["x-ratelimit-remaining"]), ("1", "0"))
        got = self.app.get({"X-Api-Key": k.secret})
        h = assert_error(self, got, 429, "RATE_LIMITED")
        self.assertGreater(int(h["retry-after"]), 0)
        self.assertLessEqual(int(h["retry-after"]), 3600)
        self.assertEqual(h["x-ratelimit-remaining"], "0")

    def test_revoked_key_is_refused(self) -> None:
        k = server.key(self.project.id, "soon revoked", scopes=["orders:read"])
        self.assertEqual(self.app.get({"X-Api-Key": k.secret})[0], 200)
        server.org_client().org.project_keys(self.project.id).revoke(k.id)
        assert_error(self, self.app.get({"X-Api-Key": k.secret}), 401, "API_KEY_INVALID")

    def test_client_ip_option(self) -> None:
        fenced = server.key(self.project.id, "fenced", scopes=["orders:read"], ip_allowlist=["10.0.0.0/8"])
        behind_proxy = Served(
            keyward.KeywardWSGI(orders_app, self.client, scopes=["orders:read"], client_ip=lambda environ: "10.9.9.9")
        )
        self.addCleanup(behind_proxy.close)
        self.assertEqual(behind_proxy.get({"X-Api-Key": fenced.secret})[0], 200)

    def test_org_verify(self) -> None:
        other = server.project("Elsewhere")
        k = server.key(other.id, "elsewhere")
        org_app = Served(keyward.KeywardWSGI(orders_app, server.org_client(), org=True))
        self.addCleanup(org_app.close)
        self.assertEqual(org_app.get({"X-Api-Key": k.secret})[0], 200)
        assert_error(self, self.app.get({"X-Api-Key": k.secret}), 401, "API_KEY_INVALID")


if __name__ == "__main__":
    unittest.main()


class ForwardAuthTest(unittest.TestCase):
    """ForwardAuthWSGI answers as keyward's /v1/forward-auth does."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.project = server.project("Edge", custom_scopes=["orders:read", "orders:write"])
        sdk = server.key(cls.project.id, "edge", scopes=["keys:verify"])
        client = keyward.Client(server.url, api_key=sdk.secret, org_api_key="")
        cls.auth = Served(keyward.ForwardAuthWSGI(client, scopes=["orders:read"]))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.auth.close()

    def test_valid_key_gets_its_identity(self) -> None:
        k = server.key(self.project.id, "customer", scopes=["orders:read"], metadata={"city": "Zürich", "tag": "<a&b>"})
        status, h, body = self.auth.get({"X-Api-Key": k.secret})
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(h["keyward-key-id"], k.id)
        self.assertEqual(h["keyward-project-id"], self.project.id)
        self.assertEqual(h["keyward-owner-id"], "", "a key made with the org key has no owner")
        self.assertEqual(h["keyward-scopes"], "orders:read")
        self.assertEqual(h["keyward-metadata"], '{"city":"Z\\u00fcrich","tag":"\\u003ca\\u0026b\\u003e"}')
        self.assertEqual(json.loads(h["keyward-metadata"]), {"city": "Zürich", "tag": "<a&b>"})

    def test_refusals_carry_the_code_in_a_header(self) -> None:
        status, h, _ = self.auth.get({})
        self.assertEqual((status, h["keyward-error-code"]), (401, "API_KEY_MISSING"))
        reader = server.key(self.project.id, "reader", scopes=["orders:read"])
        status, h, _ = self.auth.get({"X-Api-Key": reader.secret, "Keyward-Required-Scopes": "orders:read, orders:write"})
        self.assertEqual((status, h["keyward-error-code"]), (403, "PERMISSION_DENIED"), "the route's scopes are required too")
        writer = server.key(self.project.id, "writer", scopes=["orders:write"])
        status, h, _ = self.auth.get({"X-Api-Key": writer.secret, "Keyward-Required-Scopes": "orders:write"})
        self.assertEqual(status, 403, "a route's header adds scopes, it never drops the app's own")
