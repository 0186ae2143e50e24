// Verification and the middlewares against a real `keyward serve`: every
// verify code, the Connect middleware and the web-standard handlers served
// over node:http, and failing closed when keyward is down.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  FORWARD_AUTH_HEADERS,
  Keyward,
  KeywardRequestError,
  forwardAuthHandler,
  keyOf,
  keywardMiddleware,
  protect,
  silentLogger,
} from "../dist/index.js";
import { serve, serverTest as server, skipReason, startKeyward, webAdapter } from "./helpers.js";

let srv;
let keys; // manages the project's keys (org key)
let kw; // verifies: a project key with keys:verify only
const k = {}; // the keys under test, by name

before(async () => {
  if (skipReason) return;
  srv = await startKeyward();
  const org = new Keyward({ baseUrl: srv.url, orgApiKey: srv.orgKey, env: {} });
  const p = await org.org.projects.create({ name: "Shop", custom_scopes: ["orders:read", "orders:write"] });
  keys = org.org.projectKeys(p.id);
  const verifier = await keys.create({ name: "backend", scopes: ["keys:verify"] });
  kw = new Keyward({ baseUrl: srv.url, apiKey: verifier.secret, env: {} });
  k.reader = await keys.create({ name: "reader", scopes: ["orders:read"], metadata: { plan: "pro", city: "Zürich" } });
  k.office = await keys.create({ name: "office", scopes: ["orders:read"], ip_allowlist: ["10.0.0.0/8"] });
  k.local = await keys.create({ name: "local", scopes: ["orders:read"], ip_allowlist: ["127.0.0.1/32"] });
  k.revoked = await keys.create({ name: "revoked", scopes: ["orders:read"] });
  await keys.revoke(k.revoked.id);
  k.expiring = await keys.create({ name: "expiring", scopes: ["orders:read"], expires_in: "1s" });
});
after(() => srv?.stop());

/** Waits until keyward's clock has passed the key's expiry (the wait is the expiry itself). */
async function untilExpired(key) {
  const left = Date.parse(key.expires_at) - Date.now() + 50;
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}

describe("verify", server, () => {
  test("a valid key, with the scopes asked for", async () => {
    const r = await kw.verify({ key: k.reader.secret, scopes: ["orders:read"] });
    assert.equal(r.valid, true);
    assert.equal(r.code, "VALID");
    assert.equal(r.key.id, k.reader.id);
    assert.equal(r.key.secret, undefined);
    assert.equal(r.rate_limit, undefined, "no window for a key without a rate limit");
  });

  test("unknown, malformed and revoked keys are INVALID, not errors", async () => {
    for (const key of [k.revoked.secret, "kwp_nope", "x".repeat(40)]) {
      const r = await kw.verify({ key });
      assert.deepEqual([r.valid, r.code, r.key], [false, "INVALID", undefined]);
    }
  });

  test("a scope the key lacks", async () => {
    const r = await kw.verify({ key: k.reader.secret, scopes: ["orders:write"] });
    assert.deepEqual([r.valid, r.code], [false, "INSUFFICIENT_SCOPE"]);
  });

  test("an IP allowlist", async () => {
    assert.equal((await kw.verify({ key: k.office.secret, ip: "10.1.2.3" })).code, "VALID");
    assert.equal((await kw.verify({ key: k.office.secret, ip: "192.0.2.1" })).code, "IP_NOT_ALLOWED");
    assert.equal((await kw.verify({ key: k.office.secret })).code, "IP_NOT_ALLOWED");
  });

  test("an expired key", async () => {
    await untilExpired(k.expiring);
    const r = await kw.verify({ key: k.expiring.secret });
    assert.deepEqual([r.valid, r.code], [false, "EXPIRED"]);
  });

  test("a rate-limited key: the window in each answer, then RATE_LIMITED", async () => {
    const limited = await keys.create({ name: "limited", scopes: ["orders:read"], rate_limit: { limit: 2, window: "1m" } });
    const a = await kw.verify({ key: limited.secret });
    const b = await kw.verify({ key: limited.secret });
    const c = await kw.verify({ key: limited.secret });
    assert.deepEqual([a.code, a.rate_limit.limit, a.rate_limit.remaining], ["VALID", 2, 1]);
    assert.deepEqual([b.code, b.rate_limit.remaining], ["VALID", 0]);
    assert.deepEqual([c.valid, c.code, c.rate_limit.remaining], [false, "RATE_LIMITED", 0]);
    assert.ok(Date.parse(c.rate_limit.reset) > Date.now(), "the window resets later");
  });

  test("the org key verifies keys of any project", async () => {
    const org = new Keyward({ baseUrl: srv.url, orgApiKey: srv.orgKey, env: {} });
    assert.equal((await org.org.verify({ key: k.reader.secret })).key.id, k.reader.id);
  });
});

