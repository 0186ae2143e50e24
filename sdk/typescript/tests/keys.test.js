// Key management and the org endpoints against a real `keyward serve`.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Keyward, KeywardConfigError, KeywardError, hasCode } from "../dist/index.js";
import { serverTest as server, skipReason, startKeyward } from "./helpers.js";

let srv;
let org; // a client with the bootstrap org key
let project;
let admin; // a project key with every project scope
let kw; // a client with admin's key, read from the environment object

before(async () => {
  if (skipReason) return;
  srv = await startKeyward();
  org = new Keyward({ baseUrl: srv.url, orgApiKey: srv.orgKey, env: {} });
  project = await org.org.projects.create({ name: "Shop", custom_scopes: ["orders:read"] });
  admin = await org.org.projectKeys(project.id).create({
    name: "admin",
    scopes: ["keys:read", "keys:write", "keys:verify", "audit:read", "orders:read"],
  });
  kw = new Keyward({ env: { KEYWARD_URL: srv.url, KEYWARD_API_KEY: admin.secret } });
});
after(() => srv?.stop());

test("whoami describes each key", server, async () => {
  const o = await org.org.whoami();
  assert.equal(o.kind, "org");
  const w = await kw.whoami();
  assert.equal(w.key_id, admin.id);
  assert.equal(w.kind, "project");
  assert.equal(w.project_id, project.id);
  assert.ok(w.scopes.includes("keys:verify"));
});

test("a key's life: create, list by cursor, get, update, rotate, revoke, delete", server, async () => {
  const made = [];
  for (const name of ["one", "two", "three"]) {
    const k = await kw.keys.create({ name, scopes: ["orders:read"], metadata: { team: "web" } });
    assert.match(k.secret, /^kwp_[0-9A-Za-z]{36}$/);
    assert.deepEqual(k.scopes, ["orders:read"]);
    made.push(k);
  }

  // Pages of one, newest first, by cursor.
  const first = await kw.keys.list({ limit: 1 });
  assert.equal(first.data.length, 1);
  assert.equal(first.data[0].id, made[2].id);
  assert.equal(first.data[0].secret, undefined, "a listed key has no secret");
  assert.ok(first.next_cursor);
  const second = await kw.keys.list({ limit: 1, cursor: first.next_cursor });
  assert.equal(second.data[0].id, made[1].id);
  const ids = [];
  for await (const k of kw.keys.all({ limit: 1 })) ids.push(k.id);
  assert.deepEqual(ids, [made[2].id, made[1].id, made[0].id, admin.id]);
  const found = await kw.keys.list({ q: "two" });
  assert.deepEqual(found.data.map((k) => k.id), [made[1].id]);

  const got = await kw.keys.get(made[0].id);
  assert.equal(got.name, "one");
  assert.equal(got.status, "active");
  assert.deepEqual(got.metadata, { team: "web" });

  const changed = await kw.keys.update(made[0].id, { name: "uno", metadata: null, rate_limit: { limit: 10, window: "1m" } });
  assert.equal(changed.name, "uno");
  assert.deepEqual(changed.metadata, {}, "null clears the metadata");
  assert.deepEqual(changed.rate_limit, { limit: 10, window: "1m" });
  assert.equal((await kw.keys.update(made[0].id, { rate_limit: null })).rate_limit, null);

  // Rotation with a grace period: the old key is expiring, replaced by the new one.
  const next = await kw.keys.rotate(made[1].id, { grace_period: "1h" });
  assert.notEqual(next.id, made[1].id);
  assert.ok(next.secret && next.secret !== made[1].secret);
  const old = await kw.keys.get(made[1].id);
  assert.equal(old.status, "expiring");
  assert.equal(old.replaced_by, next.id);

  // Revoke, twice (the second changes nothing), and delete.
  const revoked = await kw.keys.revoke(made[2].id, { reason: "leaked" });
  assert.equal(revoked.status, "revoked");
  assert.equal(revoked.revoke_reason, "leaked");
  const again = await kw.keys.revoke(made[2].id);
  assert.equal(again.status, "revoked");
  assert.equal(again.revoked_at, revoked.revoked_at);
  assert.equal((await kw.keys.delete(made[0].id)).status, "revoked");
  const gone = await kw.keys.list({ status: "revoked" });
  assert.deepEqual(new Set(gone.data.map((k) => k.id)), new Set([made[0].id, made[2].id]));

  // The audit log recorded it.
  const events = [];
  for await (const e of kw.audit.all({ action: "key.", limit: 2 })) events.push(e.action);
  assert.ok(events.includes("key.create") && events.includes("key.revoke") && events.includes("key.rotate"), events.join(","));
});

