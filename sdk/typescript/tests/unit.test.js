// Tests that need no keyward server: error decoding and retries against a
// small node:http server, the event-stream parser, IP allowlists, options.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Keyward, KeywardConfigError, KeywardError, KeywardRequestError, hasCode } from "../dist/index.js";
import { allowsIP } from "../dist/ip.js";
import { EventStreamParser, EventTooLargeError } from "../dist/sse.js";
import { newRequestId } from "../dist/authenticate.js";
import { serve } from "./helpers.js";

const KEY = "kwp_0123456789abcdefghijABCDEFGHIJ000000";

/** A server whose answers the test sets per path; it records what it saw. */
let fake;
let answer; // (req, res, body) => void
const seen = [];
before(async () => {
  fake = await serve(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    answer(req, res, body);
  });
});
after(() => fake.close());

function client(opts = {}) {
  return new Keyward({ baseUrl: fake.url, apiKey: KEY, env: {}, ...opts });
}

function json(res, status, v, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(v));
}

describe("error decoding", () => {
  const cases = [
    {
      name: "the contract's body",
      answer: (res) =>
        json(
          res,
          401,
          { error: { code: "API_KEY_INVALID", message: "Invalid API key provided", status: 401, request_id: "req_01" } },
          { "X-Request-Id": "req_01" },
        ),
      want: { code: "API_KEY_INVALID", status: 401, requestId: "req_01", serverMessage: "Invalid API key provided" },
      message: "keyward: API_KEY_INVALID: Invalid API key provided (req_01)",
    },
    {
      name: "details naming several fields",
      answer: (res) =>
        json(res, 400, {
          error: {
            code: "INVALID_REQUEST", message: "The request is invalid", status: 400, request_id: "req_02",
            details: [{ field: "name", problem: "required" }, { field: "scopes", problem: 'unknown scope "x"' }],
          },
        }),
      want: { code: "INVALID_REQUEST", status: 400, requestId: "req_02" },
      message: 'keyward: INVALID_REQUEST: The request is invalid: name required; scopes unknown scope "x" (req_02)',
      details: 2,
    },
    {
      name: "the request id only in the header",
      answer: (res) => json(res, 404, { error: { code: "NOT_FOUND", message: "No such key" } }, { "X-Request-Id": "req_03" }),
      want: { code: "NOT_FOUND", status: 404, requestId: "req_03" },
    },
    {
      name: "a proxy's HTML page, 502",
      answer: (res) => {
        res.writeHead(502, { "Content-Type": "text/html" });
        res.end("<html>bad gateway</html>");
      },
      want: { code: "UNAVAILABLE", status: 502, requestId: "", serverMessage: "unexpected response from keyward: 502 Bad Gateway" },
    },
    {
      name: "plain text 500",
      answer: (res) => {
        res.writeHead(500, { "X-Request-Id": "req_05" });
        res.end("boom");
      },
      want: { code: "INTERNAL", status: 500, requestId: "req_05" },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      answer = (req, res) => c.answer(res);
      const err = await client({ retries: 0 }).keys.get("key_1").catch((e) => e);
      assert.ok(err instanceof KeywardError, `got ${err}`);
      for (const [k, v] of Object.entries(c.want)) assert.equal(err[k], v, k);
      if (c.message) assert.equal(err.message, c.message);
      if (c.details) assert.equal(err.details.length, c.details);
      assert.ok(hasCode(err, c.want.code));
      assert.ok(!err.message.includes(KEY), "the message holds the key");
    });
  }

  test("429 carries Retry-After and X-RateLimit-*", async () => {
    answer = (req, res) =>
      json(res, 429, { error: { code: "RATE_LIMITED", message: "Too many requests", status: 429, request_id: "req_08" } }, {
        "Retry-After": "7",
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1900000000",
      });
    const err = await client({ retries: 0 }).whoami().catch((e) => e);
    assert.equal(err.retryAfter, 7);
    assert.deepEqual(err.rateLimit, { limit: 100, remaining: 0, reset: new Date(1900000000 * 1000).toISOString() });
  });
});

