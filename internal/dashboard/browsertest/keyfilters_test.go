package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// rowNames lists the names in the keys table, in order.
func (b *browser) rowNames() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll('table#keys tr[data-key-id]')].map(r => r.dataset.keyName)`)
}

// landed waits for the page to be the one whose URL has all of want in
// its query, with the keys table.
func (b *browser) landed(what string, want ...string) {
	b.t.Helper()
	conds := []string{`document.readyState === 'complete'`, `!!document.querySelector('table#keys')`}
	for _, w := range want {
		conds = append(conds, fmt.Sprintf(`location.search.includes(%s)`, js(w)))
	}
	b.poll(what, strings.Join(conds, " && "))
}

// pollFrames waits, a frame at a time, until expr is truthy. Unlike poll
// it evaluates anew each time, in whatever document is there: a page that
// Back restores from the back/forward cache is not one that chromedp's
// Poll sees come.
func (b *browser) pollFrames(what, expr string) {
	b.t.Helper()
	for range 600 { // 10 s of frames
		b.settle()
		if eval[bool](b, `!!(`+expr+`)`) {
			return
		}
	}
	b.t.Fatalf("waiting until %s (%s): not after 600 frames", what, expr)
}

// scrollTo scrolls sel into view, as a person scrolls to what they want
// to click.
func (b *browser) scrollTo(sel string) {
	b.t.Helper()
	b.do("scroll to "+sel, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	b.settle()
}

// choose picks an option of a select as a person does: a mouse click on
// the select where it is drawn, then the keyboard in the list that opens
// (headless Chromium draws that list outside the page, where no click can
// reach it), Enter to take it.
func (b *browser) choose(what, sel, label string) {
	b.t.Helper()
	b.clickAt(what, sel)
	opts := eval[[]string](b, fmt.Sprintf(`[...document.querySelector(%s).options].map(o => o.textContent.trim())`, js(sel)))
	at := eval[int](b, fmt.Sprintf(`document.querySelector(%s).selectedIndex`, js(sel)))
	to := -1
	for i, o := range opts {
		if o == label {
			to = i
		}
	}
	if to < 0 {
		b.t.Fatalf("%s offers %q, not %q", what, opts, label)
	}
	key := kb.ArrowDown
	if to < at {
		key = kb.ArrowUp
	}
	for i := at; i != to; {
		b.do(what+": move", chromedp.KeyEvent(key))
		if to > at {
			i++
		} else {
			i--
		}
	}
	b.do(what+": take "+label, chromedp.KeyEvent(kb.Enter))
	b.poll(what+" holds "+label, fmt.Sprintf(`(() => { const s = document.querySelector(%s); return s.options[s.selectedIndex].textContent.trim() === %s; })()`, js(sel), js(label)))
}

// TestKeysFindByMouseAndKeyboard: at 1280 and 400 px, with more keys than a
// page holds, a person types a search, pages forward and back by mouse,
// reloads, filters by status, scope and owner and sorts by last use; the
// server does it all, across pages, and the address keeps it.
func TestKeysFindByMouseAndKeyboard(t *testing.T) {
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			if _, err := h.srv.Service.UpdateSettings(ctx, h.srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: new(40)}); err != nil {
				t.Fatal(err)
			}
			p := h.srv.MustProject(t, "Billing", "billing:read")
			dev := h.srv.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
			for i := range 30 {
				h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: fmt.Sprintf("payments %02d", i), Scopes: []string{"billing:read"}})
			}
			devKey := h.srv.MustKey(t, h.srv.User(dev.UserID), p.ID, keyward.CreateKeyInput{Name: "dev sandbox", Scopes: []string{keyward.ScopeKeysRead}})
			old := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "deploys old", Scopes: []string{keyward.ScopeKeysRead}})
			recent := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "deploys recent", Scopes: []string{keyward.ScopeKeysRead}})
			gone := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "deploys gone", Scopes: []string{keyward.ScopeKeysRead}})
			if _, err := h.srv.Service.RevokeKey(ctx, h.srv.Owner(), service.Where{ProjectID: p.ID}, gone.ID, keyward.RevokeInput{}); err != nil {
				t.Fatal(err)
			}
			now := h.srv.Clock.Now()
			if err := h.srv.Store.TouchKeys(ctx, map[string]keyward.KeyUse{old.ID: {At: now.Add(-48 * time.Hour)}, recent.ID: {At: now.Add(-time.Minute)}}); err != nil {
				t.Fatal(err)
			}

			b := h.tab()
			b.do("set the viewport", chromedp.EmulateViewport(vp.w, vp.h))
			b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
			b.openKeys(p.ID, "")
			if n := len(b.rowNames()); n != 25 {
				t.Fatalf("the first page shows %d keys, want 25", n)
			}

			// A search, typed: every match on the first page, the rest
			// one page on.
			b.clickAt("the search box", "input#key-search")
			b.do("type PAY and Enter", chromedp.KeyEvent("PAY"), chromedp.KeyEvent(kb.Enter))
			b.landed("the search lands", "q=PAY")
			first := b.rowNames()
			if len(first) != 25 || first[0] != "payments 29" || first[24] != "payments 05" {
				t.Fatalf("searching PAY, page 1: %v", first)
			}
			if b.count("a#prev-page") != 0 {
				t.Error("the first page offers a previous page")
			}
			if vp.w >= 1000 {
				b.screenshot("keys-search.png", false)
			} else {
				b.screenshot("keys-search-narrow.png", false)
			}
			b.do("scroll to the pager, below the table", chromedp.ScrollIntoView(chromedp.CSS("nav#key-pages")))
			b.settle()
			b.clickAt("Next page", "a#next-page")
			b.landed("page 2 lands", "q=PAY", "cursor=")
			if got := strings.Join(b.rowNames(), ","); got != "payments 04,payments 03,payments 02,payments 01,payments 00" {
				t.Errorf("searching PAY, page 2: %s", got)
			}
			if v := eval[string](b, `document.querySelector('input#key-search').value`); v != "PAY" {
				t.Errorf("on page 2 the search box holds %q", v)
			}
			if b.count("a#next-page") != 0 {
				t.Error("the last page offers a next page")
			}
			b.scrollTo("a#prev-page")
			b.clickAt("Previous page", "a#prev-page")
			b.poll("back on page 1", `document.readyState === 'complete' && document.querySelectorAll('table#keys tr[data-key-id]').length === 25 && !document.querySelector('a#prev-page')`)
			if got := b.rowNames(); strings.Join(got, ",") != strings.Join(first, ",") {
				t.Errorf("Previous page shows %v, want page 1 %v", got, first)
			}
			b.do("reload", chromedp.Reload())
			b.landed("the reload lands", "q=PAY")
			if got := b.rowNames(); strings.Join(got, ",") != strings.Join(first, ",") {
				t.Errorf("after a reload: %v, want %v", got, first)
			}

			// Clear, then a status, a scope and an owner by mouse.
			b.clickAt("Clear search and filters", "a#clear-filters")
			b.poll("the search is cleared", `!new URLSearchParams(location.search).get('q') && document.querySelector('input#key-search').value === ''`)
			b.clickAt("the Revoked filter", `nav#key-filter a[data-filter=revoked]`)
			b.landed("the revoked keys", "status=revoked")
			if got := b.rowNames(); strings.Join(got, ",") != "deploys gone" {
				t.Errorf("Revoked shows %v", got)
			}
			b.clickAt("the All filter", `nav#key-filter a[data-filter=all]`)
			b.landed("all keys", "status=all")
			b.choose("the scope filter", "select#key-scope", keyward.ScopeKeysRead)
			b.clickAt("Apply", "button#apply-filters")
			b.landed("keys with keys:read", "status=all", "scope=keys%3Aread")
			if got := strings.Join(b.rowNames(), ","); got != "deploys gone,deploys recent,deploys old,dev sandbox" {
				t.Errorf("all keys with keys:read: %s", got)
			}
			b.choose("the owner filter", "select#key-owner", "dev@example.com")
			b.clickAt("Apply", "button#apply-filters")
			b.landed("the developer's keys", "owner="+dev.UserID, "scope=keys%3Aread")
			if got := b.rowNames(); strings.Join(got, ",") != devKey.Name {
				t.Errorf("the developer's keys with keys:read: %v", got)
			}
			b.choose("the owner filter", "select#key-owner", "Anyone")
			b.clickAt("Apply", "button#apply-filters")
			b.poll("any owner", `(p => !p.get('owner') && p.get('scope') === 'keys:read')(new URLSearchParams(location.search))`)

			// Sort by last use: the header's link at 1280 px, the form's
			// choice at 400 px (where the table is cards, without headers).
			if vp.w >= 1000 {
				b.clickAt("the Last used header", `th[data-sort=last-used] a.sort`)
			} else {
				b.choose("the order", "select#key-sort", "Last used, recent first")
				b.clickAt("Apply", "button#apply-filters")
			}
			b.landed("sorted by last use", "sort=used")
			if got := b.rowNames(); len(got) < 3 || got[0] != "deploys recent" || got[1] != "deploys old" {
				t.Errorf("sorted by last use: %v, want deploys recent, deploys old, then the keys never used", got)
			}
			if s := eval[string](b, `document.querySelector('th[data-sort=last-used]').getAttribute('aria-sort')`); s != "descending" {
				t.Errorf("aria-sort of Last used = %q, want descending", s)
			}
			eval[chromedp.Void](b, `history.back()`)
			b.pollFrames("Back: the page before, as it was", `(p => !p.get('sort') && !p.get('owner') && p.get('scope') === 'keys:read')(new URLSearchParams(location.search)) && !!document.querySelector('table#keys')`)
			if got := strings.Join(b.rowNames(), ","); got != "deploys gone,deploys recent,deploys old,dev sandbox" {
				t.Errorf("after Back: %s", got)
			}
		})
	}
}
