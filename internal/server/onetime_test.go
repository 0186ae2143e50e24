package server

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// A new key's secret, made by a POST that one node answers, is shown by
// the page it redirects to on another node (behind a load balancer without
// sticky sessions), once: a reload, on any node, shows it no more.
func TestNewKeySecretShownOnAnotherNode(t *testing.T) {
	nodes, res := newCluster(t, 2, "")
	ctx := context.Background()
	u, err := nodes[0].srv.Store.GetUser(ctx, res.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = service.HashPassword("owner's password")
	if err := nodes[0].srv.Store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	p, err := nodes[0].srv.Service.CreateProject(ctx, service.UserActor(u.ID, res.Org.ID, service.Origin{}), keyward.CreateProjectInput{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// post returns the status and the headers; the body is read and closed.
	post := func(base, path string, form url.Values) (status int, header http.Header) {
		t.Helper()
		r, err := c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, r.Body) // drained so the connection is reused; the status is the answer
		r.Body.Close()
		return r.StatusCode, r.Header
	}
	get := func(base, path string) string {
		t.Helper()
		r, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s on %s: %d", path, base, r.StatusCode)
		}
		return string(b)
	}
	// The session cookie is the same for both nodes (one host in the jar
	// for 127.0.0.1, whatever the port).
	if status, _ := post(nodes[0].url, "/login", url.Values{"email": {u.Email}, "password": {"owner's password"}}); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", status)
	}
	keys := "/orgs/" + res.Org.ID + "/projects/" + p.ID + "/keys"
	status, header := post(nodes[0].url, keys, url.Values{"name": {"made on node 0"}, "access": {"full"}, "expiry": {"never"}})
	loc := header.Get("Location")
	if status != http.StatusSeeOther || !strings.Contains(loc, "once=") {
		t.Fatalf("create: %d, Location %q", status, loc)
	}
	secret := regexp.MustCompile(`kwp_[A-Za-z0-9]{30,}`)
	page := get(nodes[1].url, loc)
	found := secret.FindString(page)
	if found == "" {
		t.Fatalf("the page on node 1 shows no secret:\n%s", page)
	}
	if st := whoami(t, nodes[1].url, found); st != 200 {
		t.Errorf("the secret shown is not the key's: whoami %d", st)
	}
	for _, nd := range nodes {
		if again := get(nd.url, loc); secret.MatchString(again) {
			t.Errorf("a reload on %s shows the secret again", nd.url)
		}
	}
}
