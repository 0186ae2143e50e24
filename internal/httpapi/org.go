package httpapi

import (
	"net/http"

	"github.com/keyward/keyward"
)

func (a *API) projectRoutes() []route {
	const one = "/v1/org/projects/{id}"
	return []route{
		{Method: "GET", Path: "/v1/org/projects", ID: "listProjects", Tag: tagProjects, Summary: "List projects", Auth: authOrg, Query: []string{"limit", "cursor"}, Out: keyward.Page[keyward.Project]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				limit, err := limitParam(c.r)
				if err != nil {
					return nil, err
				}
				return a.svc.ListProjects(c.r.Context(), c.actor, limit, c.r.URL.Query().Get("cursor"))
			}},
		{Method: "POST", Path: "/v1/org/projects", ID: "createProject", Tag: tagProjects, Summary: "Create a project", Auth: authOrg, In: keyward.CreateProjectInput{}, Out: keyward.Project{}, Status: 201, Errors: []int{409},
			Handle: func(c *call) (any, error) {
				var in keyward.CreateProjectInput
				if err := decode(c.r, &in, false); err != nil {
					return nil, err
				}
				return a.svc.CreateProject(c.r.Context(), c.actor, in)
			}},
		{Method: "GET", Path: one, ID: "getProject", Tag: tagProjects, Summary: "Get a project", Auth: authOrg, Out: keyward.Project{}, Status: 200,
			Handle: func(c *call) (any, error) { return a.svc.GetProject(c.r.Context(), c.actor, c.r.PathValue("id")) }},
		{Method: "PATCH", Path: one, ID: "updateProject", Tag: tagProjects, Summary: "Rename a project or set its custom scopes" + nullRule(projectPatchClears), Auth: authOrg, In: keyward.ProjectPatch{}, Out: keyward.Project{}, Status: 200, Errors: []int{409},
			Handle: func(c *call) (any, error) {
				var in keyward.ProjectPatch
				if err := decodePatch(c.r, &in, projectPatchClears); err != nil {
					return nil, err
				}
				return a.svc.UpdateProject(c.r.Context(), c.actor, c.r.PathValue("id"), in)
			}},
		{Method: "DELETE", Path: one, ID: "deleteProject", Tag: tagProjects, Summary: "Delete a project and its keys", Auth: authOrg, Status: 204,
			Handle: func(c *call) (any, error) {
				return nil, a.svc.DeleteProject(c.r.Context(), c.actor, c.r.PathValue("id"))
			}},
	}
}

func (a *API) memberRoutes() []route {
	const one = "/v1/org/members/{user_id}"
	return []route{
		{Method: "GET", Path: "/v1/org/members", ID: "listMembers", Tag: tagMembers, Summary: "List members and their roles", Auth: authOrg, Query: []string{"limit", "cursor"}, Out: keyward.Page[keyward.Member]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				limit, err := limitParam(c.r)
				if err != nil {
					return nil, err
				}
				return a.svc.ListMembers(c.r.Context(), c.actor, limit, c.r.URL.Query().Get("cursor"))
			}},
		{Method: "POST", Path: "/v1/org/members", ID: "addMember", Tag: tagMembers, Errors: []int{404, 409}, Summary: "Add a new person (201, with a link that sets their password), or invite an existing account (202, status pending, with the link they accept)", Auth: authOrg, In: keyward.AddMemberInput{}, Out: keyward.Member{}, Status: 201,
			AltStatus: 202, AltSummary: "The email has an account: it is invited, and becomes a member once its person accepts (status pending)",
			Handle: func(c *call) (any, error) {
				var in keyward.AddMemberInput
				if err := decode(c.r, &in, false); err != nil {
					return nil, err
				}
				m, err := a.svc.AddMember(c.r.Context(), c.actor, in)
				if err != nil || m.Status != "pending" {
					return m, err
				}
				return withStatus{status: http.StatusAccepted, body: m}, nil
			}},
		{Method: "GET", Path: "/v1/org/invitations", ID: "listInvitations", Tag: tagMembers, Summary: "List pending invitations", Auth: authOrg, Out: keyward.Page[keyward.Invitation]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				invs, err := a.svc.ListInvitations(c.r.Context(), c.actor)
				if err != nil {
					return nil, err
				}
				return keyward.Page[*keyward.Invitation]{Data: invs}, nil
			}},
		{Method: "POST", Path: "/v1/org/invitations/{invitation_id}/revoke", ID: "revokeInvitation", Tag: tagMembers, Errors: []int{409}, Summary: "Revoke a pending invitation: its link stops working", Auth: authOrg, Out: keyward.Invitation{}, Status: 200,
			Handle: func(c *call) (any, error) {
				return a.svc.RevokeInvitation(c.r.Context(), c.actor, c.r.PathValue("invitation_id"))
			}},
		{Method: "PATCH", Path: one, ID: "updateMember", Tag: tagMembers, Errors: []int{409}, Summary: "Change a member's org and project roles" + nullRule(memberPatchClears), Auth: authOrg, In: keyward.MemberPatch{}, Out: keyward.Member{}, Status: 200,
			Handle: func(c *call) (any, error) {
				var in keyward.MemberPatch
				if err := decodePatch(c.r, &in, memberPatchClears); err != nil {
					return nil, err
				}
				return a.svc.UpdateMember(c.r.Context(), c.actor, c.r.PathValue("user_id"), in)
			}},
		{Method: "DELETE", Path: one, ID: "removeMember", Tag: tagMembers, Errors: []int{409}, Summary: "Remove a member; their keys are revoked or transferred", Auth: authOrg, Query: []string{"key_handling", "transfer_to"}, Status: 204,
			Handle: func(c *call) (any, error) {
				q := c.r.URL.Query()
				in := keyward.RemoveMemberInput{KeyHandling: keyward.KeyHandling(q.Get("key_handling")), TransferTo: q.Get("transfer_to")}
				return nil, a.svc.RemoveMember(c.r.Context(), c.actor, c.r.PathValue("user_id"), in)
			}},
	}
}

func (a *API) settingsRoutes() []route {
	return []route{
		{Method: "GET", Path: "/v1/org/settings", ID: "getSettings", Tag: tagSettings, Summary: "The org's limits and policies", Auth: authOrg, Out: keyward.Settings{}, Status: 200,
			Handle: func(c *call) (any, error) { return a.svc.GetSettings(c.r.Context(), c.actor) }},
		{Method: "PATCH", Path: "/v1/org/settings", ID: "updateSettings", Tag: tagSettings, Summary: "Change the org's limits and policies" + nullRule(settingsPatchClears), Auth: authOrg, In: keyward.SettingsPatch{}, Out: keyward.Settings{}, Status: 200,
			Handle: func(c *call) (any, error) {
				var in keyward.SettingsPatch
				if err := decodePatch(c.r, &in, settingsPatchClears); err != nil {
					return nil, err
				}
				return a.svc.UpdateSettings(c.r.Context(), c.actor, in)
			}},
	}
}
