package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// newOrgForm is the create-organization form: what was typed and what was
// wrong with it.
type newOrgForm struct {
	Name, Slug string
	Error      string
	Problems   map[string]string
}

func (d *dashboard) newOrgPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return d.render(w, r, http.StatusOK, "new_org", p, "New organization", "", newOrgForm{})
}

// createOrg makes an org whose owner is the signed-in person, and opens it.
func (d *dashboard) createOrg(w http.ResponseWriter, r *http.Request, p *page) error {
	f := newOrgForm{Name: r.PostFormValue("name"), Slug: strings.TrimSpace(r.PostFormValue("slug"))}
	org, err := d.svc.CreateOrg(r.Context(), p.User.ID, service.CreateOrgInput{Name: f.Name, Slug: f.Slug}, origin(w, r))
	if err != nil {
		if !fixable(err) {
			return err
		}
		e := keyward.AsError(err)
		f.Error, f.Problems = describe(e), problems(err)
		return d.render(w, r, httpStatus(e.Code), "new_org", p, "New organization", "", f)
	}
	return d.redirect(w, r, "/orgs/"+org.ID+"/projects", "Organization "+org.Name+" created. You are its owner.")
}

// inviteData is the invitation page.
type inviteData struct {
	*service.InvitationView
	Token string
	// SignedIn is whether someone is signed in, ForMe whether it is the
	// invited account.
	SignedIn, ForMe bool
	SignIn          string // the sign-in link that comes back here
	Error           string
	Problems        map[string]string
}

// invitePage shows an invitation: accept it signed in as the invited
// account, or (a new person only) set a password with the link alone.
func (d *dashboard) invitePage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	view, err := d.svc.LookupInvitation(r.Context(), token)
	if err != nil {
		return err
	}
	return d.renderInvite(w, r, http.StatusOK, d.softPage(w, r), inviteData{InvitationView: view, Token: token})
}

func (d *dashboard) renderInvite(w http.ResponseWriter, r *http.Request, status int, p *page, data inviteData) error {
	if p != nil {
		data.SignedIn, data.ForMe = true, p.User.ID == data.Invitation.UserID
	}
	data.SignIn = "/login?next=" + url.QueryEscape("/invite?token="+data.Token)
	return d.render(w, r, status, "invite", p, "Join "+data.Org.Name, "", data)
}

// softPage is the signed-in page of a public request, or nil when nobody
// is signed in.
func (d *dashboard) softPage(w http.ResponseWriter, r *http.Request) *page {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	u, sess, err := d.svc.SessionUser(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	p := &page{User: u, Session: sess}
	if p.Orgs, err = d.svc.OrgsForUser(r.Context(), u.ID); err != nil {
		return nil
	}
	return p
}

// acceptInvite accepts an invitation as the signed-in person.
func (d *dashboard) acceptInvite(w http.ResponseWriter, r *http.Request, p *page) error {
	org, err := d.svc.AcceptInvitation(r.Context(), p.User.ID, r.PostFormValue("token"), origin(w, r))
	if err != nil {
		return err
	}
	return d.redirect(w, r, "/orgs/"+org.ID+"/projects", "You joined "+org.Name+".")
}

// acceptInviteWithPassword sets a new person's password with the link,
// accepts the invitation and signs them in.
func (d *dashboard) acceptInviteWithPassword(w http.ResponseWriter, r *http.Request) error {
	token := r.PostFormValue("token")
	session, org, err := d.svc.AcceptInvitationWithPassword(r.Context(), token, r.PostFormValue("password"), origin(w, r))
	if keyward.ErrorCode(err) == keyward.CodeInvalidRequest {
		view, lerr := d.svc.LookupInvitation(r.Context(), token)
		if lerr != nil {
			return lerr
		}
		e := keyward.AsError(err)
		return d.renderInvite(w, r, http.StatusBadRequest, nil, inviteData{InvitationView: view, Token: token, Error: e.Message, Problems: problems(err)})
	}
	if err != nil {
		return err
	}
	d.setSession(w, session)
	return d.redirect(w, r, "/orgs/"+org.ID+"/projects", "Your password is set and you joined "+org.Name+".")
}

// revokeInvitation ends a pending invitation: its link stops working.
func (d *dashboard) revokeInvitation(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/members"
	inv, err := d.svc.RevokeInvitation(r.Context(), p.Actor, r.PathValue("inv"))
	if err != nil {
		return d.formFailed(w, r, back, at("revoke-invitation-"+r.PathValue("inv")), err)
	}
	return d.redirect(w, r, back, "The invitation of "+inv.Email+" is revoked; its link no longer works.")
}
