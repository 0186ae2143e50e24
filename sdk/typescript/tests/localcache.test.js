// The LocalCache against a real `keyward serve`, through a proxy that
// counts verify calls and can cut, refuse, freeze or falsify the stream.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Keyward, KeywardRequestError, LocalCache, keyOf, keywardMiddleware } from "../dist/index.js";
import { eventWaiter, recordingLogger, serve, serverTest as server, skipReason, startKeyward, startProxy } from "./helpers.js";

let srv;
let org; // manages keys, straight to keyward
let keys; // the project's keys
let verifier; // the SDK's key: keys:verify only

before(async () => {
  if (skipReason) return;
  srv = await startKeyward();
  org = new Keyward({ baseUrl: srv.url, orgApiKey: srv.orgKey, env: {} });
  const p = await org.org.projects.create({ name: "Shop", custom_scopes: ["orders:read"] });
  keys = org.org.projectKeys(p.id);
  verifier = await keys.create({ name: "backend", scopes: ["keys:verify"] });
});
after(() => srv?.stop());

/**
 * A proxy in front of keyward and a started LocalCache behind it, live.
 * close() stops both.
 */
async function setup(t, opts = {}, target = srv) {
  const proxy = await startProxy(target.url);
  const kw = new Keyward({ baseUrl: proxy.url, apiKey: verifier.secret, env: {} });
  const events = eventWaiter();
  const log = recordingLogger();
  const cache = new LocalCache(kw, { logger: log.logger, onEvent: events.onEvent, ...opts });
  const live = events.next((e) => e.live, "that is live");
  await cache.start();
  await live;
  assert.ok(cache.live);
  t.after(async () => {
    await cache.close();
    await proxy.close();
  });
  /** How many verify calls reached keyward while fn ran. */
  const calls = async (fn) => {
    const before = proxy.verifies;
    await fn();
    return proxy.verifies - before;
  };
  return { proxy, kw, cache, events, log, calls };
}

test("answers from memory until the stream names the key", server, async (t) => {
  const s = await setup(t);
  const k = await keys.create({ name: "customer", scopes: ["orders:read"], ip_allowlist: ["10.0.0.0/8"] });
  // Its creation comes down the stream too; an answer that crosses that
  // event is not kept, so wait for it.
  await s.events.named(k.id);
  const input = { key: k.secret, ip: "10.1.2.3", scopes: ["orders:read"] };

  assert.equal(await s.calls(async () => assert.equal((await s.cache.verify(input)).key.id, k.id)), 1);
  assert.equal(s.cache.size, 1);
  const n = await s.calls(async () => {
    for (let i = 0; i < 5; i++) {
      const r = await s.cache.verify(input);
      assert.deepEqual([r.valid, r.code, r.key.id, r.key.status], [true, "VALID", k.id, "active"]);
    }
    // keyward's checks hold on answers from memory.
    assert.equal((await s.cache.verify({ key: k.secret, ip: "192.0.2.1" })).code, "IP_NOT_ALLOWED");
    assert.equal((await s.cache.verify({ key: k.secret })).code, "IP_NOT_ALLOWED");
    assert.equal((await s.cache.verify({ ...input, scopes: ["keys:write"] })).code, "INSUFFICIENT_SCOPE");
  });
  assert.equal(n, 0, "answers from memory called keyward");

  // Revoke it while requests keep verifying it: once the stream has named
  // it, no verification that starts afterwards accepts it.
  let named = false;
  let stop = false;
  let violations = 0;
  let during = 0;
  const loops = [1, 2, 3, 4].map(async () => {
    while (!stop) {
      const after = named;
      const r = await s.cache.verify(input).catch(() => undefined);
      during++;
      if (r?.valid && after) violations++;
    }
  });
  try {
    const revoked = s.events.next((e) => e.key_ids.includes(k.id), `naming ${k.id}`);
    await org.org.projectKeys(k.project_id).revoke(k.id);
    await revoked;
    named = true;
    const r = await s.cache.verify(input);
    assert.deepEqual([r.valid, r.code], [false, "INVALID"]);
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  assert.equal(violations, 0, `${violations} verifications accepted the revoked key after the stream named it`);
  assert.ok(during > 0);
});

test("the middleware refuses a revoked key on the next request after the stream names it", server, async (t) => {
  const s = await setup(t);
  const k = await keys.create({ name: "customer", scopes: ["orders:read"] });
  await s.events.named(k.id);
  const mw = keywardMiddleware(s.kw, { localCache: s.cache, requireScopes: ["orders:read"] });
  const app = await serve((req, res) => mw(req, res, () => res.end(keyOf(req).id)));
  t.after(() => app.close());
  const get = () => fetch(app.url, { headers: { authorization: `Bearer ${k.secret}` } });

  assert.equal(await s.calls(async () => assert.equal(await (await get()).text(), k.id)), 1);
  assert.equal(await s.calls(async () => assert.equal((await get()).status, 200)), 0, "the second request called keyward");

  const named = s.events.next((e) => e.key_ids.includes(k.id), `naming ${k.id}`);
  await org.org.projectKeys(k.project_id).revoke(k.id);
  await named;
  const n = await s.calls(async () => {
    const res = await get();
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, "API_KEY_INVALID");
  });
  assert.equal(n, 1, "the forgotten key was asked about");
});