describe("retries", () => {
  test("an idempotent call is retried after 503 and succeeds", async () => {
    let n = 0;
    answer = (req, res) => (++n < 3 ? json(res, 503, { error: { code: "UNAVAILABLE", message: "x", status: 503 } }) : json(res, 200, { id: "key_1" }));
    const k = await client().keys.get("key_1");
    assert.equal(k.id, "key_1");
    assert.equal(n, 3, "two retries, then the answer");
  });

  test("calls that create or change something are never retried", async () => {
    let n = 0;
    answer = (req, res) => {
      n++;
      json(res, 503, { error: { code: "UNAVAILABLE", message: "x", status: 503 } });
    };
    await assert.rejects(client().keys.create({ name: "x" }), (e) => e instanceof KeywardError && e.status === 503);
    assert.equal(n, 1);
    n = 0;
    await assert.rejects(client().verify({ key: KEY }), KeywardError);
    assert.equal(n, 1, "verify is not retried");
  });

  test("a revoke is retried (revoking twice changes nothing)", async () => {
    let n = 0;
    answer = (req, res) => (++n < 2 ? json(res, 502, {}) : json(res, 200, { id: "key_1", status: "revoked" }));
    assert.equal((await client().keys.revoke("key_1", { reason: "x" })).status, "revoked");
    assert.equal(n, 2);
  });

  test("a Retry-After longer than 30 s is not waited for", async () => {
    let n = 0;
    answer = (req, res) => {
      n++;
      json(res, 429, { error: { code: "RATE_LIMITED", message: "x", status: 429 } }, { "Retry-After": "3600" });
    };
    const started = Date.now();
    await assert.rejects(client().keys.list(), (e) => e.code === "RATE_LIMITED" && e.retryAfter === 3600);
    assert.equal(n, 1);
    assert.ok(Date.now() - started < 5000);
  });

  test("a client error (404) is not retried", async () => {
    let n = 0;
    answer = (req, res) => {
      n++;
      json(res, 404, { error: { code: "NOT_FOUND", message: "No such key", status: 404 } });
    };
    await assert.rejects(client().keys.get("key_1"), (e) => e.code === "NOT_FOUND");
    assert.equal(n, 1);
  });

  test("a timeout is a KeywardRequestError naming it", async () => {
    answer = () => {}; // never answers (the connection is closed when the server closes)
    const err = await client({ retries: 0, timeoutMs: 200 }).keys.get("key_1").catch((e) => e);
    assert.ok(err instanceof KeywardRequestError, String(err));
    assert.match(err.message, /no answer within 200 ms/);
  });

  test("an aborted call is not retried", async () => {
    answer = () => {};
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const started = Date.now();
    const err = await client({ retries: 5 }).keys.get("key_1", { signal: ac.signal }).catch((e) => e);
    assert.ok(err instanceof KeywardRequestError);
    assert.match(err.message, /aborted/);
    assert.ok(Date.now() - started < 5000);
  });
});

describe("requests", () => {
  test("keys, headers, paths and queries", async () => {
    answer = (req, res) => json(res, 200, { data: [], next_cursor: null });
    seen.length = 0;
    const kw = client({ orgApiKey: "kwo_0123456789abcdefghijABCDEFGHIJ000000" });
    await kw.keys.list({ status: "all", limit: 5, cursor: "abc", q: "ci" });
    await kw.org.projectKeys("prj/1").list();
    await kw.org.audit.list({ project_id: "prj_1", since: new Date(0), action: "key." });
    await kw.audit.list({ project_id: "ignored" });
    const [a, b, c, d] = seen;
    assert.equal(a.url, "/v1/keys?limit=5&cursor=abc&status=all&q=ci");
    assert.equal(a.headers["x-api-key"], KEY);
    assert.equal(a.headers["x-org-api-key"], undefined);
    assert.equal(a.headers["user-agent"], "keyward-js");
    assert.equal(b.url, "/v1/org/projects/prj%2F1/keys");
    assert.equal(b.headers["x-org-api-key"], "kwo_0123456789abcdefghijABCDEFGHIJ000000");
    assert.equal(b.headers["x-api-key"], undefined);
    assert.equal(c.url, "/v1/org/audit-events?project_id=prj_1&action=key.&since=1970-01-01T00%3A00%3A00.000Z");
    assert.equal(d.url, "/v1/audit-events");
  });

  test("all() follows next_cursor page by page", async () => {
    const pages = { "": ["a", "b"], c1: ["c", "d"], c2: ["e"] };
    const next = { "": "c1", c1: "c2", c2: null };
    let calls = 0;
    answer = (req, res) => {
      calls++;
      const cur = new URL(req.url, "http://x").searchParams.get("cursor") ?? "";
      json(res, 200, { data: pages[cur].map((id) => ({ id })), next_cursor: next[cur] });
    };
    const ids = [];
    for await (const k of client().keys.all({ limit: 2 })) {
      ids.push(k.id);
      if (k.id === "c") break; // the loop stops: no page is fetched beyond
    }
    assert.deepEqual(ids, ["a", "b", "c"]);
    assert.equal(calls, 2);
  });

  test("missing keys and empty ids fail before any request", async () => {
    seen.length = 0;
    const kw = new Keyward({ baseUrl: fake.url, env: {} });
    await assert.rejects(kw.whoami(), (e) => e instanceof KeywardConfigError && e.code === "NO_API_KEY" && /KEYWARD_API_KEY/.test(e.message));
    await assert.rejects(kw.org.projects.list(), (e) => e instanceof KeywardConfigError && e.code === "NO_ORG_API_KEY");
    await assert.rejects(client().keys.get(""), (e) => e.code === "EMPTY_ID");
    await assert.rejects(client({ orgApiKey: "kwo_x" }).org.projectKeys("").list(), (e) => e.code === "EMPTY_ID");
    assert.equal(seen.length, 0);
  });
});

