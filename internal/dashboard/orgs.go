package dashboard

import (
	"net/http"
	"slices"

	"github.com/keyward/keyward"
)

// home sends a signed-in user to their first org.
func (d *dashboard) home(w http.ResponseWriter, r *http.Request, p *page) error {
	if len(p.Orgs) == 0 {
		return d.render(w, r, http.StatusOK, "no_org", p, "No organization", "", nil)
	}
	http.Redirect(w, r, "/orgs/"+p.Orgs[0].ID+"/projects", http.StatusSeeOther)
	return nil
}

// switchOrg serves the org switcher's form when JavaScript is off; with it
// on, app.js navigates as soon as an org is picked.
func (d *dashboard) switchOrg(w http.ResponseWriter, r *http.Request, p *page) error {
	id := r.URL.Query().Get("org")
	if !slices.ContainsFunc(p.Orgs, func(o *keyward.Org) bool { return o.ID == id }) {
		return keyward.NotFound("organization")
	}
	http.Redirect(w, r, "/orgs/"+id+"/projects", http.StatusSeeOther)
	return nil
}

func (d *dashboard) orgHome(w http.ResponseWriter, r *http.Request, p *page) error {
	http.Redirect(w, r, "/orgs/"+p.Org.ID+"/projects", http.StatusSeeOther)
	return nil
}
