"""Test support: a real `keyward serve` process on a loopback port with a
fresh SQLite store, and a proxy that stands between the SDK and it.

The binary is KEYWARD_BIN when set, else built once per test run from the
repository root with `go build`; without either the tests are skipped.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keyward  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]
PEPPER = "python-sdk-tests-pepper"

_binary_lock = threading.Lock()
_binary: str | None = None
_build_dir: str | None = None


def keyward_binary() -> str:
    """The keyward binary: KEYWARD_BIN, or one built from the repository."""
    global _binary, _build_dir
    with _binary_lock:
        if _binary is not None:
            return _binary
        env_bin = os.environ.get("KEYWARD_BIN")
        if env_bin:
            if not os.access(env_bin, os.X_OK):
                raise RuntimeError(f"KEYWARD_BIN={env_bin} is not an executable file")
            _binary = env_bin
            return _binary
        go = shutil.which("go")
        if go is None or not (REPO_ROOT / "go.mod").exists():
            raise unittest.SkipTest("no keyward server to test against: set KEYWARD_BIN or install Go")
        _build_dir = tempfile.mkdtemp(prefix="keyward-py-bin-")
        out = os.path.join(_build_dir, "keyward")
        subprocess.run([go, "build", "-o", out, "./cmd/keyward"], cwd=REPO_ROOT, check=True)
        _binary = out
        return _binary


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWARD_")}
    env["KEYWARD_KEY_PEPPER"] = PEPPER
    env["KEYWARD_LOG_FORMAT"] = "json"
    return env


class KeywardServer:
    """A `keyward serve` process with its own store, bootstrapped with an
    org; ``org_key`` is the org's full-access key."""

    def __init__(self) -> None:
        binary = keyward_binary()
        self.dir = tempfile.mkdtemp(prefix="keyward-py-")
        self.database = f"sqlite:{os.path.join(self.dir, 'keyward.db')}"
        boot = subprocess.run(
            [binary, "bootstrap", "--org", "Python SDK", "--email", "owner@example.com", "--database", self.database],
            env=_clean_env(),
            check=True,
            capture_output=True,
            text=True,
        )
        self.org_key: str = json.loads(boot.stdout)["org_api_key"]
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [binary, "serve", "--addr", "127.0.0.1:0", "--database", self.database],
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        listening: queue.Queue[str] = queue.Queue()

        def drain() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.log.append(line)
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if doc.get("msg") == "keyward listening":
                    listening.put(doc["addr"])
            listening.put("")

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        try:
            addr = listening.get(timeout=60)
        except queue.Empty:
            addr = ""
        if not addr:
            self.stop()
            raise RuntimeError("keyward serve did not start:\n" + "".join(self.log))
        self.url = f"http://{addr}"

    def stop(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL) and removes its store."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_output()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _close_output(self) -> None:
        self._drain.join(10)  # it ends at the dead process's end of output
        if self.proc.stdout is not None and not self._drain.is_alive():
            self.proc.stdout.close()

    def kill(self) -> None:
        """Kills the process at once, as a crash would."""
        self.proc.kill()
        self.proc.wait()
        self._close_output()

    def org_client(self, **kw: Any) -> keyward.Client:
        """A client holding the org key only."""
        return keyward.Client(self.url, org_api_key=self.org_key, api_key="", **kw)

    def project(self, name: str, custom_scopes: list[str] | None = None) -> keyward.Project:
        return self.org_client().org.projects.create(name, custom_scopes=custom_scopes)

    def key(self, project_id: str, name: str, **kw: Any) -> keyward.Key:
        """A new key of the project (its secret included)."""
        return self.org_client().org.project_keys(project_id).create(name, **kw)


class Proxy:
    """Stands between the SDK and keyward: counts verify calls, can rewrite
    their change position, and can cut, refuse or silence the change
    stream."""

    STREAM_PATHS = ("/v1/key-changes", "/v1/org/key-changes")

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self.upstream = (host, int(port))
        self._lock = threading.Lock()
        self._verifies = 0
        self.last_min: str | None = None
        self.seq_override: str | None = None
        self.refuse_stream = False
        self.silence = threading.Event()  # set: stream lines are dropped
        self._streams: list[socket.socket] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

            do_POST = do_PATCH = do_DELETE = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def verifies(self) -> int:
        with self._lock:
            return self._verifies

    def cut_streams(self) -> None:
        """Ends every stream the proxy is passing on."""
        with self._lock:
            socks, self._streams = self._streams, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.cut_streams()
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        path = h.path.split("?", 1)[0]
        if path in ("/v1/verify", "/v1/org/verify"):
            with self._lock:
                self._verifies += 1
                self.last_min = h.headers.get(keyward.client.MIN_CHANGE_SEQ_HEADER)
        stream = path in self.STREAM_PATHS
        if stream and self.refuse_stream:
            h.send_response(502)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", "2")
            h.end_headers()
            h.wfile.write(b"no")
            return
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in ("connection", "host")}
            conn.request(h.command, h.path, body=body, headers=headers)
            resp = conn.getresponse()
            h.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() in ("transfer-encoding", "connection", "content-length"):
                    continue
                if k.lower() == "keyward-change-seq" and self.seq_override is not None and not stream:
                    continue
                h.send_header(k, v)
            if stream:
                h.end_headers()
                with self._lock:
                    self._streams.append(h.connection)
                while True:
                    line = resp.readline()
                    if not line:
                        return
                    if self.silence.is_set():
                        continue
                    h.wfile.write(line)
                    h.wfile.flush()
            data = resp.read()
            if self.seq_override is not None and path in ("/v1/verify", "/v1/org/verify") and self.seq_override != "":
                h.send_header("Keyward-Change-Seq", self.seq_override)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            return
        finally:
            conn.close()


def collect_events(lc_events: "queue.Queue[keyward.ChangeEvent]", key_id: str, timeout: float = 20.0) -> None:
    """Waits until an applied change event names key_id (timeout for all the
    events, so a stream that keeps coming back fails the test instead of
    hanging it)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no change event named {key_id}")
        try:
            e = lc_events.get(timeout=left)
        except queue.Empty:
            raise AssertionError(f"no change event named {key_id}") from None
        if key_id in e.key_ids:
            return
