package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/kwtest"
)

// TestAgainstRealAPI runs the SDK against the real API on a real SQLite
// store: a short walk through the key life cycle and the middleware, to
// keep the SDK and the server in step.
func TestAgainstRealAPI(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	org, err := client.New(client.WithBaseURL(srv.URL), client.WithOrgAPIKey(srv.OrgKey), client.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if w, err := org.Org().Whoami(ctx); err != nil || w.Kind != keyward.KindOrg {
		t.Fatalf("org whoami = %+v, %v", w, err)
	}
	p, err := org.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "Shop"})
	if err != nil {
		t.Fatalf("create project: %v", err)
	}
	admin, err := org.Org().ProjectKeys(p.ID).Create(ctx, keyward.CreateKeyInput{Name: "admin"})
	if err != nil || admin.Secret == "" {
		t.Fatalf("create project key: %+v, %v", admin, err)
	}

	c, err := client.New(client.WithBaseURL(srv.URL), client.WithAPIKey(admin.Secret), client.WithOrgAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if w, err := c.Whoami(ctx); err != nil || w.KeyID != admin.ID || w.ProjectID != p.ID {
		t.Fatalf("whoami = %+v, %v", w, err)
	}
	reader, err := c.Keys().Create(ctx, keyward.CreateKeyInput{Name: "reader", Scopes: []string{keyward.ScopeKeysRead}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	n := 0
	for _, err := range c.Keys().All(ctx, client.ListKeysParams{Limit: 1}) {
		if err != nil {
			t.Fatalf("all: %v", err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("listed %d keys, want 2", n)
	}

	// The middleware lets the reader in, and refuses it once revoked.
	h := client.Middleware(c, client.RequireScopes(keyward.ScopeKeysRead))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k, ok := client.KeyFromContext(r.Context()); !ok || k.ID != reader.ID {
			t.Errorf("KeyFromContext = %+v, %v", k, ok)
		}
	}))
	serve := func() int {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+reader.Secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := serve(); got != 200 {
		t.Errorf("middleware with a valid key: %d, want 200", got)
	}
	if _, err := c.Keys().Revoke(ctx, reader.ID, keyward.RevokeInput{Reason: "test"}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if k, err := c.Keys().Revoke(ctx, reader.ID, keyward.RevokeInput{}); err != nil || k.Status != keyward.StatusRevoked {
		t.Fatalf("revoke again = %+v, %v; want the revoked key", k, err)
	}
	if got := serve(); got != 401 {
		t.Errorf("middleware with a revoked key: %d, want 401", got)
	}

	// Errors decode into *client.Error.
	_, err = c.Keys().Get(ctx, "key_01J00000000000000000000000")
	var e *client.Error
	if !errors.As(err, &e) || e.Code != keyward.CodeNotFound || e.Status != 404 || e.RequestID == "" {
		t.Errorf("get unknown key: %#v", err)
	}
	bad, _ := client.New(client.WithBaseURL(srv.URL), client.WithAPIKey(reader.Secret))
	if _, err := bad.Whoami(ctx); !client.HasCode(err, keyward.CodeAPIKeyInvalid) {
		t.Errorf("whoami with a revoked key: %v, want API_KEY_INVALID", err)
	}
	if err := org.Org().Projects().Delete(ctx, p.ID); err != nil {
		t.Errorf("delete project: %v", err)
	}
}
