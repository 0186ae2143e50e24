package httpapi_test

import (
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

func TestNotFound(t *testing.T) {
	s := newSetup(t)
	other := s.srv.MustProject(t, "Other")
	otherKey := s.srv.MustKey(t, nil, other.ID, keyward.CreateKeyInput{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/nope"},
		{"GET", "/v1/keys/x/y/z"},
		{"GET", "/v1/keys/key_00000000000000000000000000"},
		{"GET", "/v1/keys/not-an-id"},
		{"GET", "/v1/keys/" + otherKey.ID}, // another project's key: not found, never forbidden
		{"POST", "/v1/keys/" + otherKey.ID + "/revoke"},
		{"GET", "/v1/keys/" + strings.Repeat("x", 3000)},
	} {
		s.pk(t, c.method, c.path, nil).wantError(t, 404, keyward.CodeNotFound)
	}
	s.ok(t, "GET", "/v1/org/projects/prj_00000000000000000000000000", nil).wantError(t, 404, keyward.CodeNotFound)
	s.ok(t, "GET", "/v1/org/keys/"+s.key.ID, nil).wantError(t, 404, keyward.CodeNotFound) // a project key is no org key
	s.ok(t, "DELETE", "/v1/org/members/usr_00000000000000000000000000", nil).wantError(t, 404, keyward.CodeNotFound)
	// The other project's key still works: the failed revoke changed nothing.
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", otherKey.Secret).want(t, 200)
}

func TestMethodNotAllowed(t *testing.T) {
	s := newSetup(t)
	r := s.pk(t, "PUT", "/v1/keys", nil)
	r.wantError(t, 405, keyward.CodeMethodNotAllowed)
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Fatalf("Allow = %q", allow)
	}
	s.pk(t, "DELETE", "/v1/whoami", nil).wantError(t, 405, keyward.CodeMethodNotAllowed)
}

func TestConflicts(t *testing.T) {
	s := newSetup(t)
	s.ok(t, "POST", "/v1/org/projects", map[string]any{"name": "Dup", "slug": "dup"}).want(t, 201)
	s.ok(t, "POST", "/v1/org/projects", map[string]any{"name": "Dup 2", "slug": "dup"}).wantError(t, 409, keyward.CodeConflict)
	// The owner made one key; the per-user limit is 3.
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "2"}).want(t, 201)
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "3"}).want(t, 201)
	e := s.pk(t, "POST", "/v1/keys", map[string]any{"name": "4"}).wantError(t, 409, keyward.CodeKeyLimitReached)
	if !strings.Contains(e.Message, "3") || !strings.Contains(e.Message, "revok") {
		t.Fatalf("limit message %q should name the limit and say revoking frees a slot", e.Message)
	}
	s.pk(t, "POST", "/v1/keys/"+s.key.ID+"/revoke", nil).want(t, 200)
	s.ok(t, "POST", "/v1/org/projects/"+s.project.ID+"/keys", map[string]any{"name": "org-made"}).want(t, 201)
}
