import { KeywardConfigError, KeywardError, KeywardRequestError, decodeError } from "./errors.js";

/** Which key a call sends. */
export type Credential = "none" | "project" | "org";

/** Per-call options that every method takes last. */
export interface RequestOptions {
  /** Aborts the call (and its retries). */
  signal?: AbortSignal;
}

/** One API call. */
export interface Call {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Escaped path below the base URL, e.g. "/v1/keys/key_…". */
  path: string;
  query?: URLSearchParams;
  /** JSON-encoded when set. */
  body?: unknown;
  cred: Credential;
  /** Idempotent calls (GET, DELETE, revoke) are retried. */
  idempotent: boolean;
  /** Extra request headers. */
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** An answer's decoded body and its headers. */
export interface Answer<T> {
  data: T;
  headers: Headers;
}

/** The settled configuration of a client, shared by its services. */
export interface TransportConfig {
  baseUrl: string;
  apiKey: string;
  orgApiKey: string;
  /** Where each key came from, for messages about a missing or refused key. */
  apiKeyFrom: string;
  orgApiKeyFrom: string;
  fetch: typeof fetch;
  userAgent: string;
  retries: number;
  timeoutMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** A Retry-After longer than this is not waited for: the error is thrown. */
  maxRetryAfterMs: number;
}

/** Sends calls to keyward: keys, timeouts, retries and error decoding. */
export class Transport {
  /** Builds a transport from a settled configuration. */
  constructor(readonly cfg: TransportConfig) {}

  /** The header and key a call with cred sends; throws when the client lacks that key. */
  credential(cred: Credential): [header: string, key: string] | undefined {
    switch (cred) {
      case "project":
        if (this.cfg.apiKey === "") {
          throw new KeywardConfigError("NO_API_KEY", "keyward: no project API key: set KEYWARD_API_KEY or pass apiKey");
        }
        return ["x-api-key", this.cfg.apiKey];
      case "org":
        if (this.cfg.orgApiKey === "") {
          throw new KeywardConfigError(
            "NO_ORG_API_KEY",
            "keyward: no org API key: set KEYWARD_ORG_API_KEY or pass orgApiKey",
          );
        }
        return ["x-org-api-key", this.cfg.orgApiKey];
      default:
        return undefined;
    }
  }

  /** Runs a call, retrying it when it is idempotent, and decodes a 2xx JSON body. */
  async call<T>(c: Call): Promise<Answer<T>> {
    const cred = this.credential(c.cred);
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": this.cfg.userAgent };
    let payload: string | undefined;
    if (c.body !== undefined) {
      payload = JSON.stringify(c.body);
      headers["Content-Type"] = "application/json";
    }
    if (cred) headers[cred[0]] = cred[1];
    Object.assign(headers, c.headers);
    const q = c.query?.toString() ?? "";
    const url = this.cfg.baseUrl + c.path + (q ? "?" + q : "");

    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(c, url, headers, payload);
      } catch (err) {
        const wait = this.retryWait(c, attempt, err);
        if (wait === undefined) throw err;
        await sleep(wait, c.signal).catch(() => {
          throw new KeywardRequestError(c.method, c.path, "aborted while waiting to retry", { cause: err });
        });
      }
    }
  }

  /** Sends one request and decodes its answer. */
  private async once<T>(c: Call, url: string, headers: Record<string, string>, payload?: string): Promise<Answer<T>> {
    const { signal, done } = withTimeout(c.signal, this.cfg.timeoutMs);
    let res: Response;
    let text: string;
    try {
      const init: RequestInit = { method: c.method, headers, redirect: "manual", signal };
      if (payload !== undefined) init.body = payload;
      res = await this.cfg.fetch(url, init);
      text = await res.text();
    } catch (err) {
      // The fetch error names the URL and the cause, never the headers.
      throw new KeywardRequestError(c.method, c.path, `${describe(err, signal)} (keyward at ${this.cfg.baseUrl})`, {
        cause: err,
      });
    } finally {
      done();
    }
    if (res.status < 200 || res.status > 299) {
      throw decodeError(res.status, res.statusText, res.headers, text, Date.now());
    }
    if (res.status === 204 || text === "") return { data: undefined as T, headers: res.headers };
    try {
      return { data: JSON.parse(text) as T, headers: res.headers };
    } catch (err) {
      throw new KeywardRequestError(c.method, c.path, "the answer is not JSON", { cause: err });
    }
  }

  /** The wait before retrying a failed attempt, or undefined when it is not retried. */
  private retryWait(c: Call, attempt: number, err: unknown): number | undefined {
    if (!c.idempotent || attempt >= this.cfg.retries || c.signal?.aborted) return undefined;
    if (err instanceof KeywardRequestError) return this.backoff(attempt);
    if (!(err instanceof KeywardError)) return undefined;
    switch (err.status) {
      case 429:
      case 503:
        if (err.retryAfter !== undefined && err.retryAfter > 0) {
          const ms = err.retryAfter * 1000;
          return ms > this.cfg.maxRetryAfterMs ? undefined : ms;
        }
        return this.backoff(attempt);
      case 502:
      case 504:
        return this.backoff(attempt);
      default:
        return undefined;
    }
  }

  /**
   * The wait before retry number attempt+1: the minimum doubled per
   * attempt, capped, with "equal jitter" (a random point in the upper half)
   * so that many clients do not retry in step.
   */
  backoff(attempt: number): number {
    let d = this.cfg.minBackoffMs;
    for (let i = 0; i < attempt && d < this.cfg.maxBackoffMs; i++) d *= 2;
    d = Math.min(d, this.cfg.maxBackoffMs);
    const half = d / 2;
    return half + Math.random() * half;
  }
}

/** A signal that fires when parent does or after ms; done() releases the timer. */
export function withTimeout(parent: AbortSignal | undefined, ms: number): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new TimeoutError(ms)), ms);
  const onAbort = () => ac.abort(parent?.reason);
  if (parent?.aborted) ac.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}

/** The reason a request timed out. */
class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/** A short reason for a failed fetch: the timeout, the abort, or the network error and its cause. */
function describe(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    return signal.reason instanceof TimeoutError ? signal.reason.message : "aborted";
  }
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(err)}${cause ? ` (${cause})` : ""}`;
}

/** Waits ms, or rejects when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Makes an id safe as one path segment; an empty id is refused before any request. */
export function segment(id: string, what = "id"): string {
  if (id === "") throw new KeywardConfigError("EMPTY_ID", `keyward: empty ${what}`);
  return encodeURIComponent(id);
}
