"""Webhook verification (verify_webhook): the Standard Webhooks example, a
known answer computed here with hmac (not with the SDK), and every
refusal. No server needed."""

from __future__ import annotations

import base64
import email.message
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock
from wsgiref.simple_server import WSGIRequestHandler, make_server
from datetime import datetime, timezone
from typing import Any

try:
    import support  # noqa: F401 - puts the package on sys.path
except ModuleNotFoundError:  # run as tests.test_webhooks from sdk/python, where keyward imports as is
    pass

import keyward
from keyward import ConfigError, KeywardError, WebhookEvent, WebhookVerificationError, verify_webhook

# The Standard Webhooks specification's published example.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
TS = int(NOW.timestamp())
BODY = b'{"type":"key.created","timestamp":"2026-03-04T05:06:00Z","data":{"key_id":"key_1","name":"ci"}}'
EVENT = WebhookEvent(
    id="msg_1",
    type="key.created",
    timestamp=datetime(2026, 3, 4, 5, 6, tzinfo=timezone.utc),
    data={"key_id": "key_1", "name": "ci"},
)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def ref_sign(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    """The signature computed with hmac: HMAC-SHA256 of "id.ts.body" under the decoded secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(msg_id: str, ts: int | str, sig: str) -> dict[str, Any]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


class SpecExampleTest(unittest.TestCase):
    def test_signature_accepted_with_or_without_prefix(self) -> None:
        self.assertEqual(ref_sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIGNATURE, "hmac disagrees with the specification")
        for secret in (SPEC_SECRET, SPEC_SECRET.removeprefix("whsec_")):
            # The signature matches; the body is no keyward event, which
            # only the step after the signature check can say.
            with self.assertRaises(WebhookVerificationError) as cm:
                verify_webhook(
                    secret,
                    headers(SPEC_ID, SPEC_TS, SPEC_SIGNATURE),
                    SPEC_BODY,
                    now=datetime.fromtimestamp(SPEC_TS + 10, timezone.utc),
                )
            self.assertEqual(cm.exception.reason, "payload", str(cm.exception))


class AcceptTest(unittest.TestCase):
    def setUp(self) -> None:
        self.secret = new_secret()
        self.other = new_secret()
        self.good = ref_sign(self.secret, "msg_1", TS, BODY)

    def test_header_forms(self) -> None:
        wrong = ref_sign(self.other, "msg_1", TS, BODY)
        message = email.message.Message()
        message["Webhook-Id"] = "msg_1"
        message["Webhook-Timestamp"] = str(TS)
        message["Webhook-Signature"] = wrong
        message["Webhook-Signature"] = self.good
        cases: dict[str, Any] = {
            "a dict": headers("msg_1", TS, self.good),
            "names in any case": {"Webhook-Id": "msg_1", "WEBHOOK-TIMESTAMP": str(TS), "webhook-Signature": self.good},
            "several signatures, one valid": headers("msg_1", TS, f"{wrong} {self.good} v1,AAAA"),
            "unknown versions beside v1": headers("msg_1", TS, f"v1a,{self.good[3:]} v2,xyz {self.good}"),
            "repeated header lines as a list": headers("msg_1", TS, "") | {"webhook-signature": [wrong, self.good]},
            "repeated header lines joined with a comma": headers("msg_1", TS, f"{wrong}, {self.good}"),
            "an email.message.Message with repeated lines": message,
            "the old edge of the tolerance": headers("msg_1", TS - 300, ref_sign(self.secret, "msg_1", TS - 300, BODY)),
            "the new edge of the tolerance": headers("msg_1", TS + 300, ref_sign(self.secret, "msg_1", TS + 300, BODY)),
        }
        for name, h in cases.items():
            for body in (BODY, bytearray(BODY), memoryview(BODY), BODY.decode()):
                with self.subTest(name, body=type(body).__name__):
                    self.assertEqual(verify_webhook(self.secret, h, body, now=NOW), EVENT)

    def test_secret_forms(self) -> None:
        for secret in (self.secret.removeprefix("whsec_"), f" {self.secret}\n"):
            self.assertEqual(verify_webhook(secret, headers("msg_1", TS, self.good), BODY, now=NOW), EVENT)

    def test_unknown_types_and_any_data(self) -> None:
        cases = [
            (b'{"type":"something.new","timestamp":"2026-03-04T05:06:07.123456789+01:00","data":[1,2]}',
             "something.new", datetime(2026, 3, 4, 4, 6, 7, 123456, tzinfo=timezone.utc), [1, 2]),
            (b'{"type":"webhook.test","timestamp":"2026-03-04T05:06:07Z"}',
             "webhook.test", datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc), None),
        ]
        for body, event_type, stamp, data in cases:
            with self.subTest(event_type):
                e = verify_webhook(self.secret, headers("msg_2", TS, ref_sign(self.secret, "msg_2", TS, body)), body, now=NOW)
                self.assertEqual((e.type, e.timestamp, e.data), (event_type, stamp, data))

    def test_default_clock(self) -> None:
        ts = int(datetime.now(timezone.utc).timestamp())
        e = verify_webhook(self.secret, headers("msg_1", ts, ref_sign(self.secret, "msg_1", ts, BODY)), BODY)
        self.assertEqual(e.type, "key.created")

    def test_tolerance(self) -> None:
        for offset, ok in ((-60, True), (60, True), (-61, False), (61, False)):
            with self.subTest(offset=offset):
                h = headers("msg_1", TS + offset, ref_sign(self.secret, "msg_1", TS + offset, BODY))
                if ok:
                    self.assertEqual(verify_webhook(self.secret, h, BODY, now=NOW, tolerance=60), EVENT)
                else:
                    with self.assertRaises(WebhookVerificationError) as cm:
                        verify_webhook(self.secret, h, BODY, now=NOW, tolerance=60)
                    self.assertEqual(cm.exception.reason, "timestamp")


class RefuseTest(unittest.TestCase):
    def test_refusals(self) -> None:
        secret, other = new_secret(), new_secret()
        good = ref_sign(secret, "msg_1", TS, BODY)

        def sign(ts: int, body: bytes) -> str:
            return ref_sign(secret, "msg_1", ts, body)

        def without(name: str) -> dict[str, Any]:
            h = headers("msg_1", TS, good)
            del h[name]
            return h

        def with_ts(value: str) -> dict[str, Any]:
            return headers("msg_1", TS, good) | {"webhook-timestamp": value}

        def signed(body: bytes) -> tuple[dict[str, Any], bytes]:
            return headers("msg_1", TS, sign(TS, body)), body

        cases: list[tuple[str, dict[str, Any], bytes, str, str]] = [
            ("no webhook-id", without("webhook-id"), BODY, "missing_header", "webhook-id"),
            ("no webhook-timestamp", without("webhook-timestamp"), BODY, "missing_header", "webhook-timestamp"),
            ("no webhook-signature", without("webhook-signature"), BODY, "missing_header", "webhook-signature"),
            ("an empty webhook-signature", headers("msg_1", TS, " "), BODY, "missing_header", "webhook-signature"),
            ("a non-numeric timestamp", with_ts("yesterday"), BODY, "timestamp", "not integer"),
            ("a fractional timestamp", with_ts(f"{TS}.5"), BODY, "timestamp", "not integer"),
            ("a signed timestamp", with_ts(f"+{TS}"), BODY, "timestamp", "not integer"),
            ("non-ASCII digits", with_ts("١٢٣"), BODY, "timestamp", "not integer"),
            ("a trailing newline", with_ts(f"{TS}\n"), BODY, "timestamp", "not integer"),
            ("a huge timestamp", with_ts("9" * 5000), BODY, "timestamp", "not integer"),
            ("too old", headers("msg_1", TS - 301, sign(TS - 301, BODY)), BODY, "timestamp", "too old"),
            ("too new", headers("msg_1", TS + 301, sign(TS + 301, BODY)), BODY, "timestamp", "too new"),
            ("a tampered body", headers("msg_1", TS, good), BODY.replace(b"ci", b"cj"), "signature", "no v1 signature matches"),
            ("another id", headers("msg_2", TS, good), BODY, "signature", "no v1 signature matches"),
            ("a changed timestamp", headers("msg_1", TS - 1, good), BODY, "signature", "no v1 signature matches"),
            ("the wrong secret", headers("msg_1", TS, ref_sign(other, "msg_1", TS, BODY)), BODY, "signature", "no v1 signature matches"),
            ("other versions only", headers("msg_1", TS, f"v1a,{good[3:]} v2,{good[3:]}"), BODY, "signature", "no v1 entry"),
            ("v1 without a comma", headers("msg_1", TS, "v1" + good[3:]), BODY, "signature", "no v1 entry"),
            ("not base64", headers("msg_1", TS, "v1," + "!" * 44), BODY, "signature", "no v1 signature matches"),
            ("a truncated signature", headers("msg_1", TS, good[:-4]), BODY, "signature", "no v1 signature matches"),
            ("bad JSON after a valid signature", *signed(b'{"type":'), "payload", "not a keyward event"),
            ("a JSON array", *signed(b"[1]"), "payload", "not a keyward event"),
            ("no type", *signed(b'{"timestamp":"2026-03-04T05:06:00Z"}'), "payload", "type"),
            ("no timestamp", *signed(b'{"type":"key.created"}'), "payload", "timestamp"),
            ("a timestamp not RFC 3339", *signed(b'{"type":"a","timestamp":"2026-03-04 05:06:00"}'), "payload", "RFC 3339"),
            ("an impossible date", *signed(b'{"type":"a","timestamp":"2026-02-30T05:06:00Z"}'), "payload", "RFC 3339"),
            ("not UTF-8", *signed(b'{"type":"a\xff","timestamp":"2026-03-04T05:06:00Z"}'), "payload", "not a keyward event"),
        ]
        for name, h, body, reason, says in cases:
            with self.subTest(name):
                with self.assertRaises(WebhookVerificationError) as cm:
                    verify_webhook(secret, h, body, now=NOW)
                err = cm.exception
                self.assertIsInstance(err, KeywardError)
                self.assertEqual(err.reason, reason, str(err))
                self.assertIn(says, str(err))
                for s in (secret, secret.removeprefix("whsec_"), good[3:], str(h.get("webhook-signature", "")).removeprefix("v1,")):
                    if len(s.strip()) >= 8:
                        self.assertNotIn(s, str(err), "the message holds the secret or a signature")


class ConfigTest(unittest.TestCase):
    def test_bad_secrets(self) -> None:
        h = headers(SPEC_ID, SPEC_TS, SPEC_SIGNATURE)
        for s in ("", "  ", "whsec_", "whsec_not base64!", "whsec_c2VjcmV0LQ", "c2VjcmV0LQ", "whsec_-_-_", None):
            with self.subTest(length=len(s or "")):
                with self.assertRaises(ConfigError) as cm:
                    verify_webhook(s, h, SPEC_BODY)  # type: ignore[arg-type]
                inner = (s or "").removeprefix("whsec_").strip()
                if inner:
                    self.assertNotIn(inner, str(cm.exception), "the message holds the secret")

    def test_bad_options(self) -> None:
        h = headers(SPEC_ID, SPEC_TS, SPEC_SIGNATURE)
        for kw in ({"tolerance": 0}, {"tolerance": float("nan")}, {"now": datetime(2026, 1, 1)}, {"now": 1767225600}):
            with self.subTest(**{k: repr(v) for k, v in kw.items()}):
                with self.assertRaises(ConfigError):
                    verify_webhook(SPEC_SECRET, h, SPEC_BODY, **kw)  # type: ignore[arg-type]

    def test_exported(self) -> None:
        self.assertIs(keyward.verify_webhook, verify_webhook)
        self.assertTrue(issubclass(keyward.WebhookVerificationError, keyward.KeywardError))


class ReadmeExampleTest(unittest.TestCase):
    """The README's WSGI receiver, run on a real server on loopback."""

    def test_readme_receiver(self) -> None:
        readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
        block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def webhook_app" in b)
        secret = new_secret()
        ns: dict[str, Any] = {}
        with mock.patch.dict(os.environ, {"KEYWARD_WEBHOOK_SECRET": secret}):
            exec(block, ns)  # noqa: S102 - the README's own example

        class Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        srv = make_server("127.0.0.1", 0, ns["webhook_app"], handler_class=Quiet)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)

        def post(ts: int, sig: str, body: bytes) -> tuple[int, str]:
            h = headers("msg_1", ts, sig) | {"Content-Type": "application/json"}
            req = urllib.request.Request(f"http://127.0.0.1:{srv.server_port}/hook", data=body, headers=h)
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, resp.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        ts = int(time.time())
        with mock.patch("builtins.print") as printed:
            self.assertEqual(post(ts, ref_sign(secret, "msg_1", ts, BODY), BODY), (204, ""))
            code, text = post(ts, ref_sign(secret, "msg_1", ts, BODY), BODY.replace(b"ci", b"cj"))
        self.assertEqual(code, 400)
        self.assertIn("no v1 signature matches", text)
        self.assertEqual(printed.call_count, 1)
        self.assertEqual(printed.call_args.args[1:3], ("key.created", "msg_1"))


if __name__ == "__main__":
    unittest.main()
