import { AuditService } from "./audit.js";
import { KeywardConfigError } from "./errors.js";
import { KeysService } from "./keys.js";
import { OrgService } from "./org.js";
import { Transport, type RequestOptions } from "./request.js";
import type { VerifyInput, VerifyResult, Whoami } from "./types.js";
import { checkVerify, verify } from "./verify.js";

/** Environment variables the client reads by default. */
export const ENV_URL = "KEYWARD_URL";
/** The project key's variable. */
export const ENV_API_KEY = "KEYWARD_API_KEY";
/** The org key's variable. */
export const ENV_ORG_API_KEY = "KEYWARD_ORG_API_KEY";

/** The server address used when neither baseUrl nor KEYWARD_URL gives one. */
export const DEFAULT_URL = "http://127.0.0.1:8080";

/** Options of a Keyward client; each overrides its environment variable. */
export interface KeywardOptions {
  /** The server's base URL, e.g. "https://keys.example.com" (else KEYWARD_URL, else http://127.0.0.1:8080). */
  baseUrl?: string;
  /** The project key (kwp_…) for project calls (else KEYWARD_API_KEY). */
  apiKey?: string;
  /** The org key (kwo_…) for org calls (else KEYWARD_ORG_API_KEY). */
  orgApiKey?: string;
  /**
   * Where the variables are read: process.env by default. Pass a worker's
   * env binding, or {} to read none.
   */
  env?: Record<string, string | undefined>;
  /** The fetch to use (default: the global fetch). */
  fetch?: typeof fetch;
  /** The User-Agent header (default "keyward-js"). */
  userAgent?: string;
  /** How many times an idempotent call is retried (default 2; 0 disables retries). */
  retries?: number;
  /** How long one request may take, in milliseconds (default 30,000). */
  timeoutMs?: number;
}

/** The transport of each client, for LocalCache; not part of the public surface. */
const transports = new WeakMap<Keyward, Transport>();

/** The transport behind kw. */
export function transportOf(kw: Keyward): Transport {
  const t = transports.get(kw);
  if (!t) throw new KeywardConfigError("INVALID_OPTION", "keyward: not a Keyward client");
  return t;
}

/**
 * A client of a keyward server. Project calls (keys, whoami, audit, verify)
 * send the project key in x-api-key; org calls (everything under `org`)
 * send the org key in x-org-api-key. A call made without the key it needs
 * fails at once with a KeywardConfigError, without a request.
 *
 * Idempotent calls (reads, deletes and key revokes) are retried on network
 * errors and on 429, 502, 503 and 504; calls that create or change
 * something are never retried, so a lost answer cannot create two keys.
 */
export class Keyward {
  /** The caller's project's keys (project key). */
  readonly keys: KeysService;
  /** The caller's project's audit log (project key). */
  readonly audit: AuditService;
  /** The org endpoints (org key). */
  readonly org: OrgService;
  private readonly t: Transport;

