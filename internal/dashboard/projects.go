package dashboard

import (
	"net/http"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// projectsData is the org's project list.
type projectsData struct {
	Projects []*keyward.Project
	Next     string
	Keys     map[string]int // usable keys per project, for the delete confirmation
}

func orgURL(p *page) string     { return "/orgs/" + p.Org.ID }
func projectURL(p *page) string { return orgURL(p) + "/projects/" + p.Project.ID }

func (d *dashboard) projectsPage(w http.ResponseWriter, r *http.Request, p *page) error {
	res, err := d.svc.ListProjects(r.Context(), p.Actor, service.MaxPageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	data := projectsData{Projects: res.Data}
	if res.NextCursor != nil {
		data.Next = *res.NextCursor
	}
	if p.Ab.ManageProjects {
		ids := make([]string, len(res.Data))
		for i, prj := range res.Data {
			ids[i] = prj.ID
		}
		if data.Keys, err = d.svc.ProjectKeyCounts(r.Context(), p.Actor, ids); err != nil {
			return err
		}
	}
	return d.render(w, r, http.StatusOK, "projects", p, "Projects", "projects", data)
}

func (d *dashboard) createProject(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/projects"
	prj, err := d.svc.CreateProject(r.Context(), p.Actor, keyward.CreateProjectInput{Name: r.PostFormValue("name")})
	if err != nil {
		return d.formFailed(w, r, back, at("project-name"), err)
	}
	return d.redirect(w, r, back+"/"+prj.ID+"/keys", "Project “"+prj.Name+"” created.")
}

func (d *dashboard) renameProject(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/projects"
	name := r.PostFormValue("name")
	prj, err := d.svc.UpdateProject(r.Context(), p.Actor, p.Project.ID, keyward.ProjectPatch{Name: &name})
	if err != nil {
		return d.formFailed(w, r, back, at("rename-"+p.Project.ID), err)
	}
	return d.redirect(w, r, back, "Project renamed to “"+prj.Name+"”.")
}

// deleteProject deletes a project once its name was typed: deleting it
// stops all of its keys at once, so a slip of the mouse must not do it.
func (d *dashboard) deleteProject(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/projects"
	if r.PostFormValue("confirm") != p.Project.Name {
		return d.formFailed(w, r, back, at("delete-"+p.Project.ID), keyward.Invalid(keyward.FieldError{
			Field: "confirm", Problem: "type the project's name to delete it; nothing was deleted"}))
	}
	if err := d.svc.DeleteProject(r.Context(), p.Actor, p.Project.ID); err != nil {
		return d.formFailed(w, r, back, at("delete-"+p.Project.ID), err)
	}
	return d.redirect(w, r, back, "Project “"+p.Project.Name+"” deleted; its keys no longer work.")
}

func (d *dashboard) projectHome(w http.ResponseWriter, r *http.Request, p *page) error {
	http.Redirect(w, r, projectURL(p)+"/keys", http.StatusSeeOther)
	return nil
}
