import { transportOf, type Keyward } from "./client.js";
import { KeywardRequestError } from "./errors.js";
import { allowsIP } from "./ip.js";
import { consoleLogger, errorText, type Logger } from "./log.js";
import { followChanges, type ChangeEvent } from "./changestream.js";
import { sleep, withTimeout, type RequestOptions, type Transport } from "./request.js";
import type { Key, VerifyInput, VerifyResult } from "./types.js";
import { checkVerify, verify } from "./verify.js";

export type { ChangeEvent } from "./changestream.js";

/** Verify's change positions: the answer reflects every change up to the first; the request asks for at least the second. */
const CHANGE_SEQ_HEADER = "Keyward-Change-Seq";
const MIN_CHANGE_SEQ_HEADER = "Keyward-Min-Change-Seq";

/**
 * How long one question to keyward on a miss may take (keyward's own
 * bound on a key lookup): a verification that cannot be answered within it
 * fails (503 from the middleware) instead of holding requests while
 * keyward hangs.
 */
export const LOAD_TIMEOUT_MS = 1000;

/** Options of a LocalCache. */
export interface LocalCacheOptions {
  /**
   * Verify with the client's org key (POST /v1/org/verify, keys of any
   * project of the org, and GET /v1/org/key-changes) instead of its
   * project key.
   */
  org?: boolean;
  /** How many keys are kept (default 10,000). */
  maxEntries?: number;
  /** How long a verified key is answered from memory before keyward is asked again, whatever the stream says (default 60,000 ms). */
  ttlMs?: number;
  /**
   * How long the stream may stay silent before it is taken for dead and
   * memory is turned off (default 15,000 ms: three of keyward's 5-second
   * heartbeats). Keep it above the heartbeat.
   */
  silenceMs?: number;
  /** Receives the stream's state changes (default: the console). */
  logger?: Logger;
  /** Called after each event of the stream has been applied. */
  onEvent?: (e: ChangeEvent) => void;
  /** The clock, in milliseconds since the epoch (default Date.now); for tests. */
  clock?: () => number;
}

interface Entry {
  key: Key;
  expires: number;
}

/** What one shared question to keyward found. */
interface Loaded {
  /** keyward's answer to the request that asked. */
  res: VerifyResult;
  /** The verified key, when the answer was VALID. */
  key?: Key;
}

/**
 * Verifies keys in this process, without a call to keyward per request,
 * and follows keyward's key change stream (GET /v1/key-changes) to forget
 * a key the moment keyward announces that it changed: a revoked key is
 * never accepted from memory after the stream has named it.
 *
 * The rules are keyward's own. Memory is used only while the stream is
 * connected and says its node is live; a connection that breaks, or sends
 * nothing for three heartbeats, empties the cache until the stream is
 * back, and meanwhile every key is asked. An answer is kept only if the
 * node that gave it had applied every change the stream had delivered
 * when it was asked (each question carries the stream's position). Keys
 * with a rate limit are never answered from memory (keyward counts their
 * budget), and unknown keys are never remembered. A key in use is asked
 * about again once per TTL, which records its use: its last_used_at lags
 * by at most the TTL.
 *
 * ```ts
 * const cache = new LocalCache(kw);
 * await cache.start(); // checks the key, then follows the stream until close()
 * app.use(keywardMiddleware(kw, { localCache: cache }));
 * ```
 */
export class LocalCache {
  private readonly t: Transport;
  private readonly cred: "project" | "org";
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly silenceMs: number;
  private readonly log: Logger;
  private readonly onEvent: ((e: ChangeEvent) => void) | undefined;
  private readonly clock: () => number;

  private readonly entries = new Map<string, Entry>(); // by digest, oldest first
  private readonly byId = new Map<string, string>(); // key id → digest
  private readonly flights = new Map<string, Promise<Loaded>>();
  /** Moves on every forgetting and every change of trust: a question asked before it is not kept. */
  private epoch = 0;
  private trusted = false;
  /** The stream's position: the last change it has delivered. */
  private pos = 0;
  /** The stream broke and is not live again yet (for the log). */
  private lost = false;
  private readonly stopper = new AbortController();
  private running: Promise<void> | undefined;

