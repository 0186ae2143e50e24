package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/kwtest"
)

func TestSignInSetsSessionCookie(t *testing.T) {
	srv := kwtest.NewServer(t)
	b := newBrowser(t, srv)
	r := b.login(kwtest.OwnerEmail, kwtest.OwnerPassword)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("status %d, Location %q; want 303 to /", r.StatusCode, r.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, rc := range r.Cookies() {
		if rc.Name == "keyward_session" {
			c = rc
		}
	}
	if c == nil || c.Value == "" {
		t.Fatal("no keyward_session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie HttpOnly=%v SameSite=%v Path=%q; want HttpOnly, Lax, /", c.HttpOnly, c.SameSite, c.Path)
	}
	if strings.Contains(r.Body, c.Value) {
		t.Error("the session token is in the body")
	}
}

func TestWrongPasswordSetsNoCookie(t *testing.T) {
	srv := kwtest.NewServer(t)
	for _, tc := range []struct{ email, password string }{
		{kwtest.OwnerEmail, "wrong password"},
		{"nobody@example.com", kwtest.OwnerPassword},
	} {
		b := newBrowser(t, srv)
		r := b.login(tc.email, tc.password)
		if r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.email, r.StatusCode)
		}
		if b.sessionCookie() != nil {
			t.Errorf("%s: a session cookie was set", tc.email)
		}
		if !strings.Contains(r.Body, "Wrong email or password") {
			t.Errorf("%s: page does not say what went wrong", tc.email)
		}
	}
}

func TestPagesNeedSession(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	b := newBrowser(t, srv)
	for _, path := range []string{"/", "/account", "/orgs/" + srv.OrgID + "/projects", keysPath(srv, p.ID), "/orgs/" + srv.OrgID + "/members"} {
		r := b.get(path)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("GET %s: status %d, Location %q; want 303 to /login", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	r := b.post("/orgs/"+srv.OrgID+"/projects", url.Values{"name": {"Sneaky"}})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("POST without session: status %d, Location %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestSignInReturnsToThePageAsked(t *testing.T) {
	srv := kwtest.NewServer(t)
	b := newBrowser(t, srv)
	r := b.post("/login", url.Values{"email": {kwtest.OwnerEmail}, "password": {kwtest.OwnerPassword}, "next": {"//evil.example/x"}})
	if got := r.Header.Get("Location"); got != "/" {
		t.Errorf("next=//evil.example: Location %q, want /", got)
	}
	r = b.post("/login", url.Values{"email": {kwtest.OwnerEmail}, "password": {kwtest.OwnerPassword}, "next": {"/account"}})
	if got := r.Header.Get("Location"); got != "/account" {
		t.Errorf("next=/account: Location %q", got)
	}
}

func TestLogoutEndsSessionOnServer(t *testing.T) {
	srv, b := signedInOwner(t)
	old := b.sessionCookie()
	if r := b.get("/account"); r.StatusCode != http.StatusOK {
		t.Fatalf("account: %d", r.StatusCode)
	}
	if r := b.post("/logout", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	// The old cookie, replayed by someone who kept it, no longer works.
	thief := newBrowser(t, srv)
	thief.c.Jar.SetCookies(thief.base, []*http.Cookie{{Name: "keyward_session", Value: old.Value, Path: "/"}})
	r := thief.get("/account")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("old cookie after logout: status %d, Location %q; want 303 to /login", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	srv, b := signedInOwner(t)
	path := "/orgs/" + srv.OrgID + "/projects"
	for name, headers := range map[string][]string{
		"Sec-Fetch-Site": {"Sec-Fetch-Site", "cross-site"},
		"Origin":         {"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
	} {
		r := b.post(path, url.Values{"name": {"Evil " + name}}, headers...)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, r.StatusCode)
		}
		if strings.Contains(b.get(path).Body, "Evil "+name) {
			t.Errorf("%s: the project was created", name)
		}
	}
	if r := b.post(path, url.Values{"name": {"Fine"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST: status %d, want 303", r.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	_, b := signedInOwner(t)
	for _, path := range []string{"/login", "/account"} {
		r := b.get(path)
		h := r.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, h.Get("Content-Security-Policy"))
		}
		for name, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if h.Get(name) != want {
				t.Errorf("%s: %s = %q, want %q", path, name, h.Get(name), want)
			}
		}
		if strings.Contains(r.Body, "<script>") || strings.Contains(r.Body, "style=") {
			t.Errorf("%s: inline script or style", path)
		}
	}
}
