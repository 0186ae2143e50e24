package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// TestJourney: sign in, create a project, create a key, use it, revoke it
// through the dialog, and see the API refuse it.
func TestJourney(t *testing.T) {
	h := newHarness(t)
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)

	// Create a project through the projects page.
	b.do("create a project",
		chromedp.Navigate(h.srv.URL+"/orgs/"+h.srv.OrgID+"/projects"),
		chromedp.WaitVisible(chromedp.CSS("form#create-project input#project-name")),
		chromedp.SendKeys(chromedp.CSS("form#create-project input#project-name"), "Billing"),
		chromedp.Click(chromedp.CSS("form#create-project button[type=submit]")),
	)
	// The project is shown either as its page or in the list.
	b.poll("the new project shows", `document.querySelector('nav#project-nav') || [...document.querySelectorAll('ul#projects a[data-project-id]')].some(a => a.textContent.trim() === "Billing")`)
	if b.count("nav#project-nav") == 0 {
		b.do("open the project", chromedp.Click(visible(`ul#projects a[data-project-id]`)))
	}
	b.do("open its API keys",
		chromedp.WaitVisible(chromedp.CSS(`nav#project-nav a[data-tab=keys]`)),
		chromedp.Click(chromedp.CSS(`nav#project-nav a[data-tab=keys]`)),
		chromedp.WaitVisible(chromedp.CSS("table#keys")),
		chromedp.WaitVisible(chromedp.CSS("button#new-key")),
	)

	// New key: full access, never expires.
	b.do("create a key",
		chromedp.Click(chromedp.CSS("button#new-key")),
		chromedp.WaitVisible(chromedp.CSS("dialog#create-dialog input#key-name")),
		chromedp.SendKeys(chromedp.CSS("dialog#create-dialog input#key-name"), "ci deploy"),
		chromedp.Click(chromedp.CSS(`dialog#create-dialog input[name=access][value=full]`)),
	)
	b.selectOption("select#key-expiry", "never")
	b.do("submit the key", chromedp.Click(chromedp.CSS("button#create-submit")))
	secret := b.secret()
	st, code, keyID := h.whoami(secret)
	if st != 200 {
		t.Fatalf("GET /v1/whoami with the new secret = %d %s, want 200", st, code)
	}

	// Back on the keys page: the secret is gone, the row is there.
	b.do("back to the keys page",
		chromedp.Click(chromedp.CSS(`nav#project-nav a[data-tab=keys]`)),
		chromedp.WaitNotPresent(chromedp.CSS("section#secret-once")),
		chromedp.WaitVisible(chromedp.CSS(row(keyID))),
	)
	if got := b.rowByName("ci deploy"); got != keyID {
		t.Errorf("row named %q has data-key-id %q, want %q (from whoami)", "ci deploy", got, keyID)
	}
	b.checkBadge(keyID, "active", "Active")
	b.checkActionsLabel(keyID, "ci deploy")

	b.openMenu(keyID)
	if got := b.menuItems(); strings.Join(got, ",") != "rotate,revoke" {
		t.Errorf("owner's menu offers %v, want [rotate revoke]", got)
	}
	b.clickMenuItem("revoke")
	b.waitRevokeDialog()
	b.do("type REVOKE", chromedp.SendKeys(chromedp.CSS("input#revoke-confirm"), "REVOKE"), chromedp.WaitEnabled(chromedp.CSS("button#revoke-submit")))
	b.do("confirm", chromedp.Click(chromedp.CSS("button#revoke-submit")))

	// After the POST: the key has left the active view (or shows Revoked).
	b.poll("the revoke lands", fmt.Sprintf(`document.querySelector('#flash[role=status]') && (!document.querySelector(%[1]s) || document.querySelector(%[1]s + ' span.badge[data-status=revoked]'))`, js(row(keyID))))
	b.do("open the All view",
		chromedp.Click(chromedp.CSS(`nav#key-filter a[data-filter=all]`)),
		chromedp.WaitVisible(chromedp.CSS(row(keyID)+` span.badge[data-status=revoked]`)),
	)
	b.checkBadge(keyID, "revoked", "Revoked")
	b.checkNoRevoke(keyID)
	b.do("open the Active view",
		chromedp.Click(chromedp.CSS(`nav#key-filter a[data-filter=active]`)),
		chromedp.WaitNotPresent(chromedp.CSS(row(keyID))),
	)

	st, code, _ = h.whoami(secret)
	if st != 401 || code != "API_KEY_INVALID" {
		t.Errorf("GET /v1/whoami with the revoked secret = %d %s, want 401 API_KEY_INVALID", st, code)
	}
}

