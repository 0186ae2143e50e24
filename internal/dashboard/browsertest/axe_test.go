package browsertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// axeSource is axe-core (testdata/axe.min.js, from the npm registry,
// MPL-2.0, see testdata/axe-LICENSE), the accessibility checker the
// dashboard is held to.
func axeSource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("testdata/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// axeViolation is one rule axe found broken, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// checkAxe runs axe-core on the page as it is now (an open dialog or menu
// included) and fails the test on every serious or critical violation.
// The script is evaluated through the DevTools protocol, which the page's
// strict Content Security Policy does not apply to.
func (b *browser) checkAxe(where, src string) {
	b.t.Helper()
	b.do("load axe-core on "+where, chromedp.Evaluate[chromedp.Void](src))
	expr := `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))`
	ctx, cancel := chromedpTimeout(b)
	defer cancel()
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", where, err)
	}
	for _, v := range vs {
		b.t.Errorf("axe, %s: %s (%s): %s at %s", where, v.ID, v.Impact, v.Help, strings.Join(v.Targets, "; "))
	}
}

// TestAccessibility runs axe-core on every page and every dialog state of
// the dashboard, at 1280 and 400 px, in the light and the dark theme: CI
// fails on any serious or critical violation (contrast included).
func TestAccessibility(t *testing.T) {
	h := newHarness(t)
	src := axeSource(t)
	p := h.srv.MustProject(t, "Billing", "orders:read")
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "nightly"})
	h.srv.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	// More keys than a page holds, for the pages' links.
	if _, err := h.srv.Service.UpdateSettings(t.Context(), h.srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: new(30)}); err != nil {
		t.Fatal(err)
	}
	many := h.srv.MustProject(t, "Archive")
	for i := range 27 {
		h.srv.MustKey(t, nil, many.ID, keyward.CreateKeyInput{Name: fmt.Sprintf("service %02d", i+1)})
	}
	org := h.srv.URL + "/orgs/" + h.srv.OrgID
	for _, c := range []struct {
		width  int64
		scheme string
	}{{1280, "light"}, {400, "light"}, {1280, "dark"}, {400, "dark"}} {
		width := c.width
		t.Run(fmt.Sprint(width, c.scheme), func(t *testing.T) {
			b := h.tab()
			b.t = t
			b.do("viewport", chromedp.EmulateViewport(width, 800), colorScheme(c.scheme))
			b.do("login page", chromedp.Navigate(h.srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("form#login")))
			bg := eval[string](b, `getComputedStyle(document.documentElement).backgroundColor`)
			if dark := bg == "rgb(13, 17, 23)"; dark != (c.scheme == "dark") {
				t.Fatalf("page background %s in the %s theme", bg, c.scheme)
			}
			b.checkAxe("the sign-in page", src)
			b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
			for _, page := range []struct{ name, path, wait string }{
				{"projects", org + "/projects", "main"},
				{"keys", h.keysURL(p.ID, ""), "table#keys"},
				{"keys searched, filtered and sorted", h.keysURL(p.ID, "all") + "&q=pay&scope=orders:read&sort=used", "table#keys"},
				{"keys: no match, and a value left out", h.keysURL(p.ID, "all") + "&q=nothing&sort=bogus", "#key-query-note"},
				{"keys: next and previous pages", h.keysURL(many.ID, "active") + "&q=service&sort=oldest", "nav#key-pages"},
				{"a key's page", h.keysURL(p.ID, "") + "/" + k.ID, "dl#key-detail"},
				{"project members", org + "/projects/" + p.ID + "/members", "main"},
				{"project settings", org + "/projects/" + p.ID + "/settings", "main"},
				{"project audit log", org + "/projects/" + p.ID + "/audit", "main"},
				{"org keys", org + "/keys", "main"},
				{"webhooks", org + "/webhooks", "form#add-webhook"},
				{"org members", org + "/members", "main"},
				{"org settings", org + "/settings", "main"},
				{"org audit log", org + "/audit", "main"},
				{"account", h.srv.URL + "/account", "main"},
				{"new org", h.srv.URL + "/orgs/new", "main"},
			} {
				b.do("open "+page.name, chromedp.Navigate(page.path), chromedp.WaitVisible(chromedp.CSS(page.wait)))
				b.checkAxe(page.name, src)
			}
			b.do("the second page", chromedp.Navigate(h.keysURL(many.ID, "active")+"&sort=oldest"),
				chromedp.WaitVisible(chromedp.CSS("a#next-page")), chromedp.Click(chromedp.CSS("a#next-page")), chromedp.WaitVisible(chromedp.CSS("a#prev-page")))
			b.checkAxe("keys: the second page", src)
			if c.scheme == "light" {
				b.do("a key's page", chromedp.Navigate(h.keysURL(p.ID, "")+"/"+k.ID), chromedp.WaitVisible(chromedp.CSS("dl#key-detail")))
				b.screenshot(fmt.Sprintf("key-page-%d.png", width), true)
			}
			b.openKeys(p.ID, "")
			b.do("open New key", chromedp.Click(chromedp.CSS("button#new-key")), chromedp.WaitVisible(chromedp.CSS("dialog#create-dialog input#key-name")))
			b.checkAxe("the New key dialog", src)
			b.do("close it", chromedp.KeyEvent(kb.Escape))
			b.poll("the create dialog closes", `!document.querySelector('dialog#create-dialog').open`)
			b.openMenu(k.ID)
			b.checkAxe("the row menu", src)
			b.clickMenuItem("revoke")
			b.waitRevokeDialog()
			b.checkAxe("the revoke dialog", src)
			if c.scheme == "dark" {
				b.screenshot(fmt.Sprintf("dark-%d.png", width), false)
			}
		})
	}
}

// chromedpTimeout is b's context for one step.
func chromedpTimeout(b *browser) (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// colorScheme makes the page's prefers-color-scheme light or dark.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}
