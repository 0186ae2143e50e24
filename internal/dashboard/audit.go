package dashboard

import (
	"net/http"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// auditActions are the filter's choices: every action, and the prefixes
// that group them (the store matches "key." as a prefix).
var auditActions = []string{
	"key.", service.AuditKeyCreate, service.AuditKeyRotate, service.AuditKeyRevoke, service.AuditKeyUpdate,
	service.AuditKeyTransfer, service.AuditKeyRead, "project.", service.AuditProjectCreate, service.AuditProjectUpdate,
	service.AuditProjectDelete, "member.", service.AuditMemberAdd, service.AuditMemberUpdate, service.AuditMemberRemove,
	service.AuditSettingsUpdate, service.AuditAuditRead, service.AuditOrgCreate, "user.", service.AuditUserPasswordReset,
}

// auditData is an audit log page with its filters.
type auditData struct {
	Base     string
	Action   string
	Actor    string
	Project  string
	Actions  []string
	Projects []*keyward.Project
	Events   []auditRow
	Next     string
}

// auditRow is an event with its actor and target named for people.
type auditRow struct {
	*keyward.AuditEvent
	ActorName  label
	TargetName label
}

func (d *dashboard) projectAuditPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return d.auditPage(w, r, p, projectURL(p)+"/audit", p.Project.Name+": audit log")
}

func (d *dashboard) orgAuditPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return d.auditPage(w, r, p, orgURL(p)+"/audit", "Audit log")
}

func (d *dashboard) auditPage(w http.ResponseWriter, r *http.Request, p *page, base, title string) error {
	qs := r.URL.Query()
	data := auditData{Base: base, Action: qs.Get("action"), Actor: strings.TrimSpace(qs.Get("actor")), Actions: auditActions}
	q := service.AuditQuery{Action: data.Action, ActorID: data.Actor, Limit: 100, Cursor: qs.Get("cursor")}
	if strings.Contains(data.Actor, "@") {
		// People know each other by email; the log records ids.
		n := d.namer(r, p, service.NameQuery{Emails: []string{data.Actor}})
		if id, ok := n.names.UserIDs[data.Actor]; ok {
			q.ActorID = id
		}
	}
	var res *keyward.Page[*keyward.AuditEvent]
	var err error
	if p.Project != nil {
		q.ProjectID = p.Project.ID
		res, err = d.svc.ListProjectAudit(r.Context(), p.Actor, q)
	} else {
		data.Project = qs.Get("project_id")
		q.ProjectID = data.Project
		if ps, perr := d.svc.ListProjects(r.Context(), p.Actor, service.MaxPageSize, ""); perr == nil {
			data.Projects = ps.Data
		}
		res, err = d.svc.ListOrgAudit(r.Context(), p.Actor, q)
	}
	if err != nil {
		return err
	}
	if res.NextCursor != nil {
		data.Next = *res.NextCursor
	}
	n := d.namer(r, p, eventNames(res.Data))
	for _, e := range res.Data {
		data.Events = append(data.Events, auditRow{AuditEvent: e, ActorName: n.ref(e.Actor), TargetName: n.ref(e.Target)})
	}
	return d.render(w, r, http.StatusOK, "audit", p, title, "audit", data)
}
