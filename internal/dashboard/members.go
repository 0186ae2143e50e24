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
}

type memberRow struct {
	*keyward.Member
	Role     string
	Projects int
	Self     bool
}

type resetLink struct{ URL string }

func (d *dashboard) projectMembersPage(w http.ResponseWriter, r *http.Request, p *page) error {
	ms, err := d.svc.ListProjectMembers(r.Context(), p.Actor, p.Project.ID)
	if err != nil {
		return err
	}
	data := membersData{
		Base: projectURL(p) + "/members", CanEdit: p.Ab.ManageProject,
		CanAdd: p.Ab.ManageProject,
		Roles:  []string{string(keyward.ProjectAdmin), string(keyward.ProjectDeveloper), string(keyward.ProjectViewer)},
	}
	for _, m := range ms {
		row := memberRow{Member: m, Self: m.UserID == p.User.ID}
		if len(m.Projects) > 0 {
			row.Role = string(m.Projects[0].Role)
		}
		data.Members = append(data.Members, row)
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
			return d.formFailed(w, r, back, err)
		}
		return d.redirect(w, r, back, email+" is now "+string(pm.Role)+" of this project.")
	}
	existing, err := d.memberByEmail(r, p, email)
	if err != nil {
		return d.formFailed(w, r, back, err)
	}
	if existing != nil {
		_, err = d.svc.UpdateMember(r.Context(), p.Actor, existing.UserID, keyward.MemberPatch{Projects: []keyward.ProjectMember{pm}})
	} else {
		_, err = d.svc.AddMember(r.Context(), p.Actor, keyward.AddMemberInput{Email: email, Role: keyward.OrgMember, Projects: []keyward.ProjectMember{pm}})
	}
	if err != nil {
		return d.formFailed(w, r, back, err)
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
		return d.formFailed(w, r, back, keyward.Invalid(keyward.FieldError{Field: "role", Problem: "must be admin, developer or viewer"}))
	}
	if _, err := d.svc.UpdateMember(r.Context(), p.Actor, r.PathValue("user"), keyward.MemberPatch{Projects: []keyward.ProjectMember{pm}}); err != nil {
		return d.formFailed(w, r, back, err)
	}
	return d.redirect(w, r, back, "Project role changed to "+string(pm.Role)+".")
}

// removeProjectMember takes a member out of the project; their keys in it
// are revoked or transferred to the acting admin, as chosen (SPEC §6).
func (d *dashboard) removeProjectMember(w http.ResponseWriter, r *http.Request, p *page) error {
	back := projectURL(p) + "/members"
	h := keyward.KeyHandling(r.PostFormValue("key_handling"))
	_, err := d.svc.UpdateMember(r.Context(), p.Actor, r.PathValue("user"), keyward.MemberPatch{
		Projects: []keyward.ProjectMember{{ProjectID: p.Project.ID, Role: ""}}, KeyHandling: h,
	})
	if err != nil {
		return d.formFailed(w, r, back, err)
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
	return d.renderOrgMembers(w, r, p, nil, "")
}

func (d *dashboard) renderOrgMembers(w http.ResponseWriter, r *http.Request, p *page, reset *resetLink, resetFor string) error {
	res, err := d.svc.ListMembers(r.Context(), p.Actor, service.MaxPageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	data := membersData{
		Base: orgURL(p) + "/members", CanAdd: p.Ab.ManageOrg, CanEdit: p.Ab.ManageOrg,
		Roles: []string{string(keyward.OrgAdmin), string(keyward.OrgMember)}, Reset: reset, ResetFor: resetFor,
	}
	if p.Ab.Owner {
		data.Roles = append([]string{string(keyward.OrgOwner)}, data.Roles...)
	}
	if res.NextCursor != nil {
		data.Next = *res.NextCursor
	}
	for _, m := range res.Data {
		data.Members = append(data.Members, memberRow{Member: m, Role: string(m.Role), Projects: len(m.Projects), Self: m.UserID == p.User.ID})
	}
	return d.render(w, r, http.StatusOK, "members", p, "Members", "members", data)
}

func (d *dashboard) addOrgMember(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/members"
	in := keyward.AddMemberInput{Email: strings.TrimSpace(r.PostFormValue("email")), Name: r.PostFormValue("name"), Role: keyward.OrgRole(r.PostFormValue("role"))}
	m, err := d.svc.AddMember(r.Context(), p.Actor, in)
	if err != nil {
		return d.formFailed(w, r, back, err)
	}
	msg := m.Email + " added as " + string(m.Role) + "."
	if p.Ab.Owner {
		msg += " Make them a reset link so they can set a password."
	}
	return d.redirect(w, r, back, msg)
}

func (d *dashboard) setOrgRole(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/members"
	role := keyward.OrgRole(r.PostFormValue("role"))
	if _, err := d.svc.UpdateMember(r.Context(), p.Actor, r.PathValue("user"), keyward.MemberPatch{Role: &role}); err != nil {
		return d.formFailed(w, r, back, err)
	}
	return d.redirect(w, r, back, "Role changed to "+string(role)+".")
}

func (d *dashboard) removeOrgMember(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/members"
	h := keyward.KeyHandling(r.PostFormValue("key_handling"))
	if err := d.svc.RemoveMember(r.Context(), p.Actor, r.PathValue("user"), keyward.RemoveMemberInput{KeyHandling: h}); err != nil {
		return d.formFailed(w, r, back, err)
	}
	return d.redirect(w, r, back, "Member removed; their keys were "+handled(h)+".")
}

// resetMemberPassword makes a one-time link for a member to set a new
// password. Like a key's secret it is shown in this response only.
func (d *dashboard) resetMemberPassword(w http.ResponseWriter, r *http.Request, p *page) error {
	user := r.PathValue("user")
	token, err := d.svc.CreatePasswordReset(r.Context(), p.Actor, user)
	if err != nil {
		return d.formFailed(w, r, orgURL(p)+"/members", err)
	}
	scheme := "http"
	if d.secure || r.TLS != nil {
		scheme = "https"
	}
	link := scheme + "://" + r.Host + "/reset?token=" + token
	p.Flash = &flash{Message: "Reset link made. Send it to the member; it works once, within 24 hours."}
	return d.renderOrgMembers(w, r, p, &resetLink{URL: link}, user)
}
