package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// The ⋯ menu is used here as a person uses it: with the mouse at the
// coordinates of what is visible on the screen, never through the DOM, so
// that a menu clipped by the table's scroll box, or covered, or outside the
// viewport fails the test.

// viewports are the widths the dashboard is checked at.
var viewports = []struct {
	name string
	w, h int64
}{{"1280px", 1280, 800}, {"400px", 400, 800}}

// rect is a box in CSS pixels of the viewport, with the viewport's size.
type rect struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Right  float64 `json:"right"`
	Bottom float64 `json:"bottom"`
	VW     float64 `json:"vw"`
	VH     float64 `json:"vh"`
}

func (r rect) width() float64  { return r.Right - r.Left }
func (r rect) height() float64 { return r.Bottom - r.Top }
func (r rect) inViewport() bool {
	return r.Left >= 0 && r.Top >= 0 && r.Right <= r.VW+0.5 && r.Bottom <= r.VH+0.5
}
func (r rect) String() string {
	return fmt.Sprintf("(%.0f,%.0f)-(%.0f,%.0f) in a %.0fx%.0f viewport", r.Left, r.Top, r.Right, r.Bottom, r.VW, r.VH)
}

// boxOf is the bounding box of the first rendered element sel matches.
func (b *browser) boxOf(sel string) rect {
	b.t.Helper()
	r := eval[*rect](b, fmt.Sprintf(`(() => {
		const e = [...document.querySelectorAll(%s)].find(e => e.getClientRects().length > 0);
		if (!e) return null;
		const r = e.getBoundingClientRect(), de = document.documentElement;
		return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, vw: de.clientWidth, vh: de.clientHeight};
	})()`, js(sel)))
	if r == nil {
		b.t.Fatalf("no rendered element matches %s", sel)
	}
	return *r
}

// hit is what elementFromPoint finds at the centre and near the corners of
// an element: the element itself (or something inside it) everywhere, or
// the first thing in the way.
type hit struct {
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Box     rect    `json:"box"`
	Blocked string  `json:"blocked"`
}

// visibleAt finds the rendered element sel matches and checks that a
// person sees it: it lies inside the viewport and, at its centre and 3 px
// inside each corner, document.elementFromPoint is the element itself. It
// returns the centre, where a click lands on it.
func (b *browser) visibleAt(what, sel string) (x, y float64) {
	b.t.Helper()
	h := eval[*hit](b, fmt.Sprintf(`(() => {
		const e = [...document.querySelectorAll(%s)].find(e => e.getClientRects().length > 0);
		if (!e) return null;
		const r = e.getBoundingClientRect(), de = document.documentElement;
		const x = r.left + r.width / 2, y = r.top + r.height / 2;
		const name = n => n ? n.tagName.toLowerCase() + (n.id ? '#' + n.id : '') + (typeof n.className === 'string' && n.className ? '.' + n.className.trim().split(/\s+/).join('.') : '') +
			(n.dataset && n.dataset.action ? '[data-action=' + n.dataset.action + ']' : '') : 'nothing (outside the viewport)';
		let blocked = '';
		for (const [px, py] of [[x, y], [r.left + 3, r.top + 3], [r.right - 3, r.top + 3], [r.left + 3, r.bottom - 3], [r.right - 3, r.bottom - 3]]) {
			const at = document.elementFromPoint(px, py);
			if (!at || !(at === e || e.contains(at))) { blocked = 'at (' + Math.round(px) + ',' + Math.round(py) + ') the element under the pointer is ' + name(at); break; }
		}
		return {x, y, blocked, box: {left: r.left, top: r.top, right: r.right, bottom: r.bottom, vw: de.clientWidth, vh: de.clientHeight}};
	})()`, js(sel)))
	if h == nil {
		b.t.Fatalf("%s: no rendered element matches %s", what, sel)
	}
	if !h.Box.inViewport() {
		b.t.Fatalf("%s (%s) is not inside the viewport: %s", what, sel, h.Box)
	}
	if h.Blocked != "" {
		b.t.Fatalf("%s (%s) is not visible where it is drawn, %s: %s", what, sel, h.Box, h.Blocked)
	}
	return h.X, h.Y
}

// clickAt clicks with the mouse at the centre of the visible element sel
// matches, after checking that the element is what is under the pointer.
func (b *browser) clickAt(what, sel string) {
	b.t.Helper()
	x, y := b.visibleAt(what, sel)
	b.do(fmt.Sprintf("click %s at (%.0f,%.0f)", what, x, y), chromedp.MouseClickXY(x, y))
}

