import type { Keyward } from "./client.js";
import { KeywardError, type ErrorBody } from "./errors.js";
import { headerList, type HeadersLike } from "./headers.js";
import type { LocalCache } from "./localcache.js";
import { consoleLogger, errorText, type Logger } from "./log.js";
import type { Key, RateLimitState, VerifyResult } from "./types.js";

/** A presented key longer than this is refused without asking keyward (real keys are 40 characters). */
const MAX_KEY_LENGTH = 256;

/** How a request's key is checked. */
export interface AuthOptions {
  /** Accept only keys that hold every one of these scopes; other valid keys get 403 PERMISSION_DENIED. */
  requireScopes?: string[];
  /**
   * Verify with the client's org key (POST /v1/org/verify: keys of any
   * project of the org) instead of its project key (keys of that project).
   * Ignored with localCache, whose own `org` option decides.
   */
  org?: boolean;
  /** Verify through this cache, from memory when it safely can. */
  localCache?: LocalCache;
  /** Where failed calls to keyward are logged (default: the console). Lines never hold the key. */
  logger?: Logger;
}

/** The request was let through. */
export interface AuthSuccess {
  ok: true;
  /** The verified key. */
  key: Key;
  /** Headers to add to the answer: the key's X-RateLimit-* window, when it has a rate limit. */
  headers: Record<string, string>;
}

/** The request was refused; send `status`, `headers` and `body` (or `response()`). */
export interface AuthFailure {
  ok: false;
  /** The refusal, as a KeywardError with a fresh request id. */
  error: KeywardError;
  status: number;
  headers: Record<string, string>;
  /** The error contract's JSON: {"error": {code, message, status, request_id}}. */
  body: string;
  /** The refusal as a web-standard Response. */
  response(): Response;
}

/** What authenticate decided. */
export type AuthResult = AuthSuccess | AuthFailure;

/** Request headers: web-standard Headers, or Node's req.headers (or req.headersDistinct). */
export type { HeadersLike };

/**
 * Decides about one request from its headers, as keyward does: the key
 * comes from x-api-key or "Authorization: Bearer" (two different keys are
 * 400 AMBIGUOUS_CREDENTIALS, none is 401 API_KEY_MISSING), is verified
 * with keyward (with `ip`, the caller's address, for IP allowlists) and
 * refused with the error contract: 401 API_KEY_INVALID or API_KEY_EXPIRED,
 * 403 PERMISSION_DENIED or IP_NOT_ALLOWED, 429 RATE_LIMITED with
 * Retry-After, and 503 UNAVAILABLE when keyward cannot be asked: it fails
 * closed. It never throws.
 *
 * The middlewares (keywardMiddleware, protect, forwardAuthHandler) are
 * built on it; call it yourself for other frameworks.
 */
export async function authenticate(kw: Keyward, headers: HeadersLike, opts: AuthOptions & { ip?: string } = {}): Promise<AuthResult> {
  const presented = presentedKey(headers);
  if (presented instanceof KeywardError) return failure(presented);
  if (presented.length > MAX_KEY_LENGTH) return failure(verifyFailure({ valid: false, code: "INVALID" }, [], Date.now()));
  const scopes = opts.requireScopes ?? [];
  const input = { key: presented, ...(scopes.length > 0 ? { scopes } : {}), ...(opts.ip ? { ip: opts.ip } : {}) };
  let res: VerifyResult;
  try {
    if (opts.localCache) res = await opts.localCache.verify(input);
    else if (opts.org) res = await kw.org.verify(input);
    else res = await kw.verify(input);
  } catch (err) {
    (opts.logger ?? consoleLogger).error("keyward: verify failed; rejecting request", { error: errorText(err) });
    return failure(unavailable());
  }
  // The caller learns its key's window as it would from keyward itself.
  const headersOut = rateLimitHeaders(res.rate_limit);
  if (res.valid && res.key) return { ok: true, key: res.key, headers: headersOut };
  if (res.valid) {
    // valid without a key breaks the contract: fail closed
    (opts.logger ?? consoleLogger).error("keyward: verify answered valid without a key; rejecting request");
    return failure(unavailable());
  }
  return failure(verifyFailure(res, scopes, Date.now()), headersOut);
}

