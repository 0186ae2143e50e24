"""Fail closed: when the keyward process dies, nothing is accepted — not by
the client, not by the local cache (not even keys it held), not by either
middleware."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import unittest

from support import KeywardServer, collect_events
from test_asgi import answer, call, http_scope, Recorder
from test_wsgi import Served, orders_app

import keyward
from keyward import ChangeEvent, TransportError


def quiet() -> logging.Logger:
    log = logging.getLogger("keyward.tests.failclosed")
    log.propagate = False
    log.addHandler(logging.NullHandler())
    return log


class KeywardDownTest(unittest.TestCase):
    def test_everything_fails_closed_when_keyward_dies(self) -> None:
        server = KeywardServer()
        self.addCleanup(server.stop)
        project = server.project("Shop", custom_scopes=["orders:read"])
        sdk = server.key(project.id, "backend", scopes=["keys:verify"])
        client = keyward.Client(server.url, api_key=sdk.secret, org_api_key="")
        client.min_backoff = 0.01
        events: queue.Queue[ChangeEvent] = queue.Queue()
        lc = keyward.LocalCache(client, logger=quiet(), on_event=events.put)
        lc.start()
        self.addCleanup(lc.close)
        self.assertTrue(lc.wait_live(True, 20))
        k = server.key(project.id, "customer", scopes=["orders:read"])
        collect_events(events, k.id)

        cached = Served(keyward.KeywardWSGI(orders_app, local_cache=lc, scopes=["orders:read"], logger=quiet()))
        self.addCleanup(cached.close)
        direct = Served(keyward.KeywardWSGI(orders_app, client, scopes=["orders:read"], logger=quiet()))
        self.addCleanup(direct.close)
        asgi = keyward.KeywardASGI(Recorder(), client, scopes=["orders:read"], logger=quiet())
        headers = {"X-Api-Key": k.secret}
        self.assertEqual(cached.get(headers)[0], 200)
        self.assertEqual(cached.get(headers)[0], 200)
        self.assertEqual(lc.stats()["entries"], 1, "the key is held in memory")
        self.assertEqual(direct.get(headers)[0], 200)
        self.assertEqual(answer(asyncio.run(call(asgi, http_scope(headers))))[0], 200)

        server.kill()
        # The dead process's connection ends: the cache stops trusting memory.
        self.assertTrue(lc.wait_live(False, 20), "the cache stayed live after keyward died")
        self.assertEqual(lc.stats()["entries"], 0, "and forgets what it held")

        for name, app in {"with the local cache": cached, "without": direct}.items():
            with self.subTest(wsgi=name):
                status, _, body = app.get(headers)
                self.assertEqual(status, 503, body)
                self.assertEqual(json.loads(body)["error"]["code"], "UNAVAILABLE")
        status, _, body = answer(asyncio.run(call(asgi, http_scope(headers))))
        self.assertEqual((status, json.loads(body)["error"]["code"]), (503, "UNAVAILABLE"))
        with self.assertRaises(TransportError):
            lc.verify(k.secret, scopes=["orders:read"])
        with self.assertRaises(TransportError):
            client.verify(k.secret)
        self.assertFalse(lc.live, "still not live: there is no stream to follow")


if __name__ == "__main__":
    unittest.main()
