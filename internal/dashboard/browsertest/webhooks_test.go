package browsertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client/webhooks"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// receiver is a webhook endpoint on a loopback port: it answers with
// status (200 unless changed) and hands each request it got to the test.
type receiver struct {
	*httptest.Server
	status atomic.Int32
	got    chan received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{got: make(chan received, 16)}
	rc.status.Store(http.StatusOK)
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case rc.got <- received{header: r.Header.Clone(), body: body}:
		default:
		}
		w.WriteHeader(int(rc.status.Load()))
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the receiver's next request.
func (rc *receiver) next(t *testing.T, what string) received {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(stepTimeout):
		t.Fatalf("%s: the endpoint got no request", what)
		return received{}
	}
}

// reloadUntil reloads the page until the expression is true, a bounded
// number of times: the delivery's result is written by the worker right
// after the receiver answered, so few reloads are needed.
func (b *browser) reloadUntil(what, expr string) {
	b.t.Helper()
	for range 50 {
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1#webhook-title")))
		if eval[bool](b, expr) {
			return
		}
	}
	b.t.Fatalf("after 50 reloads, still not %s (%s)", what, expr)
}

// topDelivery is the newest delivery's cell col, as shown.
func (b *browser) topDelivery(col string) string {
	b.t.Helper()
	return b.text(fmt.Sprintf(`table#deliveries tbody tr:first-child td[data-col=%s]`, col))
}

// press scrolls the element sel matches to the middle of the viewport,
// as a person scrolls to what they look for, and clicks it there.
func (b *browser) press(what, sel string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`[...document.querySelectorAll(%s)].find(e => e.getClientRects().length > 0)?.scrollIntoView({block: 'center', inline: 'nearest'})`, js(sel)))
	b.clickAt(what, sel)
}

// flashSays waits for the page after a POST: its flash message holds text.
func (b *browser) flashSays(text string) {
	b.t.Helper()
	b.poll("the flash says "+text, fmt.Sprintf(`(document.querySelector('#flash')?.textContent || '').includes(%s)`, js(text)))
}

// noSidewaysScroll checks that the page is no wider than the viewport.
func (b *browser) noSidewaysScroll(where string) {
	b.t.Helper()
	if w := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] {
		b.t.Errorf("%s is %d px wide in a %d px viewport", where, w[0], w[1])
	}
}

// An admin's whole life of a webhook endpoint, at 1280 and 400 px, by
// mouse (at what is visible) and keyboard: add it, copy its secret once,
// send a test event and see it delivered (signed with that secret), see a
// failing answer pending with its code, redeliver once the endpoint is
// back, disable, delete. axe checks every page and dialog on the way.
func TestWebhookLifecycle(t *testing.T) {
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) { webhookLifecycle(t, vp.w, vp.h) })
	}
}

