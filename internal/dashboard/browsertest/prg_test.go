package browsertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// TestReloadAfterCreateAndRotate: creating a key and rotating one show
// the new secret in a dialog, focus on it, saying it will not be shown
// again; reloading the page afterwards makes no key and shows no secret.
// At 1280 px and at 400 px.
func TestReloadAfterCreateAndRotate(t *testing.T) {
	for _, width := range []int64{1280, 400} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			h := newHarness(t)
			p := h.srv.MustProject(t, "Billing")
			b := h.tab()
			b.do("viewport", chromedp.EmulateViewport(width, 800))
			b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
			b.openKeys(p.ID, "")

			b.do("create a key",
				chromedp.Click(chromedp.CSS("button#new-key")),
				chromedp.WaitVisible(chromedp.CSS("dialog#create-dialog input#key-name")),
				chromedp.SendKeys(chromedp.CSS("dialog#create-dialog input#key-name"), "ci deploy"),
				chromedp.Click(chromedp.CSS("button#create-submit")),
			)
			secret := b.secret()
			h.mustWork("the new key", secret)
			keys := h.countKeys(p.ID)
			if keys != 1 {
				t.Fatalf("%d keys after one create, want 1", keys)
			}
			b.reloadShowsNoSecret(secret)
			if n := h.countKeys(p.ID); n != keys {
				t.Errorf("reload after create: %d keys, want %d", n, keys)
			}

			id := b.rowByName("ci deploy")
			b.openMenu(id)
			b.clickMenuItem("rotate")
			b.do("the rotate dialog opens", chromedp.WaitVisible(chromedp.CSS("dialog#rotate-dialog select#rotate-grace")))
			b.selectLabel("select#rotate-grace", "In 1 hour")
			b.do("rotate", chromedp.Click(chromedp.CSS("button#rotate-submit")))
			fresh := b.secret()
			if fresh == secret {
				t.Fatal("rotate showed the old secret")
			}
			h.mustWork("the rotated key", fresh)
			if n := h.countKeys(p.ID); n != 2 {
				t.Fatalf("%d keys after rotate, want 2", n)
			}
			b.reloadShowsNoSecret(fresh)
			if n := h.countKeys(p.ID); n != 2 {
				t.Errorf("reload after rotate: %d keys, want 2", n)
			}
			b.screenshot(fmt.Sprintf("after-reload-%d.png", width), false)
		})
	}
}

// reloadShowsNoSecret reloads the page (the one a create or rotate
// redirected to) and checks that it shows no secret.
func (b *browser) reloadShowsNoSecret(secret string) {
	b.t.Helper()
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table#keys")))
	if n := b.count("#secret-once, code#secret"); n != 0 {
		b.t.Errorf("after reload the page shows a secret (%d elements)", n)
	}
	if body := eval[string](b, `document.documentElement.outerHTML`); strings.Contains(body, secret) {
		b.t.Error("after reload the secret is in the page")
	}
	if eval[bool](b, `[...document.querySelectorAll('dialog')].some(d => d.open)`) {
		b.t.Error("after reload a dialog is open")
	}
}

// countKeys counts a project's keys, whatever their status.
func (h *harness) countKeys(projectID string) int {
	h.t.Helper()
	res, err := h.srv.Service.ListKeys(h.t.Context(), h.srv.Owner(), service.Where{ProjectID: projectID}, service.ListKeysQuery{Status: "all"})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(res.Data)
}

// TestKeyLimitErrorInsideTheDialog: at the per-user key limit, the New key
// dialog comes back open with the error inside it (announced, tied to the
// dialog), what was typed kept, and nothing in the banner behind it.
func TestKeyLimitErrorInsideTheDialog(t *testing.T) {
	for _, width := range []int64{1280, 400} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			h := newHarness(t)
			p := h.srv.MustProject(t, "Billing")
			one := 1
			if _, err := h.srv.Service.UpdateSettings(t.Context(), h.srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: &one}); err != nil {
				t.Fatal(err)
			}
			h.srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "the only one"})
			b := h.tab()
			b.do("viewport", chromedp.EmulateViewport(width, 800))
			b.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
			b.openKeys(p.ID, "")
			b.do("create a key over the limit",
				chromedp.Click(chromedp.CSS("button#new-key")),
				chromedp.WaitVisible(chromedp.CSS("dialog#create-dialog input#key-name")),
				chromedp.SendKeys(chromedp.CSS("dialog#create-dialog input#key-name"), "one too many"),
				chromedp.Click(chromedp.CSS("button#create-submit")),
			)
			b.do("the error shows in the dialog", chromedp.WaitVisible(chromedp.CSS("dialog#create-dialog p#create-error[role=alert]")))
			b.poll("dialog#create-dialog is modal", `document.querySelector('dialog#create-dialog').matches(':modal')`)
			if msg := b.text("dialog#create-dialog p#create-error"); !strings.Contains(msg, "limit of 1 keys") {
				t.Errorf("p#create-error reads %q, want the key limit", msg)
			}
			if got := eval[string](b, `document.querySelector('dialog#create-dialog').getAttribute('aria-describedby')`); got != "create-error" {
				t.Errorf("dialog#create-dialog aria-describedby = %q, want create-error", got)
			}
			if got := eval[string](b, `document.activeElement.id + "|" + document.activeElement.value`); got != "key-name|one too many" {
				t.Errorf("focus|value = %q, want the name field with what was typed", got)
			}
			if n := b.count("#flash"); n != 0 {
				t.Errorf("a #flash banner shows behind the dialog")
			}
			b.screenshot(fmt.Sprintf("limit-error-%d.png", width), false)
			if n := h.countKeys(p.ID); n != 1 {
				t.Errorf("%d keys, want 1", n)
			}
		})
	}
}
