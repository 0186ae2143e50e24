import { all, pageQuery, type ListParams } from "./paging.js";
import type { Credential, RequestOptions, Transport } from "./request.js";
import type { AuditEvent, Page } from "./types.js";

/** Filters an audit log, newest first. */
export interface ListAuditParams extends ListParams {
  /** Narrows the org log to one project; the project log ignores it. */
  project_id?: string;
  /** An exact action ("key.revoke") or a prefix ending in "." ("key."). */
  action?: string;
  /** A user or key id. */
  actor?: string;
  /** Inclusive lower bound. */
  since?: Date | string;
  /** Exclusive upper bound. */
  until?: Date | string;
}

/** Reads an audit log: the caller's project's (`kw.audit`) or the whole org's (`kw.org.audit`). */
export class AuditService {
  /** Used by Keyward and OrgService; call those instead. */
  constructor(
    private readonly t: Transport,
    private readonly path: string,
    private readonly cred: Credential,
  ) {}

  /** Returns one page of audit events. */
  async list(p: ListAuditParams = {}, opts: RequestOptions = {}): Promise<Page<AuditEvent>> {
    const q = pageQuery(p);
    if (p.project_id && this.cred === "org") q.set("project_id", p.project_id);
    if (p.action) q.set("action", p.action);
    if (p.actor) q.set("actor", p.actor);
    if (p.since) q.set("since", p.since instanceof Date ? p.since.toISOString() : p.since);
    if (p.until) q.set("until", p.until instanceof Date ? p.until.toISOString() : p.until);
    const a = await this.t.call<Page<AuditEvent>>({
      method: "GET", path: this.path, query: q, cred: this.cred, idempotent: true, signal: opts.signal,
    });
    return a.data;
  }

  /** Yields every event that p selects, from p.cursor on. */
  all(p: ListAuditParams = {}, opts: RequestOptions = {}): AsyncGenerator<AuditEvent, void, undefined> {
    return all(p.cursor, (cursor) => this.list({ ...p, cursor }, opts));
  }
}
