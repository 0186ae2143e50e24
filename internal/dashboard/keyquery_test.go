package dashboard_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

// rowNames lists the names of the keys table's rows, in order.
func rowNames(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr data-key-id="[^"]+" data-key-name="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// link is the href of the element with id in page, unescaped.
func link(page, id string) string {
	m := regexp.MustCompile(`id="` + id + `" href="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// The search, filters and order are the URL's query and the store's work:
// they hold across pages, next and previous, without JavaScript.
func TestKeysSearchAcrossPages(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "P", "billing:read")
	if _, err := srv.Service.UpdateSettings(context.Background(), srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: ptrInt(80)}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: fmt.Sprintf("payments %02d", i), Scopes: []string{"billing:read"}})
		srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: fmt.Sprintf("deploys %02d", i), Scopes: []string{keyward.ScopeKeysRead}})
	}
	base := keysPath(srv, p.ID)
	for _, c := range []struct {
		name  string
		query url.Values
		first string // the first row of the first page
	}{
		{"search", url.Values{"q": {"PAYMENTS"}}, "payments 29"},
		{"scope", url.Values{"scope": {"billing:read"}}, "payments 29"},
		{"search, oldest first", url.Values{"q": {"deploys"}, "sort": {"oldest"}}, "deploys 00"},
	} {
		page := b.get(base + "?" + c.query.Encode())
		if page.StatusCode != 200 {
			t.Fatalf("%s: %d", c.name, page.StatusCode)
		}
		names := rowNames(page.Body)
		if len(names) != 25 || names[0] != c.first {
			t.Fatalf("%s: first page %v", c.name, names)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, strings.Fields(c.first)[0]) {
				t.Errorf("%s: row %q does not match", c.name, n)
			}
		}
		if link(page.Body, "prev-page") != "" {
			t.Errorf("%s: the first page has a previous page", c.name)
		}
		next := link(page.Body, "next-page")
		for k, v := range c.query {
			if !strings.Contains(next, k+"="+url.QueryEscape(v[0])) {
				t.Errorf("%s: the next page's link %q drops %s", c.name, next, k)
			}
		}
		second := b.get(next).Body
		if names := rowNames(second); len(names) != 5 {
			t.Errorf("%s: the second page shows %v, want the 5 other matches", c.name, names)
		}
		if link(second, "next-page") != "" {
			t.Errorf("%s: the last page has a next page", c.name)
		}
		back := b.get(link(second, "prev-page")).Body
		if diff := strings.Join(rowNames(back), ","); diff != strings.Join(names, ",") {
			t.Errorf("%s: previous page of the second shows %v, want the first page %v", c.name, rowNames(back), names)
		}
		// The form shows what the list is filtered by.
		if q := c.query.Get("q"); q != "" && !strings.Contains(page.Body, `name="q" type="search" value="`+q+`"`) {
			t.Errorf("%s: the search box does not hold %q", c.name, q)
		}
	}

	// Revoking from a filtered page comes back to it.
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments extra", Scopes: []string{"billing:read"}})
	r := b.post(base+"/"+k.ID+"/revoke", url.Values{"confirm": {"REVOKE"}, "status": {"all"}, "q": {"pay"}, "sort": {"oldest"}})
	if want := base + "?q=pay&sort=oldest&status=all"; r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
		t.Errorf("revoke from a filtered page: %d to %q, want %q", r.StatusCode, r.Header.Get("Location"), want)
	}
}

// Values the page cannot use are left out with a note, never a 500.
func TestKeysBadQuery(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "P")
	srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	base := keysPath(srv, p.ID)
	for _, c := range []struct{ query, note string }{
		{"status=deleted", "status"},
		{"sort=name", "sort"},
		{"owner=bob", "owner"},
		{"cursor=%21%21", "page"},
		{"q=" + strings.Repeat("x", 300), "search"},
		{"status=nope&sort=sideways&cursor=zzz", "sort, status"}, // a cursor means nothing without its order
		{"status=nope&cursor=zzz", "page, status"},
	} {
		r := b.get(base + "?" + c.query)
		if r.StatusCode != 200 {
			t.Errorf("%s: %d, want 200", c.query, r.StatusCode)
			continue
		}
		want := `id="key-query-note" class="form-error" role="alert">Part of this page's address could not be used and was left out: ` + c.note + "."
		if !strings.Contains(html.UnescapeString(r.Body), html.UnescapeString(want)) {
			t.Errorf("%s: no note naming %s", c.query, c.note)
		}
		if names := rowNames(r.Body); len(names) != 1 {
			t.Errorf("%s: rows %v, want the one key", c.query, names)
		}
	}
	// A search that matches nothing says so and offers to clear it.
	r := b.get(base + "?q=nothing")
	if !strings.Contains(r.Body, "No keys match the search and filters.") || link(r.Body, "clear-filters") != base+"?status=active" {
		t.Errorf("no match: no message or no way to clear:\n%s", r.Body)
	}
}