/** Checks the error contract of a refusal, and that it never echoes the key. */
async function checkRefusal(res, status, code) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("cache-control"), "no-store");
  const { error } = JSON.parse(text);
  assert.equal(error.code, code);
  assert.equal(error.status, status);
  assert.ok(error.message);
  assert.match(error.request_id, /^req_[0-9A-Z]{26}$/);
  assert.equal(res.headers.get("x-request-id"), error.request_id);
  assert.ok(!text.includes("kwp_"), "the body echoes a key");
  if (status === 401) assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="api"');
  return error;
}

/**
 * The refusals every middleware gives, by the request's headers (a
 * function: the keys exist only once the server has started).
 */
const refusalCases = [
  ["no key", () => ({}), 401, "API_KEY_MISSING"],
  ["Basic auth is not a key", () => ({ authorization: "Basic dXNlcjpwYXNz" }), 401, "API_KEY_MISSING"],
  ["two different keys", () => ({ "x-api-key": k.reader.secret, authorization: `Bearer ${k.office.secret}` }), 400, "AMBIGUOUS_CREDENTIALS"],
  ["a revoked key", () => ({ "x-api-key": k.revoked.secret }), 401, "API_KEY_INVALID"],
  ["an overlong key", () => ({ "x-api-key": "kwp_" + "a".repeat(300) }), 401, "API_KEY_INVALID"],
  ["an expired key", () => ({ "x-api-key": k.expiring.secret }), 401, "API_KEY_EXPIRED"],
  ["a key without the scope", () => ({ authorization: `Bearer ${k.reader.secret}` }), 403, "PERMISSION_DENIED", ["orders:write"]],
  ["a key from outside its allowlist", () => ({ "x-api-key": k.office.secret }), 403, "IP_NOT_ALLOWED"],
];