test("asks keyward for every key while the stream is down, and uses memory again once it is back", server, async (t) => {
  const s = await setup(t);
  const k = await keys.create({ name: "customer" });
  await s.events.named(k.id);
  const input = { key: k.secret };
  await s.cache.verify(input);
  assert.equal(await s.calls(() => s.cache.verify(input)), 0);

  const lost = s.log.next(/stream lost/);
  s.proxy.refuseStream = true;
  s.proxy.cutStreams();
  await lost;
  assert.equal(s.cache.live, false);
  assert.equal(s.cache.size, 0, "a lost stream empties memory");
  const n = await s.calls(async () => {
    for (let i = 0; i < 3; i++) assert.equal((await s.cache.verify(input)).valid, true);
  });
  assert.equal(n, 3, "verifications without a stream must each ask keyward");

  // It reconnects by itself and answers from memory again.
  const back = s.log.next(/stream is back/);
  s.proxy.refuseStream = false;
  await back;
  assert.ok(s.cache.live);
  assert.equal(await s.calls(() => s.cache.verify(input)), 1);
  assert.equal(await s.calls(() => s.cache.verify(input)), 0);
});

test("a stream that falls silent is given up", server, async (t) => {
  // keyward beats every 5 s; the cache gives up after silenceMs without an event.
  const s = await setup(t, { silenceMs: 6000 });
  const k = await keys.create({ name: "customer" });
  await s.events.named(k.id);
  const input = { key: k.secret };
  await s.cache.verify(input);

  const lost = s.log.next(/stream lost/);
  s.proxy.freezeStreams = true; // the connection stays open; nothing arrives
  const line = await lost;
  assert.match(line.fields.error, /sent nothing for 6000 ms/);
  assert.equal(s.cache.live, false);
  assert.equal(await s.calls(() => s.cache.verify(input)), 1);

  const back = s.log.next(/stream is back/);
  s.proxy.freezeStreams = false;
  await back;
  assert.ok(s.cache.live);
});

test("keeps only fresh answers: rate-limited and unknown keys are always asked, stale answers refused", server, async (t) => {
  const s = await setup(t);
  const limited = await keys.create({ name: "limited", rate_limit: { limit: 1000, window: "1m" } });
  const plain = await keys.create({ name: "plain" });
  await s.events.named(plain.id); // the stream's position is past both keys

  const verifyN = async (key, n) =>
    s.calls(async () => {
      for (let i = 0; i < n; i++) assert.equal((await s.cache.verify({ key })).valid, true);
    });
  // A rate-limited key's budget is counted by keyward.
  assert.equal(await verifyN(limited.secret, 3), 3, "a rate-limited key was answered from memory");
  const r = await s.cache.verify({ key: limited.secret });
  assert.equal(r.rate_limit.remaining, 1000 - 4, "keyward's window comes with the answer");

  // Every question carries the stream's position; an answer older than it
  // (a keyward that ignored the position) is refused: fail closed.
  for (const seq of ["0", ""]) {
    s.proxy.seqOverride = seq;
    await assert.rejects(s.cache.verify({ key: plain.secret }), (e) => e instanceof KeywardRequestError && /older than the stream/.test(e.message), `position ${JSON.stringify(seq)}`);
  }
  s.proxy.seqOverride = undefined;
  assert.match(s.proxy.lastMin ?? "", /^\d+$/, "verify requests carry Keyward-Min-Change-Seq");
  assert.ok(Number(s.proxy.lastMin) > 0);
  assert.equal(await verifyN(plain.secret, 3), 1, "with a fresh position, 3 verifications should make 1 call");

  // Unknown keys are never remembered.
  const bogus = "kwp_0123456789abcdef0123456789abcdef0123";
  const n = await s.calls(async () => {
    for (let i = 0; i < 2; i++) assert.equal((await s.cache.verify({ key: bogus })).code, "INVALID");
  });
  assert.equal(n, 2);
  assert.equal(s.cache.size, 1, "only the plain key is held");
});

test("concurrent questions about one key share one call to keyward", server, async (t) => {
  const s = await setup(t);
  const k = await keys.create({ name: "customer", scopes: ["orders:read"] });
  await s.events.named(k.id);
  let results;
  const n = await s.calls(async () => {
    results = await Promise.all([
      s.cache.verify({ key: k.secret, scopes: ["orders:read"] }),
      s.cache.verify({ key: k.secret }),
      s.cache.verify({ key: k.secret, scopes: ["keys:write"] }), // checked against the shared answer
      s.cache.verify({ key: k.secret, ip: "192.0.2.1" }),
    ]);
  });
  assert.equal(n, 1, "four concurrent misses should make one call");
  assert.deepEqual(results.map((r) => r.code), ["VALID", "VALID", "INSUFFICIENT_SCOPE", "VALID"]);
  assert.equal(s.cache.size, 1);
});

