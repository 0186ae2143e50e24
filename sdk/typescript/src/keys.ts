import { all, pageQuery, type ListParams } from "./paging.js";
import { KeywardConfigError } from "./errors.js";
import { segment, type Credential, type RequestOptions, type Transport } from "./request.js";
import type { CreateKeyInput, Key, KeyPatch, Page, RevokeInput, RotateInput } from "./types.js";

/** Selects keys to list, newest first unless `sort` says otherwise. */
export interface ListKeysParams extends ListParams {
  /** "active" (the default: active and expiring keys), "expiring", "expired", "revoked" or "all". */
  status?: "active" | "expiring" | "expired" | "revoked" | "all";
  /** Searches names and hints. */
  q?: string;
  /** Keys owned by this user id. */
  owner?: string;
  /** Keys that hold this scope. */
  scope?: string;
  /** "oldest", "used" or "used_least"; newest first when left out. */
  sort?: "oldest" | "used" | "used_least";
}

/**
 * Manages keys: the caller's own project (`kw.keys`, project key), one
 * project of the org (`kw.org.projectKeys(id)`, org key) or the org's own
 * keys (`kw.org.keys`, org key).
 */
export class KeysService {
  /** Used by Keyward and OrgService; call those instead. */
  constructor(
    private readonly t: Transport,
    private readonly where: string | KeywardConfigError,
    private readonly cred: Credential,
  ) {}

  /** The path of the list, or the error every call throws (an empty project id). */
  private get base(): string {
    if (this.where instanceof KeywardConfigError) throw this.where;
    return this.where;
  }

  /** Returns one page of keys. */
  async list(p: ListKeysParams = {}, opts: RequestOptions = {}): Promise<Page<Key>> {
    const q = pageQuery(p);
    for (const name of ["status", "q", "owner", "scope", "sort"] as const) {
      const v = p[name];
      if (v) q.set(name, v);
    }
    const a = await this.t.call<Page<Key>>({
      method: "GET", path: this.base, query: q, cred: this.cred, idempotent: true, signal: opts.signal,
    });
    return a.data;
  }

  /** Yields every key that p selects, from p.cursor on, fetching pages of p.limit as it goes. */
  all(p: ListKeysParams = {}, opts: RequestOptions = {}): AsyncGenerator<Key, void, undefined> {
    return all(p.cursor, (cursor) => this.list({ ...p, cursor }, opts));
  }

  /** Creates a key. The answer's `secret` is the key itself, shown only in this answer. Never retried. */
  async create(input: CreateKeyInput, opts: RequestOptions = {}): Promise<Key> {
    return this.send("POST", this.base, input, false, opts);
  }

  /** Returns one key. */
  async get(id: string, opts: RequestOptions = {}): Promise<Key> {
    return this.send("GET", this.path(id), undefined, true, opts);
  }

  /** Renames a key or changes its metadata, IP allowlist, rate limit or (only narrowing) scopes. */
  async update(id: string, patch: KeyPatch, opts: RequestOptions = {}): Promise<Key> {
    return this.send("PATCH", this.path(id), patch, false, opts);
  }

  /**
   * Replaces a key and returns the new one, with its `secret`. The old key
   * is revoked now, or at the end of `grace_period`. Never retried.
   */
  async rotate(id: string, input: RotateInput = {}, opts: RequestOptions = {}): Promise<Key> {
    return this.send("POST", this.path(id) + "/rotate", input, false, opts);
  }

  /** Revokes a key for good and returns it. Revoking a revoked key changes nothing, so it is retried. */
  async revoke(id: string, input: RevokeInput = {}, opts: RequestOptions = {}): Promise<Key> {
    return this.send("POST", this.path(id) + "/revoke", input, true, opts);
  }

  /** Revokes a key, like revoke without a reason (DELETE …/keys/{id}). */
  async delete(id: string, opts: RequestOptions = {}): Promise<Key> {
    return this.send("DELETE", this.path(id), undefined, true, opts);
  }

  private path(id: string): string {
    return this.base + "/" + segment(id, "key id");
  }

  private async send(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    body: unknown,
    idempotent: boolean,
    opts: RequestOptions,
  ): Promise<Key> {
    const a = await this.t.call<Key>({ method, path, body, cred: this.cred, idempotent, signal: opts.signal });
    return a.data;
  }
}