// TestRevokeNeedsExactWord: anything but REVOKE keeps the button disabled,
// Enter does not submit, and Cancel leaves the key working.
func TestRevokeNeedsExactWord(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	b.openMenu(k.ID)
	b.clickMenuItem("revoke")
	b.waitRevokeDialog()

	// The handler works: REVOKE enables the button ...
	b.do("type REVOKE", chromedp.SendKeys(chromedp.CSS("input#revoke-confirm"), "REVOKE"), chromedp.WaitEnabled(chromedp.CSS("button#revoke-submit")))
	// ... and anything else disables it again.
	for _, word := range []string{"revoke", "REVOK", "REVOKE ", " REVOKE", "REVOKED", "Revoke", ""} {
		b.clearConfirm()
		b.do("type "+fmt.Sprintf("%q", word), chromedp.SendKeys(chromedp.CSS("input#revoke-confirm"), word))
		b.settle()
		if !eval[bool](b, `document.querySelector('button#revoke-submit').disabled`) {
			t.Errorf("with %q typed, button#revoke-submit is enabled; want disabled until exactly REVOKE", word)
		}
	}
	// Enter with a wrong word does not submit.
	b.clearConfirm()
	b.do("type revoke and Enter", chromedp.SendKeys(chromedp.CSS("input#revoke-confirm"), "revoke"), chromedp.KeyEvent(kb.Enter))
	b.settle()
	if !eval[bool](b, `document.querySelector('dialog#revoke-dialog').open`) {
		t.Errorf("Enter with %q typed closed dialog#revoke-dialog (submitted?)", "revoke")
	}
	b.do("cancel", chromedp.Click(chromedp.CSS("button#revoke-cancel")))
	b.poll("the dialog closes", `!document.querySelector('dialog#revoke-dialog').open`)

	h.mustWork("after cancelling the revoke", k.Secret)
	b.openKeys(p.ID, "")
	b.checkBadge(k.ID, "active", "Active")
}

// TestRolesSeeOnlyTheirActions: a viewer sees keys but no actions; a
// developer sees ⋯ only on their own keys.
func TestRolesSeeOnlyTheirActions(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	viewer := h.srv.MustMember(t, "viewer@example.com", keyward.OrgMember, p.ID, keyward.ProjectViewer)
	dev := h.srv.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	h.srv.MustPassword(t, viewer.UserID, "viewer password 1")
	h.srv.MustPassword(t, dev.UserID, "developer password 1")
	ownerKey := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "owner's key"})
	devKey := h.srv.MustKey(t, h.srv.User(dev.UserID), p.ID, keyward.CreateKeyInput{Name: "dev's key"})

	v := h.tab()
	v.signIn("viewer@example.com", "viewer password 1")
	v.openKeys(p.ID, "")
	v.do("viewer sees both keys", chromedp.WaitVisible(chromedp.CSS(row(ownerKey.ID))), chromedp.WaitVisible(chromedp.CSS(row(devKey.ID))))
	if n := v.count("table#keys button.actions"); n != 0 {
		t.Errorf("viewer: found %d button.actions in table#keys, want none", n)
	}
	if n := v.count("button#new-key"); n != 0 {
		t.Errorf("viewer: found button#new-key, want none")
	}

	d := h.tab()
	d.signIn("dev@example.com", "developer password 1")
	d.openKeys(p.ID, "")
	d.do("developer sees both keys", chromedp.WaitVisible(chromedp.CSS(row(ownerKey.ID))), chromedp.WaitVisible(chromedp.CSS(row(devKey.ID))))
	if n := d.count(row(ownerKey.ID) + " button.actions"); n != 0 {
		t.Errorf("developer: the owner's key row has a ⋯ button, want none")
	}
	if n := d.count(row(devKey.ID) + " button.actions"); n != 1 {
		t.Errorf("developer: their own key row has %d ⋯ buttons, want 1", n)
	}
	if n := d.count("button#new-key"); n != 1 {
		t.Errorf("developer: want button#new-key (developers create keys), found %d", n)
	}
	d.openMenu(devKey.ID)
	if got := d.menuItems(); strings.Join(got, ",") != "rotate,revoke" {
		t.Errorf("developer's menu on their own key offers %v, want [rotate revoke]", got)
	}
}

