// Test helpers: a real `keyward serve` on a free loopback port with a fresh
// SQLite store, an HTTP proxy in front of it that counts and cuts, and a
// node:http server for middlewares and web-standard handlers.

import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

let built;

/**
 * The keyward binary: $KEYWARD_BIN, or built from this repository with go.
 * The build goes to one place per checkout, so that go finds it up to date
 * and skips the link when nothing changed (one test file after another).
 * { path } or { skip: reason }.
 */
export function keywardBinary() {
  built ??= (() => {
    if (process.env.KEYWARD_BIN) return { path: process.env.KEYWARD_BIN };
    if (spawnSync("go", ["version"]).status !== 0) {
      return { skip: "neither KEYWARD_BIN nor go is available: cannot run a keyward server" };
    }
    const id = createHash("sha256").update(repoRoot).digest("hex").slice(0, 12);
    const dir = join(tmpdir(), `keyward-sdk-ts-bin-${id}`);
    mkdirSync(dir, { recursive: true });
    const out = join(dir, "keyward");
    const r = spawnSync("go", ["build", "-o", out, "./cmd/keyward"], { cwd: repoRoot, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`go build ./cmd/keyward failed:\n${r.stderr}`);
    return { path: out };
  })();
  return built;
}

/** The reason tests that need a server are skipped, or false. */
export const skipReason = keywardBinary().skip ?? false;

/** Options of a test (or suite) that needs a server: skipped without one, failed rather than hung. */
export const serverTest = { skip: skipReason, timeout: 60_000 };

const PEPPER = "sdk-ts-test-pepper-0123456789abcdef";

/**
 * Starts `keyward serve` on 127.0.0.1:0 with a fresh SQLite store, after
 * `keyward bootstrap`. Returns { url, orgKey, kill(), stop() }; stop()
 * also removes the store.
 */
export async function startKeyward() {
  const bin = keywardBinary().path;
  const dir = mkdtempSync(join(tmpdir(), "keyward-sdk-ts-"));
  const database = `sqlite:${join(dir, "k.db")}`;
  const env = { ...process.env, KEYWARD_KEY_PEPPER: PEPPER, KEYWARD_LOG_FORMAT: "json" };
  const boot = spawnSync(bin, ["bootstrap", "--org", "Acme", "--email", "owner@example.com", "--database", database], {
    env,
    encoding: "utf8",
  });
  if (boot.status !== 0) throw new Error(`keyward bootstrap failed:\n${boot.stderr}`);
  const orgKey = JSON.parse(boot.stdout).org_api_key;

  const proc = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--database", database], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = once(proc, "exit");
  const killOnExit = () => proc.kill("SIGKILL"); // should the test process end without stop()
  process.on("exit", killOnExit);
  const stderr = [];
  const addr = await new Promise((resolveAddr, reject) => {
    const lines = createInterface({ input: proc.stderr });
    lines.on("line", (line) => {
      stderr.push(line);
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "keyward listening") resolveAddr(rec.addr);
      } catch {
        // not a log record
      }
    });
    proc.on("exit", (code) => reject(new Error(`keyward serve exited (${code}) before listening:\n${stderr.join("\n")}`)));
  });
  let dead = false;
  const kill = async () => {
    if (dead) return;
    dead = true;
    proc.kill("SIGKILL");
    await exited;
    process.off("exit", killOnExit);
  };
  return {
    url: `http://${addr}`,
    orgKey,
    kill,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a node:http server on a free loopback port; returns { url, close() }. */
export async function serve(handler) {
  const server = http.createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** Serves a web-standard handler (Request → Response) over node:http, as a platform adapter does. */
export function webAdapter(handler) {
  return async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const headers = new Headers();
    for (const [name, values] of Object.entries(req.headersDistinct)) {
      for (const v of values) headers.append(name, v);
    }
    const body = chunks.length > 0 && req.method !== "GET" && req.method !== "HEAD" ? Buffer.concat(chunks) : undefined;
    const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, body });
    const response = await handler(request, { remoteAddress: req.socket.remoteAddress });
    res.statusCode = response.status;
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.end(Buffer.from(await response.arrayBuffer()));
  };
}

/**
 * A proxy in front of keyward: counts verify calls (and keeps the last
 * Keyward-Min-Change-Seq they carried), can rewrite their
 * Keyward-Change-Seq, and can cut, refuse or freeze the change stream.
 */
export async function startProxy(target) {
  const t = new URL(target);
  const p = {
    verifies: 0,
    lastMin: undefined,
    seqOverride: undefined, // a string replaces Keyward-Change-Seq on verify answers
    refuseStream: false,
    freezeStreams: false, // stream data stops flowing while set (the connection stays open)
    streams: new Set(),
    /** Ends every stream being passed on. */
    cutStreams() {
      for (const s of p.streams) s.destroy();
      p.streams.clear();
    },
  };
  const srv = await serve((req, res) => {
    const isStream = req.url === "/v1/key-changes" || req.url === "/v1/org/key-changes";
    const isVerify = req.url === "/v1/verify" || req.url === "/v1/org/verify";
    if (isVerify) {
      p.verifies++;
      p.lastMin = req.headers["keyward-min-change-seq"];
    }
    if (isStream && p.refuseStream) {
      res.statusCode = 502;
      res.end("no");
      return;
    }
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        const headers = { ...upRes.headers };
        if (isVerify && p.seqOverride !== undefined) headers["keyward-change-seq"] = p.seqOverride;
        res.writeHead(upRes.statusCode, headers);
        if (isStream) {
          res.flushHeaders();
          p.streams.add(res.socket);
          upRes.on("data", (c) => {
            if (!p.freezeStreams) res.write(c);
          });
          upRes.on("end", () => res.end());
          res.on("close", () => upRes.destroy());
        } else {
          upRes.pipe(res);
        }
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  p.url = srv.url;
  p.close = () => {
    p.cutStreams();
    return srv.close();
  };
  return p;
}

/**
 * Collects a LocalCache's events (pass onEvent to it) and waits for them:
 * named(id) for an event, past or future, that names a key; next(pred)
 * for the first event from now on that matches. Waits give up after ms.
 */
export function eventWaiter() {
  const seen = [];
  const waiters = new Set();
  const wait = (pred, what, ms) =>
    new Promise((resolveEvent, reject) => {
      const w = (e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        waiters.delete(w);
        resolveEvent(e);
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no stream event ${what} within ${ms} ms`));
      }, ms);
      waiters.add(w);
    });
  return {
    seen,
    onEvent(e) {
      seen.push(e);
      for (const w of [...waiters]) w(e);
    },
    next(pred, what, ms = 20_000) {
      return wait(pred, what, ms);
    },
    named(id, ms = 20_000) {
      const e = seen.find((x) => x.key_ids.includes(id));
      return e ? Promise.resolve(e) : wait((x) => x.key_ids.includes(id), `naming ${id}`, ms);
    },
  };
}

/** A Logger that keeps its lines and resolves waits for a line matching a pattern. */
export function recordingLogger() {
  const lines = [];
  const waiters = new Set();
  const add = (level) => (message, fields) => {
    const line = { level, message, fields };
    lines.push(line);
    for (const w of [...waiters]) w(line);
  };
  return {
    lines,
    logger: { info: add("info"), warn: add("warn"), error: add("error") },
    /** Resolves with the next line (from now on) whose message matches re. */
    next(re, ms = 20_000) {
      return new Promise((resolveLine, reject) => {
        const w = (line) => {
          if (!re.test(line.message)) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolveLine(line);
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no log line matching ${re} within ${ms} ms`));
        }, ms);
        waiters.add(w);
      });
    },
  };
}
