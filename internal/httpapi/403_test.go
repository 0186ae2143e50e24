package httpapi_test

import (
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

func TestWrongKeyKind(t *testing.T) {
	s := newSetup(t)
	e := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", s.srv.OrgKey).wantError(t, 403, keyward.CodePermissionDenied)
	if !strings.Contains(e.Message, "x-org-api-key") || !strings.Contains(e.Message, "/v1/org") {
		t.Fatalf("message %q does not say where org keys go", e.Message)
	}
	e = do(t, s.srv, "GET", "/v1/org/projects", nil, "Authorization", "Bearer "+s.key.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	if !strings.Contains(e.Message, "x-api-key") {
		t.Fatalf("message %q does not say where project keys go", e.Message)
	}
}

func TestIPAllowlist(t *testing.T) {
	s := newSetup(t)
	for _, c := range []struct {
		list []string
		ok   bool
	}{
		{[]string{"127.0.0.0/8"}, true},
		{[]string{"127.0.0.1"}, true},
		{[]string{"10.0.0.0/8", "::1/128"}, false}, // the test client comes from 127.0.0.1
		{[]string{"2001:db8::/32"}, false},
	} {
		k := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{IPAllowlist: c.list})
		r := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret)
		if c.ok {
			r.want(t, 200)
		} else {
			r.wantError(t, 403, keyward.CodeIPNotAllowed)
		}
		s.pk(t, "POST", "/v1/keys/"+k.ID+"/revoke", nil).want(t, 200) // keep under the per-user limit
	}
}

func TestMissingScope(t *testing.T) {
	s := newSetup(t)
	ro := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{"keys:read"}})
	do(t, s.srv, "GET", "/v1/keys", nil, "x-api-key", ro.Secret).want(t, 200)
	do(t, s.srv, "POST", "/v1/keys", map[string]any{"name": "x"}, "x-api-key", ro.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	do(t, s.srv, "GET", "/v1/audit-events", nil, "x-api-key", ro.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	do(t, s.srv, "POST", "/v1/keys/"+s.key.ID+"/revoke", nil, "x-api-key", ro.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	// A key may always revoke itself.
	do(t, s.srv, "POST", "/v1/keys/"+ro.ID+"/revoke", nil, "x-api-key", ro.Secret).want(t, 200)

	// Denied attempts are audited, without the key.
	var events keyward.Page[keyward.AuditEvent]
	s.pk(t, "GET", "/v1/audit-events?actor="+ro.ID, nil).want(t, 200).decode(t, &events)
	denied := 0
	for _, e := range events.Data {
		if e.Result == keyward.ResultDenied {
			denied++
		}
	}
	if denied != 3 || strings.Contains(string(mustJSON(t, events)), ro.Secret) {
		t.Fatalf("%d denied events (want 3), or the secret leaked: %s", denied, mustJSON(t, events))
	}
}
