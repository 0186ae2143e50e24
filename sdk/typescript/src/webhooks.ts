// Verification of keyward's webhook deliveries (the Standard Webhooks
// scheme) with Web Crypto only, so that it runs in Node 20+, Deno, Bun and
// workers alike.

import { KeywardConfigError } from "./errors.js";
import { headerList, type HeadersLike } from "./headers.js";

/** Headers as Fetch, Node's `req.headers` or a plain record give them; names match case-insensitively. */
export type WebhookHeaders = HeadersLike;

/** Why a delivery was refused. */
export type WebhookFailure = "missing_header" | "timestamp" | "signature" | "payload";

/**
 * A delivery that `verifyWebhook` refused: a header is missing
 * (`missing_header`), the timestamp is not integer seconds or is outside
 * the tolerance (`timestamp`), no v1 signature matches (`signature`), or
 * the signed body is not a keyward event (`payload`). The message says
 * more and never holds the secret or a signature.
 */
export class KeywardWebhookError extends Error {
  /** What was wrong. */
  readonly reason: WebhookFailure;

  /** Builds an error for `reason` with a message that says more. */
  constructor(reason: WebhookFailure, message: string) {
    super(`keyward: webhook refused: ${message}`);
    this.name = "KeywardWebhookError";
    this.reason = reason;
  }
}

/** A verified delivery. */
export interface WebhookEvent {
  /** The message id (webhook-id): the same on every retry and redelivery of one event. */
  id: string;
  /** The event's type, e.g. "key.created"; types this SDK does not know pass through. */
  type: string;
  /** When the event happened (the body's timestamp). */
  timestamp: Date;
  /** The event's data as sent (null when the body has none). */
  data: unknown;
}

/** Options of `verifyWebhook`. */
export interface VerifyWebhookOptions {
  /** How far the delivery's timestamp may be from now, either way, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time (default: the clock). */
  now?: Date;
}

/** The default of `toleranceSeconds`. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = "whsec_";
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const SIGNATURE_LENGTH = 44; // base64 of 32 bytes

/**
 * Verifies a webhook delivery from keyward and returns its event. `secret`
 * is the endpoint's signing secret ("whsec_" and base64, or the base64
 * alone); `rawBody` is the body exactly as received, before any JSON
 * parsing. In order: the webhook-id, webhook-timestamp and
 * webhook-signature headers must be present, the timestamp within
 * `toleranceSeconds` of now (which bounds replays), one v1 entry of the
 * signature must match (entries of other versions are ignored; compared
 * in constant time); only then is the body parsed.
 *
 * Throws KeywardWebhookError for a refused delivery and
 * KeywardConfigError (INVALID_OPTION) for a secret that is empty or not
 * base64, or a bad option. Keep a set of handled ids to act once per event.
 */
export async function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array | ArrayBuffer,
  opts: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const key = decodeSecret(secret);
  const tolerance = opts.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 1) {
    throw new KeywardConfigError("INVALID_OPTION", "keyward: toleranceSeconds must be a number of at least 1");
  }
  const now = opts.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new KeywardConfigError("INVALID_OPTION", "keyward: now must be a valid Date");
  }

  const id = headerList(headers, "webhook-id")[0] ?? "";
  const tsText = headerList(headers, "webhook-timestamp")[0] ?? "";
  const signatures = headerList(headers, "webhook-signature").join(" ");
  for (const [name, value] of [
    ["webhook-id", id],
    ["webhook-timestamp", tsText],
    ["webhook-signature", signatures],
  ] as const) {
    if (value.trim() === "") throw new KeywardWebhookError("missing_header", `missing ${name} header`);
  }

  if (!/^[0-9]+$/.test(tsText)) {
    throw new KeywardWebhookError("timestamp", "webhook-timestamp is not integer Unix seconds");
  }
  const ts = Number(tsText);
  const age = Math.floor(now.getTime() / 1000) - ts;
  const tol = Math.floor(tolerance);
  if (age > tol) {
    throw new KeywardWebhookError("timestamp", `webhook-timestamp is too old: ${age}s before now (tolerance ${tol}s)`);
  }
  if (age < -tol) {
    throw new KeywardWebhookError("timestamp", `webhook-timestamp is too new: ${-age}s after now (tolerance ${tol}s)`);
  }

  const body = bytesOf(rawBody);
  const want = await hmacSHA256(key, concat(new TextEncoder().encode(`${id}.${ts}.`), body));
  matchSignature(signatures, want);

  return parseEvent(id, body);
}

/** The HMAC key of a signing secret; throws KeywardConfigError, without the secret, for a bad one. */
function decodeSecret(secret: string): Uint8Array<ArrayBuffer> {
  let s = typeof secret === "string" ? secret.trim() : "";
  if (s.startsWith(SECRET_PREFIX)) s = s.slice(SECRET_PREFIX.length);
  if (s === "" || !BASE64.test(s)) {
    throw new KeywardConfigError(
      "INVALID_OPTION",
      'keyward: invalid webhook signing secret: want "whsec_" followed by standard base64',
    );
  }
  return fromBase64(s);
}

/** Throws KeywardWebhookError unless one v1 entry of `signatures` is `want`. */
function matchSignature(signatures: string, want: Uint8Array): void {
  let v1 = 0;
  for (const raw of signatures.split(/\s+/)) {
    // Fetch joins repeated headers with ", ": base64 holds no comma.
    const entry = raw.endsWith(",") ? raw.slice(0, -1) : raw;
    if (!entry.startsWith("v1,")) continue;
    v1++;
    const b64 = entry.slice(3);
    if (b64.length !== SIGNATURE_LENGTH || !BASE64.test(b64)) continue;
    if (constantTimeEqual(fromBase64(b64), want)) return;
  }
  if (v1 === 0) throw new KeywardWebhookError("signature", "webhook-signature has no v1 entry");
  throw new KeywardWebhookError("signature", "no v1 signature matches (a different secret, or a changed body)");
}

/** The event of a signed body; throws KeywardWebhookError (payload) if it is not one. */
function parseEvent(id: string, body: Uint8Array): WebhookEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (err) {
    throw new KeywardWebhookError("payload", `the signed body is not a keyward event: ${(err as Error).message}`);
  }
  const obj = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  const type = obj?.["type"];
  const ts = obj?.["timestamp"];
  const timestamp = typeof ts === "string" && RFC3339.test(ts) ? new Date(ts) : undefined;
  if (obj === undefined || typeof type !== "string" || type === "" || timestamp === undefined || Number.isNaN(timestamp.getTime())) {
    throw new KeywardWebhookError(
      "payload",
      "the signed body is not a keyward event: it needs a type and an RFC 3339 timestamp",
    );
  }
  return { id, type, timestamp, data: obj["data"] ?? null };
}


/** The body's bytes: a string as UTF-8; a Buffer or Uint8Array as is. */
function bytesOf(body: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof Uint8Array) return body;
  throw new KeywardConfigError("INVALID_OPTION", "keyward: rawBody must be a string, Uint8Array, Buffer or ArrayBuffer");
}

/** HMAC-SHA256 of data under key, with Web Crypto. */
async function hmacSHA256(key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const k = await globalThis.crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", k, data));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Whether a and b are equal, in time that depends on their length only. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
