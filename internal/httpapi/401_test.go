package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
)

func TestMissingCredentials(t *testing.T) {
	s := newSetup(t)
	for _, path := range []string{"/v1/whoami", "/v1/keys", "/v1/org/projects", "/v1/org/whoami"} {
		do(t, s.srv, "GET", path, nil).wantError(t, 401, keyward.CodeAPIKeyMissing)
	}
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", "").wantError(t, 401, keyward.CodeAPIKeyMissing)
}

func TestGarbageCredentials(t *testing.T) {
	s := newSetup(t)
	bad := s.key.Secret[:39] + "x"
	if bad == s.key.Secret {
		bad = s.key.Secret[:39] + "y"
	}
	for _, h := range [][]string{
		{"x-api-key", "hello"},
		{"x-api-key", bad}, // checksum fails
		{"x-api-key", "kwp_" + strings.Repeat("!", 36)},
		{"x-api-key", "kwx_" + s.key.Secret[4:]},
		{"x-api-key", s.key.Secret + " trailing"},
		{"Authorization", "Basic dXNlcjpwYXNz"},
		{"Authorization", "Bearer"},
		{"Authorization", "Bearer     "},
		{"Authorization", "Token " + s.key.Secret},
		{"x-api-key", "\u00e9\u00e9\u00e9"},
	} {
		do(t, s.srv, "GET", "/v1/whoami", nil, h...).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	}
}

// Unknown and revoked keys must be indistinguishable: same status, code and
// message (only the request id differs).
func TestUnknownAndRevokedLookAlike(t *testing.T) {
	s := newSetup(t)
	victim := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{})
	s.pk(t, "POST", "/v1/keys/"+victim.ID+"/revoke", nil).want(t, 200)
	unknown := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject)).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	revoked := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", victim.Secret).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	unknown.RequestID, revoked.RequestID = "", ""
	if unknown.Message != revoked.Message || unknown.Status != revoked.Status || len(unknown.Details) != len(revoked.Details) {
		t.Fatalf("unknown %+v vs revoked %+v", unknown, revoked)
	}
}

func TestExpiredKey(t *testing.T) {
	s := newSetup(t)
	k := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{ExpiresIn: ptr(keyward.Duration(time.Hour))})
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret).want(t, 200)
	s.srv.Clock.Advance(time.Hour)
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret).wantError(t, 401, keyward.CodeAPIKeyExpired)
	var got keyward.Key
	s.pk(t, "GET", "/v1/keys/"+k.ID, nil).want(t, 200).decode(t, &got)
	if got.Status != keyward.StatusExpired {
		t.Fatalf("status %q, want expired", got.Status)
	}
}
