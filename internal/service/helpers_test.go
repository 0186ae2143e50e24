package service_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

var ctx = context.Background()

// localIP is the client address the tests authenticate from.
var localIP = netip.MustParseAddr("127.0.0.1")

// seq makes unique emails and names across the tests of one run.
var seq atomic.Int64

func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// wantCode fails t unless err has the given code ("" for success).
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := kwtest.Code(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

// asError returns err as a *keyward.Error, failing t when it is not one.
func asError(t *testing.T, err error) *keyward.Error {
	t.Helper()
	e := keyward.AsError(err)
	if e.Code == keyward.CodeInternal {
		t.Fatalf("want a domain error, got %v", err)
	}
	return e
}

// fieldsOf returns the fields named in an INVALID_REQUEST error's details.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	wantCode(t, err, keyward.CodeInvalidRequest)
	e := asError(t, err)
	if len(e.Details) == 0 {
		t.Fatalf("INVALID_REQUEST without details: %v", err)
	}
	var fields []string
	for _, d := range e.Details {
		if d.Problem == "" {
			t.Errorf("detail for %q has no problem", d.Field)
		}
		fields = append(fields, d.Field)
	}
	return fields
}

// events returns every audit event of the env's org, newest first.
func events(t *testing.T, env *kwtest.Env, f keyward.AuditFilter) []*keyward.AuditEvent {
	t.Helper()
	f.OrgID = env.OrgID
	evs, err := env.Store.ListAuditEvents(ctx, f)
	if err != nil {
		t.Fatalf("ListAuditEvents: %v", err)
	}
	return evs
}

// countEvents counts the org's audit events with this action and result.
func countEvents(t *testing.T, env *kwtest.Env, action, result string) int {
	t.Helper()
	n := 0
	for _, e := range events(t, env, keyward.AuditFilter{Action: action}) {
		if e.Result == result {
			n++
		}
	}
	return n
}

// member adds a user with an org role and, when projectID is set, a
// project role; it returns the user id.
func member(t *testing.T, env *kwtest.Env, role keyward.OrgRole, projectID string, prole keyward.ProjectRole) string {
	t.Helper()
	return env.MustMember(t, uniq("user")+"@example.com", role, projectID, prole).UserID
}

// keyOwnedBy creates a project key (as the owner) and hands it to userID,
// whatever that user's role: the fixture for "a key they own".
func keyOwnedBy(t *testing.T, env *kwtest.Env, projectID, userID string) *keyward.Key {
	t.Helper()
	k := env.MustKey(t, nil, projectID, keyward.CreateKeyInput{Name: uniq("key")})
	if userID == env.OwnerID {
		return k
	}
	stored, err := env.Store.GetKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored.OwnerUserID = &userID
	if err := env.Store.UpdateKey(ctx, stored); err != nil {
		t.Fatal(err)
	}
	stored.Secret = k.Secret
	return stored
}

// keyActor authenticates secret as a key of kind and returns its actor.
func keyActor(t *testing.T, env *kwtest.Env, secret string, kind keyward.KeyKind) *service.Actor {
	t.Helper()
	k, err := env.Service.Authenticate(ctx, secret, kind, localIP)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return service.KeyActor(k, service.Origin{IP: "127.0.0.1", RequestID: "req_key"})
}

// orgKey creates an org key with the given scopes (nil = all) as the owner
// and returns it with its actor.
func orgKey(t *testing.T, env *kwtest.Env, scopes []string) (*keyward.Key, *service.Actor) {
	t.Helper()
	k, err := env.Service.CreateKey(ctx, env.Owner(), service.Where{}, keyward.CreateKeyInput{Name: uniq("org key"), Scopes: scopes})
	if err != nil {
		t.Fatalf("CreateKey(org): %v", err)
	}
	return k, keyActor(t, env, k.Secret, keyward.KindOrg)
}

// projectKey creates a project key as a (nil = owner) and returns it with
// its actor.
func projectKey(t *testing.T, env *kwtest.Env, a *service.Actor, projectID string, scopes []string) (*keyward.Key, *service.Actor) {
	t.Helper()
	k := env.MustKey(t, a, projectID, keyward.CreateKeyInput{Name: uniq("project key"), Scopes: scopes})
	return k, keyActor(t, env, k.Secret, keyward.KindProject)
}

// setSettings changes org settings as the owner.
func setSettings(t *testing.T, env *kwtest.Env, p keyward.SettingsPatch) {
	t.Helper()
	if _, err := env.Service.UpdateSettings(ctx, env.Owner(), p); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func dur(d string) *keyward.Duration {
	v, err := keyward.ParseDuration(d)
	if err != nil {
		panic(err)
	}
	return ptr(keyward.Duration(v))
}

func where(projectID string) service.Where { return service.Where{ProjectID: projectID} }