describe("Connect middleware over node:http", server, () => {
  let app;
  let ran = 0;
  before(async () => {
    await untilExpired(k.expiring);
    const plain = keywardMiddleware(kw, { requireScopes: ["orders:read"] });
    const strict = keywardMiddleware(kw, { requireScopes: ["orders:write"] });
    // What Express does: run the middleware, then the route with req.
    app = await serve((req, res) => {
      const mw = req.url === "/write" ? strict : plain;
      mw(req, res, (err) => {
        assert.equal(err, undefined);
        ran++;
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify({ key: keyOf(req).id }));
      });
    });
  });
  after(() => app?.close());

  test("a valid key reaches the handler, which reads it with keyOf", async () => {
    for (const headers of [{ "x-api-key": k.reader.secret }, { authorization: `bearer ${k.reader.secret}` }, { "x-api-key": k.reader.secret, authorization: `Bearer ${k.reader.secret}` }]) {
      const res = await fetch(app.url, { headers });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { key: k.reader.id });
    }
    // The default address is the socket's: 127.0.0.1 is on this key's allowlist.
    const res = await fetch(app.url, { headers: { "x-api-key": k.local.secret } });
    assert.equal(res.status, 200, await res.clone().text());
  });

  for (const [name, headers, status, code, scopes] of refusalCases) {
    test(`${name}: ${status} ${code}`, async () => {
      const before = ran;
      const res = await fetch(app.url + (scopes ? "/write" : "/"), { headers: headers() });
      await checkRefusal(res, status, code);
      assert.equal(ran, before, "the handler ran");
    });
  }

  test("a rate-limited key: X-RateLimit-* on each answer, then 429 with Retry-After", async () => {
    const limited = await keys.create({ name: "limited-mw", scopes: ["orders:read"], rate_limit: { limit: 1, window: "1m" } });
    const ok = await fetch(app.url, { headers: { "x-api-key": limited.secret } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("x-ratelimit-limit"), "1");
    assert.equal(ok.headers.get("x-ratelimit-remaining"), "0");
    const reset = Number(ok.headers.get("x-ratelimit-reset"));
    assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + 61, `reset ${reset}`);
    const res = await fetch(app.url, { headers: { "x-api-key": limited.secret } });
    await checkRefusal(res, 429, "RATE_LIMITED");
    const wait = Number(res.headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 61, `Retry-After ${wait}`);
    assert.equal(res.headers.get("x-ratelimit-remaining"), "0");
  });

  test("clientIp says where the caller is", async () => {
    const behindProxy = keywardMiddleware(kw, { clientIp: (req) => req.headers["x-test-client"] });
    const proxied = await serve((req, res) => behindProxy(req, res, () => res.end("ok")));
    try {
      const inside = await fetch(proxied.url, { headers: { "x-api-key": k.office.secret, "x-test-client": "10.9.8.7" } });
      assert.equal(inside.status, 200);
      const outside = await fetch(proxied.url, { headers: { "x-api-key": k.office.secret, "x-test-client": "192.0.2.1" } });
      await checkRefusal(outside, 403, "IP_NOT_ALLOWED");
    } finally {
      await proxied.close();
    }
  });
});

describe("web-standard handler (protect)", server, () => {
  let h; // a protected handler requiring scopes (kw exists only once before has run)
  let calls = 0;
  before(async () => {
    await untilExpired(k.expiring);
    h = (scopes) =>
      protect(
        kw,
        async (request, ctx) => {
          calls++;
          return Response.json({ key: keyOf(request).id, ip: ctx?.remoteAddress ?? null });
        },
        { requireScopes: scopes, clientIp: (request) => request.headers.get("x-test-client") },
      );
  });

  test("called directly with a Request", async () => {
    const res = await h(["orders:read"])(new Request("http://api.test/orders", { headers: { "x-api-key": k.reader.secret } }));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { key: k.reader.id, ip: null });
    for (const [name, headers, status, code, scopes] of refusalCases) {
      const before = calls;
      const headersWithIp = { ...headers(), "x-test-client": "192.0.2.1" };
      const r = await h(scopes ?? ["orders:read"])(new Request("http://api.test/orders", { headers: headersWithIp }));
      await checkRefusal(r, status, code);
      assert.equal(calls, before, `${name}: the handler ran`);
    }
  });

  test("served over node:http, with the platform's extra arguments passed on", async () => {
    const app = await serve(webAdapter(h(["orders:read"])));
    try {
      const res = await fetch(app.url, { headers: { "x-api-key": k.office.secret, "x-test-client": "10.0.0.1" } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { key: k.office.id, ip: "127.0.0.1" });
      await checkRefusal(await fetch(app.url, { headers: { "x-api-key": k.office.secret } }), 403, "IP_NOT_ALLOWED");
    } finally {
      await app.close();
    }
  });

  test("a handler's immutable answer still gets the key's X-RateLimit-*", async () => {
    const limited = await keys.create({ name: "limited-web", scopes: ["orders:read"], rate_limit: { limit: 5, window: "1m" } });
    const upstream = await serve((req, res) => res.end("from upstream"));
    try {
      // A Response from fetch has immutable headers.
      const passThrough = protect(kw, () => fetch(upstream.url));
      const res = await passThrough(new Request("http://api.test/", { headers: { "x-api-key": limited.secret } }));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "from upstream");
      assert.equal(res.headers.get("x-ratelimit-remaining"), "4");
    } finally {
      await upstream.close();
    }
  });
});

