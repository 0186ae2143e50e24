"""The ASGI middleware: called directly with scope, receive and send, and
end to end through a small asyncio HTTP server on loopback, verifying with
a real keyward."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import unittest
from datetime import timedelta
from typing import Any, MutableMapping

from support import KeywardServer

import keyward
from keyward import Decision, RateLimit
from keyward.asgi import KeywardASGI


class Recorder:
    """An ASGI app that records the scopes it was called with."""

    def __init__(self) -> None:
        self.scopes: list[MutableMapping[str, Any]] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "http":
            k = keyward.key_from_scope(scope)
            body = json.dumps({"key_id": k.id if k else None}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})


def http_scope(headers: dict[str, str], client: str = "127.0.0.1") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/orders",
        "raw_path": b"/orders",
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": (client, 50000),
        "server": ("127.0.0.1", 80),
    }


async def call(app: Any, scope: dict[str, Any], incoming: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Runs app for one scope; returns the messages it sent."""
    queue = list(incoming or [{"type": "http.request", "body": b"", "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def answer(sent: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes]:
    start = sent[0]
    assert start["type"] == "http.response.start", sent
    headers = {bytes(k).decode(): bytes(v).decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], headers, body


def setUpModule() -> None:
    global server
    server = KeywardServer()


def tearDownModule() -> None:
    server.stop()


class ASGIMiddlewareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.project = server.project("Shop", custom_scopes=["orders:read"])
        sdk = server.key(cls.project.id, "backend", scopes=["keys:verify"])
        cls.client = keyward.Client(server.url, api_key=sdk.secret, org_api_key="")
        cls.reader = server.key(cls.project.id, "reader", scopes=["orders:read"])

    def setUp(self) -> None:
        self.inner = Recorder()
        self.app = KeywardASGI(self.inner, self.client, scopes=["orders:read"])

    def test_valid_key_reaches_the_app(self) -> None:
        status, _, body = answer(asyncio.run(call(self.app, http_scope({"X-Api-Key": self.reader.secret}))))
        self.assertEqual((status, json.loads(body)), (200, {"key_id": self.reader.id}))
        self.assertEqual(keyward.key_from_scope(self.inner.scopes[0]).id, self.reader.id)  # type: ignore[union-attr]

    def test_refusals_never_reach_the_app(self) -> None:
        no_scope = server.key(self.project.id, "no scope", scopes=["keys:read"])
        for name, headers, status, code in [
            ("missing", {}, 401, "API_KEY_MISSING"),
            ("unknown", {"Authorization": "Bearer kwp_" + "0123456789abcdef0123456789abcdef01234"}, 401, "API_KEY_INVALID"),
            ("lacks the scope", {"X-Api-Key": no_scope.secret}, 403, "PERMISSION_DENIED"),
        ]:
            with self.subTest(name):
                got_status, h, body = answer(asyncio.run(call(self.app, http_scope(headers))))
                e = json.loads(body)["error"]
                self.assertEqual((got_status, e["code"], e["status"]), (status, code, status))
                self.assertEqual(h["x-request-id"], e["request_id"])
                self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(self.inner.scopes, [])

    def test_rate_limit_headers_are_added_to_the_answer(self) -> None:
        k = server.key(self.project.id, "limited", scopes=["orders:read"], rate_limit=RateLimit(1, timedelta(hours=1)))
        status, h, _ = answer(asyncio.run(call(self.app, http_scope({"X-Api-Key": k.secret}))))
        self.assertEqual((status, h["x-ratelimit-limit"], h["x-ratelimit-remaining"]), (200, "1", "0"))
        status, h, _ = answer(asyncio.run(call(self.app, http_scope({"X-Api-Key": k.secret}))))
        self.assertEqual(status, 429)
        self.assertGreater(int(h["retry-after"]), 0)

    def test_websockets(self) -> None:
        ws = {**http_scope({"X-Api-Key": self.reader.secret}), "type": "websocket", "scheme": "ws"}
        sent = asyncio.run(call(self.app, ws, [{"type": "websocket.connect"}]))
        self.assertEqual(sent, [{"type": "websocket.accept"}])
        self.assertEqual(keyward.key_from_scope(self.inner.scopes[0]).id, self.reader.id)  # type: ignore[union-attr]

        refused = {**http_scope({}), "type": "websocket", "scheme": "ws"}
        sent = asyncio.run(call(self.app, refused, [{"type": "websocket.connect"}]))
        self.assertEqual(sent, [{"type": "websocket.close", "code": 1008, "reason": "API_KEY_MISSING"}])
        self.assertEqual(len(self.inner.scopes), 1, "the refused socket never reached the app")

    def test_lifespan_passes_through(self) -> None:
        nowhere = KeywardASGI(self.inner, keyward.Client("http://127.0.0.1:9", api_key="kwp_x"))
        asyncio.run(call(nowhere, {"type": "lifespan", "asgi": {"version": "3.0"}}, [{"type": "lifespan.startup"}]))
        self.assertEqual([s["type"] for s in self.inner.scopes], ["lifespan"])

    def test_fails_closed_when_keyward_cannot_be_asked(self) -> None:
        nowhere = KeywardASGI(self.inner, keyward.Client("http://127.0.0.1:9", api_key="kwp_x"), logger=quiet())
        status, _, body = answer(asyncio.run(call(nowhere, http_scope({"X-Api-Key": self.reader.secret}))))
        self.assertEqual((status, json.loads(body)["error"]["code"]), (503, "UNAVAILABLE"))
        self.assertEqual(self.inner.scopes, [])

    def test_verification_does_not_block_the_event_loop(self) -> None:
        """The guard runs in a worker thread: while it waits, the loop runs
        other tasks (here: the one that lets it finish)."""
        loop_ran = threading.Event()

        class WaitingGuard:
            def check(self, headers: Any, client_ip: str) -> Decision:
                if loop_ran.wait(10):
                    return Decision(status=200, key=self_reader)
                return Decision(status=504)  # the loop was blocked

        self_reader = self.reader
        self.app.guard = WaitingGuard()  # type: ignore[assignment]

        async def main() -> list[dict[str, Any]]:
            async def other_task() -> None:
                loop_ran.set()

            request = asyncio.ensure_future(call(self.app, http_scope({})))
            await asyncio.sleep(0)
            await other_task()
            return await request

        status, _, _ = answer(asyncio.run(main()))
        self.assertEqual(status, 200)


def quiet() -> Any:
    import logging

    log = logging.getLogger("keyward.tests.quiet")
    log.disabled = True
    return log


class TinyASGIServer:
    """Serves an ASGI app over HTTP/1.0 on loopback, on its own event loop
    thread: one request per connection, enough to test the middleware
    through a real socket."""

    server: asyncio.Server
    port: int

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start() -> None:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, start: Any) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip().lower().encode("latin-1"), value.strip().encode("latin-1")))
        path, _, query = target.partition("?")
        peer = writer.get_extra_info("peername")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.0",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": headers,
            "client": (peer[0], peer[1]),
            "server": writer.get_extra_info("sockname")[:2],
        }
        sent = await call(self.app, scope)
        status, out_headers, body = answer(sent)
        writer.write(f"HTTP/1.0 {status} X\r\n".encode())
        for k, v in out_headers.items():
            writer.write(f"{k}: {v}\r\n".encode("latin-1"))
        writer.write(f"content-length: {len(body)}\r\n\r\n".encode())
        writer.write(body)
        await writer.drain()
        writer.close()

    def get(self, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/orders", headers=headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class ASGIOverHTTPTest(unittest.TestCase):
    def test_end_to_end(self) -> None:
        project = server.project("Over HTTP", custom_scopes=["orders:read"])
        sdk = server.key(project.id, "backend", scopes=["keys:verify"])
        reader = server.key(project.id, "reader", scopes=["orders:read"], ip_allowlist=["127.0.0.0/8"])
        client = keyward.Client(server.url, api_key=sdk.secret, org_api_key="")
        served = TinyASGIServer(KeywardASGI(Recorder(), client, scopes=["orders:read"]))
        self.addCleanup(served.close)

        status, _, body = served.get({"X-Api-Key": reader.secret})
        self.assertEqual((status, json.loads(body)), (200, {"key_id": reader.id}), "the peer address is in the allowlist")
        status, h, body = served.get({"Authorization": "Bearer nope"})
        self.assertEqual((status, json.loads(body)["error"]["code"]), (401, "API_KEY_INVALID"))
        self.assertEqual(h["www-authenticate"], 'Bearer realm="api"')
        server.org_client().org.project_keys(project.id).revoke(reader.id)
        self.assertEqual(served.get({"X-Api-Key": reader.secret})[0], 401)


if __name__ == "__main__":
    unittest.main()
