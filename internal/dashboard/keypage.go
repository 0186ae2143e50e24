package dashboard

import (
	"net/http"
	"slices"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// keyData is one key's page: everything about it, what may be done to
// it, and its own audit trail.
type keyData struct {
	Row    keyRow
	Base   string // the keys page
	Events []auditRow
	// CanRename offers the rename form; the server checks again.
	CanRename bool
	// Usage is the key's requests by outcome over the range asked for.
	Usage *usageChart
}

// keyPage shows one key: its settings, who made and owns it, its use, its
// end, and the audit events about it.
func (d *dashboard) keyPage(w http.ResponseWriter, r *http.Request, p *page) error {
	ctx := r.Context()
	k, err := d.svc.GetKey(ctx, p.Actor, where(p), r.PathValue("key"))
	if err != nil {
		return err
	}
	now := d.clock.Now()
	row := keyRow{Key: k, CanChange: p.Ab.CanChangeKey(k)}
	row.CanRotate = row.CanChange && k.ReplacedBy == nil
	if k.Status == keyward.StatusExpiring && k.ExpiresAt != nil {
		row.Countdown = countdown(*k.ExpiresAt, now)
	}
	if k.LastUsedAt != nil {
		row.LastUsed = ago(now.Sub(*k.LastUsedAt))
	}
	all := keyward.OrgScopes
	if p.Project != nil {
		all = append(slices.Clone(keyward.ProjectScopes), p.Project.CustomScopes...)
	}
	row.FullAccess = sameScopes(k.Scopes, all)
	rows := []keyRow{row}
	d.nameKeys(r, p, rows)
	data := keyData{Row: rows[0], Base: keysURL(p), CanRename: rows[0].CanChange}
	uq, current := usageQueryOf(r.URL.Query(), now)
	u, err := d.svc.KeyUsage(ctx, p.Actor, where(p), k.ID, uq)
	if err != nil {
		return err
	}
	data.Usage = newUsageChart("usage", "Requests by outcome", u, keysURL(p)+"/"+k.ID, current)

	// The key's own events, for those who may read the audit log.
	q := service.AuditQuery{TargetID: k.ID, Limit: 50}
	var res *keyward.Page[*keyward.AuditEvent]
	if p.Project != nil {
		q.ProjectID = p.Project.ID
		res, err = d.svc.ListProjectAudit(ctx, p.Actor, q)
	} else {
		res, err = d.svc.ListOrgAudit(ctx, p.Actor, q)
	}
	if err == nil {
		n := d.namer(r, p, eventNames(res.Data))
		for _, e := range res.Data {
			data.Events = append(data.Events, auditRow{AuditEvent: e, ActorName: n.ref(e.Actor), TargetName: n.ref(e.Target)})
		}
	} else if keyward.ErrorCode(err) != keyward.CodePermissionDenied {
		return err
	}
	return d.render(w, r, http.StatusOK, "key", p, k.Name, "keys", data)
}

// renameKey renames a key from its page.
func (d *dashboard) renameKey(w http.ResponseWriter, r *http.Request, p *page) error {
	back := keysURL(p) + "/" + r.PathValue("key")
	name := strings.TrimSpace(r.PostFormValue("name"))
	k, err := d.svc.UpdateKey(r.Context(), p.Actor, where(p), r.PathValue("key"), keyward.KeyPatch{Name: &name})
	if err != nil {
		return d.formFailed(w, r, back, at("key-rename"), err)
	}
	return d.redirect(w, r, back, "Key renamed to “"+k.Name+"”.")
}

// sameScopes reports whether scopes holds every scope of all, and no other.
func sameScopes(scopes, all []string) bool {
	return len(scopes) == len(all) && !slices.ContainsFunc(all, func(s string) bool { return !slices.Contains(scopes, s) })
}
