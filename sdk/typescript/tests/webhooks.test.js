// Webhook verification (verifyWebhook): the Standard Webhooks example, a
// known answer computed here with node:crypto (not with the SDK), and
// every refusal. No server needed.

import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { KeywardConfigError, KeywardWebhookError, verifyWebhook } from "../dist/index.js";

// The Standard Webhooks specification's published example.
const SPEC = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  ts: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const NOW = new Date("2026-03-04T05:06:07Z");
const TS = Math.floor(NOW.getTime() / 1000);
const BODY = '{"type":"key.created","timestamp":"2026-03-04T05:06:00Z","data":{"key_id":"key_1","name":"ci"}}';

function newSecret() {
  return "whsec_" + randomBytes(32).toString("base64");
}

/** The signature computed with node:crypto: HMAC-SHA256 of "id.ts.body" under the decoded secret. */
function refSign(secret, id, ts, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return "v1," + createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest("base64");
}

function headers(id, ts, sig) {
  return { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": sig };
}

/** Asserts that verifying rejects with a KeywardWebhookError of reason whose message says `says` and holds no secret. */
async function refused(promise, reason, says, secrets) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof KeywardWebhookError, `${err}`);
    assert.equal(err.reason, reason, err.message);
    assert.ok(err.message.includes(says), `${err.message} does not say ${says}`);
    for (const s of secrets) {
      const inner = s.replace(/^whsec_|^v1,/, "").trim();
      assert.ok(inner.length < 8 || !err.message.includes(inner), "the message holds the secret or a signature");
    }
    return true;
  });
}

test("the Standard Webhooks example's signature is accepted, with or without whsec_", async () => {
  assert.equal(refSign(SPEC.secret, SPEC.id, SPEC.ts, SPEC.body), SPEC.signature, "node:crypto disagrees with the specification");
  for (const secret of [SPEC.secret, SPEC.secret.slice("whsec_".length)]) {
    // The signature matches; the body is no keyward event, which only the
    // step after the signature check can say.
    await refused(
      verifyWebhook(secret, headers(SPEC.id, SPEC.ts, SPEC.signature), SPEC.body, { now: new Date((SPEC.ts + 10) * 1000) }),
      "payload",
      "not a keyward event",
      [secret, SPEC.signature],
    );
  }
});

describe("accepts", () => {
  const secret = newSecret();
  const other = newSecret();
  const good = refSign(secret, "msg_1", TS, BODY);
  const cases = {
    "a plain record": headers("msg_1", TS, good),
    "Fetch Headers": new Headers(headers("msg_1", TS, good)),
    "names in any case": { "Webhook-Id": "msg_1", "WEBHOOK-TIMESTAMP": String(TS), "webhook-Signature": good },
    "several signatures, one valid": headers("msg_1", TS, `${refSign(other, "msg_1", TS, BODY)} ${good} v1,AAAA`),
    "unknown versions beside v1": headers("msg_1", TS, `v1a,${good.slice(3)} v2,xyz ${good}`),
    "repeated header lines (Node's array)": { ...headers("msg_1", TS, ""), "webhook-signature": [refSign(other, "msg_1", TS, BODY), good] },
    "repeated header lines joined by Fetch": (() => {
      const h = new Headers(headers("msg_1", TS, refSign(other, "msg_1", TS, BODY)));
      h.append("webhook-signature", good);
      return h;
    })(),
    "the old edge of the tolerance": headers("msg_1", TS - 300, refSign(secret, "msg_1", TS - 300, BODY)),
    "the new edge of the tolerance": headers("msg_1", TS + 300, refSign(secret, "msg_1", TS + 300, BODY)),
  };
  for (const [name, h] of Object.entries(cases)) {
    test(name, async () => {
      for (const body of [BODY, new TextEncoder().encode(BODY), Buffer.from(BODY)]) {
        const e = await verifyWebhook(secret, h, body, { now: NOW });
        assert.deepEqual(e, {
          id: "msg_1",
          type: "key.created",
          timestamp: new Date("2026-03-04T05:06:00Z"),
          data: { key_id: "key_1", name: "ci" },
        });
      }
    });
  }

  test("a secret without whsec_, or with surrounding spaces", async () => {
    for (const s of [secret.slice(6), ` ${secret}\n`]) {
      assert.equal((await verifyWebhook(s, headers("msg_1", TS, good), BODY, { now: NOW })).id, "msg_1");
    }
  });

  test("unknown types and any data pass through", async () => {
    for (const body of [
      '{"type":"something.new","timestamp":"2026-03-04T05:06:07.123456789+01:00","data":[1,2]}',
      '{"type":"webhook.test","timestamp":"2026-03-04T05:06:07Z"}',
    ]) {
      const e = await verifyWebhook(secret, headers("msg_2", TS, refSign(secret, "msg_2", TS, body)), body, { now: NOW });
      assert.equal(e.type, JSON.parse(body).type);
      assert.deepEqual(e.data, JSON.parse(body).data ?? null);
      assert.equal(e.timestamp.getTime(), Date.parse(JSON.parse(body).timestamp));
    }
  });

  test("the default clock", async () => {
    const ts = Math.floor(Date.now() / 1000);
    const e = await verifyWebhook(secret, headers("msg_1", ts, refSign(secret, "msg_1", ts, BODY)), BODY);
    assert.equal(e.type, "key.created");
  });
});

