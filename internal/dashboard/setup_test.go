package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/dashboard"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// TestSetupOnce uses the first-start link of an empty store: it creates
// the org and owner, signs the owner in, shows the org key once, and does
// not work a second time.
func TestSetupOnce(t *testing.T) {
	svc, err := service.New(service.Config{Store: kwtest.NewStore(t), Logger: kwtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	token, err := svc.NewSetupToken(t.Context())
	if err != nil || token == "" {
		t.Fatalf("NewSetupToken: %q, %v", token, err)
	}
	ts := httptest.NewServer(dashboard.New(dashboard.Config{Service: svc, Logger: kwtest.Logger(t)}))
	t.Cleanup(ts.Close)
	b := newBrowser(t, &kwtest.Server{URL: ts.URL})

	if r := b.get("/setup?token=wrong"); r.StatusCode != http.StatusNotFound {
		t.Errorf("wrong token: %d, want 404", r.StatusCode)
	}
	if r := b.get("/setup?token=" + token); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `name="token" value="`+token+`"`) {
		t.Fatalf("setup page: %d", r.StatusCode)
	}
	form := url.Values{"token": {token}, "org": {"Acme"}, "email": {"first@example.com"}, "password": {"short"}}
	if r := b.post("/setup", form); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "8 to 256") {
		t.Errorf("short password: %d", r.StatusCode)
	}
	form.Set("password", "a long enough password")
	r := b.post("/setup", form)
	if r.StatusCode != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "kwo_") || b.sessionCookie() == nil {
		t.Fatalf("setup: %d to %q, signed in %v; want 303 with no secret in the URL", r.StatusCode, r.Header.Get("Location"), b.sessionCookie() != nil)
	}
	done := r.Header.Get("Location")
	if r := b.get(done); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `<code id="secret">kwo_`) {
		t.Fatalf("setup done: %d\n%s", r.StatusCode, r.Body)
	}
	if r := b.get(done); strings.Contains(r.Body, "kwo_") {
		t.Error("the org key's secret is shown again on reload")
	}
	if r := b.get("/account"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "first@example.com") {
		t.Errorf("not signed in after setup: %d", r.StatusCode)
	}
	if r := b.post("/setup", form); r.StatusCode != http.StatusNotFound {
		t.Errorf("second setup: %d, want 404", r.StatusCode)
	}
}
