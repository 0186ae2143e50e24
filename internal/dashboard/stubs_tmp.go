package dashboard

import "net/http"

func notYet(w http.ResponseWriter, r *http.Request, p *page) error { return nil }

func (d *dashboard) projectMembersPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) addProjectMember(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) setProjectRole(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) removeProjectMember(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) projectSettingsPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) updateProjectSettings(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) projectAuditPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) orgMembersPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) addOrgMember(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) setOrgRole(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) removeOrgMember(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) resetMemberPassword(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) orgSettingsPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) updateOrgSettings(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
func (d *dashboard) orgAuditPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return notYet(w, r, p)
}