// TestRotateWithGrace: the new secret is shown once, the old key shows
// Expiring with a live countdown, and both keys work.
func TestRotateWithGrace(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	old := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	b.openMenu(old.ID)
	b.clickMenuItem("rotate")
	b.do("the rotate dialog opens", chromedp.WaitVisible(chromedp.CSS("dialog#rotate-dialog select#rotate-grace")))
	options := eval[[]string](b, `[...document.querySelectorAll('select#rotate-grace option')].map(o => o.value + "=" + o.textContent.trim())`)
	if want := "0s=Now,1h=In 1 hour,24h=In 24 hours,168h=In 7 days"; strings.Join(options, ",") != want {
		t.Errorf("select#rotate-grace options = %v, want %s", options, want)
	}
	// It does not default to Now: the old key keeps working a day unless
	// the user chooses otherwise, and the dialog says what Now breaks.
	if got := eval[string](b, `document.querySelector('select#rotate-grace').value`); got != "24h" {
		t.Errorf("the rotate dialog's grace is %q until chosen, want 24h", got)
	}
	if hint := b.text("#rotate-grace-hint"); !strings.Contains(hint, "at once") {
		t.Errorf("the rotate dialog does not say what Now does: %q", hint)
	}
	b.selectLabel("select#rotate-grace", "In 24 hours")
	b.do("rotate", chromedp.Click(chromedp.CSS("button#rotate-submit")))
	fresh := b.secret()
	if fresh == old.Secret {
		t.Fatal("rotate showed the old secret")
	}
	h.mustWork("the new key", fresh)
	h.mustWork("the old key in its grace period", old.Secret)

	b.openKeys(p.ID, "all")
	b.checkBadge(old.ID, "expiring", "Expiring")
	cd := row(old.ID) + " [data-countdown]"
	b.do("the countdown shows", chromedp.WaitVisible(chromedp.CSS(cd)))
	end := eval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute('data-countdown')`, js(cd)))
	endT, err := time.Parse(time.RFC3339, end)
	if want := h.srv.Clock.Now().Add(24 * time.Hour); err != nil || !endT.Equal(want) {
		t.Errorf("%s data-countdown = %q, want %s (err %v)", cd, end, want.Format(time.RFC3339), err)
	}
	first := b.text(cd)
	if first == "" {
		t.Errorf("%s is empty", cd)
	}
	b.poll("the countdown changes from "+first, fmt.Sprintf(`document.querySelector(%s).textContent.trim() !== %s`, js(cd), js(first)))
	second := b.text(cd)
	t.Logf("countdown %q then %q", first, second)
	// About 24 hours left: "1d 0h 0m 0s", "24h 0m 0s" or "23h 59m …".
	if !strings.HasPrefix(first, "23h") && !strings.HasPrefix(first, "24h") && !strings.HasPrefix(first, "1d 0h") {
		t.Errorf("countdown reads %q; want about 24 hours left", first)
	}
}

// TestMenuKeyboard: Enter opens and focuses the first item, arrows move,
// Escape closes and returns focus to ⋯.
func TestMenuKeyboard(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	btn := row(k.ID) + " button.actions"
	focused := `(document.activeElement && (document.activeElement.dataset.action || document.activeElement.className))`

	b.do("focus ⋯ and press Enter", chromedp.Focus(chromedp.CSS(btn)), chromedp.KeyEvent(kb.Enter))
	b.poll("focus is on the first menu item", `document.activeElement && document.activeElement.getAttribute('role') === 'menuitem' && document.activeElement.dataset.action === 'rotate'`)
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute('aria-expanded')`, js(btn))); got != "true" {
		t.Errorf("aria-expanded = %q with the menu open, want true", got)
	}
	b.do("ArrowDown", chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[string](b, focused); got != "revoke" {
		t.Errorf("after ArrowDown focus is on %q, want the revoke item", got)
	}
	b.do("ArrowUp", chromedp.KeyEvent(kb.ArrowUp))
	if got := eval[string](b, focused); got != "rotate" {
		t.Errorf("after ArrowUp focus is on %q, want the rotate item", got)
	}
	b.do("Escape", chromedp.KeyEvent(kb.Escape))
	b.poll("the menu closes", `![...document.querySelectorAll('[role=menu]')].some(m => m.getClientRects().length > 0)`)
	if !eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, js(btn))) {
		t.Errorf("after Escape focus is on %q, want the ⋯ button", eval[string](b, `document.activeElement.outerHTML.slice(0, 120)`))
	}
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%s).getAttribute('aria-expanded')`, js(btn))); got != "false" {
		t.Errorf("aria-expanded = %q after Escape, want false", got)
	}

	// Space opens too; Enter on an item acts (the revoke dialog opens).
	b.do("Space", chromedp.KeyEvent(" "))
	b.poll("Space opens the menu", `document.activeElement && document.activeElement.getAttribute('role') === 'menuitem'`)
	b.do("ArrowDown, Enter", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	b.waitRevokeDialog()
}

// TestNarrowLayout: at 400 px the keys page does not scroll sideways (or
// its table scrolls in a container) and every field has a label.
func TestNarrowLayout(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "a rather long key name for the nightly deploys"})
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments", Scopes: []string{"keys:read"}})
	b := h.tab()
	b.do("narrow viewport", chromedp.EmulateViewport(400, 800))
	b.do("login page", chromedp.Navigate(h.srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("form#login")))
	b.checkLabels("login page")
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	b.checkNoOverflow("keys page")
	b.checkLabels("keys page")
	b.screenshot("narrow.png", true)

	b.do("open New key", chromedp.Click(chromedp.CSS("button#new-key")), chromedp.WaitVisible(chromedp.CSS("dialog#create-dialog input#key-name")))
	b.checkLabels("create dialog")
	b.do("custom access", chromedp.Click(chromedp.CSS(`input[name=access][value=custom]`)), chromedp.WaitVisible(visible(`input[name=scopes]`)))
	b.selectOption("select#key-expiry", "date")
	b.do("date field shows", chromedp.WaitVisible(chromedp.CSS("input#key-expiry-date")))
	b.checkLabels("create dialog, custom scopes and a date")
	b.checkNoOverflow("create dialog")
	b.do("close", chromedp.KeyEvent(kb.Escape))
	b.poll("the create dialog closes", `!document.querySelector('dialog#create-dialog').open`)

	b.openMenu(k.ID)
	b.clickMenuItem("revoke")
	b.waitRevokeDialog()
	b.checkLabels("revoke dialog")
	b.checkNoOverflow("revoke dialog")
}

// TestScreenshots saves the README's pictures: the menu open, the revoke
// dialog with REVOKE typed, and the revoked row.
func TestScreenshots(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "nightly export", Scopes: []string{"keys:read"}})
	k := h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "ci deploy"})
	b := h.tab()
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	b.openKeys(p.ID, "")
	b.openMenu(k.ID)
	b.screenshot("keys.png", false)
	b.clickMenuItem("revoke")
	b.waitRevokeDialog()
	b.do("type REVOKE", chromedp.SendKeys(chromedp.CSS("input#revoke-confirm"), "REVOKE"), chromedp.WaitEnabled(chromedp.CSS("button#revoke-submit")))
	b.screenshot("revoke-dialog.png", false)
	b.do("confirm", chromedp.Click(chromedp.CSS("button#revoke-submit")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	b.openKeys(p.ID, "all")
	b.do("the revoked row", chromedp.WaitVisible(chromedp.CSS(row(k.ID)+` span.badge[data-status=revoked]`)))
	b.screenshot("revoked.png", false)
}

// selectOption sets a select's value as a user would (with change events).
func (b *browser) selectOption(sel, value string) {
	b.t.Helper()
	ok := eval[bool](b, fmt.Sprintf(`(() => { const s = document.querySelector(%s); if (!s || ![...s.options].some(o => o.value === %s)) return false;
		s.focus(); s.value = %[2]s; s.dispatchEvent(new Event('input', {bubbles: true})); s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, js(sel), js(value)))
	if !ok {
		b.t.Fatalf("%s has no option with value %q", sel, value)
	}
}

