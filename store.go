package keyward

import (
	"context"
	"time"
)

// Store persists keyward's data. It holds no business rules: the service
// decides, the store records. Every method returns an *Error with code
// NOT_FOUND for a missing row, CONFLICT for a unique violation and
// UNAVAILABLE when the database cannot be reached.
//
// Implementations: internal/store/sqlite and internal/store/postgres, both
// checked by the conformance suite in internal/store/storetest.
type Store interface {
	Queries
	UsageStore
	// InTx runs fn in one read-write transaction: all of fn's writes land
	// together or not at all. Writes that must not race (limit checks,
	// revocation) call LockOrg first.
	InTx(ctx context.Context, fn func(Queries) error) error
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// Queries are the reads and writes a Store offers, in or out of a
// transaction.
type Queries interface {
	// LockOrg serializes transactions of one org until the transaction ends
	// (a row lock on PostgreSQL; SQLite's write transaction already is one)
	// and returns the org as the lock found it, which saves the limit checks
	// that follow a read while they hold the lock. NOT_FOUND for a missing
	// org.
	LockOrg(ctx context.Context, orgID string) (*Org, error)

	CreateUser(ctx context.Context, u *User) error // CONFLICT on a duplicate email
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByEmail(ctx context.Context, email string) (*User, error) // case-insensitive
	UpdateUser(ctx context.Context, u *User) error

	CreateOrg(ctx context.Context, o *Org) error // CONFLICT on a duplicate slug
	GetOrg(ctx context.Context, id string) (*Org, error)
	UpdateOrg(ctx context.Context, o *Org) error // name, slug, settings
	ListOrgsForUser(ctx context.Context, userID string) ([]*Org, error)
	CountOrgs(ctx context.Context) (int, error)

	PutMember(ctx context.Context, m *Member) error // insert, or update the role
	GetMember(ctx context.Context, orgID, userID string) (*Member, error)
	// ListMembers returns members ordered by user id, after the cursor.
	ListMembers(ctx context.Context, orgID string, after string, limit int) ([]*Member, error)
	DeleteMember(ctx context.Context, orgID, userID string) error // also its project roles
	CountOwners(ctx context.Context, orgID string) (int, error)

	PutProjectMember(ctx context.Context, m *ProjectMember) error // insert, or update the role
	GetProjectMember(ctx context.Context, projectID, userID string) (*ProjectMember, error)
	ListProjectMembers(ctx context.Context, projectID string) ([]*ProjectMember, error)
	ListUserProjectRoles(ctx context.Context, orgID, userID string) ([]*ProjectMember, error)
	DeleteProjectMember(ctx context.Context, projectID, userID string) error

	CreateProject(ctx context.Context, p *Project) error // CONFLICT on a duplicate slug in the org
	GetProject(ctx context.Context, id string) (*Project, error)
	// ListProjects returns the org's projects ordered by id, newest first,
	// with ids below the cursor.
	ListProjects(ctx context.Context, orgID string, before string, limit int) ([]*Project, error)
	UpdateProject(ctx context.Context, p *Project) error // name, slug, custom scopes, updated_at
	DeleteProject(ctx context.Context, id string) error  // the project, its keys and project roles; audit events stay

	CreateKey(ctx context.Context, k *Key) error
	GetKey(ctx context.Context, id string) (*Key, error)
	// GetKeyByDigest finds the key whose stored digest is d. Revoked keys
	// have no digest and are never found.
	GetKeyByDigest(ctx context.Context, d []byte) (*Key, error)
	ListKeys(ctx context.Context, f KeyFilter) ([]*Key, error)
	// UpdateKey writes every mutable field: name, scopes, ip allowlist,
	// metadata, owner, expires_at, revoked_at/by/reason, replaced_by and the
	// digest (nil erases it).
	UpdateKey(ctx context.Context, k *Key) error
	// CountUsableKeys counts keys that are neither revoked nor expired at f.Now,
	// matching f's org, kind, project and owner (empty fields match all). A
	// positive f.Limit caps the count (it returns min(count, f.Limit)), so a
	// limit check reads no more keys than the limit; f.Status and f.Before
	// are ignored.
	CountUsableKeys(ctx context.Context, f KeyFilter) (int, error)
	// TouchKeys sets last_used_at, last_used_ip and last_used_user_agent
	// for many keys at once (batched write-behind); a use older than the
	// one stored changes nothing.
	TouchKeys(ctx context.Context, used map[string]KeyUse) error

	// PutKeyLeak records the latest leak report of a key, replacing an
	// earlier one.
	PutKeyLeak(ctx context.Context, l *KeyLeak) error
	// KeyLeaks returns the leak reports of the keys with these ids that
	// have one, by key id.
	KeyLeaks(ctx context.Context, keyIDs []string) (map[string]*KeyLeak, error)

	InsertAuditEvent(ctx context.Context, e *AuditEvent) error
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)

	CreateSession(ctx context.Context, s *Session) error
	// GetSessionByDigest finds a session by its token's digest (expired ones
	// too: the caller checks ExpiresAt).
	GetSessionByDigest(ctx context.Context, d []byte) (*Session, error)
	TouchSession(ctx context.Context, id string, seen, expires time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSessions(ctx context.Context, userID string) error

	// KeyChanges returns the key changes recorded after change number since,
	// oldest first (at most limit). Every CreateKey, UpdateKey and
	// DeleteProject records one change per key it touches, in the same
	// transaction, with a number that only grows; on PostgreSQL the commit
	// also sends NOTIFY keyward_key_changes. Nodes use this log to keep their
	// caches in step with the store whatever happens to the feed.
	KeyChanges(ctx context.Context, since int64, limit int) ([]KeyChange, error)
	// RecordKeyChanges records one change for each existing key of ids
	// without changing it: what the key may do changed elsewhere (its
	// owner's role), so caches must read it again.
	RecordKeyChanges(ctx context.Context, ids []string) error
	// LatestKeyChange returns the highest change number (0 when none).
	LatestKeyChange(ctx context.Context) (int64, error)
	// PruneKeyChanges deletes changes recorded before t.
	PruneKeyChanges(ctx context.Context, before time.Time) error

	CreatePasswordReset(ctx context.Context, r *PasswordReset) error
	// UsePasswordReset marks the reset with digest d used at now and returns
	// it, if it exists, is unused and has not expired at now; otherwise
	// NOT_FOUND. Two concurrent uses: exactly one succeeds.
	UsePasswordReset(ctx context.Context, d []byte, now time.Time) (*PasswordReset, error)
	// DeleteUserPasswordResets deletes every password reset of the user,
	// used or not; having none is not an error.
	DeleteUserPasswordResets(ctx context.Context, userID string) error

	// PutOnce keeps a one-time value, and deletes those expired at now.
	PutOnce(ctx context.Context, v *OnceValue, now time.Time) error
	// TakeOnce deletes and returns the value id of session sessionID if it
	// has not expired at now; NOT_FOUND otherwise (another session's value
	// stays). Two concurrent takes: exactly one gets it.
	TakeOnce(ctx context.Context, id, sessionID string, now time.Time) (*OnceValue, error)

	CreateInvitation(ctx context.Context, inv *Invitation) error // CONFLICT on a duplicate id or digest
	GetInvitation(ctx context.Context, id string) (*Invitation, error)
	GetInvitationByDigest(ctx context.Context, d []byte) (*Invitation, error)
	// ListPendingInvitations returns the org's invitations that are neither
	// accepted nor revoked and expire after now, ordered by id (at most
	// limit).
	ListPendingInvitations(ctx context.Context, orgID string, now time.Time, limit int) ([]*Invitation, error)
	// UpdateInvitation writes an invitation's accepted_at and revoked_at.
	UpdateInvitation(ctx context.Context, inv *Invitation) error

	WebhookQueries
}

// KeyFilter selects keys, in Order (newest first unless told).
type KeyFilter struct {
	OrgID       string
	Kind        KeyKind // "" = both
	ProjectID   string  // "" = any
	OwnerUserID string  // "" = any
	// Status: "" or "active" = active and expiring; "expiring"; "revoked";
	// "expired"; "all". Judged at Now.
	Status string
	Now    time.Time
	// Search keeps the keys whose name or hint contains it, ignoring the
	// case of ASCII letters; "" = any.
	Search string
	Scope  string // keys that hold this scope; "" = any
	Order  KeyOrder
	// After is where a page starts (from a cursor): the keys after it in
	// Order; nil = from the start. With Back, the Limit keys just before
	// it instead, still returned in Order.
	After *KeyPos
	Back  bool
	Limit int
}

// KeyOrder is the order in which ListKeys returns keys. Every order is
// total (ties broken by id), so a KeyPos is a place in it.
type KeyOrder string

// Key orders. Ids sort by creation time, so created is id order.
const (
	OrderNewest    KeyOrder = ""           // created, newest first
	OrderOldest    KeyOrder = "oldest"     // created, oldest first
	OrderUsed      KeyOrder = "used"       // last used, most recent first, never used last
	OrderUsedLeast KeyOrder = "used_least" // last used, least recent first, never used first
)

// KeyOrders are the orders ListKeys knows.
var KeyOrders = []KeyOrder{OrderNewest, OrderOldest, OrderUsed, OrderUsedLeast}

// ByUse reports whether o sorts by last use (and so a KeyPos in it needs
// LastUsedAt).
func (o KeyOrder) ByUse() bool { return o == OrderUsed || o == OrderUsedLeast }

// Descending reports whether o lists the greatest (newest, most recently
// used) first.
func (o KeyOrder) Descending() bool { return o == OrderNewest || o == OrderUsed }

// KeyPos is a key's place in a KeyOrder: its id and, for the orders by
// use, when it was last used (nil = never).
type KeyPos struct {
	ID         string
	LastUsedAt *time.Time
}

// KeyChange is one entry of the key change log.
type KeyChange struct {
	Seq       int64
	KeyID     string
	OrgID     string // "" for changes recorded before migration 0005
	ProjectID string // "" for org keys
	At        time.Time
}

// KeyChangesChannel is the PostgreSQL NOTIFY channel (and Redis pub/sub
// channel) that announces new key changes.
const KeyChangesChannel = "keyward_key_changes"
