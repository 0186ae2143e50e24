"""Retry rules and the decoding of answers, against a scripted HTTP server
(the rules are the client's own; the real server cannot be made to answer
503 on demand)."""

from __future__ import annotations

import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import support  # noqa: F401 - puts the package on sys.path

import keyward
from keyward import APIError

PROJECT_KEY = "kwp_0123456789abcdefghijABCDEFGHIJ000000"
ORG_KEY = "kwo_0123456789abcdefghijABCDEFGHIJ000000"

KEY_JSON = {"id": "key_1", "kind": "project", "name": "k", "hint": "kwp_…0000", "org_id": "org_1", "scopes": [], "status": "active", "created_at": "2026-01-02T03:04:05.123456789Z"}


class Scripted:
    """Answers each request with the next scripted answer (the last one
    repeats) and records the requests."""

    def __init__(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        lock = threading.Lock()
        me = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with lock:
                    me.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                    status, headers, out = me.answers[0] if len(me.answers) == 1 else me.answers.pop(0)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_POST = do_PATCH = do_DELETE = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def error(status: int, code: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": {"code": code, "message": "m", "status": status, "request_id": "req_x"}}).encode()
    return status, {"Content-Type": "application/json", **(headers or {})}, body


def ok(doc: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()


class RetryTest(unittest.TestCase):
    def client(self, srv: Scripted, **kw: Any) -> tuple[keyward.Client, list[float]]:
        c = keyward.Client(srv.url, api_key=PROJECT_KEY, org_api_key=ORG_KEY, **kw)
        waits: list[float] = []
        c._sleep = waits.append
        self.addCleanup(c.close)
        return c, waits

    def serve(self, *answers: tuple[int, dict[str, str], bytes]) -> Scripted:
        srv = Scripted(*answers)
        self.addCleanup(srv.close)
        return srv

    def test_reads_are_retried_on_503_then_succeed(self) -> None:
        srv = self.serve(error(503, "UNAVAILABLE"), ok(KEY_JSON))
        c, waits = self.client(srv)
        self.assertEqual(c.keys.get("key_1").id, "key_1")
        self.assertEqual(len(srv.requests), 2)
        self.assertEqual(len(waits), 1)
        self.assertTrue(0.05 <= waits[0] <= 0.1, waits)

    def test_retry_after_is_waited_for_unless_too_long(self) -> None:
        srv = self.serve(error(429, "RATE_LIMITED", {"Retry-After": "2"}), ok(KEY_JSON))
        c, waits = self.client(srv)
        c.keys.get("key_1")
        self.assertEqual(waits, [2.0])

        srv = self.serve(error(429, "RATE_LIMITED", {"Retry-After": "3600"}))
        c, waits = self.client(srv)
        with self.assertRaises(APIError) as cm:
            c.keys.get("key_1")
        self.assertEqual(cm.exception.retry_after, 3600.0)
        self.assertEqual((len(srv.requests), waits), (1, []))

    def test_retries_run_out(self) -> None:
        srv = self.serve(error(502, "UNAVAILABLE"))
        c, waits = self.client(srv)
        with self.assertRaises(APIError):
            c.keys.list()
        self.assertEqual(len(srv.requests), 3, "one try and two retries")
        self.assertEqual(len(waits), 2)
        srv = self.serve(error(502, "UNAVAILABLE"))
        c, _ = self.client(srv, retries=0)
        with self.assertRaises(APIError):
            c.keys.list()
        self.assertEqual(len(srv.requests), 1)

    def test_changes_are_never_retried(self) -> None:
        for name, do in {
            "create": lambda c: c.keys.create("k"),
            "update": lambda c: c.keys.update("key_1", name="x"),
            "rotate": lambda c: c.keys.rotate("key_1"),
            "verify": lambda c: c.verify("kwp_x"),
            "project create": lambda c: c.org.projects.create("p"),
        }.items():
            with self.subTest(name):
                srv = self.serve(error(503, "UNAVAILABLE"))
                c, waits = self.client(srv)
                with self.assertRaises(APIError):
                    do(c)
                self.assertEqual((len(srv.requests), waits), (1, []))

    def test_revoke_and_delete_are_retried(self) -> None:
        for name, do in {"revoke": lambda c: c.keys.revoke("key_1"), "delete": lambda c: c.keys.delete("key_1")}.items():
            with self.subTest(name):
                srv = self.serve(error(504, "UNAVAILABLE"), ok(KEY_JSON))
                c, _ = self.client(srv)
                do(c)
                self.assertEqual(len(srv.requests), 2)

    def test_client_errors_are_not_retried(self) -> None:
        srv = self.serve(error(404, "NOT_FOUND"))
        c, _ = self.client(srv)
        with self.assertRaises(APIError):
            c.keys.get("key_1")
        self.assertEqual(len(srv.requests), 1)

    def test_an_answer_that_is_not_the_contract(self) -> None:
        srv = self.serve((502, {"Content-Type": "text/html", "X-Request-Id": "req_proxy"}, b"<html>bad gateway</html>"))
        c, _ = self.client(srv, retries=0)
        with self.assertRaises(APIError) as cm:
            c.whoami()
        e = cm.exception
        self.assertEqual((e.code, e.status, e.request_id), ("UNAVAILABLE", 502, "req_proxy"))
        self.assertIn("unexpected response", e.message)

    def test_redirects_are_not_followed(self) -> None:
        other = self.serve(ok(KEY_JSON))
        srv = self.serve((302, {"Location": other.url + "/v1/keys/key_1"}, b""))
        c, _ = self.client(srv)
        with self.assertRaises(APIError) as cm:
            c.keys.get("key_1")
        self.assertEqual(cm.exception.status, 302)
        self.assertEqual(other.requests, [], "the key was never sent to the other host")

    def test_headers_and_body(self) -> None:
        srv = self.serve(ok(KEY_JSON))
        c, _ = self.client(srv, user_agent="tests/1")
        c.keys.create("k", scopes=["keys:read"], expires_in="7d")
        c.org.project_keys("prj/1").get("key 1")
        create, get = srv.requests
        self.assertEqual((create["method"], create["path"]), ("POST", "/v1/keys"))
        self.assertEqual(create["headers"]["X-Api-Key"], PROJECT_KEY)
        self.assertNotIn("X-Org-Api-Key", create["headers"])
        self.assertEqual(create["headers"]["User-Agent"], "tests/1")
        self.assertEqual(create["headers"]["Content-Type"], "application/json")
        self.assertEqual(json.loads(create["body"]), {"name": "k", "scopes": ["keys:read"], "expires_in": "7d"})
        self.assertEqual(get["path"], "/v1/org/projects/prj%2F1/keys/key%201", "ids are one escaped path segment")
        self.assertEqual(get["headers"]["X-Org-Api-Key"], ORG_KEY)
        self.assertNotIn("X-Api-Key", get["headers"])
        self.assertNotIn("Content-Type", get["headers"])

    def test_patch_sends_null_to_clear_and_leaves_out_the_rest(self) -> None:
        srv = self.serve(ok(KEY_JSON))
        c, _ = self.client(srv)
        c.keys.update("key_1", rate_limit=None, metadata={"a": "b"})
        self.assertEqual(json.loads(srv.requests[0]["body"]), {"rate_limit": None, "metadata": {"a": "b"}})

    def test_base_url_with_a_path_prefix(self) -> None:
        srv = self.serve(ok({"key_id": "key_1", "kind": "project", "org_id": "o", "scopes": []}))
        c = keyward.Client(srv.url + "/keyward/", api_key=PROJECT_KEY)
        self.addCleanup(c.close)
        c.whoami()
        self.assertEqual(srv.requests[0]["path"], "/keyward/v1/whoami")
        self.assertEqual(c.base_url, srv.url + "/keyward")


if __name__ == "__main__":
    unittest.main()
