package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// A key reported leaked shows a Leaked badge in the keys table and on its
// page, with where it was found; a URL that is no web address is shown as
// text, never as a link.
func TestLeakedKeyIsShown(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "P")
	revoked := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "leaked-one"})
	clean := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "clean-one"})
	where := "https://github.com/octo/app/blob/abc/.env"
	if n, err := srv.Service.ReportLeaks(context.Background(), service.Origin{}, []service.LeakReport{{Token: revoked.Secret, URL: where, Source: "content"}}); err != nil || n != 1 {
		t.Fatalf("ReportLeaks: %d %v", n, err)
	}
	list := b.get(keysPath(srv, p.ID) + "?status=all").Body
	rowOf := func(id string) string {
		_, after, ok := strings.Cut(list, `data-key-id="`+id+`"`)
		if !ok {
			t.Fatalf("no row for %s", id)
		}
		row, _, _ := strings.Cut(after, "</tr>")
		return row
	}
	if row := rowOf(revoked.ID); !strings.Contains(row, `data-status="leaked"`) || !strings.Contains(row, where) {
		t.Errorf("the leaked key's row has no Leaked badge naming where: %s", row)
	}
	if row := rowOf(clean.ID); strings.Contains(row, `data-status="leaked"`) {
		t.Errorf("a clean key's row says leaked")
	}
	page := b.get(keysPath(srv, p.ID) + "/" + revoked.ID).Body
	if !strings.Contains(page, `id="key-leak"`) || !strings.Contains(page, `href="`+where+`"`) || !strings.Contains(page, "revoked it at once") {
		t.Errorf("the key page does not say where the key was found")
	}

	// A URL that is not http(s) is text, not a link.
	flag := keyward.LeakFlag
	if _, err := srv.Service.UpdateSettings(context.Background(), srv.Owner(), keyward.SettingsPatch{LeakPolicy: &flag}); err != nil {
		t.Fatal(err)
	}
	odd := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "odd"})
	if _, err := srv.Service.ReportLeaks(context.Background(), service.Origin{}, []service.LeakReport{{Token: odd.Secret, URL: "javascript:alert(1)"}}); err != nil {
		t.Fatal(err)
	}
	page = b.get(keysPath(srv, p.ID) + "/" + odd.ID).Body
	if strings.Contains(page, `href="javascript`) || !strings.Contains(page, "rotate it now") {
		t.Errorf("a javascript: URL became a link, or the flag policy is not said")
	}
}