  /** Builds a client from the environment, then from opts. */
  constructor(opts: KeywardOptions = {}) {
    const env = opts.env ?? processEnv();
    const rawUrl = opts.baseUrl ?? (env[ENV_URL] || DEFAULT_URL);
    const retries = opts.retries ?? 2;
    if (!Number.isInteger(retries) || retries < 0) {
      throw new KeywardConfigError("INVALID_OPTION", `keyward: retries must be a whole number of at least 0, not ${retries}`);
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    if (!(timeoutMs > 0)) {
      throw new KeywardConfigError("INVALID_OPTION", `keyward: timeoutMs must be positive, not ${timeoutMs}`);
    }
    const f = opts.fetch ?? globalThis.fetch;
    if (typeof f !== "function") {
      throw new KeywardConfigError("INVALID_OPTION", "keyward: no fetch: use Node 20 or later, or pass fetch");
    }
    this.t = new Transport({
      baseUrl: parseBaseUrl(rawUrl, opts.baseUrl === undefined ? ENV_URL : "baseUrl"),
      apiKey: (opts.apiKey ?? env[ENV_API_KEY] ?? "").trim(),
      orgApiKey: (opts.orgApiKey ?? env[ENV_ORG_API_KEY] ?? "").trim(),
      apiKeyFrom: opts.apiKey === undefined ? ENV_API_KEY : "the apiKey option",
      orgApiKeyFrom: opts.orgApiKey === undefined ? ENV_ORG_API_KEY : "the orgApiKey option",
      // Called as a plain function: some runtimes refuse fetch called as a method of another object.
      fetch: (input, init) => f(input, init),
      userAgent: opts.userAgent ?? "keyward-js",
      retries,
      timeoutMs,
      minBackoffMs: 100,
      maxBackoffMs: 2000,
      maxRetryAfterMs: 30_000,
    });
    transports.set(this, this.t);
    this.keys = new KeysService(this.t, "/v1/keys", "project");
    this.audit = new AuditService(this.t, "/v1/audit-events", "project");
    this.org = new OrgService(this.t);
  }

  /** The server address the client calls. */
  get baseUrl(): string {
    return this.t.cfg.baseUrl;
  }

  /** Whether the client holds a project key. */
  get hasApiKey(): boolean {
    return this.t.cfg.apiKey !== "";
  }

  /** Whether the client holds an org key. */
  get hasOrgApiKey(): boolean {
    return this.t.cfg.orgApiKey !== "";
  }

  /** Describes the caller's project key (GET /v1/whoami). */
  async whoami(opts: RequestOptions = {}): Promise<Whoami> {
    const a = await this.t.call<Whoami>({
      method: "GET", path: "/v1/whoami", cred: "project", idempotent: true, signal: opts.signal,
    });
    return a.data;
  }

  /**
   * Checks a key that your service received from its own client, against
   * the caller's project (POST /v1/verify). A key that is not valid is not
   * an error: `valid` is false and `code` says why. Never retried.
   */
  async verify(input: VerifyInput, opts: RequestOptions = {}): Promise<VerifyResult> {
    return (await verify(this.t, "project", input, opts)).data;
  }

  /**
   * Asks keyward once (GET /v1/whoami) whether the project key can verify
   * keys. Call it where your service starts: the KeywardConfigError names
   * KEYWARD_API_KEY (or the option) when keyward refuses the key, or the
   * keys:verify scope it lacks. LocalCache.start calls it for you.
   */
  checkVerify(opts: RequestOptions = {}): Promise<void> {
    return checkVerify(this.t, "project", opts);
  }

  /** Checks that the server process is up (GET /healthz). Sends no key. */
  async health(opts: RequestOptions = {}): Promise<void> {
    await this.t.call({ method: "GET", path: "/healthz", cred: "none", idempotent: true, signal: opts.signal });
  }

  /** Checks that the server can reach its store (GET /readyz); a server that cannot answers 503. */
  async ready(opts: RequestOptions = {}): Promise<void> {
    await this.t.call({ method: "GET", path: "/readyz", cred: "none", idempotent: true, signal: opts.signal });
  }
}

/** process.env where there is one (Node, Bun, Deno); {} elsewhere. */
function processEnv(): Record<string, string | undefined> {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env ?? {};
}

/** Accepts an http(s) URL with a host and an optional path prefix; no user info, query or fragment. */
function parseBaseUrl(raw: string, from: string): string {
  let u: URL | undefined;
  try {
    u = new URL(raw.trim());
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.host === "") {
    throw new KeywardConfigError("INVALID_BASE_URL", `keyward: invalid base URL ${JSON.stringify(raw)} (from ${from}): want http(s)://host[:port]`);
  }
  if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") {
    throw new KeywardConfigError(
      "INVALID_BASE_URL",
      `keyward: invalid base URL (from ${from}): no user info, query or fragment allowed`,
    );
  }
  return u.origin + u.pathname.replace(/\/+$/, "");
}