describe("forward authentication", server, () => {
  let auth;
  const h = FORWARD_AUTH_HEADERS;
  before(async () => {
    await untilExpired(k.expiring);
    auth = await serve(
      webAdapter(
        forwardAuthHandler(kw, {
          requireScopes: ["orders:read"],
          clientIp: (request) => request.headers.get("x-forwarded-for")?.split(",")[0].trim(),
        }),
      ),
    );
  });
  after(() => auth?.close());

  test("200 with the key's identity in headers", async () => {
    const res = await fetch(auth.url + "/any/path?x=1", { headers: { authorization: `Bearer ${k.reader.secret}`, "x-forwarded-for": "192.0.2.9" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get(h.keyId), k.reader.id);
    assert.equal(res.headers.get(h.projectId), k.reader.project_id);
    assert.equal(res.headers.get(h.ownerId), "");
    assert.equal(res.headers.get(h.scopes), "orders:read");
    assert.deepEqual(JSON.parse(res.headers.get(h.metadata)), { plan: "pro", city: "Zürich" });
    assert.equal(res.headers.get(h.errorCode), null);
  });

  test("the forwarded address is checked against the allowlist", async () => {
    const inside = await fetch(auth.url, { headers: { "x-api-key": k.office.secret, "x-forwarded-for": "10.1.1.1, 192.0.2.1" } });
    assert.equal(inside.status, 200);
    const outside = await fetch(auth.url, { headers: { "x-api-key": k.office.secret, "x-forwarded-for": "192.0.2.1" } });
    await checkRefusal(outside.clone(), 403, "IP_NOT_ALLOWED");
    assert.equal(outside.headers.get(h.errorCode), "IP_NOT_ALLOWED");
  });

  test("a refusal names its code in a header too", async () => {
    const res = await fetch(auth.url, { headers: { "x-api-key": k.revoked.secret } });
    assert.equal(res.headers.get(h.errorCode), "API_KEY_INVALID");
    await checkRefusal(res, 401, "API_KEY_INVALID");
  });
});

// Runs last in this file: it stops the server.
describe("keyward down: every path fails closed", server, () => {
  test("verify throws, and every middleware answers 503 without running the handler", async () => {
    // The same key is accepted while keyward is up…
    const headers = { "x-api-key": k.reader.secret };
    let ran = 0;
    const mw = keywardMiddleware(kw, { logger: silentLogger });
    const app = await serve((req, res) => mw(req, res, () => (ran++, res.end("ok"))));
    const web = protect(kw, () => (ran++, new Response("ok")), { logger: silentLogger });
    const fwd = forwardAuthHandler(kw, { logger: silentLogger });
    try {
      assert.equal((await fetch(app.url, { headers })).status, 200);
      assert.equal((await web(new Request("http://api.test/", { headers }))).status, 200);
      assert.equal((await fwd(new Request("http://api.test/", { headers }))).status, 200);
      assert.equal(ran, 2);

      // …and never once keyward is gone.
      await srv.kill();
      await assert.rejects(kw.verify({ key: k.reader.secret }), (e) => e instanceof KeywardRequestError && /ECONNREFUSED/.test(e.message));
      await checkRefusal(await fetch(app.url, { headers }), 503, "UNAVAILABLE");
      await checkRefusal(await web(new Request("http://api.test/", { headers })), 503, "UNAVAILABLE");
      const f = await fwd(new Request("http://api.test/", { headers }));
      assert.equal(f.headers.get(FORWARD_AUTH_HEADERS.errorCode), "UNAVAILABLE");
      await checkRefusal(f, 503, "UNAVAILABLE");
      assert.equal(ran, 2, "a handler ran while keyward was down");
    } finally {
      await app.close();
    }
  });
});