/** The key from x-api-key or a Bearer Authorization header, or the error for none or two different ones. */
function presentedKey(h: HeadersLike): string | KeywardError {
  const keys: string[] = [];
  for (const v of headerValues(h, "x-api-key")) {
    const k = v.trim();
    if (k !== "") keys.push(k);
  }
  for (const v of headerValues(h, "authorization")) {
    const m = /^(\S+) +(.*)$/s.exec(v.trim());
    if (m && m[1]?.toLowerCase() === "bearer") {
      const token = (m[2] ?? "").trim();
      if (token !== "") keys.push(token);
    }
  }
  const first = keys[0];
  if (first === undefined) {
    return apiError(401, "API_KEY_MISSING", "No API key provided: send it in the x-api-key header or as Authorization: Bearer");
  }
  if (keys.some((k) => k !== first)) {
    return apiError(400, "AMBIGUOUS_CREDENTIALS", "The request carries two different API keys; send one");
  }
  return first;
}

/**
 * Every value of a header. Fetch joins repeated headers with ", " and
 * Node's req.headers does for most; keys never hold a comma, so values
 * are split on commas.
 */
function headerValues(h: HeadersLike, name: string): string[] {
  return headerList(h, name).flatMap((v) => v.split(","));
}

/** The error a caller gets for a verify answer that is not VALID; unknown codes are invalid keys. */
function verifyFailure(res: VerifyResult, scopes: string[], now: number): KeywardError {
  switch (res.code) {
    case "EXPIRED":
      return apiError(401, "API_KEY_EXPIRED", "The API key has expired");
    case "INSUFFICIENT_SCOPE":
      return apiError(403, "PERMISSION_DENIED", `The API key lacks a required scope (needs ${scopes.join(", ")})`);
    case "IP_NOT_ALLOWED":
      return apiError(403, "IP_NOT_ALLOWED", "The API key may not be used from this address");
    case "RATE_LIMITED": {
      // Come back when the key's window resets (1 s when keyward did not say: its shortest window).
      let wait = 1;
      const reset = res.rate_limit ? Date.parse(res.rate_limit.reset) : NaN;
      if (reset > now) wait = Math.ceil((reset - now) / 1000);
      return apiError(429, "RATE_LIMITED", "Too many requests; retry later", wait);
    }
    default:
      return apiError(401, "API_KEY_INVALID", "Invalid API key provided");
  }
}

function unavailable(): KeywardError {
  return apiError(503, "UNAVAILABLE", "API key verification is temporarily unavailable");
}

/** An error of the contract with a fresh request id. */
function apiError(status: number, code: string, message: string, retryAfter?: number): KeywardError {
  return new KeywardError({ code, message, status, requestId: newRequestId(), ...(retryAfter ? { retryAfter } : {}) });
}

/** The refusal of e, with the headers keyward sends with it. */
function failure(e: KeywardError, extra: Record<string, string> = {}): AuthFailure {
  const headers: Record<string, string> = {
    ...extra,
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "X-Request-Id": e.requestId,
  };
  if (e.retryAfter) headers["Retry-After"] = String(e.retryAfter);
  if (e.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="api"';
  const body = JSON.stringify({ error: e.toJSON() satisfies ErrorBody });
  return {
    ok: false,
    error: e,
    status: e.status,
    headers,
    body,
    response: () => new Response(body, { status: e.status, headers }),
  };
}

/**
 * A key's window as keyward sends it: the reset as a Unix time, rounded up
 * so that a client that waits until then finds a new window. Nothing for a
 * key without a rate limit.
 */
function rateLimitHeaders(rl: RateLimitState | undefined): Record<string, string> {
  if (!rl) return {};
  const reset = Date.parse(rl.reset);
  if (Number.isNaN(reset)) return {};
  // Date.parse drops digits past the millisecond: they still round up.
  const subMilli = /\.\d{3}(\d+)/.exec(rl.reset)?.[1] ?? "";
  const ms = reset + (/[1-9]/.test(subMilli) ? 1 : 0);
  return {
    "X-RateLimit-Limit": String(rl.limit),
    "X-RateLimit-Remaining": String(rl.remaining),
    "X-RateLimit-Reset": String(Math.ceil(ms / 1000)),
  };
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A request id like keyward's: "req_", 10 characters of millisecond time and 16 random ones (Crockford base32). */
export function newRequestId(now = Date.now()): string {
  let t = "";
  for (let i = 0, ms = now; i < 10; i++, ms = Math.floor(ms / 32)) t = CROCKFORD[ms % 32] + t;
  const rnd = crypto.getRandomValues(new Uint8Array(16));
  let r = "";
  for (const b of rnd) r += CROCKFORD[b % 32];
  return "req_" + t + r;
}