  /** A cache that asks keyward for everything until start (or run) has connected to the change stream. */
  constructor(kw: Keyward, opts: LocalCacheOptions = {}) {
    this.t = transportOf(kw);
    this.cred = opts.org ? "org" : "project";
    this.maxEntries = opts.maxEntries !== undefined && opts.maxEntries > 0 ? opts.maxEntries : 10_000;
    this.ttlMs = opts.ttlMs !== undefined && opts.ttlMs > 0 ? opts.ttlMs : 60_000;
    this.silenceMs = opts.silenceMs !== undefined && opts.silenceMs > 0 ? opts.silenceMs : 15_000;
    this.log = opts.logger ?? consoleLogger;
    this.onEvent = opts.onEvent;
    this.clock = opts.clock ?? Date.now;
  }

  /** Whether verify may currently answer from memory. */
  get live(): boolean {
    return this.trusted;
  }

  /** How many keys are held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Checks once that the cache's key can verify keys (see
   * Keyward.checkVerify), then follows the change stream in the
   * background until close() or until opts.signal aborts. Call it where
   * your service starts, and stop if it throws.
   */
  async start(opts: RequestOptions = {}): Promise<void> {
    await checkVerify(this.t, this.cred, opts);
    opts.signal?.addEventListener("abort", () => this.stopper.abort(), { once: true });
    void this.run();
  }

  /**
   * Follows the change stream until close(), reconnecting with backoff
   * when it breaks; resolves when it stops. start() runs it for you.
   */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops following the stream; memory is off from then on. Resolves once the stream is closed. */
  async close(): Promise<void> {
    this.stopper.abort();
    await this.running;
    this.setTrusted(false);
  }

  /**
   * Answers like Keyward.verify (or kw.org.verify), from memory when it
   * safely can. Throws, like them, when keyward cannot be asked.
   */
  async verify(input: VerifyInput, opts: RequestOptions = {}): Promise<VerifyResult> {
    const now = this.clock();
    const d = await digest(input.key);
    const e = this.answerable(d, now);
    if (e) return check(e.key, input, now);

    const name = `${d}:${this.epoch}`;
    let flight = this.flights.get(name);
    const own = flight === undefined;
    if (flight === undefined) {
      flight = this.load(d, input, now, this.epoch);
      this.flights.set(name, flight);
      const forget = () => this.flights.delete(name);
      flight.then(forget, forget);
    }
    const r = await flight;
    if (own) return r.res; // keyward answered this very request
    // Another request's question, asked with its own scopes and address.
    if (!r.key || r.key.rate_limit) return this.ask(input, opts);
    return check(r.key, input, now);
  }

  /** Asks keyward about d for everyone who misses it at this epoch, and keeps a fresh VALID answer. */
  private async load(d: string, input: VerifyInput, now: number, epoch: number): Promise<Loaded> {
    // The question is shared: one caller going away must not fail the others.
    const { signal, done } = withTimeout(undefined, LOAD_TIMEOUT_MS);
    let res: VerifyResult;
    let fresh: boolean;
    try {
      ({ res, fresh } = await this.remote(input, signal));
    } finally {
      done();
    }
    if (!res.valid || !res.key) return { res };
    // Kept only if it reflects every change the stream had delivered before
    // the question: any later change to this key still comes down the
    // stream and removes it.
    if (fresh && !res.key.rate_limit) this.put(d, res.key, now + this.ttlMs, epoch);
    return { res, key: res.key };
  }

  /** Verifies with keyward, without keeping the answer. */
  private async ask(input: VerifyInput, opts: RequestOptions): Promise<VerifyResult> {
    return (await this.remote(input, opts.signal)).res;
  }

  /**
   * Calls keyward's verify endpoint. While the stream is live it asks for
   * an answer at least as fresh as the stream (keyward then answers from
   * its store if its node is behind), and fails closed if keyward accepts
   * the key from an older position. fresh: the answer reflects every
   * change the stream had delivered when it was asked.
   */
  private async remote(input: VerifyInput, signal?: AbortSignal): Promise<{ res: VerifyResult; fresh: boolean }> {
    const min = this.trusted ? this.pos : -1; // before asking
    const headers = min >= 0 ? { [MIN_CHANGE_SEQ_HEADER]: String(min) } : undefined;
    const a = await verify(this.t, this.cred, input, signal ? { signal } : {}, headers);
    const raw = a.headers.get(CHANGE_SEQ_HEADER) ?? "";
    const seq = /^-?\d+$/.test(raw) ? Number(raw) : -1; // -1: the node vouched for no position
    if (min >= 0 && seq < min) {
      if (a.data.valid) {
        throw new KeywardRequestError(
          "POST",
          this.cred === "org" ? "/v1/org/verify" : "/v1/verify",
          `verify answered from change ${seq}, older than the stream's ${min}`,
        );
      }
      return { res: a.data, fresh: false };
    }
    return { res: a.data, fresh: min >= 0 };
  }

