package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// TestCreateOrgAndAcceptInvitation: the owner creates a second org from the
// header (1280 px) and invites a person who already has an account; the
// person opens the link at 400 px, signs in with their own password,
// accepts, and lands in the new org.
func TestCreateOrgAndAcceptInvitation(t *testing.T) {
	h := newHarness(t)
	carol := h.srv.MustMember(t, "carol@example.com", keyward.OrgMember, "", "")
	h.srv.MustPassword(t, carol.UserID, "carol's password")

	owner := h.tab()
	owner.signIn(kwtest.OwnerEmail, kwtest.OwnerPassword)
	owner.do("create an org",
		chromedp.Click(chromedp.CSS("a#new-org")),
		chromedp.WaitVisible(chromedp.CSS("form#create-org input#org-name")),
		chromedp.SendKeys(chromedp.CSS("input#org-name"), "Beta Corp"),
		chromedp.Click(chromedp.CSS("form#create-org button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("form#create-project")),
	)
	if got := eval[string](owner, `document.querySelector('#org-switcher').selectedOptions[0].textContent`); got != "Beta Corp" {
		t.Fatalf("org switcher shows %q after creating Beta Corp", got)
	}
	owner.do("invite carol",
		chromedp.Click(chromedp.CSS(`nav.org-nav a[href$="/members"]`)),
		chromedp.WaitVisible(chromedp.CSS("form#add-member input#member-email")),
		chromedp.SendKeys(chromedp.CSS("input#member-email"), "carol@example.com"),
		chromedp.Click(chromedp.CSS("form#add-member button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("section#invite-link code#invite-url")),
		chromedp.WaitVisible(chromedp.CSS("table#invitations tr[data-invitation-id]")),
	)
	link := owner.text("section#invite-link code#invite-url")
	if !strings.HasPrefix(link, kwtest.PublicURL+"/invite?token=") {
		t.Fatalf("invitation link %q is not on the public URL", link)
	}
	if owner.count("table#members tr[data-user-id="+js(carol.UserID)+"]") != 0 {
		t.Error("carol is listed as a member before accepting")
	}
	owner.screenshot("invite-sent.png", true)
	owner.do("narrow viewport", chromedp.EmulateViewport(400, 800))
	owner.checkNoOverflow("members page with an invitation link and a pending invitation")
	owner.screenshot("invite-sent-narrow.png", true)

	c := h.tab()
	c.do("narrow viewport", chromedp.EmulateViewport(400, 800))
	c.do("open the invitation",
		chromedp.Navigate(h.srv.URL+strings.TrimPrefix(link, kwtest.PublicURL)),
		chromedp.WaitVisible(chromedp.CSS("a#sign-in-to-accept")),
	)
	c.checkNoOverflow("invitation page")
	c.checkLabels("invitation page")
	c.do("sign in to accept",
		chromedp.Click(chromedp.CSS("a#sign-in-to-accept")),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
		chromedp.SendKeys(chromedp.CSS("form#login input#email"), "carol@example.com"),
		chromedp.SendKeys(chromedp.CSS("form#login input#password"), "carol's password"),
		chromedp.Click(chromedp.CSS("form#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("form#accept-invitation button")),
	)
	c.checkNoOverflow("invitation page, signed in")
	c.screenshot("invite-accept-narrow.png", true)
	c.do("accept",
		chromedp.Click(chromedp.CSS("form#accept-invitation button")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
	)
	if got := c.text("#flash"); !strings.Contains(got, "You joined Beta Corp") {
		t.Errorf("flash after accepting: %q", got)
	}
	if got := eval[string](c, `document.querySelector('#org-switcher').selectedOptions[0].textContent`); got != "Beta Corp" {
		t.Errorf("carol's org switcher shows %q", got)
	}
	c.do("new org page, narrow", chromedp.Click(chromedp.CSS("a#new-org")), chromedp.WaitVisible(chromedp.CSS("form#create-org")))
	c.checkNoOverflow("new org page")
	c.checkLabels("new org page")
}
