import { AuditService } from "./audit.js";
import { KeywardConfigError } from "./errors.js";
import { KeysService } from "./keys.js";
import { all, pageQuery, type ListParams } from "./paging.js";
import { segment, type Call, type RequestOptions, type Transport } from "./request.js";
import { checkVerify, verify } from "./verify.js";
import type {
  AddMemberInput,
  CreateProjectInput,
  Invitation,
  Member,
  MemberPatch,
  Page,
  Project,
  ProjectPatch,
  RemoveMemberInput,
  Settings,
  SettingsPatch,
  VerifyInput,
  VerifyResult,
  Whoami,
} from "./types.js";

/** The org endpoints (/v1/org/…), called with the org key (x-org-api-key). */
export class OrgService {
  /** The org's own keys (kwo_…). */
  readonly keys: KeysService;
  /** The org's projects. */
  readonly projects: ProjectsService;
  /** The org's members and their roles. */
  readonly members: MembersService;
  /** The org's pending invitations. */
  readonly invitations: InvitationsService;
  /** The org's limits and policies. */
  readonly settings: SettingsService;
  /** The whole org's audit log. */
  readonly audit: AuditService;

  /** Used by Keyward; use `kw.org` instead. */
  constructor(private readonly t: Transport) {
    this.keys = new KeysService(t, "/v1/org/keys", "org");
    this.projects = new ProjectsService(t);
    this.members = new MembersService(t);
    this.invitations = new InvitationsService(t);
    this.settings = new SettingsService(t);
    this.audit = new AuditService(t, "/v1/org/audit-events", "org");
  }

  /** The keys of one project of the org, with the same methods as `kw.keys`. */
  projectKeys(projectId: string): KeysService {
    const where =
      projectId === ""
        ? new KeywardConfigError("EMPTY_ID", "keyward: empty project id: projectKeys needs a project id")
        : "/v1/org/projects/" + encodeURIComponent(projectId) + "/keys";
    return new KeysService(this.t, where, "org");
  }

  /** Describes the caller's org key (GET /v1/org/whoami). */
  async whoami(opts: RequestOptions = {}): Promise<Whoami> {
    const a = await this.t.call<Whoami>({
      method: "GET", path: "/v1/org/whoami", cred: "org", idempotent: true, signal: opts.signal,
    });
    return a.data;
  }

  /** Checks a key of any project of the org (POST /v1/org/verify); see Keyward.verify. */
  async verify(input: VerifyInput, opts: RequestOptions = {}): Promise<VerifyResult> {
    return (await verify(this.t, "org", input, opts)).data;
  }

  /** Keyward.checkVerify for the org key (GET /v1/org/whoami). */
  checkVerify(opts: RequestOptions = {}): Promise<void> {
    return checkVerify(this.t, "org", opts);
  }
}

/** The org's projects (org key). */
export class ProjectsService {
  /** Used by OrgService; use `kw.org.projects` instead. */
  constructor(private readonly t: Transport) {}

  /** Returns one page of projects. */
  async list(p: ListParams = {}, opts: RequestOptions = {}): Promise<Page<Project>> {
    return this.send<Page<Project>>({ method: "GET", path: "/v1/org/projects", query: pageQuery(p), idempotent: true }, opts);
  }

  /** Yields every project from p.cursor on. */
  all(p: ListParams = {}, opts: RequestOptions = {}): AsyncGenerator<Project, void, undefined> {
    return all(p.cursor, (cursor) => this.list({ ...p, cursor }, opts));
  }

  /** Creates a project. Never retried. */
  async create(input: CreateProjectInput, opts: RequestOptions = {}): Promise<Project> {
    return this.send({ method: "POST", path: "/v1/org/projects", body: input, idempotent: false }, opts);
  }

  /** Returns one project. */
  async get(id: string, opts: RequestOptions = {}): Promise<Project> {
    return this.send({ method: "GET", path: this.path(id), idempotent: true }, opts);
  }

  /** Renames a project or changes its slug or custom scopes. */
  async update(id: string, patch: ProjectPatch, opts: RequestOptions = {}): Promise<Project> {
    return this.send({ method: "PATCH", path: this.path(id), body: patch, idempotent: false }, opts);
  }

  /** Deletes a project. */
  async delete(id: string, opts: RequestOptions = {}): Promise<void> {
    await this.send({ method: "DELETE", path: this.path(id), idempotent: true }, opts);
  }