// selectLabel picks the option whose text is label.
func (b *browser) selectLabel(sel, label string) {
	b.t.Helper()
	v := eval[string](b, fmt.Sprintf(`([...document.querySelector(%s).options].find(o => o.textContent.trim() === %s) || {value: ""}).value`, js(sel), js(label)))
	if v == "" {
		b.t.Fatalf("%s has no option labelled %q", sel, label)
	}
	b.selectOption(sel, v)
}

func (b *browser) checkBadge(keyID, status, text string) {
	b.t.Helper()
	sel := row(keyID) + ` td[data-col=status] span.badge`
	b.do("badge of "+keyID, chromedp.WaitVisible(chromedp.CSS(sel)))
	got := eval[string](b, fmt.Sprintf(`document.querySelector(%s).dataset.status + "|" + document.querySelector(%[1]s).textContent.trim()`, js(sel)))
	if got != status+"|"+text {
		b.t.Errorf("%s: data-status|text = %q, want %q", sel, got, status+"|"+text)
	}
}

func (b *browser) checkActionsLabel(keyID, name string) {
	b.t.Helper()
	sel := row(keyID) + " button.actions"
	got := eval[string](b, fmt.Sprintf(`(b => b ? b.getAttribute('aria-label') + "|" + b.textContent.trim() + "|" + b.hasAttribute('aria-expanded') : "none")(document.querySelector(%s))`, js(sel)))
	if want := "Actions for " + name + "|⋯|true"; got != want {
		b.t.Errorf("%s: aria-label|text|has aria-expanded = %q, want %q", sel, got, want)
	}
}