describe("options", () => {
  test("the environment gives the URL and keys; options override it", () => {
    const kw = new Keyward({ env: { KEYWARD_URL: "https://keys.example.com/base/", KEYWARD_API_KEY: " kwp_a ", KEYWARD_ORG_API_KEY: "" } });
    assert.equal(kw.baseUrl, "https://keys.example.com/base");
    assert.ok(kw.hasApiKey);
    assert.ok(!kw.hasOrgApiKey);
    const over = new Keyward({ env: { KEYWARD_API_KEY: "kwp_a" }, apiKey: "" });
    assert.ok(!over.hasApiKey);
    assert.equal(new Keyward({ env: {} }).baseUrl, "http://127.0.0.1:8080");
  });

  test("process.env is read by default", () => {
    const saved = { ...process.env };
    try {
      process.env.KEYWARD_URL = "http://127.0.0.1:9";
      process.env.KEYWARD_API_KEY = "kwp_from_env";
      const kw = new Keyward();
      assert.equal(kw.baseUrl, "http://127.0.0.1:9");
      assert.ok(kw.hasApiKey);
    } finally {
      process.env = saved;
    }
  });

  for (const bad of ["127.0.0.1:8080", "ftp://x", "http://u:p@x", "http://x/?q=1", "http://x/#f", "not a url"]) {
    test(`base URL ${JSON.stringify(bad)} is refused`, () => {
      assert.throws(() => new Keyward({ baseUrl: bad, env: {} }), (e) => e instanceof KeywardConfigError && e.code === "INVALID_BASE_URL" && !e.message.includes(":p@"));
    });
  }

  test("retries must be a whole number", () => {
    assert.throws(() => new Keyward({ env: {}, retries: -1 }), (e) => e.code === "INVALID_OPTION");
  });
});

describe("event-stream parser", () => {
  const stream = "event: changes\ndata: {\"seq\":1}\n\n: a comment\n\nevent: changes\r\ndata: a\r\ndata: b\r\n\r\ndata:plain\rid: 7\r\r";
  const want = [
    { event: "changes", data: '{"seq":1}', id: "" },
    { event: "changes", data: "a\nb", id: "" },
    { event: "message", data: "plain", id: "7" },
  ];
  for (const size of [1, 2, 3, 5, 1000]) {
    test(`pieces of ${size} characters`, () => {
      const got = [];
      const p = new EventStreamParser((e) => got.push(e));
      for (let i = 0; i < stream.length; i += size) p.push(stream.slice(i, i + size));
      assert.deepEqual(got, want);
    });
  }

  test("an event past the bound is an error", () => {
    const p = new EventStreamParser(() => {}, 100);
    assert.throws(() => p.push("data: " + "x".repeat(200) + "\n"), EventTooLargeError);
    const q = new EventStreamParser(() => {}, 100);
    assert.throws(() => q.push("data: " + "x".repeat(200)), EventTooLargeError, "an unfinished line counts too");
  });

  test("an event without data is not dispatched", () => {
    const got = [];
    new EventStreamParser((e) => got.push(e)).push("event: changes\n\n");
    assert.deepEqual(got, []);
  });
});

describe("IP allowlists", () => {
  const cases = [
    [[], undefined, true],
    [null, "", true],
    [["10.0.0.0/8"], "10.1.2.3", true],
    [["10.0.0.0/8"], "11.1.2.3", false],
    [["10.0.0.0/8"], "::ffff:10.1.2.3", true], // unmapped, as keyward does
    [["10.0.0.0/8"], "", false],
    [["10.0.0.0/8"], undefined, false],
    [["10.0.0.0/8"], "010.1.2.3", false], // leading zeros: not an address
    [["10.0.0.0/8"], "10.1.2.3:80", false],
    [["192.0.2.7/32"], "192.0.2.7", true],
    [["192.0.2.7/32"], "192.0.2.8", false],
    [["0.0.0.0/0"], "203.0.113.1", true],
    [["0.0.0.0/0"], "2001:db8::1", false], // families never mix
    [["2001:db8::/32"], "2001:db8:ffff::1", true],
    [["2001:db8::/32"], "2001:db9::1", false],
    [["2001:db8::/33"], "2001:db8:8000::1", false],
    [["fe80::/10"], "fe80::1%eth0", false], // a zone: inside no prefix
    [["::ffff:10.0.0.0/104"], "10.1.2.3", false], // a 4in6 prefix is IPv6
    [["::/0"], "::", true],
    [["1:2:3:4:5:6:7:8/128"], "1:2:3:4:5:6:7:8", true],
    [["::/0"], "1:2:3:4:5:6:7::8", false], // "::" must stand for a group
    [["::/0"], "1::2::3", false],
    [["::/0"], "12345::", false],
    [["::/0"], "::1.2.3.4", true],
    [["bad", "10.0.0.0/8"], "10.0.0.1", true],
  ];
  for (const [list, ip, want] of cases) {
    test(`${JSON.stringify(list)} ${JSON.stringify(ip)} → ${want}`, () => {
      assert.equal(allowsIP(list, ip), want);
    });
  }
});

test("request ids look like keyward's", () => {
  const a = newRequestId();
  assert.match(a, /^req_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.notEqual(a, newRequestId());
  assert.ok(newRequestId(1000) < newRequestId(2000), "ids sort by time");
});
