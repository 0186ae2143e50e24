package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// keysQuery is what the keys page shows: a search, filters, an order and
// a page. The page's URL carries it (reload, Back and bookmarks keep it),
// the filter form is a plain GET form, and the revoke form posts it along
// so that the page comes back as it was. The service checks the values
// (service.KeyPage); the store does the searching, so it works across
// pages however many keys a project has.
type keysQuery struct {
	Search string           // q: in names and hints
	Status string           // active (and expiring), expiring, expired, revoked or all
	Owner  string           // a user id; "" = anyone
	Scope  string           // "" = any
	Sort   keyward.KeyOrder // "" = newest first
	Cursor string
}

// keyStatuses are the status filter's choices; the first is the default.
// Active keys are the ones that work: expiring ones (rotated, in their
// grace period) too.
var keyStatuses = []choice{
	{Value: "active", Label: "Active"}, {Value: "expiring", Label: "Expiring"}, {Value: "expired", Label: "Expired"},
	{Value: "revoked", Label: "Revoked"}, {Value: "all", Label: "All"},
}

// keySorts are the order's choices.
var keySorts = []choice{
	{Value: string(keyward.OrderNewest), Label: "Newest first"}, {Value: string(keyward.OrderOldest), Label: "Oldest first"},
	{Value: string(keyward.OrderUsed), Label: "Last used, recent first"}, {Value: string(keyward.OrderUsedLeast), Label: "Last used, least recent first"},
}

// choice is an option of a select, or a link to the list filtered by it.
type choice struct {
	Value, Label string
	URL          string
}

// readKeysQuery reads a keys query from a URL's query or a form.
func readKeysQuery(v url.Values) keysQuery {
	q := keysQuery{
		Search: strings.TrimSpace(v.Get("q")), Status: v.Get("status"), Owner: v.Get("owner"),
		Scope: v.Get("scope"), Sort: keyward.KeyOrder(v.Get("sort")), Cursor: v.Get("cursor"),
	}
	if q.Status == "" {
		q.Status = "active"
	}
	return q
}

// Values is q as a URL query: the status always, the rest when set.
func (q keysQuery) Values() url.Values {
	v := url.Values{"status": {q.Status}}
	for name, value := range map[string]string{"q": q.Search, "owner": q.Owner, "scope": q.Scope, "sort": string(q.Sort), "cursor": q.Cursor} {
		if value != "" {
			v.Set(name, value)
		}
	}
	return v
}

// url is the keys page at base showing q.
func (q keysQuery) url(base string) string { return base + "?" + q.Values().Encode() }

// at is q on the page the cursor points to ("" = the first).
func (q keysQuery) at(cursor string) keysQuery {
	q.Cursor = cursor
	return q
}

// Filtered reports whether a search or a filter besides status narrows
// the list.
func (q keysQuery) Filtered() bool { return q.Search != "" || q.Owner != "" || q.Scope != "" }

func (q keysQuery) service(limit int) service.ListKeysQuery {
	return service.ListKeysQuery{
		Status: q.Status, Search: q.Search, OwnerUserID: q.Owner, Scope: q.Scope,
		Order: q.Sort, Limit: limit, Cursor: q.Cursor,
	}
}

// listKeys lists the page q asks for. Values the service refuses (a status
// or an order it does not know, a cursor from an old link) are dropped,
// with a note saying so, rather than failing the page.
func (d *dashboard) listKeys(r *http.Request, p *page, q keysQuery) (*service.KeyPage, keysQuery, string, error) {
	var dropped []string
	// The service reports some problems only once others are gone (the
	// cursor is read after the rest): a few rounds drop them all.
	for range 4 {
		kp, err := d.svc.KeyPage(r.Context(), p.Actor, where(p), q.service(keysPerPage))
		if keyward.ErrorCode(err) != keyward.CodeInvalidRequest {
			note := ""
			if len(dropped) > 0 {
				slices.Sort(dropped)
				note = "Part of this page's address could not be used and was left out: " + strings.Join(dropped, ", ") + "."
			}
			return kp, q, note, err
		}
		bad := problems(err)
		if len(bad) == 0 {
			return nil, q, "", err
		}
		for field := range bad {
			// Each value is named as the form names it.
			switch field {
			case "status":
				q.Status = "active"
			case "search":
				q.Search = ""
			case "owner":
				q.Owner = ""
			case "scope":
				q.Scope = ""
			case "order":
				q.Sort, q.Cursor, field = "", "", "sort" // a place in one order is none in another
			case "cursor":
				q.Cursor, field = "", "page"
			default:
				return nil, q, "", err
			}
			dropped = append(dropped, field)
		}
	}
	return nil, q, "", keyward.Invalid() // not reached: each round drops a value of six
}

// sortLink is a column header's link: by this column, the most recent
// first, or the other way when it is so already.
func (q keysQuery) sortLink(base string, desc, asc keyward.KeyOrder) string {
	q.Cursor = ""
	if q.Sort == desc {
		q.Sort = asc
	} else {
		q.Sort = desc
	}
	return q.url(base)
}

// ariaSort is a column header's aria-sort ("" when the list is not sorted
// by it).
func (q keysQuery) ariaSort(desc, asc keyward.KeyOrder) string {
	switch q.Sort {
	case desc:
		return "descending"
	case asc:
		return "ascending"
	}
	return ""
}

// ownerChoices are the owner filter's people: who may own a key here (the
// project's members, or the org's for org keys), the signed-in user, and
// the owner chosen now. Names are a courtesy: a lookup that fails leaves
// fewer choices, never a broken page.
func (d *dashboard) ownerChoices(r *http.Request, p *page, chosen string) []choice {
	var out []choice
	seen := map[string]bool{}
	add := func(id, email string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, choice{Value: id, Label: email})
		}
	}
	var ids []string
	if p.User != nil {
		ids = append(ids, p.User.ID)
	}
	if chosen != "" {
		ids = append(ids, chosen)
	}
	if p.Project != nil {
		if ms, err := d.svc.ListProjectMembers(r.Context(), p.Actor, p.Project.ID); err == nil {
			for _, m := range ms {
				ids = append(ids, m.UserID)
			}
		}
	} else if res, err := d.svc.ListMembers(r.Context(), p.Actor, service.MaxPageSize, ""); err == nil {
		for _, m := range res.Data {
			ids = append(ids, m.UserID)
		}
	}
	n := d.namer(r, p, service.NameQuery{Users: ids})
	for _, id := range ids {
		label := n.person(id).Text
		if p.User != nil && id == p.User.ID {
			label += " (you)"
		}
		add(id, label)
	}
	// The signed-in user first, then by email.
	if len(out) > 1 {
		slices.SortFunc(out[1:], func(a, b choice) int { return strings.Compare(a.Label, b.Label) })
	}
	return out
}