describe("refuses", () => {
  const secret = newSecret();
  const other = newSecret();
  const good = refSign(secret, "msg_1", TS, BODY);
  const sign = (ts, body) => refSign(secret, "msg_1", ts, body);
  const without = (name) => {
    const h = headers("msg_1", TS, good);
    delete h[name];
    return h;
  };
  const withTS = (v) => ({ ...headers("msg_1", TS, good), "webhook-timestamp": v });
  const signed = (body) => [headers("msg_1", TS, sign(TS, body)), body];
  const cases = [
    ["no webhook-id", without("webhook-id"), BODY, "missing_header", "webhook-id"],
    ["no webhook-timestamp", without("webhook-timestamp"), BODY, "missing_header", "webhook-timestamp"],
    ["no webhook-signature", without("webhook-signature"), BODY, "missing_header", "webhook-signature"],
    ["an empty webhook-signature", headers("msg_1", TS, " "), BODY, "missing_header", "webhook-signature"],
    ["a non-numeric timestamp", withTS("yesterday"), BODY, "timestamp", "not integer"],
    ["a fractional timestamp", withTS(`${TS}.5`), BODY, "timestamp", "not integer"],
    ["a signed timestamp", withTS(`+${TS}`), BODY, "timestamp", "not integer"],
    ["a huge timestamp", withTS("99999999999999999999999"), BODY, "timestamp", "too new"],
    ["a timestamp too old", headers("msg_1", TS - 301, sign(TS - 301, BODY)), BODY, "timestamp", "too old"],
    ["a timestamp too new", headers("msg_1", TS + 301, sign(TS + 301, BODY)), BODY, "timestamp", "too new"],
    ["a tampered body", headers("msg_1", TS, good), BODY.replace("ci", "cj"), "signature", "no v1 signature matches"],
    ["another id", headers("msg_2", TS, good), BODY, "signature", "no v1 signature matches"],
    ["a changed timestamp", headers("msg_1", TS - 1, good), BODY, "signature", "no v1 signature matches"],
    ["the wrong secret", headers("msg_1", TS, refSign(other, "msg_1", TS, BODY)), BODY, "signature", "no v1 signature matches"],
    ["other versions only", headers("msg_1", TS, `v1a,${good.slice(3)} v2,${good.slice(3)}`), BODY, "signature", "no v1 entry"],
    ["v1 without a comma", headers("msg_1", TS, `v1${good.slice(3)}`), BODY, "signature", "no v1 entry"],
    ["not base64", headers("msg_1", TS, `v1,${"!".repeat(44)}`), BODY, "signature", "no v1 signature matches"],
    ["a truncated signature", headers("msg_1", TS, good.slice(0, -4)), BODY, "signature", "no v1 signature matches"],
    ["bad JSON after a valid signature", ...signed('{"type":'), "payload", "not a keyward event"],
    ["a JSON array", ...signed("[1]"), "payload", "not a keyward event"],
    ["no type", ...signed('{"timestamp":"2026-03-04T05:06:00Z"}'), "payload", "type"],
    ["no timestamp", ...signed('{"type":"key.created"}'), "payload", "timestamp"],
    ["a timestamp not RFC 3339", ...signed('{"type":"a","timestamp":"2026-03-04 05:06:00"}'), "payload", "RFC 3339"],
  ];
  for (const [name, h, body, reason, says] of cases) {
    test(name, async () => {
      await refused(verifyWebhook(secret, h, body, { now: NOW }), reason, says, [secret, good, h["webhook-signature"] ?? ""]);
    });
  }

  test("a body that is not UTF-8, signed", async () => {
    const body = Buffer.concat([Buffer.from('{"type":"a'), Buffer.from([0xff]), Buffer.from('","timestamp":"2026-03-04T05:06:00Z"}')]);
    await refused(verifyWebhook(secret, headers("msg_1", TS, sign(TS, body)), body, { now: NOW }), "payload", "not a keyward event", [secret]);
  });

  test("a shorter tolerance", async () => {
    const at = (off) => headers("msg_1", TS + off, sign(TS + off, BODY));
    assert.equal((await verifyWebhook(secret, at(-60), BODY, { now: NOW, toleranceSeconds: 60 })).id, "msg_1");
    assert.equal((await verifyWebhook(secret, at(60), BODY, { now: NOW, toleranceSeconds: 60 })).id, "msg_1");
    await refused(verifyWebhook(secret, at(-61), BODY, { now: NOW, toleranceSeconds: 60 }), "timestamp", "too old", []);
    await refused(verifyWebhook(secret, at(61), BODY, { now: NOW, toleranceSeconds: 60 }), "timestamp", "too new", []);
  });
});

test("a bad secret or option is a KeywardConfigError that does not hold the secret", async () => {
  const h = headers(SPEC.id, SPEC.ts, SPEC.signature);
  for (const s of ["", "  ", "whsec_", "whsec_not base64!", "whsec_c2VjcmV0LQ", "c2VjcmV0LQ", "whsec_-_-_", undefined]) {
    await assert.rejects(verifyWebhook(s, h, SPEC.body), (err) => {
      assert.ok(err instanceof KeywardConfigError, `${err}`);
      assert.equal(err.code, "INVALID_OPTION");
      const inner = (s ?? "").replace(/^whsec_/, "").trim();
      assert.ok(inner === "" || !err.message.includes(inner), "the message holds the secret");
      return true;
    });
  }
  for (const opts of [{ toleranceSeconds: 0 }, { toleranceSeconds: NaN }, { now: new Date(NaN) }]) {
    await assert.rejects(verifyWebhook(SPEC.secret, h, SPEC.body, opts), KeywardConfigError);
  }
});
