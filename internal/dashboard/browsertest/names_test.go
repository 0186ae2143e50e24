package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// TestAuditFitsAt1280: the audit log at 1280 px names people by email and
// keys by name and hint, and all its columns (time, actor, action, target,
// address, request id) fit without sideways scrolling, even with a long
// email, a long key name and an IPv6 address.
func TestAuditFitsAt1280(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	m := h.srv.MustMember(t, "firstname.lastname@subsidiary.example.com", keyward.OrgAdmin, "", "")
	k := h.srv.MustKey(t, h.srv.User(m.UserID), p.ID, keyward.CreateKeyInput{Name: "nightly deploys for the billing service"})
	// The widest address and a request id as the server makes them.
	far := service.UserActor(m.UserID, h.srv.OrgID, service.Origin{IP: "2001:db8:85a3:1234:5678:8a2e:370:7334", RequestID: "req_01M94HTF6D0EVP4X219NDGEB7H"})
	if _, err := h.srv.Service.RevokeKey(context.Background(), far, service.Where{ProjectID: p.ID}, k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.do("audit log", chromedp.Navigate(h.srv.URL+"/orgs/"+h.srv.OrgID+"/audit"), chromedp.WaitVisible(chromedp.CSS("table#audit")))

	if got := b.text(`table#audit tr[data-event-id] td[data-col=target]`); got != "nightly deploys for the billing service ("+k.Hint+")" {
		t.Errorf("newest event's target reads %q", got)
	}
	if n := b.count(`table#audit td[data-col=actor] span[title]`); n == 0 {
		t.Error("no actor carries its id on hover")
	}
	type fit struct {
		Table int `json:"table"`
		Wrap  int `json:"wrap"`
		Doc   int `json:"doc"`
		Inner int `json:"inner"`
	}
	f := eval[fit](b, `(() => {
		const t = document.querySelector('table#audit');
		return {table: t.scrollWidth, wrap: t.parentElement.clientWidth, doc: document.documentElement.scrollWidth, inner: window.innerWidth};
	})()`)
	if f.Table > f.Wrap || f.Doc > f.Inner {
		t.Errorf("audit table at 1280 px is %d px wide in a %d px box (page %d px in a %d px window): columns are cut off", f.Table, f.Wrap, f.Doc, f.Inner)
	}
	b.screenshot("audit.png", true)
}

// TestRotatedPairAt1280: after a rotation with a grace period the two rows
// read apart: the old one "replaced by" the new one, with its countdown,
// the new one "replaces" the old one.
func TestRotatedPairAt1280(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	old := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	grace := keyward.Duration(24 * time.Hour)
	fresh, err := h.srv.Service.RotateKey(context.Background(), h.srv.Owner(), service.Where{ProjectID: p.ID}, old.ID, keyward.RotateInput{GracePeriod: &grace})
	if err != nil {
		t.Fatal(err)
	}
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	if got, want := b.text(row(old.ID)+` [data-lineage=replaced-by]`), "replaced by payments ("+fresh.Hint+")"; got != want {
		t.Errorf("old row reads %q, want %q", got, want)
	}
	if b.count(row(old.ID)+` [data-countdown]`) != 1 {
		t.Error("old row has no countdown")
	}
	if got, want := b.text(row(fresh.ID)+` [data-lineage=replaces]`), "replaces payments ("+old.Hint+")"; got != want {
		t.Errorf("new row reads %q, want %q", got, want)
	}
	b.screenshot("rotated.png", false)
}

// After a rotation two rows share a name: the revoke dialog tells them
// apart by hint and status.
func TestRevokeDialogNamesTheKeyByHintAndStatus(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	old := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	grace := keyward.Duration(time.Hour)
	next, err := h.srv.Service.RotateKey(context.Background(), h.srv.Owner(), service.Where{ProjectID: p.ID}, old.ID, keyward.RotateInput{GracePeriod: &grace})
	if err != nil {
		t.Fatal(err)
	}
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	for _, k := range []struct {
		id, hint, status string
	}{{old.ID, old.Hint, "expiring"}, {next.ID, next.Hint, "active"}} {
		b.openMenu(k.id)
		b.clickMenuItem("revoke")
		b.waitRevokeDialog()
		about := b.text("dialog#revoke-dialog [data-key-about]")
		if !strings.Contains(about, k.hint) || !strings.Contains(about, k.status) {
			t.Errorf("revoke dialog for %s says %q, want its hint %s and status %s", k.id, about, k.hint, k.status)
		}
		b.do("cancel", chromedp.Click(chromedp.CSS("button#revoke-cancel")))
		b.poll("the revoke dialog closes", `!document.querySelector('dialog#revoke-dialog').open`)
	}
}

// At 1280 px a key's hint and its dates each sit on one line.
func TestKeysTableHintAndDatesOnOneLine(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing", "orders:read")
	h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "a key with a rather long name for the nightly export"})
	h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "narrow", Scopes: []string{keyward.ScopeKeysRead, keyward.ScopeAuditRead, "orders:read"}})
	b := h.tab()
	b.do("viewport", chromedp.EmulateViewport(1280, 800))
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	lines := eval[[]int](b, `[...document.querySelectorAll('td[data-col=hint] code, td[data-col=created] time')].map(e => e.getClientRects().length)`)
	for _, n := range lines {
		if n != 1 {
			t.Errorf("a hint or date wraps over %d lines at 1280 px: %v", n, lines)
			break
		}
	}
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 1280 {
		t.Errorf("the page is %d px wide at 1280 px", w)
	}
}

// At 400 px the header takes two rows at most, and nothing in it is cut off
// or pushes the page sideways.
func TestHeaderFitsTwoRowsAt400(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	b := h.tab()
	b.do("viewport", chromedp.EmulateViewport(400, 800))
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	tops := eval[[]int](b, `[...new Set([...document.querySelectorAll('header.top a, header.top button, header.top select')].filter(e => e.getClientRects().length > 0).map(e => Math.round(e.getBoundingClientRect().top)))]`)
	if h := eval[float64](b, `document.querySelector('header.top').getBoundingClientRect().height`); h > 100 {
		t.Errorf("the header is %.0f px tall at 400 px (rows at %v), want two rows", h, tops)
	}
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("the page is %d px wide at 400 px", w)
	}
	for _, sel := range []string{"a#new-org", `header a[href="/account"]`, "form#logout button", `nav.org-nav a[href$="/audit"]`} {
		b.do("scroll "+sel+" into view", chromedp.ScrollIntoView(chromedp.CSS(sel)))
		if !eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); const r = e.getBoundingClientRect(); const x = r.left + r.width/2, y = r.top + r.height/2; const at = document.elementFromPoint(x, y); return r.left >= 0 && r.right <= innerWidth && (at === e || e.contains(at)); })()`, js(sel))) {
			t.Errorf("%s is not fully visible and clickable in the header at 400 px", sel)
		}
	}
}
