package browsertest

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// TestUsageChart: a key's page and its project's keys page draw the
// requests by outcome as an SVG that is visible at 1280 and 400 px, in the
// light and the dark theme, with the numbers in a table, and pass axe.
func TestUsageChart(t *testing.T) {
	h := newHarness(t)
	src := axeSource(t)
	ctx := t.Context()
	p := h.srv.MustProject(t, "Billing")
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments", IPAllowlist: []string{"127.0.0.0/8"}})
	local, outside := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1")
	for range 3 {
		if _, _, err := h.srv.Service.AuthenticateClient(ctx, k.Secret, keyward.KindProject, service.Client{IP: local, UserAgent: "chart-test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		kind keyward.KeyKind
		ip   netip.Addr
	}{{keyward.KindProject, outside}, {keyward.KindOrg, local}} { // refused: ip not allowed; invalid (wrong kind)
		if _, _, err := h.srv.Service.AuthenticateClient(ctx, k.Secret, c.kind, service.Client{IP: c.ip}); err == nil {
			t.Fatal("a refused authentication passed")
		}
	}
	if err := h.srv.Service.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	keyPage := h.keysURL(p.ID, "") + "/" + k.ID
	for _, c := range []struct {
		width  int64
		scheme string
	}{{1280, "light"}, {400, "light"}, {400, "dark"}} {
		t.Run(fmt.Sprint(c.width, c.scheme), func(t *testing.T) {
			b := h.tab()
			b.t = t
			b.do("viewport", chromedp.EmulateViewport(c.width, 800), colorScheme(c.scheme))
			b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
			for _, page := range []struct{ name, url string }{
				{"the key's page", keyPage},
				{"the key's page, last hour", keyPage + "?usage=1h"},
				{"the project's keys page", h.keysURL(p.ID, "")},
			} {
				b.do("open "+page.name, chromedp.Navigate(page.url), chromedp.WaitVisible(chromedp.CSS("section#usage svg.usage-svg")))
				w := eval[float64](b, `document.querySelector('section#usage svg.usage-svg').getBoundingClientRect().width`)
				if w < float64(c.width)/2 {
					t.Errorf("%s: the chart is %.0f px wide at %d px", page.name, w, c.width)
				}
				if n := b.count("section#usage svg rect.u-valid"); n == 0 {
					t.Errorf("%s: no bar of valid requests", page.name)
				}
				if n := b.count("section#usage svg rect.u-ip, section#usage svg rect.u-invalid"); n < 2 {
					t.Errorf("%s: %d bars of refused requests, want the ip and the invalid ones", page.name, n)
				}
				// Every number, in a table: 3 valid, 1 invalid, 1 ip.
				if got := b.text("table#usage-table tfoot tr"); got != "Total\t3\t1\t0\t0\t1\t0\t5" {
					t.Errorf("%s: the table's totals read %q", page.name, got)
				}
				if fill := eval[string](b, `getComputedStyle(document.querySelector('section#usage svg rect.u-valid')).fill`); fill == "" || fill == "rgb(0, 0, 0)" {
					t.Errorf("%s: valid bars are filled %q", page.name, fill)
				}
				b.checkAxe(page.name, src)
			}
			b.do("the key's page", chromedp.Navigate(keyPage), chromedp.WaitVisible(chromedp.CSS("section#usage svg")))
			if ip, agent := b.text("[data-field=last-used-ip]"), b.text("[data-field=last-used-user-agent]"); ip != "127.0.0.1" || agent != "chart-test" {
				t.Errorf("last use shown from %q with %q, want 127.0.0.1 and chart-test", ip, agent)
			}
			b.screenshot(fmt.Sprintf("usage-%d-%s.png", c.width, c.scheme), true)
		})
	}
}