test("the org's keys and projects", server, async () => {
  const ok = await org.org.keys.create({ name: "ci", scopes: ["projects:read"] });
  assert.match(ok.secret, /^kwo_/);
  const ci = new Keyward({ baseUrl: srv.url, orgApiKey: ok.secret, env: {} });
  const projects = await ci.org.projects.list();
  assert.ok(projects.data.some((p) => p.id === project.id));
  // A key without projects:write cannot create a project.
  await assert.rejects(ci.org.projects.create({ name: "Nope" }), (e) => e instanceof KeywardError && e.status === 403 && e.code === "PERMISSION_DENIED");
  assert.equal((await org.org.keys.revoke(ok.id)).status, "revoked");

  const renamed = await org.org.projects.update(project.id, { name: "Shop 2" });
  assert.equal(renamed.name, "Shop 2");
  assert.equal((await org.org.projects.get(project.id)).name, "Shop 2");
  const settings = await org.org.settings.get();
  assert.equal(typeof settings.max_keys_per_project, "number");
  const members = await org.org.members.list();
  assert.deepEqual(members.data.map((m) => m.email), ["owner@example.com"]);
});

test("errors carry code, status, request id and the fields at fault", server, async () => {
  const nf = await kw.keys.get("key_01J00000000000000000000000").catch((e) => e);
  assert.ok(nf instanceof KeywardError);
  assert.equal(nf.code, "NOT_FOUND");
  assert.equal(nf.status, 404);
  assert.match(nf.requestId, /^req_/);
  assert.ok(nf.message.endsWith(`(${nf.requestId})`));

  const bad = await kw.keys.create({ name: "", scopes: ["no:such"] }).catch((e) => e);
  assert.ok(hasCode(bad, "INVALID_REQUEST"), String(bad));
  assert.equal(bad.status, 400);
  assert.ok(bad.details.length > 0 && bad.details.every((d) => d.field && d.problem), JSON.stringify(bad.details));

  const unknown = await kw.keys.list({ limit: 1000 }).catch((e) => e);
  assert.equal(unknown.code, "INVALID_REQUEST");

  // A revoked key is refused, and the error never holds it.
  const k = await kw.keys.create({ name: "short-lived", scopes: ["keys:read"] });
  await kw.keys.revoke(k.id);
  const refused = await new Keyward({ baseUrl: srv.url, apiKey: k.secret, env: {} }).whoami().catch((e) => e);
  assert.equal(refused.code, "API_KEY_INVALID");
  assert.equal(refused.status, 401);
  assert.ok(!refused.message.includes(k.secret));

  // checkVerify names where the key came from, and the scope it lacks.
  const reader = await kw.keys.create({ name: "reader", scopes: ["keys:read"] });
  const noScope = await new Keyward({ baseUrl: srv.url, env: { KEYWARD_API_KEY: reader.secret } }).checkVerify().catch((e) => e);
  assert.ok(noScope instanceof KeywardConfigError && noScope.code === "SCOPE_MISSING", String(noScope));
  assert.match(noScope.message, /KEYWARD_API_KEY .*keys:verify/);
  const refusedCheck = await new Keyward({ baseUrl: srv.url, env: { KEYWARD_API_KEY: k.secret } }).checkVerify().catch((e) => e);
  assert.ok(refusedCheck instanceof KeywardConfigError && refusedCheck.code === "API_KEY_REFUSED", String(refusedCheck));
  assert.ok(refusedCheck.cause instanceof KeywardError);
  await kw.checkVerify(); // admin has keys:verify
  await kw.health();
  await kw.ready();
});
