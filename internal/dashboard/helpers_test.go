package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each response as it is.
type browser struct {
	t    *testing.T
	srv  *kwtest.Server
	c    *http.Client
	base *url.URL
}

func newBrowser(t *testing.T, srv *kwtest.Server) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	return &browser{t: t, srv: srv, base: u, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// resp is a response with its body read.
type resp struct {
	*http.Response
	Body string
}

func (b *browser) do(req *http.Request) *resp {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &resp{Response: res, Body: string(body)}
}

func (b *browser) get(path string) *resp {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form as a same-origin browser would; extra headers
// (e.g. Sec-Fetch-Site) may be given as name, value pairs.
func (b *browser) post(path string, form url.Values, headers ...string) *resp {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.srv.URL)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// postFollow posts a form and, if it is answered with a redirect (303),
// follows it with a GET as a browser would: the result is the page shown.
func (b *browser) postFollow(path string, form url.Values) *resp {
	b.t.Helper()
	r := b.post(path, form)
	if r.StatusCode != http.StatusSeeOther {
		return r
	}
	return b.get(r.Header.Get("Location"))
}

func (b *browser) login(email, password string) *resp {
	b.t.Helper()
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

func (b *browser) mustLogin(email, password string) {
	b.t.Helper()
	if r := b.login(email, password); r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login %s: status %d, want 303\n%s", email, r.StatusCode, r.Body)
	}
}

func (b *browser) sessionCookie() *http.Cookie {
	for _, c := range b.c.Jar.Cookies(b.base) {
		if c.Name == "keyward_session" {
			return c
		}
	}
	return nil
}

// signedInOwner starts a server and signs its owner in.
func signedInOwner(t *testing.T) (*kwtest.Server, *browser) {
	t.Helper()
	srv := kwtest.NewServer(t)
	b := newBrowser(t, srv)
	b.mustLogin(kwtest.OwnerEmail, kwtest.OwnerPassword)
	return srv, b
}

// signedInMember adds a member with a project role and signs them in.
func signedInMember(t *testing.T, srv *kwtest.Server, email string, projectID string, role keyward.ProjectRole) (*keyward.Member, *browser) {
	t.Helper()
	m := srv.MustMember(t, email, keyward.OrgMember, projectID, role)
	srv.MustPassword(t, m.UserID, "member password 1")
	b := newBrowser(t, srv)
	b.mustLogin(email, "member password 1")
	return m, b
}

func mustGetKey(t *testing.T, srv *kwtest.Server, projectID, id string) *keyward.Key {
	t.Helper()
	k, err := srv.Service.GetKey(context.Background(), srv.Owner(), service.Where{ProjectID: projectID}, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func countKeys(t *testing.T, srv *kwtest.Server, projectID string) int {
	t.Helper()
	res, err := srv.Service.ListKeys(context.Background(), srv.Owner(), service.Where{ProjectID: projectID}, service.ListKeysQuery{Status: "all"})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Data)
}

func keysPath(srv *kwtest.Server, projectID string) string {
	return "/orgs/" + srv.OrgID + "/projects/" + projectID + "/keys"
}

var listAll = service.ListKeysQuery{Status: "all"}

func whereProject(id string) service.Where { return service.Where{ProjectID: id} }

func newServerT(t *testing.T) *kwtest.Server { return kwtest.NewServer(t) }
