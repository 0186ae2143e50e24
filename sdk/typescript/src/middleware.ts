import { authenticate, type AuthOptions } from "./authenticate.js";
import type { Keyward } from "./client.js";
import type { Key } from "./types.js";

/** The verified key of each request the middlewares let through. */
const verified = new WeakMap<object, Key>();

/**
 * The verified key of a request that keywardMiddleware or protect let
 * through (Node's req, or the web Request); undefined for any other.
 */
export function keyOf(req: object): Key | undefined {
  return verified.get(req);
}

/** The parts of Node's IncomingMessage the Connect middleware reads. */
export interface NodeRequestLike {
  headers: Record<string, string | string[] | undefined>;
  headersDistinct?: Record<string, string[] | undefined>;
  socket?: { remoteAddress?: string | undefined } | null;
}

/** The parts of Node's ServerResponse the Connect middleware writes. */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/** Options of keywardMiddleware. */
export interface NodeMiddlewareOptions<Req extends NodeRequestLike> extends AuthOptions {
  /**
   * The caller's address, for keys with an IP allowlist. The default is the
   * socket's peer address; behind a trusted proxy return the address it
   * reports (in Express, `req => req.ip` with "trust proxy" set).
   */
  clientIp?: (req: Req) => string | undefined;
}

/**
 * A Connect-style middleware `(req, res, next)` for Express, Connect, or a
 * plain node:http server: it verifies the request's key and calls next()
 * with the key available as keyOf(req) (and the key's X-RateLimit-* set on
 * res), or answers the refusal itself (see authenticate): 401, 403, 429,
 * or 503 when keyward cannot be asked. It fails closed.
 */
export function keywardMiddleware<Req extends NodeRequestLike, Res extends NodeResponseLike>(
  kw: Keyward,
  opts: NodeMiddlewareOptions<Req> = {},
): (req: Req, res: Res, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    const ip = opts.clientIp ? opts.clientIp(req) : req.socket?.remoteAddress;
    authenticate(kw, req.headersDistinct ?? req.headers, { ...opts, ...(ip ? { ip } : {}) }).then((r) => {
      for (const [name, value] of Object.entries(r.headers)) res.setHeader(name, value);
      if (r.ok) {
        verified.set(req, r.key);
        next();
        return;
      }
      res.statusCode = r.status;
      res.end(r.body);
    }, next);
  };
}

/** Options of protect and forwardAuthHandler. */
export interface WebOptions<Args extends unknown[]> extends AuthOptions {
  /**
   * The caller's address, for keys with an IP allowlist. A web Request does
   * not carry it: read it from where your platform puts it (e.g.
   * `req => req.headers.get("cf-connecting-ip")` on Cloudflare, or the
   * X-Forwarded-For your own proxy sets). Without it, keys with an IP
   * allowlist are refused (IP_NOT_ALLOWED).
   */
  clientIp?: (request: Request, ...rest: Args) => string | null | undefined;
}

/**
 * Wraps a web-standard handler `(request, ...rest) => Response` (a Next.js
 * route handler, a worker's fetch, Bun.serve, Deno.serve) so that it runs
 * only for requests with a valid key, which it reads with keyOf(request).
 * Refusals are answered as in authenticate; the key's X-RateLimit-* are
 * added to the handler's answer.
 */
export function protect<R extends Request, Args extends unknown[]>(
  kw: Keyward,
  handler: (request: R, ...rest: Args) => Response | Promise<Response>,
  opts: WebOptions<Args> = {},
): (request: R, ...rest: Args) => Promise<Response> {
  return async (request, ...rest) => {
    const ip = opts.clientIp?.(request, ...rest);
    const r = await authenticate(kw, request.headers, { ...opts, ...(ip ? { ip } : {}) });
    if (!r.ok) return r.response();
    verified.set(request, r.key);
    return withHeaders(await handler(request, ...rest), r.headers);
  };
}

/** Identity headers of a forward-authentication answer. */
export const FORWARD_AUTH_HEADERS = {
  keyId: "Keyward-Key-Id",
  projectId: "Keyward-Project-Id",
  ownerId: "Keyward-Owner-Id",
  scopes: "Keyward-Scopes",
  metadata: "Keyward-Metadata",
  errorCode: "Keyward-Error-Code",
} as const;

/**
 * A web-standard handler for a reverse proxy's forward authentication
 * (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth): the proxy
 * sends it the client's request headers; it answers 200 with the key's
 * identity in Keyward-Key-Id, -Project-Id, -Owner-Id, -Scopes (comma
 * separated) and -Metadata (JSON), always all of them so that a proxy that
 * copies them overwrites what the client sent, or the refusal the client
 * should get, with its code in Keyward-Error-Code for proxies that drop
 * the body. Set clientIp to read the address your proxy forwards.
 */
export function forwardAuthHandler<Args extends unknown[]>(
  kw: Keyward,
  opts: WebOptions<Args> = {},
): (request: Request, ...rest: Args) => Promise<Response> {
  const h = FORWARD_AUTH_HEADERS;
  return async (request, ...rest) => {
    const ip = opts.clientIp?.(request, ...rest);
    const r = await authenticate(kw, request.headers, { ...opts, ...(ip ? { ip } : {}) });
    if (!r.ok) {
      const res = r.response();
      res.headers.set(h.errorCode, r.error.code);
      return res;
    }
    const k = r.key;
    return new Response(null, {
      status: 200,
      headers: {
        ...r.headers,
        "Cache-Control": "no-store",
        [h.keyId]: k.id,
        [h.projectId]: k.project_id ?? "",
        [h.ownerId]: k.owner_user_id ?? "",
        [h.scopes]: k.scopes.join(","),
        // Header values are bytes: non-ASCII is escaped, as JSON allows.
        [h.metadata]: JSON.stringify(k.metadata ?? {}).replace(
          /[\u007f-\uffff]/g,
          (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
        ),
      },
    });
  };
}

/** res with extra headers; a copy when its headers cannot change (an answer from fetch). */
function withHeaders(res: Response, extra: Record<string, string>): Response {
  const entries = Object.entries(extra);
  if (entries.length === 0) return res;
  try {
    for (const [name, value] of entries) res.headers.set(name, value);
    return res;
  } catch {
    const copy = new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
    for (const [name, value] of entries) copy.headers.set(name, value);
    return copy;
  }
}