  /** d's entry, if memory may answer and holds it unexpired. */
  private answerable(d: string, now: number): Entry | undefined {
    if (!this.trusted) return undefined;
    const e = this.entries.get(d);
    return e && now < e.expires ? e : undefined;
  }

  /** Keeps a key loaded at epoch, unless something was forgotten since or memory is off. */
  private put(d: string, key: Key, expires: number, epoch: number): void {
    if (epoch !== this.epoch || !this.trusted) return;
    this.entries.delete(d); // to the end of the order
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest);
    }
    this.entries.set(d, { key, expires });
    this.byId.set(key.id, d);
  }

  private drop(d: string): void {
    const e = this.entries.get(d);
    this.entries.delete(d);
    if (e && this.byId.get(e.key.id) === d) this.byId.delete(e.key.id);
  }

  /** Forgets the keys with these ids. */
  private forget(ids: readonly string[]): void {
    this.epoch++;
    for (const id of ids) {
      const d = this.byId.get(id);
      if (d !== undefined) this.drop(d);
      this.byId.delete(id);
    }
  }

  /** Turns memory on or off; off also empties it, so that trust resumes from a clean slate. */
  private setTrusted(ok: boolean): void {
    if (ok === this.trusted && ok) return;
    this.epoch++;
    this.trusted = ok;
    if (!ok) {
      this.entries.clear();
      this.byId.clear();
    }
  }

  /**
   * Takes one event into account. The position is stored before the keys
   * are forgotten: a question asked after the forgetting then needs an
   * answer at least that fresh to be kept, and one asked before it is not
   * kept at all (the epoch).
   */
  private apply(e: ChangeEvent): void {
    this.pos = e.seq;
    if (e.key_ids.length > 0) this.forget(e.key_ids);
    this.setTrusted(e.live);
    if (e.live && this.lost) {
      this.lost = false;
      this.log.info("keyward: key change stream is back; verifying from memory again", { seq: e.seq });
    }
    try {
      this.onEvent?.(e);
    } catch (err) {
      this.log.error("keyward: the local cache's onEvent threw", { error: errorText(err) });
    }
  }

  /** Follows the stream until stopped, reconnecting with backoff. */
  private async loop(): Promise<void> {
    const stop = this.stopper.signal;
    let backoff = this.t.cfg.minBackoffMs;
    while (!stop.aborted) {
      const started = Date.now();
      let err: unknown;
      try {
        await followChanges(this.t, this.cred, this.silenceMs, stop, (e) => this.apply(e));
      } catch (e) {
        err = e;
      }
      this.setTrusted(false); // forget everything until the stream is back
      if (stop.aborted) return;
      this.lost = true;
      if (Date.now() - started > 60_000) backoff = this.t.cfg.minBackoffMs; // it had been working: retry soon
      this.log.warn("keyward: key change stream lost; verifying every key with keyward until it is back", {
        error: errorText(err),
        retry_in_ms: Math.round(backoff),
      });
      try {
        await sleep(backoff, stop);
      } catch {
        return;
      }
      backoff = Math.min(2 * backoff, this.t.cfg.maxBackoffMs);
    }
  }
}

/**
 * keyward's checks, in keyward's order, of a key known to be valid:
 * expiry, IP allowlist, scopes. The answer holds a copy of the key with
 * its status as of now.
 */
function check(key: Key, input: VerifyInput, now: number): VerifyResult {
  if (key.expires_at != null && now >= Date.parse(key.expires_at)) return { valid: false, code: "EXPIRED" };
  if (!allowsIP(key.ip_allowlist, input.ip)) return { valid: false, code: "IP_NOT_ALLOWED" };
  for (const s of input.scopes ?? []) {
    if (!key.scopes.includes(s)) return { valid: false, code: "INSUFFICIENT_SCOPE" };
  }
  // A copy: what memory holds is shared by every request.
  return { valid: true, code: "VALID", key: { ...structuredClone(key), status: statusAt(key, now) } };
}

function statusAt(key: Key, now: number): Key["status"] {
  if (key.revoked_at != null) return "revoked";
  if (key.expires_at != null && now >= Date.parse(key.expires_at)) return "expired";
  if (key.replaced_by != null) return "expiring";
  return "active";
}

/** A map key for a presented key, so that the key itself is not what memory holds; keyward's own digest (with its pepper) is never known here. */
async function digest(key: string): Promise<string> {
  const b = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
