// Package storetest is the conformance suite every keyward.Store passes.
// A store's own test calls Run with a function that opens a fresh, empty,
// migrated store, so SQLite and PostgreSQL are held to the same contract:
// exact round trips, NOT_FOUND and CONFLICT codes, status filters, cursors,
// transactions and the races the service relies on the store to settle.
package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
)

// Run runs every conformance test against stores made by open. open must
// return a new, empty, migrated store each time it is called, and close it
// when the test ends (t.Cleanup). Subtests run in parallel, each on its own
// store.
func Run(t *testing.T, open func(t *testing.T) keyward.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Users", userTests},
		{"Orgs", orgTests},
		{"Members", memberTests},
		{"ProjectMembers", projectMemberTests},
		{"Projects", projectTests},
		{"Keys", keyTests},
		{"KeyLists", keyListTests},
		{"KeySearch", keySearchTests},
		{"KeyChanges", keyChangeTests},
		{"Audit", auditTests},
		{"Sessions", sessionTests},
		{"PasswordResets", passwordResetTests},
		{"Invitations", invitationTests},
		{"OnceValues", onceTests},
		{"KeyLeaks", leakTests},
		{"Usage", usageTests},
		{"Webhooks", webhookTests},
		{"Tx", txTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newEnv(t, open(t)))
				})
			}
		})
	}
}

// test is one conformance check, run on a fresh store.
type test struct {
	name string
	fn   func(t *testing.T, e *env)
}

// base is the suite's "now": a fixed UTC time with microseconds, the
// precision every store keeps.
var base = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).Add(123456 * time.Microsecond)

// unicodeName exercises accents, emoji and CJK in every name column.
const unicodeName = "Clé 🔑 日本"

// env is one test's store with helpers that create rows or fail the test.
type env struct {
	t   *testing.T
	ctx context.Context
	s   keyward.Store
}

func newEnv(t *testing.T, s keyward.Store) *env {
	return &env{t: t, ctx: t.Context(), s: s}
}

// user creates a user with a unique email.
func (e *env) user(name string) *keyward.User {
	e.t.Helper()
	id := keyward.NewID(keyward.PrefixUser)
	u := &keyward.User{
		ID: id, Email: id + "@Example.com", Name: name,
		PasswordHash: "$argon2id$v=19$fake", CreatedAt: base,
	}
	if err := e.s.CreateUser(e.ctx, u); err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// org creates an org with default settings and a unique slug.
func (e *env) org() *keyward.Org {
	e.t.Helper()
	id := keyward.NewID(keyward.PrefixOrg)
	o := &keyward.Org{ID: id, Name: "Org " + id, Slug: slug(id), Settings: keyward.DefaultSettings(), CreatedAt: base}
	if err := e.s.CreateOrg(e.ctx, o); err != nil {
		e.t.Fatalf("CreateOrg: %v", err)
	}
	return o
}

// project creates a project in org with a unique slug.
func (e *env) project(org *keyward.Org) *keyward.Project {
	e.t.Helper()
	id := keyward.NewID(keyward.PrefixProject)
	p := &keyward.Project{
		ID: id, OrgID: org.ID, Name: "Project " + id, Slug: slug(id),
		CustomScopes: []string{}, CreatedAt: base, UpdatedAt: base,
	}
	if err := e.s.CreateProject(e.ctx, p); err != nil {
		e.t.Fatalf("CreateProject: %v", err)
	}
	return p
}

// member adds u to org with role.
func (e *env) member(org *keyward.Org, u *keyward.User, role keyward.OrgRole) *keyward.Member {
	e.t.Helper()
	m := &keyward.Member{OrgID: org.ID, UserID: u.ID, Email: u.Email, Name: u.Name, Role: role, CreatedAt: base}
	if err := e.s.PutMember(e.ctx, m); err != nil {
		e.t.Fatalf("PutMember: %v", err)
	}
	return m
}

// newKey returns an active project key of p (an org key when p is nil),
// changed by mods, without storing it.
func newKey(org *keyward.Org, p *keyward.Project, mods ...func(*keyward.Key)) *keyward.Key {
	k := &keyward.Key{
		ID: keyward.NewID(keyward.PrefixKey), Kind: keyward.KindOrg, Name: "key",
		Hint: "kwo_…abcd", OrgID: org.ID, Scopes: []string{keyward.ScopeKeysRead},
		CreatedAt: base, CreatedBy: keyward.ActorRef{Type: keyward.ActorSystem},
		IPAllowlist: []string{}, Metadata: map[string]string{}, Digest: digest(),
	}
	if p != nil {
		k.Kind, k.ProjectID, k.Hint = keyward.KindProject, p.ID, "kwp_…abcd"
	}
	for _, m := range mods {
		m(k)
	}
	return k
}

// key stores newKey(org, p, mods...).
func (e *env) key(org *keyward.Org, p *keyward.Project, mods ...func(*keyward.Key)) *keyward.Key {
	e.t.Helper()
	k := newKey(org, p, mods...)
	if err := e.s.CreateKey(e.ctx, k); err != nil {
		e.t.Fatalf("CreateKey: %v", err)
	}
	return k
}

// event stores an audit event of org with the given action, changed by mods.
func (e *env) event(org *keyward.Org, action string, mods ...func(*keyward.AuditEvent)) *keyward.AuditEvent {
	e.t.Helper()
	ev := &keyward.AuditEvent{
		ID: keyward.NewID(keyward.PrefixEvent), OrgID: org.ID, Time: base,
		Actor:  keyward.ActorRef{Type: keyward.ActorSystem},
		Action: action, Target: keyward.ActorRef{Type: "org", ID: org.ID},
		Result: keyward.ResultSuccess, RequestID: keyward.NewID(keyward.PrefixRequest),
		Details: map[string]any{}, Count: 1,
	}
	for _, m := range mods {
		m(ev)
	}
	if err := e.s.InsertAuditEvent(e.ctx, ev); err != nil {
		e.t.Fatalf("InsertAuditEvent: %v", err)
	}
	return ev
}

// digest returns a random 32-byte digest.
func digest() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// slug makes a unique, valid slug from an id.
func slug(id string) string { return fmt.Sprintf("s-%s", id[len(id)-12:]) }

func ptr[T any](v T) *T { return &v }

// wantCode fails the test unless err carries the error code want.
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := keyward.ErrorCode(err); got != want {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, want)
	}
}

// mustNil fails the test now when err is not nil.
func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// diff reports a difference between want and got.
func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// ids returns the ids of items, in order.
func ids[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func keyID(k *keyward.Key) string          { return k.ID }
func eventID(e *keyward.AuditEvent) string { return e.ID }
func projectID(p *keyward.Project) string  { return p.ID }