  private path(id: string): string {
    return "/v1/org/projects/" + segment(id, "project id");
  }

  private async send<T>(c: Omit<Call, "cred" | "signal">, opts: RequestOptions): Promise<T> {
    return (await this.t.call<T>({ ...c, cred: "org", signal: opts.signal })).data;
  }
}

/** The org's members and their roles (org key). */
export class MembersService {
  /** Used by OrgService; use `kw.org.members` instead. */
  constructor(private readonly t: Transport) {}

  /** Returns one page of members. */
  async list(p: ListParams = {}, opts: RequestOptions = {}): Promise<Page<Member>> {
    return this.send<Page<Member>>({ method: "GET", path: "/v1/org/members", query: pageQuery(p), idempotent: true }, opts);
  }

  /** Yields every member from p.cursor on. */
  all(p: ListParams = {}, opts: RequestOptions = {}): AsyncGenerator<Member, void, undefined> {
    return all(p.cursor, (cursor) => this.list({ ...p, cursor }, opts));
  }

  /**
   * Adds a person by email. A new person is created and the answer's
   * `invitation.url` is the link that sets their password; an email that
   * already has an account is only invited (`status: "pending"`).
   */
  async add(input: AddMemberInput, opts: RequestOptions = {}): Promise<Member> {
    return this.send({ method: "POST", path: "/v1/org/members", body: input, idempotent: false }, opts);
  }

  /** Changes a member's org role and project roles. */
  async update(userId: string, patch: MemberPatch, opts: RequestOptions = {}): Promise<Member> {
    return this.send({ method: "PATCH", path: this.path(userId), body: patch, idempotent: false }, opts);
  }

  /** Removes a member; their keys are revoked (the default) or transferred. */
  async remove(userId: string, input: RemoveMemberInput = {}, opts: RequestOptions = {}): Promise<void> {
    const query = new URLSearchParams();
    if (input.key_handling) query.set("key_handling", input.key_handling);
    if (input.transfer_to) query.set("transfer_to", input.transfer_to);
    await this.send({ method: "DELETE", path: this.path(userId), query, idempotent: true }, opts);
  }

  private path(userId: string): string {
    return "/v1/org/members/" + segment(userId, "user id");
  }

  private async send<T>(c: Omit<Call, "cred" | "signal">, opts: RequestOptions): Promise<T> {
    return (await this.t.call<T>({ ...c, cred: "org", signal: opts.signal })).data;
  }
}

/** The org's pending invitations (org key); MembersService.add makes them. */
export class InvitationsService {
  /** Used by OrgService; use `kw.org.invitations` instead. */
  constructor(private readonly t: Transport) {}

  /** Returns the pending invitations (at most 200, in one page). Their links are never shown again. */
  async list(opts: RequestOptions = {}): Promise<Page<Invitation>> {
    const a = await this.t.call<Page<Invitation>>({
      method: "GET", path: "/v1/org/invitations", cred: "org", idempotent: true, signal: opts.signal,
    });
    return a.data;
  }

  /** Ends a pending invitation. One that is no longer pending is a CONFLICT error, so it is never retried. */
  async revoke(id: string, opts: RequestOptions = {}): Promise<Invitation> {
    const a = await this.t.call<Invitation>({
      method: "POST", path: "/v1/org/invitations/" + segment(id, "invitation id") + "/revoke",
      cred: "org", idempotent: false, signal: opts.signal,
    });
    return a.data;
  }
}

/** The org's limits and policies (org key). */
export class SettingsService {
  /** Used by OrgService; use `kw.org.settings` instead. */
  constructor(private readonly t: Transport) {}

  /** Returns the org's settings. */
  async get(opts: RequestOptions = {}): Promise<Settings> {
    const a = await this.t.call<Settings>({
      method: "GET", path: "/v1/org/settings", cred: "org", idempotent: true, signal: opts.signal,
    });
    return a.data;
  }

  /** Changes some settings and returns all of them. */
  async update(patch: SettingsPatch, opts: RequestOptions = {}): Promise<Settings> {
    const a = await this.t.call<Settings>({
      method: "PATCH", path: "/v1/org/settings", body: patch, cred: "org", idempotent: false, signal: opts.signal,
    });
    return a.data;
  }
}