test("a key in use is asked about again once per TTL", server, async (t) => {
  let now = Date.now();
  const s = await setup(t, { ttlMs: 60_000, clock: () => now });
  const k = await keys.create({ name: "customer" });
  await s.events.named(k.id);
  const input = { key: k.secret };
  assert.equal(await s.calls(() => s.cache.verify(input)), 1);
  now += 59_999;
  assert.equal(await s.calls(() => s.cache.verify(input)), 0);
  now += 1;
  assert.equal(await s.calls(() => s.cache.verify(input)), 1, "a key used after its TTL should be asked about");
  assert.equal(await s.calls(() => s.cache.verify(input)), 0);
});

test("a key's expiry is checked in memory", server, async (t) => {
  let now = Date.now();
  const s = await setup(t, { ttlMs: 24 * 3600_000, clock: () => now });
  const k = await keys.create({ name: "customer", expires_in: "30m" });
  await s.events.named(k.id);
  const input = { key: k.secret };
  assert.equal((await s.cache.verify(input)).valid, true);
  now = Date.parse(k.expires_at);
  const n = await s.calls(async () => assert.deepEqual(await s.cache.verify(input), { valid: false, code: "EXPIRED" }));
  assert.equal(n, 0);
});

test("an org cache follows the org's stream", server, async (t) => {
  const proxy = await startProxy(srv.url);
  t.after(() => proxy.close());
  const kw = new Keyward({ baseUrl: proxy.url, orgApiKey: srv.orgKey, env: {} });
  const events = eventWaiter();
  const cache = new LocalCache(kw, { org: true, onEvent: events.onEvent, logger: recordingLogger().logger });
  t.after(() => cache.close());
  const live = events.next((e) => e.live, "that is live");
  await cache.start();
  await live;
  const k = await keys.create({ name: "customer" });
  await events.named(k.id);
  await cache.verify({ key: k.secret });
  const before = proxy.verifies;
  assert.equal((await cache.verify({ key: k.secret })).key.id, k.id);
  assert.equal(proxy.verifies - before, 0);
});

test("start() refuses a key without keys:verify", server, async () => {
  const reader = await keys.create({ name: "reader", scopes: ["orders:read"] });
  const kw = new Keyward({ baseUrl: srv.url, env: { KEYWARD_API_KEY: reader.secret } });
  const cache = new LocalCache(kw, { logger: recordingLogger().logger });
  await assert.rejects(cache.start(), (e) => e.code === "SCOPE_MISSING" && /KEYWARD_API_KEY/.test(e.message));
  assert.equal(cache.live, false);
});

test("keyward down: memory is dropped, verify throws and the middleware answers 503", server, async (t) => {
  // A server of its own, to kill.
  const own = await startKeyward();
  t.after(() => own.stop());
  const ownOrg = new Keyward({ baseUrl: own.url, orgApiKey: own.orgKey, env: {} });
  const p = await ownOrg.org.projects.create({ name: "Down" });
  const v = await ownOrg.org.projectKeys(p.id).create({ name: "backend", scopes: ["keys:verify"] });
  const k = await ownOrg.org.projectKeys(p.id).create({ name: "customer" });

  const kw = new Keyward({ baseUrl: own.url, apiKey: v.secret, env: {} });
  const events = eventWaiter();
  const log = recordingLogger();
  const cache = new LocalCache(kw, { onEvent: events.onEvent, logger: log.logger });
  t.after(() => cache.close());
  const live = events.next((e) => e.live, "that is live");
  await cache.start();
  await live; // k was made before the stream's start: no event will name it
  let ran = 0;
  const mw = keywardMiddleware(kw, { localCache: cache, logger: log.logger });
  const app = await serve((req, res) => mw(req, res, () => (ran++, res.end("ok"))));
  t.after(() => app.close());
  const get = () => fetch(app.url, { headers: { "x-api-key": k.secret } });
  assert.equal((await get()).status, 200);
  assert.equal((await get()).status, 200);
  assert.equal(cache.size, 1);

  const lost = log.next(/stream lost/);
  await own.kill();
  await lost;
  assert.equal(cache.live, false);
  assert.equal(cache.size, 0);
  await assert.rejects(cache.verify({ key: k.secret }), KeywardRequestError);
  const res = await get();
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error.code, "UNAVAILABLE");
  assert.equal(ran, 2, "a request was let through while keyward was down");
  assert.ok(log.lines.some((l) => l.level === "error" && /verify failed/.test(l.message)));
  assert.ok(!log.lines.some((l) => JSON.stringify(l).includes(k.secret)), "a log line holds the key");
});