func webhookLifecycle(t *testing.T, w, vh int64) {
	h := newHarness(t)
	src := axeSource(t)
	rc := newReceiver(t)
	// A long URL, as real ones with a token in the query are: it must wrap,
	// not widen the page.
	target := rc.URL + "/hooks/keyward/production-billing-service/receiver?token=3f9c2a7b1d4e8f0a6c5b9d2e7f1a3c8b"
	b := h.tab()
	b.do("set the viewport", chromedp.EmulateViewport(w, vh))
	b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	size := fmt.Sprint(w)

	// The nav leads to the webhooks (scrolled sideways into view on a
	// narrow screen, as a person swipes the nav).
	link := `nav.org-nav a[href$="/webhooks"]`
	eval[chromedp.Void](b, fmt.Sprintf(`document.querySelector(%s).scrollIntoView({block: 'nearest', inline: 'nearest'})`, js(link)))
	b.clickAt("the Webhooks link", link)
	b.do("the webhooks page", chromedp.WaitVisible(chromedp.CSS("form#add-webhook")))
	// The nav names the page one is on, in view even where it scrolls.
	if !eval[bool](b, `(() => { const r = document.querySelector('nav.org-nav a[aria-current]').getBoundingClientRect();
		return r.width > 0 && r.left >= 0 && r.right <= document.documentElement.clientWidth; })()`) {
		t.Errorf("at %d px the nav's current link (Webhooks) is out of view", w)
	}
	b.checkAxe("the webhooks page, empty", src)
	if n := b.count(`fieldset#webhook-events input[name=events]:checked`); n != len(keyward.EventTypes) {
		t.Errorf("%d events checked on a new endpoint, want all %d", n, len(keyward.EventTypes))
	}

	// Typed with the keyboard; member.removed unchecked with Space.
	b.press("the URL field", "input#webhook-url")
	b.do("type the URL", chromedp.KeyEvent(target))
	b.do("Tab to the description", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("Billing service"))
	b.do("focus member.removed", chromedp.Focus(chromedp.CSS(`input[name=events][value="member.removed"]`)), chromedp.KeyEvent(" "))
	if b.count(`input[name=events][value="member.removed"]:checked`) != 0 {
		t.Fatal("Space did not uncheck member.removed")
	}
	b.press("Add endpoint", "button#add-webhook-submit")

	// The endpoint's page, with the secret once.
	b.do("the secret dialog", chromedp.WaitVisible(chromedp.CSS("dialog#secret-once code#secret")))
	b.checkAxe("the endpoint's page with its secret", src)
	secret := b.secret()
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown does not start with whsec_")
	}
	if b.count("#flash") != 1 {
		t.Error("no flash message after adding the endpoint")
	}
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1#webhook-title")))
	if b.count("dialog#secret-once") != 0 || strings.Contains(eval[string](b, `document.body.innerText`), secret) {
		t.Fatal("a reload shows the secret again")
	}
	if !strings.Contains(b.text("#flash"), "shown only once") {
		t.Errorf("after a reload the page does not say the secret was shown: %q", b.text("#flash"))
	}
	if got := b.text(`dd[data-field=events]`); strings.Contains(got, "member.removed") || !strings.Contains(got, "key.created") {
		t.Errorf("the endpoint's events read %q, want all but member.removed", got)
	}
	if b.count("#deliveries-empty") != 1 {
		t.Error("a new endpoint's log is not shown as empty")
	}
	verifier, err := webhooks.NewVerifier(secret, webhooks.WithClock(h.srv.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}

	// A test event, delivered and signed with the secret shown.
	b.press("Send test event", "button#send-test-submit")
	b.flashSays("Test event sent")
	got := rc.next(t, "the test event")
	ev, err := verifier.Verify(got.header, got.body)
	if err != nil {
		t.Fatalf("the test event does not verify with the secret shown: %v", err)
	}
	if ev.Type != keyward.EventWebhookTest {
		t.Errorf("the test event's type is %q", ev.Type)
	}
	b.reloadUntil("the test delivered", `document.querySelector('table#deliveries tbody tr:first-child')?.dataset.status === 'succeeded'`)
	if s, code, n := b.topDelivery("status"), b.topDelivery("code"), b.topDelivery("attempts"); s != "Succeeded" || code != "200" || n != "1" {
		t.Errorf("the delivered test reads status %q, response %q, attempts %q; want Succeeded, 200, 1", s, code, n)
	}
	if ev := b.topDelivery("event"); ev != "webhook.test" {
		t.Errorf("the delivery's event reads %q", ev)
	}
	if got := b.topDelivery("latency"); !strings.HasSuffix(got, " ms") && !strings.HasSuffix(got, " s") {
		t.Errorf("latency reads %q, want milliseconds or seconds", got)
	}

	// The endpoint fails: the next test is pending, with the 500.
	rc.status.Store(http.StatusInternalServerError)
	b.press("Send test event", "button#send-test-submit")
	b.flashSays("Test event sent")
	rc.next(t, "the second test event")
	b.reloadUntil("the failed attempt recorded", `(r => r && r.dataset.status === 'pending' && r.querySelector('td[data-col=attempts]').textContent.trim() === '1')(document.querySelector('table#deliveries tbody tr:first-child'))`)
	if s, code := b.topDelivery("status"), b.topDelivery("code"); s != "Pending" || code != "500" {
		t.Errorf("the failed test reads %q with response %q, want Pending with 500", s, code)
	}
	if e := b.topDelivery("error"); !strings.Contains(e, "500") {
		t.Errorf("the failed test's last error reads %q", e)
	}
	if next := b.topDelivery("next"); !strings.HasPrefix(next, "in ") {
		t.Errorf("the failed test's next attempt reads %q, want “in …”", next)
	}
	b.checkAxe("the endpoint's page with its log", src)
	b.noSidewaysScroll("the endpoint's page")
	b.screenshot("webhooks-endpoint-"+size+".png", true)

	// Back up; Redeliver sends the same event again, as a new delivery.
	rc.status.Store(http.StatusOK)
	pending := eval[string](b, `document.querySelector('table#deliveries tbody tr:first-child').dataset.deliveryId`)
	b.press("Redeliver", fmt.Sprintf(`tr[data-delivery-id=%q] button[data-action=redeliver]`, pending))
	b.flashSays("sent again")
	again := rc.next(t, "the redelivery")
	if again.header.Get("webhook-id") == "" || again.header.Get("webhook-id") == got.header.Get("webhook-id") {
		t.Errorf("the redelivery's webhook-id %q: want the second test's, not the first's", again.header.Get("webhook-id"))
	}
	if _, err := verifier.Verify(again.header, again.body); err != nil {
		t.Errorf("the redelivery does not verify: %v", err)
	}
	b.reloadUntil("the redelivery delivered", fmt.Sprintf(`(r => r && r.dataset.deliveryId !== %s && r.dataset.status === 'succeeded')(document.querySelector('table#deliveries tbody tr:first-child'))`, js(pending)))
	if n := b.count("table#deliveries tbody tr"); n != 3 {
		t.Errorf("%d deliveries in the log, want 3", n)
	}

	// The list: the endpoint, its state and its last delivery.
	b.do("the webhooks page", chromedp.Navigate(h.srv.URL+"/orgs/"+h.srv.OrgID+"/webhooks"), chromedp.WaitVisible(chromedp.CSS("table#webhooks")))
	if got := b.text(`table#webhooks td[data-col=last-delivery]`); !strings.Contains(got, "Succeeded") {
		t.Errorf("the list's last delivery reads %q", got)
	}
	if got := b.text(`table#webhooks td[data-col=url] a`); got != "Billing service" {
		t.Errorf("the list names the endpoint %q", got)
	}
	b.noSidewaysScroll("the webhooks page")
	b.checkAxe("the webhooks page", src)
	b.screenshot("webhooks-list-"+size+".png", true)
	id := eval[string](b, `document.querySelector('table#webhooks tr[data-webhook-id]').dataset.webhookId`)
	btn := fmt.Sprintf(`tr[data-webhook-id=%q] button.actions`, id)
	b.press("the ⋯ button", btn)
	b.do("the menu opens", chromedp.WaitVisible(visible(`[role=menu] [data-action=delete]`)))
	for _, a := range []string{"rotate", "delete"} {
		b.visibleAt("the menu item "+a, fmt.Sprintf(`[role=menu] [data-action=%q]`, a))
	}
	b.checkAxe("the webhooks page's row menu", src)
	b.do("Escape closes it", chromedp.KeyEvent(kb.Escape))
	b.poll("the menu closes and focus is back on ⋯", fmt.Sprintf(`document.activeElement === document.querySelector(%s) && document.querySelector('[role=menu]').hidden`, js(btn)))

	// Disable: no test while disabled.
	b.press("the endpoint", `table#webhooks td[data-col=url] a`)
	b.do("the endpoint's page", chromedp.WaitVisible(chromedp.CSS("button#toggle-webhook")))
	b.press("Disable", "button#toggle-webhook")
	b.poll("the endpoint is disabled", `document.querySelector('h1#webhook-title .badge[data-status=disabled]') && document.querySelector('button#send-test-submit').disabled`)
	if got := b.text("button#toggle-webhook"); got != "Enable" {
		t.Errorf("the toggle of a disabled endpoint reads %q", got)
	}
	b.checkAxe("a disabled endpoint's page", src)

	// Delete, through its dialog: Cancel keeps it, Delete deletes it.
	b.press("Delete…", "button#delete-webhook")
	b.do("the delete dialog", chromedp.WaitVisible(chromedp.CSS("dialog#delete-dialog button#delete-submit")))
	b.checkAxe("the delete dialog", src)
	b.clickAt("Cancel", "button#delete-cancel")
	b.poll("the dialog closes with focus back on Delete…", `!document.querySelector('dialog#delete-dialog').open && document.activeElement.id === 'delete-webhook'`)
	b.do("Enter opens it again", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("dialog#delete-dialog button#delete-submit")))
	b.clickAt("Delete endpoint", "dialog#delete-dialog button#delete-submit")
	b.do("back on the list", chromedp.WaitVisible(chromedp.CSS("#webhooks-empty")))
	if !strings.Contains(b.text("#flash"), "deleted") {
		t.Errorf("the flash after delete reads %q", b.text("#flash"))
	}
	if es, err := h.srv.Service.ListWebhooks(t.Context(), h.srv.Owner()); err != nil || len(es) != 0 {
		t.Errorf("after delete: %d endpoints, %v", len(es), err)
	}
}

