package dashboard

import (
	"net/http"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// membersData is a members page. Role is each member's role in the page's
// scope: the org role on org pages, the project role on project pages.
type membersData struct {
	Base    string
	Members []memberRow
	// CanAdd is whether the add form is offered. On project pages adding
	// by email goes through the org's member list, so it needs both.
	CanAdd   bool
	CanEdit  bool
	Roles    []string
	Next     string
	Reset    *resetLink // set once, right after an owner made a reset link
	ResetFor string
	// Invite is set once, right after adding someone: the invitation with
	// its one-time link. Invitations are the org's pending ones.
	Invite      *keyward.Member
	Invitations []*keyward.Invitation
}

type memberRow struct {
	*keyward.Member
	Role      string
	Projects  int
	Self      bool
	Removable bool // offered Remove: not the org's last owner
	Keys      int  // their usable keys (in the project, on a project page)
}

type resetLink struct{ URL string }

// memberLinks is the one-time value an add or a reset leaves for the
// members page: the invitation or the reset link, shown once.
type memberLinks struct {
	Invite   *keyward.Member
	Reset    *resetLink
	ResetFor string
}

// takeLinks puts the members page's one-time links, if the URL names
// them, into data; once they were shown, the page says so instead.
func (d *dashboard) takeLinks(r *http.Request, p *page, data *membersData) {
	v, gone := d.takeOnce(r, p)
	if l, ok := v.(*memberLinks); ok {
		data.Invite, data.Reset, data.ResetFor = l.Invite, l.Reset, l.ResetFor
	} else if gone {
		p.Flash = &flash{Message: "An invitation or password link is shown only once, and it was shown already. If it was not copied, make a new one."}
	}
}

func (d *dashboard) projectMembersPage(w http.ResponseWriter, r *http.Request, p *page) error {
	var data membersData
	d.takeLinks(r, p, &data)
	return d.renderProjectMembers(w, r, p, data.Invite)
}

func (d *dashboard) renderProjectMembers(w http.ResponseWriter, r *http.Request, p *page, invite *keyward.Member) error {
	ms, err := d.svc.ListProjectMembers(r.Context(), p.Actor, p.Project.ID)
	if err != nil {
		return err
	}
	data := membersData{
		Base: projectURL(p) + "/members", CanEdit: p.Ab.ManageProject,
		CanAdd: p.Ab.ManageProject, Invite: invite,
		Roles: []string{string(keyward.ProjectAdmin), string(keyward.ProjectDeveloper), string(keyward.ProjectViewer)},
	}
	for _, m := range ms {
		row := memberRow{Member: m, Self: m.UserID == p.User.ID, Removable: true}
		if len(m.Projects) > 0 {
			row.Role = string(m.Projects[0].Role)
		}
		data.Members = append(data.Members, row)
	}
	if data.CanEdit {
		if err := d.countKeys(r, p, p.Project.ID, data.Members); err != nil {
			return err
		}
	}
	return d.render(w, r, http.StatusOK, "members", p, p.Project.Name+": members", "members", data)
}

// addProjectMember gives a user a role in the project: an org member by
// their email, or a new user who joins the org as a plain member.
func (d *dashboard) addProjectMember(w http.ResponseWriter, r *http.Request, p *page) error {
	back := projectURL(p) + "/members"
	email := strings.TrimSpace(r.PostFormValue("email"))
	pm := keyward.ProjectMember{ProjectID: p.Project.ID, Role: keyward.ProjectRole(r.PostFormValue("role"))}
	if !p.Ab.ManageOrg {
		// A project admin without an org role adds existing org members only.
		if _, err := d.svc.AddProjectMember(r.Context(), p.Actor, p.Project.ID, email, pm.Role); err != nil {
			return d.formFailed(w, r, back, addMemberAt, err)
		}
		return d.redirect(w, r, back, email+" is now "+string(pm.Role)+" of this project.")
	}
	existing, err := d.memberByEmail(r, p, email)
	if err != nil {
		return d.formFailed(w, r, back, addMemberAt, err)
	}
	var added *keyward.Member
	if existing != nil {
		_, err = d.svc.UpdateMember(r.Context(), p.Actor, existing.UserID, keyward.MemberPatch{Projects: []keyward.ProjectMember{pm}})
	} else {
		added, err = d.svc.AddMember(r.Context(), p.Actor, keyward.AddMemberInput{Email: email, Role: keyward.OrgMember, Projects: []keyward.ProjectMember{pm}})
	}
	if err != nil {
		return d.formFailed(w, r, back, addMemberAt, err)
	}
	if added != nil && added.Status == "pending" {
		// An existing account joins only when its person accepts: the
		// link is shown on the next page, once.
		return d.redirectOnce(w, r, p, back, &memberLinks{Invite: added}, email+" has an account: they are invited, and join once they accept.")
	}
	return d.redirect(w, r, back, email+" is now "+string(pm.Role)+" of this project.")
}

// memberByEmail finds an org member by email (nil when there is none).
func (d *dashboard) memberByEmail(r *http.Request, p *page, email string) (*keyward.Member, error) {
	cursor := ""
	for {
		res, err := d.svc.ListMembers(r.Context(), p.Actor, service.MaxPageSize, cursor)
		if err != nil {
			return nil, err
		}
		for _, m := range res.Data {
			if strings.EqualFold(m.Email, email) {
				return m, nil
			}
		}
		if res.NextCursor == nil {
			return nil, nil
		}
		cursor = *res.NextCursor
	}
}

func (d *dashboard) setProjectRole(w http.ResponseWriter, r *http.Request, p *page) error {
	back := projectURL(p) + "/members"
	pm := keyward.ProjectMember{ProjectID: p.Project.ID, Role: keyward.ProjectRole(r.PostFormValue("role"))}
	if !pm.Role.Valid() {
		return d.formFailed(w, r, back, at("role-"+r.PathValue("user")), keyward.Invalid(keyward.FieldError{Field: "role", Problem: "must be admin, developer or viewer"}))
	}
	if _, err := d.svc.UpdateMember(r.Context(), p.Actor, r.PathValue("user"), keyward.MemberPatch{Projects: []keyward.ProjectMember{pm}}); err != nil {
		return d.formFailed(w, r, back, at("role-"+r.PathValue("user")), err)
	}
	return d.redirect(w, r, back, "Project role changed to "+string(pm.Role)+"; their keys now do only what this role allows.")
}

// removeProjectMember takes a member out of the project; their keys in it
// are revoked or transferred to the acting admin, as chosen (docs/authority.md).
func (d *dashboard) removeProjectMember(w http.ResponseWriter, r *http.Request, p *page) error {
	back := projectURL(p) + "/members"
	if err := d.confirmedEmail(r, p); err != nil {
		return d.formFailed(w, r, back, removeAt(r), err)
	}
	h := keyward.KeyHandling(r.PostFormValue("key_handling"))
	_, err := d.svc.UpdateMember(r.Context(), p.Actor, r.PathValue("user"), keyward.MemberPatch{
		Projects: []keyward.ProjectMember{{ProjectID: p.Project.ID, Role: ""}}, KeyHandling: h,
	})
	if err != nil {
		return d.formFailed(w, r, back, removeAt(r), err)
	}
	return d.redirect(w, r, back, "Member removed from the project; their keys here were "+handled(h)+".")
}

func handled(h keyward.KeyHandling) string {
	if h == keyward.KeysTransfer {
		return "transferred to you"
	}
	return "revoked"
}

func (d *dashboard) orgMembersPage(w http.ResponseWriter, r *http.Request, p *page) error {
	var data membersData
	d.takeLinks(r, p, &data)
	return d.renderOrgMembers(w, r, p, data)
}

// renderOrgMembers renders the org's members page; data may carry a
// one-time link (Reset, Invite) made by the POST that redirected here.
func (d *dashboard) renderOrgMembers(w http.ResponseWriter, r *http.Request, p *page, data membersData) error {
	res, err := d.svc.ListMembers(r.Context(), p.Actor, service.MaxPageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	data.Base, data.CanAdd, data.CanEdit = orgURL(p)+"/members", p.Ab.ManageOrg, p.Ab.ManageOrg
	data.Roles = []string{string(keyward.OrgAdmin), string(keyward.OrgMember)}
	if data.Invitations, err = d.svc.ListInvitations(r.Context(), p.Actor); err != nil {
		return err
	}
	if p.Ab.Owner {
		data.Roles = append([]string{string(keyward.OrgOwner)}, data.Roles...)
	}
	if res.NextCursor != nil {
		data.Next = *res.NextCursor
	}
	owners := 0
	for _, m := range res.Data {
		if m.Role == keyward.OrgOwner {
			owners++
		}
	}
	for _, m := range res.Data {
		row := memberRow{Member: m, Role: string(m.Role), Projects: len(m.Projects), Self: m.UserID == p.User.ID}
		// The server keeps an org's last owner: do not offer removing them.
		row.Removable = !(m.Role == keyward.OrgOwner && owners <= 1)
		data.Members = append(data.Members, row)
	}
	if err := d.countKeys(r, p, "", data.Members); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "members", p, "Members", "members", data)
}

func (d *dashboard) addOrgMember(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/members"
	in := keyward.AddMemberInput{Email: strings.TrimSpace(r.PostFormValue("email")), Name: r.PostFormValue("name"), Role: keyward.OrgRole(r.PostFormValue("role"))}
	m, err := d.svc.AddMember(r.Context(), p.Actor, in)
	if err != nil {
		return d.formFailed(w, r, back, addMemberAt, err)
	}
	// The invitation link is shown once, like a secret, on the page this
	// redirects to.
	msg := m.Email + " added as " + string(m.Role) + ". Send them the link below to set their password."
	if m.Status == "pending" {
		msg = m.Email + " already has an account: they are invited as " + string(m.Role) + " and join once they accept, signed in."
	}
	return d.redirectOnce(w, r, p, back, &memberLinks{Invite: m}, msg)
}

func (d *dashboard) setOrgRole(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/members"
	role := keyward.OrgRole(r.PostFormValue("role"))
	if _, err := d.svc.UpdateMember(r.Context(), p.Actor, r.PathValue("user"), keyward.MemberPatch{Role: &role}); err != nil {
		return d.formFailed(w, r, back, at("role-"+r.PathValue("user")), err)
	}
	return d.redirect(w, r, back, "Role changed to "+string(role)+"; keys the new role no longer allows were revoked.")
}

func (d *dashboard) removeOrgMember(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/members"
	if err := d.confirmedEmail(r, p); err != nil {
		return d.formFailed(w, r, back, removeAt(r), err)
	}
	h := keyward.KeyHandling(r.PostFormValue("key_handling"))
	if err := d.svc.RemoveMember(r.Context(), p.Actor, r.PathValue("user"), keyward.RemoveMemberInput{KeyHandling: h}); err != nil {
		return d.formFailed(w, r, back, removeAt(r), err)
	}
	return d.redirect(w, r, back, "Member removed; their keys were "+handled(h)+".")
}

// resetMemberPassword makes a one-time link for a member to set a new
// password. Like a key's secret it is shown once, on the page this
// redirects to.
func (d *dashboard) resetMemberPassword(w http.ResponseWriter, r *http.Request, p *page) error {
	user := r.PathValue("user")
	token, err := d.svc.CreatePasswordReset(r.Context(), p.Actor, user)
	if err != nil {
		return d.formFailed(w, r, orgURL(p)+"/members", at("reset-"+user), err)
	}
	// The link is on --public-url, never on the request's Host header.
	return d.redirectOnce(w, r, p, orgURL(p)+"/members", &memberLinks{Reset: &resetLink{URL: d.svc.ResetLink(token)}, ResetFor: user},
		"Reset link made. Send it to the member; it works once, within 24 hours.")
}

// countKeys fills in each member's usable keys (in projectID, or the org).
func (d *dashboard) countKeys(r *http.Request, p *page, projectID string, rows []memberRow) error {
	ids := make([]string, len(rows))
	for i, m := range rows {
		ids[i] = m.UserID
	}
	counts, err := d.svc.KeyCounts(r.Context(), p.Actor, projectID, ids)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].Keys = counts[rows[i].UserID]
	}
	return nil
}

// confirmedEmail checks that the removal form carries the member's email,
// typed: removing someone revokes or hands over their keys, and is asked
// for like revoking a key is.
func (d *dashboard) confirmedEmail(r *http.Request, p *page) error {
	user := r.PathValue("user")
	names, err := d.svc.Names(r.Context(), p.Actor, service.NameQuery{Users: []string{user}})
	if err != nil {
		return err
	}
	email, ok := names.People[user]
	if !ok || !strings.EqualFold(strings.TrimSpace(r.PostFormValue("confirm")), email) {
		return keyward.Invalid(keyward.FieldError{Field: "confirm", Problem: "type the member's email to remove them; nobody was removed"})
	}
	return nil
}

// addMemberAt places the add-member form's problems next to its inputs.
var addMemberAt = formAt{Default: "member-email", Fields: map[string]string{
	"email": "member-email", "name": "member-name", "role": "member-role", "projects": "member-role",
}}

// removeAt places the problems of the form that removes the member of the
// request's path.
func removeAt(r *http.Request) formAt {
	u := r.PathValue("user")
	return formAt{Default: "remove-confirm-" + u, Fields: map[string]string{"key_handling": "handling-" + u, "confirm": "remove-confirm-" + u}}
}
