package dashboard

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// label is a person, key or project as a page shows it: Text for people
// to read (an email, a key's name, a project's name), a key's Hint
// (kwp_…Y0pi), and the ID on hover. Text is the bare id when the
// signed-in user may not be told more (see service.Names).
type label struct {
	Text string
	Hint string
	ID   string
}

// namer names the ids a page shows.
type namer struct {
	names *service.Names
	org   *keyward.Org
}

// namer looks up the names of q for the signed-in user. Names are a
// courtesy: when the lookup fails the page shows ids.
func (d *dashboard) namer(r *http.Request, p *page, q service.NameQuery) namer {
	n, err := d.svc.Names(r.Context(), p.Actor, q)
	if err != nil {
		d.log.WarnContext(r.Context(), "dashboard: names", "err", err)
		n = &service.Names{}
	}
	return namer{names: n, org: p.Org}
}

func (n namer) person(id string) label {
	if e, ok := n.names.People[id]; ok {
		return label{Text: e, ID: id}
	}
	return label{Text: id, ID: id}
}

func (n namer) key(id string) label {
	if k, ok := n.names.Keys[id]; ok {
		return keyLabel(id, k.Name, k.Hint)
	}
	return label{Text: id, ID: id}
}

func keyLabel(id, name, hint string) label {
	return label{Text: name, Hint: hint, ID: id}
}

// ref names an audit event's actor or target.
func (n namer) ref(r keyward.ActorRef) label {
	switch {
	case r.Type == keyward.ActorUser:
		return n.person(r.ID)
	case r.Type == keyward.ActorKey:
		return n.key(r.ID)
	case r.Type == "project":
		if name, ok := n.names.Projects[r.ID]; ok {
			return label{Text: name, ID: r.ID}
		}
	case r.Type == "org" && n.org != nil && r.ID == n.org.ID:
		return label{Text: n.org.Name, ID: r.ID}
	case r.ID == "":
		return label{Text: r.Type}
	}
	return label{Text: r.Type + " " + r.ID, ID: r.ID}
}

// eventNames is what an audit page asks to be named: its events' actors
// and targets.
func eventNames(events []*keyward.AuditEvent) service.NameQuery {
	var q service.NameQuery
	add := func(r keyward.ActorRef) {
		switch r.Type {
		case keyward.ActorUser:
			q.Users = append(q.Users, r.ID)
		case keyward.ActorKey:
			q.Keys = append(q.Keys, r.ID)
		case "project":
			q.Projects = append(q.Projects, r.ID)
		}
	}
	for _, e := range events {
		add(e.Actor)
		add(e.Target)
	}
	return q
}

// nameKeys names the owners of the keys table's rows, and tells the two
// keys of a rotation apart: the old one is "replaced by" the new one, the
// new one "replaces" the old one (when both are on the page).
func (d *dashboard) nameKeys(r *http.Request, p *page, rows []keyRow) {
	var q service.NameQuery
	onPage := map[string]*keyward.Key{}
	for _, row := range rows {
		onPage[row.ID] = row.Key
		if row.OwnerUserID != nil {
			q.Users = append(q.Users, *row.OwnerUserID)
		}
	}
	for _, row := range rows {
		if row.ReplacedBy != nil && onPage[*row.ReplacedBy] == nil {
			q.Keys = append(q.Keys, *row.ReplacedBy)
		}
	}
	n := d.namer(r, p, q)
	replaces := map[string]*keyward.Key{}
	for _, row := range rows {
		if row.ReplacedBy != nil {
			replaces[*row.ReplacedBy] = row.Key
		}
	}
	for i := range rows {
		row := &rows[i]
		row.Owner = label{Text: "—"}
		if row.OwnerUserID != nil {
			row.Owner = n.person(*row.OwnerUserID)
		}
		if id := row.ReplacedBy; id != nil {
			l := n.key(*id)
			if k := onPage[*id]; k != nil {
				l = keyLabel(k.ID, k.Name, k.Hint)
			}
			row.ReplacedByName = &l
		}
		if old := replaces[row.ID]; old != nil {
			l := keyLabel(old.ID, old.Name, old.Hint)
			row.ReplacesName = &l
		}
	}
	d.markLeaks(r, rows)
}

// markLeaks puts each key's leak report, if any, on its row: the badge
// that says a key was found in public, and where.
func (d *dashboard) markLeaks(r *http.Request, rows []keyRow) {
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	leaks, err := d.svc.KeyLeaks(r.Context(), ids)
	if err != nil {
		d.log.WarnContext(r.Context(), "reading leak reports", "err", err)
		return
	}
	for i := range rows {
		if l := leaks[rows[i].ID]; l != nil {
			rows[i].Leak = l
			u, err := url.Parse(l.URL)
			rows[i].LeakLink = err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
		}
	}
}

func init() { funcs["breakable"] = breakable }

// breakable is s, escaped, with line-break opportunities (<wbr>) after
// the characters that join the parts of emails, addresses and ids
// (@ . : _ -), so that a narrow table cell wraps them instead of growing
// past the page.
func breakable(s string) template.HTML {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(template.HTMLEscapeString(string(r)))
		if strings.ContainsRune("@.:_-", r) {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String()) //nolint:gosec // G203: every rune of s is escaped above
}