// checkNoRevoke: a revoked key's row offers no Revoke (no ⋯ at all, or a
// menu without it).
func (b *browser) checkNoRevoke(keyID string) {
	b.t.Helper()
	if b.count(row(keyID)+" button.actions") == 0 {
		return
	}
	b.openMenu(keyID)
	for _, a := range b.menuItems() {
		if a == "revoke" {
			b.t.Errorf("the revoked key's menu still offers revoke")
		}
	}
}

func (b *browser) waitRevokeDialog() {
	b.t.Helper()
	b.do("the revoke dialog opens",
		chromedp.WaitVisible(chromedp.CSS("dialog#revoke-dialog input#revoke-confirm")),
	)
	b.poll("dialog#revoke-dialog is modal", `document.querySelector('dialog#revoke-dialog').open && document.querySelector('dialog#revoke-dialog').matches(':modal')`)
	if !eval[bool](b, `document.querySelector('button#revoke-submit').disabled`) {
		b.t.Errorf("button#revoke-submit is enabled before REVOKE is typed")
	}
	text := strings.ToLower(b.text("dialog#revoke-dialog"))
	if !strings.Contains(text, "at once") && !strings.Contains(text, "immediately") {
		b.t.Errorf("dialog#revoke-dialog does not say the key stops working at once: %q", text)
	}
	if !strings.Contains(text, "cannot be restored") && !strings.Contains(text, "cannot be undone") {
		b.t.Errorf("dialog#revoke-dialog does not say the key cannot be restored: %q", text)
	}
	if got := eval[string](b, `[...document.querySelector('input#revoke-confirm').labels].map(l => l.textContent.trim()).join("|")`); got != "Type REVOKE to confirm" {
		b.t.Errorf("input#revoke-confirm label = %q, want %q", got, "Type REVOKE to confirm")
	}
}

// clearConfirm empties the confirmation field with the keyboard.
func (b *browser) clearConfirm() {
	b.t.Helper()
	b.do("clear the confirmation",
		chromedp.Focus(chromedp.CSS("input#revoke-confirm")),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
	)
	if v := eval[string](b, `document.querySelector('input#revoke-confirm').value`); v != "" {
		b.t.Fatalf("could not clear input#revoke-confirm: %q", v)
	}
}

// settle waits two animation frames, so input handlers have run.
func (b *browser) settle() {
	b.t.Helper()
	eval[chromedp.Void](b, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))`)
}

// checkNoOverflow: nothing scrolls sideways, unless the keys table sits in
// a container that scrolls sideways itself.
func (b *browser) checkNoOverflow(where string) {
	b.t.Helper()
	type res struct {
		ScrollWidth int      `json:"scrollWidth"`
		Inner       int      `json:"inner"`
		InScroller  bool     `json:"inScroller"`
		Wide        []string `json:"wide"`
	}
	r := eval[res](b, `(() => {
		const de = document.documentElement;
		let inScroller = false;
		for (let e = document.querySelector('table#keys'); e && e !== de; e = e.parentElement) {
			const o = getComputedStyle(e).overflowX;
			if ((o === 'auto' || o === 'scroll') && e.clientWidth <= window.innerWidth) { inScroller = true; break; }
		}
		const wide = [...document.body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.getClientRects().length)
			.slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''));
		return {scrollWidth: de.scrollWidth, inner: window.innerWidth, inScroller, wide};
	})()`)
	if r.ScrollWidth > 400 && !r.InScroller {
		b.t.Errorf("%s at 400 px: document scrollWidth = %d (viewport %d), and table#keys is not in a sideways-scrolling container; wide elements: %v", where, r.ScrollWidth, r.Inner, r.Wide)
	}
}

// checkLabels: every visible input, select and textarea has a label.
func (b *browser) checkLabels(where string) {
	b.t.Helper()
	missing := eval[[]string](b, `[...document.querySelectorAll('input, select, textarea')]
		.filter(e => e.type !== 'hidden' && e.getClientRects().length > 0)
		.filter(e => !([...(e.labels || [])].some(l => l.textContent.trim()) || (e.getAttribute('aria-label') || '').trim() ||
			(e.getAttribute('aria-labelledby') || '').split(/\s+/).some(id => id && document.getElementById(id)?.textContent.trim())))
		.map(e => e.outerHTML.slice(0, 160))`)
	for _, m := range missing {
		b.t.Errorf("%s: field without a label: %s", where, m)
	}
}
