import type { RateLimitState } from "./types.js";

/** One invalid field of a request and what is wrong with it. */
export interface FieldError {
  field: string;
  problem: string;
}

/** The error object of every error body: {"error": {…}}. */
export interface ErrorBody {
  code: string;
  message: string;
  status: number;
  request_id: string;
  details?: FieldError[];
}

/**
 * An error answered by keyward: the API's code (README, Error codes), the
 * HTTP status, the request id, the fields at fault, and for 429 (or a 503
 * that says) Retry-After and the X-RateLimit-* headers. It is set even when
 * the body was not the API's JSON (a proxy's HTML page), with a code that
 * fits the status. Messages come from the server and never hold a key.
 */
export class KeywardError extends Error {
  /** The API's error code, e.g. "NOT_FOUND" or "KEY_LIMIT_REACHED". */
  readonly code: string;
  /** The HTTP status. */
  readonly status: number;
  /** The request's id (X-Request-Id); "" when the answer had none. */
  readonly requestId: string;
  /** The fields at fault, for INVALID_REQUEST. */
  readonly details: FieldError[];
  /** Seconds to wait before trying again (Retry-After), when the answer said. */
  readonly retryAfter?: number;
  /** The caller's rate-limit window (X-RateLimit-*), when the answer carried it. */
  readonly rateLimit?: RateLimitState;
  /** The server's message as in the error body (`message` adds the code and request id). */
  readonly serverMessage: string;

  /** Builds an error; `fields.message` is the server's public message. */
  constructor(fields: {
    code: string;
    message: string;
    status: number;
    requestId?: string;
    details?: FieldError[];
    retryAfter?: number;
    rateLimit?: RateLimitState;
  }) {
    super(formatMessage(fields.code, fields.message, fields.details ?? [], fields.requestId ?? ""));
    this.name = "KeywardError";
    this.code = fields.code;
    this.status = fields.status;
    this.requestId = fields.requestId ?? "";
    this.details = fields.details ?? [];
    if (fields.retryAfter !== undefined) this.retryAfter = fields.retryAfter;
    if (fields.rateLimit !== undefined) this.rateLimit = fields.rateLimit;
    this.serverMessage = fields.message;
  }

  /** The error as the API writes it in an error body. */
  toJSON(): ErrorBody {
    const body: ErrorBody = {
      code: this.code,
      message: this.serverMessage,
      status: this.status,
      request_id: this.requestId,
    };
    if (this.details.length > 0) body.details = this.details;
    return body;
  }
}

/** "keyward: CODE: message", the fields at fault when there are several, and the request id. */
function formatMessage(code: string, message: string, details: FieldError[], requestId: string): string {
  let s = `keyward: ${code}: ${message}`;
  if (details.length > 1) {
    s += details.map((d, i) => `${i === 0 ? ": " : "; "}${d.field} ${d.problem}`).join("");
  }
  if (requestId !== "") s += ` (${requestId})`;
  return s;
}

/**
 * A call that got no usable answer from keyward: the network failed, the
 * request timed out or was aborted, or the answer could not be read (or,
 * from a LocalCache, was older than the change stream). `cause` holds the
 * underlying error. Idempotent calls are retried before this is thrown.
 */
export class KeywardRequestError extends Error {
  /** The HTTP method of the call. */
  readonly method: string;
  /** The path of the call, below the base URL. */
  readonly path: string;

  /** Builds an error for `method path` with a short reason. */
  constructor(method: string, path: string, reason: string, options?: { cause?: unknown }) {
    super(`keyward: ${method} ${path}: ${reason}`, options);
    this.name = "KeywardRequestError";
    this.method = method;
    this.path = path;
  }
}

/** Codes of KeywardConfigError. */
export type ConfigErrorCode =
  | "NO_API_KEY"
  | "NO_ORG_API_KEY"
  | "API_KEY_REFUSED"
  | "SCOPE_MISSING"
  | "EMPTY_ID"
  | "INVALID_BASE_URL"
  | "INVALID_OPTION";

/**
 * A mistake in how the client is set up or called, found before a request
 * is made (a missing key, an empty id, a bad base URL), or by
 * `checkVerify` (a key that keyward refuses or that lacks keys:verify).
 */
export class KeywardConfigError extends Error {
  /** What is wrong. */
  readonly code: ConfigErrorCode;

  /** Builds an error with a code and a message that says what to do. */
  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KeywardConfigError";
    this.code = code;
  }
}

/** Reports whether err is a KeywardError with the given API code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof KeywardError && err.code === code;
}

/** The API's code for a status whose body did not say. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 502:
    case 503:
    case 504:
      return "UNAVAILABLE";
    case 429:
      return "RATE_LIMITED";
    case 404:
      return "NOT_FOUND";
    case 413:
      return "PAYLOAD_TOO_LARGE";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    default:
      return "INTERNAL";
  }
}

/** Turns a non-2xx answer and its body text into a KeywardError. */
export function decodeError(status: number, statusText: string, headers: Headers, text: string, now: number): KeywardError {
  let body: Partial<ErrorBody> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    const e = (parsed as { error?: unknown } | null)?.error;
    if (e !== null && typeof e === "object" && typeof (e as ErrorBody).code === "string" && (e as ErrorBody).code !== "") {
      body = e as Partial<ErrorBody>;
    }
  } catch {
    // not the contract's JSON: described below from the status
  }
  const retryAfter = parseRetryAfter(headers.get("Retry-After"), now);
  const rateLimit = parseRateLimit(headers);
  const requestId = (typeof body?.request_id === "string" && body.request_id) || headers.get("X-Request-Id") || "";
  return new KeywardError({
    code: body?.code ?? codeForStatus(status),
    message:
      typeof body?.message === "string"
        ? body.message
        : `unexpected response from keyward: ${status}${statusText ? " " + statusText : ""}`,
    status: typeof body?.status === "number" && body.status !== 0 ? body.status : status,
    requestId,
    details: Array.isArray(body?.details) ? body.details : [],
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    ...(rateLimit !== undefined ? { rateLimit } : {}),
  });
}

/** Reads Retry-After (delay seconds or an HTTP date) as seconds. */
export function parseRetryAfter(v: string | null, now: number): number | undefined {
  const s = (v ?? "").trim();
  if (s === "") return undefined;
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

/** Reads X-RateLimit-Limit, -Remaining and -Reset (Unix seconds); undefined unless all three parse. */
export function parseRateLimit(h: Headers): RateLimitState | undefined {
  const ints = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"].map((name) => {
    const v = (h.get(name) ?? "").trim();
    return /^-?\d+$/.test(v) ? Number(v) : NaN;
  });
  const [limit, remaining, reset] = ints as [number, number, number];
  if (ints.some(Number.isNaN)) return undefined;
  return { limit, remaining, reset: new Date(reset * 1000).toISOString() };
}