// A plain member (a project admin, not an org admin) has no Webhooks
// link, at 1280 and 400 px, and is refused the pages.
func TestWebhooksNotForMembers(t *testing.T) {
	h := newHarness(t)
	p := h.srv.MustProject(t, "Billing")
	m := h.srv.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectAdmin)
	h.srv.MustPassword(t, m.UserID, "member password 1")
	e, err := h.srv.Service.CreateWebhook(t.Context(), h.srv.Owner(), service.WebhookInput{URL: "https://hooks.example.com/a"})
	if err != nil {
		t.Fatal(err)
	}
	list := h.srv.URL + "/orgs/" + h.srv.OrgID + "/webhooks"
	b := h.tab()
	b.signIn("dev@example.com", "member password 1")
	for _, vp := range viewports {
		b.do("viewport", chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(h.srv.URL+"/orgs/"+h.srv.OrgID+"/projects"), chromedp.WaitVisible(chromedp.CSS("nav.org-nav")))
		if n := b.count(`a[href$="/webhooks"]`); n != 0 {
			t.Errorf("%s: a plain member sees %d links to the webhooks", vp.name, n)
		}
	}
	for _, u := range []string{list, list + "/" + e.ID} {
		b.do("open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if got := b.text("main h1"); !strings.HasPrefix(got, "403") && !strings.HasPrefix(got, "404") {
			t.Errorf("a plain member on %s sees %q, want 403 or 404", u, got)
		}
		if b.count("form#add-webhook, table#deliveries, h1#webhook-title") != 0 {
			t.Errorf("a plain member on %s sees the webhooks", u)
		}
	}
}