func actionsButton(keyID string) string { return row(keyID) + ` button.actions[aria-haspopup=menu]` }
func menuOfKey(keyID string) string     { return fmt.Sprintf(`[role=menu][id=%q]`, "menu-"+keyID) }
func menuItem(keyID, action string) string {
	return fmt.Sprintf(`%s button[role=menuitem][data-action=%q]`, menuOfKey(keyID), action)
}

// clickMenuOpen clicks a row's ⋯ button with the mouse and checks the menu
// that opens: inside the viewport, and every item visible where it is
// drawn. It returns the button's and the menu's boxes.
func (b *browser) clickMenuOpen(keyID string) (button, menu rect) {
	b.t.Helper()
	btn := actionsButton(keyID)
	button = b.boxOf(btn)
	if button.width() < 24 || button.height() < 24 {
		b.t.Errorf("the ⋯ button is %.0fx%.0f px, want a touch target of at least 24x24", button.width(), button.height())
	}
	b.clickAt("the ⋯ button", btn)
	b.do("the menu opens", chromedp.WaitVisible(visible(menuOfKey(keyID))))
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute("aria-expanded")`, js(btn))); got != "true" {
		b.t.Errorf("aria-expanded = %q with the menu open, want \"true\"", got)
	}
	menu = b.boxOf(menuOfKey(keyID))
	if !menu.inViewport() {
		b.t.Errorf("the open menu is not inside the viewport: %s", menu)
	}
	for _, a := range b.menuItems() {
		b.visibleAt("the menu item "+a, menuItem(keyID, a))
	}
	return button, menu
}

// scrollToBottom scrolls the keys table's last row to the bottom of the
// viewport, as a person reaching the last keys of a long list does (what
// follows the table, such as the usage chart, goes below the fold).
func (b *browser) scrollToBottom() {
	b.t.Helper()
	if !eval[bool](b, `document.documentElement.scrollHeight > document.documentElement.clientHeight`) {
		b.t.Fatalf("the keys page fits in the viewport; the test needs more keys for the last row to sit at the bottom")
	}
	eval[chromedp.Void](b, `[...document.querySelectorAll('tr[data-key-id]')].pop().scrollIntoView({block: 'end'})`)
	b.settle()
}

// TestMenuOneKeyByMouse: on a project with one key (every new project), at
// 1280 and 400 px, in the light and the dark theme, the whole flow by
// mouse: ⋯ → Revoke… → type REVOKE → confirm; the row shows Revoked and
// the API refuses the key at once.
func TestMenuOneKeyByMouse(t *testing.T) {
	for _, scheme := range []string{"light", "dark"} {
		for _, vp := range viewports {
			t.Run(vp.name+"/"+scheme, func(t *testing.T) { oneKeyByMouse(t, vp.w, vp.h, scheme) })
		}
	}
}

func oneKeyByMouse(t *testing.T, w, vh int64, scheme string) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	b := h.tab()
	b.do("set the viewport and the theme", chromedp.EmulateViewport(w, vh), colorScheme(scheme))
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	if dark := eval[string](b, `getComputedStyle(document.documentElement).backgroundColor`) == "rgb(13, 17, 23)"; dark != (scheme == "dark") {
		t.Fatalf("the page is not in the %s theme", scheme)
	}

	b.clickMenuOpen(k.ID)
	name := "menu-one-key"
	if w < 1000 {
		name += "-narrow"
	}
	if scheme == "dark" {
		name += "-dark"
	}
	b.screenshot(name+".png", false)
	b.clickAt("Revoke…", menuItem(k.ID, "revoke"))
	b.waitRevokeDialog()
	if got := eval[string](b, `document.querySelector('dialog#revoke-dialog form').getAttribute('action')`); !strings.Contains(got, "/"+k.ID+"/revoke") {
		t.Fatalf("the revoke dialog posts to %q, want the revoke of %s", got, k.ID)
	}
	b.do("type REVOKE", chromedp.SendKeys(chromedp.CSS("input#revoke-confirm"), "REVOKE"), chromedp.WaitEnabled(chromedp.CSS("button#revoke-submit")))
	b.clickAt("Revoke key", "dialog#revoke-dialog button#revoke-submit")
	b.poll("the revoke lands", fmt.Sprintf(`document.querySelector('table#keys') && !document.querySelector('dialog#revoke-dialog[open]') &&
		(!document.querySelector(%[1]s) || document.querySelector(%[1]s + ' span.badge[data-status=revoked]'))`, js(row(k.ID))))

	if st, code, _ := h.whoami(k.Secret); st != 401 || code != "API_KEY_INVALID" {
		t.Errorf("GET /v1/whoami with the revoked secret = %d %s, want 401 API_KEY_INVALID", st, code)
	}
	b.openKeys(p.ID, "all")
	b.checkBadge(k.ID, "revoked", "Revoked")
}

// TestMenuFirstAndLastRowsByMouse: with more keys than fit on the screen,
// the first row's menu and the last row's (scrolled to the bottom of the
// page, where there is no room below) open whole inside the viewport, every
// item can be clicked, and the menu follows its button when the page
// scrolls; at 1280 and 400 px.
func TestMenuFirstAndLastRowsByMouse(t *testing.T) {
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			h := newHarness(t)
			p := manyKeys(t, h, 24)
			b := h.tab()
			b.do("set the viewport", chromedp.EmulateViewport(vp.w, vp.h))
			b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
			b.openKeys(p.ID, "")
			ids := eval[[]string](b, `[...document.querySelectorAll('table#keys tr[data-key-id]')].map(r => r.dataset.keyId)`)
			if len(ids) != 24 {
				t.Fatalf("the keys page shows %d rows, want 24", len(ids))
			}
			first, last := ids[0], ids[len(ids)-1]

			// The first row: Rotate… opens the rotate dialog for that key.
			b.clickMenuOpen(first)
			b.clickAt("Rotate…", menuItem(first, "rotate"))
			b.do("the rotate dialog opens", chromedp.WaitVisible(chromedp.CSS("dialog#rotate-dialog select#rotate-grace")))
			if got := eval[string](b, `document.querySelector('dialog#rotate-dialog form').getAttribute('action')`); !strings.Contains(got, "/"+first+"/rotate") {
				t.Errorf("the rotate dialog posts to %q, want the rotate of %s", got, first)
			}
			b.do("close the dialog", chromedp.KeyEvent(kb.Escape))
			b.poll("the rotate dialog closes", `!document.querySelector('dialog#rotate-dialog').open`)

			// The menu follows its button when the page scrolls.
			b.clickMenuOpen(first)
			// Scroll events come with the next frame: wait for the menu to
			// be back at its button (a menu left behind fails here).
			eval[chromedp.Void](b, `window.scrollBy(0, 30)`)
			b.poll("the menu sits at its button after scrolling by 30 px", fmt.Sprintf(`(() => {
				const b = document.querySelector(%s).getBoundingClientRect(), m = document.querySelector(%s).getBoundingClientRect();
				return window.scrollY > 0 && (Math.abs(m.top - b.bottom) < 12 || Math.abs(b.top - m.bottom) < 12);
			})()`, js(actionsButton(first)), js(menuOfKey(first))))
			for _, a := range b.menuItems() {
				b.visibleAt("the menu item "+a+" after scrolling", menuItem(first, a))
			}
			b.clickAt("the ⋯ button again", actionsButton(first))
			b.poll("the menu closes", fmt.Sprintf(`document.querySelector(%s).hidden`, js(menuOfKey(first))))

			// The last row, at the bottom of the page: no room below.
			b.scrollToBottom()
			btn, menu := b.clickMenuOpen(last)
			if room := btn.VH - btn.Bottom; room >= menu.height() {
				t.Fatalf("below the last row's ⋯ button there are %.0f px and the menu is %.0f px tall: the test does not check a menu without room below", room, menu.height())
			}
			if menu.Bottom > btn.Top+0.5 {
				t.Errorf("with no room below, the menu (%s) should open above its button (%s)", menu, btn)
			}
			b.clickAt("Revoke…", menuItem(last, "revoke"))
			b.waitRevokeDialog()
			if got := eval[string](b, `document.querySelector('dialog#revoke-dialog form').getAttribute('action')`); !strings.Contains(got, "/"+last+"/revoke") {
				t.Errorf("the revoke dialog posts to %q, want the revoke of %s", got, last)
			}
			b.clickAt("Cancel", "dialog#revoke-dialog button#revoke-cancel")
			b.poll("the revoke dialog closes", `!document.querySelector('dialog#revoke-dialog').open`)
			b.poll("focus is back on the ⋯ button", fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, js(actionsButton(last))))
		})
	}
}

// TestMenuFollowsResize: a menu open when the window narrows from 1280 to
// 400 px stays at its button, whole inside the viewport, its items
// clickable.
func TestMenuFollowsResize(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	b := h.tab()
	b.do("set the viewport", chromedp.EmulateViewport(1280, 800))
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	b.clickMenuOpen(k.ID)
	b.do("narrow the window", chromedp.EmulateViewport(400, 800))
	b.poll("the menu sits at its button inside the 400 px viewport", fmt.Sprintf(`(() => {
		const b = document.querySelector(%s).getBoundingClientRect(), m = document.querySelector(%s).getBoundingClientRect();
		return document.documentElement.clientWidth === 400 && m.left >= 0 && m.right <= 400 && m.left < b.right && m.right > b.left &&
			(Math.abs(m.top - b.bottom) < 12 || Math.abs(b.top - m.bottom) < 12);
	})()`, js(actionsButton(k.ID)), js(menuOfKey(k.ID))))
	for _, a := range b.menuItems() {
		b.visibleAt("the menu item "+a+" after narrowing", menuItem(k.ID, a))
	}
	b.clickAt("Rotate…", menuItem(k.ID, "rotate"))
	b.do("the rotate dialog opens", chromedp.WaitVisible(chromedp.CSS("dialog#rotate-dialog select#rotate-grace")))
}

// TestMenuKeyboardLastRow: on the last row at the bottom of the page, the
// keyboard path still works and what has focus is visible: Enter opens
// with Rotate… focused, ArrowDown and ArrowUp move, Escape closes and gives
// focus back to ⋯; ArrowDown on ⋯ opens too, and Tab leaves the menu.
func TestMenuKeyboardLastRow(t *testing.T) {
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			h := newHarness(t)
			p := manyKeys(t, h, 24)
			b := h.tab()
			b.do("set the viewport", chromedp.EmulateViewport(vp.w, vp.h))
			b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
			b.openKeys(p.ID, "")
			ids := eval[[]string](b, `[...document.querySelectorAll('table#keys tr[data-key-id]')].map(r => r.dataset.keyId)`)
			last := ids[len(ids)-1]
			btn := actionsButton(last)
			b.scrollToBottom()
			focusedIs := func(action string) string {
				return fmt.Sprintf(`document.activeElement && document.activeElement.getAttribute('role') === 'menuitem' && document.activeElement.dataset.action === %s && !!document.activeElement.closest(%s)`, js(action), js(menuOfKey(last)))
			}

			b.do("focus ⋯ and press Enter", chromedp.Focus(chromedp.CSS(btn)), chromedp.KeyEvent(kb.Enter))
			b.poll("Rotate… has focus", focusedIs("rotate"))
			if menu := b.boxOf(menuOfKey(last)); !menu.inViewport() {
				t.Errorf("the menu opened by keyboard is not inside the viewport: %s", menu)
			}
			b.visibleAt("the focused Rotate…", menuItem(last, "rotate"))
			b.do("ArrowDown", chromedp.KeyEvent(kb.ArrowDown))
			b.poll("Revoke… has focus", focusedIs("revoke"))
			b.visibleAt("the focused Revoke…", menuItem(last, "revoke"))
			b.do("ArrowUp", chromedp.KeyEvent(kb.ArrowUp))
			b.poll("Rotate… has focus again", focusedIs("rotate"))
			b.do("Escape", chromedp.KeyEvent(kb.Escape))
			b.poll("the menu closes", fmt.Sprintf(`document.querySelector(%s).hidden`, js(menuOfKey(last))))
			if !eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, js(btn))) {
				t.Errorf("after Escape focus is on %q, want the ⋯ button", eval[string](b, `document.activeElement.outerHTML.slice(0, 120)`))
			}
			if got := eval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute('aria-expanded')`, js(btn))); got != "false" {
				t.Errorf("aria-expanded = %q after Escape, want false", got)
			}

			b.do("ArrowDown on ⋯", chromedp.KeyEvent(kb.ArrowDown))
			b.poll("ArrowDown opens with Rotate… focused", focusedIs("rotate"))
			b.visibleAt("the focused Rotate…", menuItem(last, "rotate"))
			b.do("Tab", chromedp.KeyEvent(kb.Tab))
			b.poll("Tab closes the menu", fmt.Sprintf(`document.querySelector(%s).hidden && !document.activeElement.closest('[role=menu]')`, js(menuOfKey(last))))
			if got := eval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute('aria-expanded')`, js(btn))); got != "false" {
				t.Errorf("aria-expanded = %q after Tab, want false", got)
			}
		})
	}
}

// manyKeys makes a project with n keys of the owner (raising the org's
// per-user limit for it).
func manyKeys(t *testing.T, h *harness, n int) *keyward.Project {
	t.Helper()
	if _, err := h.srv.Service.UpdateSettings(context.Background(), h.srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: &n}); err != nil {
		t.Fatalf("raise the per-user key limit to %d: %v", n, err)
	}
	p := h.srv.MustProject(t, "Billing")
	for i := range n {
		h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: fmt.Sprintf("service %02d", i+1)})
	}
	return p
}
