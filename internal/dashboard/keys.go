package dashboard

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// keysData is the keys page: the table, its search, filters, order and
// pages, and the dialogs' choices. Secret is set only on the page a create
// or rotate redirected to, the one time the secret is shown (see
// onetime.go).
type keysData struct {
	Base  string // the keys page's URL
	Query keysQuery
	// QueryNote says which values of the URL's query were left out.
	QueryNote  string
	Statuses   []choice
	Sorts      []choice
	Owners     []choice
	Here       string // this page's URL, query included
	Clear      string // the page without search or filters
	First      string // the first page, when this is not it
	Prev, Next string // the pages either side, when there are
	// SortCreated and SortUsed are the column headers' links, and
	// AriaCreated and AriaUsed their aria-sort.
	SortCreated, SortUsed string
	AriaCreated, AriaUsed string
	Rows                  []keyRow
	CanCreate             bool
	Scopes                []string // a new key's choices
	ScopeChoices          []string // the scope filter's: Scopes, and the one chosen

	Graces       []graceOption
	DefaultGrace string // the grace chosen until the user chooses
	Create       createForm
	Rotate       keyForm
	Revoke       keyForm
	Secret       *keyward.Key
	Rotated      bool
	// Example is a request that tries a key (shown when the project has
	// none yet): the API's whoami on this keyward.
	Example string
	// Usage is the project's requests by outcome (nil on the org's keys
	// page, and for those who may not read the project's keys).
	Usage *usageChart
}

// newSecret is the one-time value a create or rotate leaves for the keys
// page: the key with its secret.
type newSecret struct {
	Key     *keyward.Key
	Rotated bool
}

// keyRow is a key as the table shows it.
type keyRow struct {
	*keyward.Key
	Owner     label
	CanChange bool // rotate or revoke
	CanRotate bool
	Countdown string
	// FullAccess is a key that holds every scope it could: shown as one
	// "Full access" rather than a chip per scope.
	FullAccess bool
	// LastUsed is the last use as people say it ("3 min ago").
	LastUsed string

	// ReplacedByName is the key that replaced this one by rotation,
	// ReplacesName the one it replaced (when on the page); see names.go.
	ReplacedByName, ReplacesName *label

	// Leak is the key's latest leak report (docs/leaks.md), nil when
	// none; LeakLink tells whether its URL may be a link (http or https).
	Leak     *keyward.KeyLeak
	LeakLink bool
}

// createForm is the create dialog's input, kept when it is shown again
// with problems.
type createForm struct {
	Open       bool
	Name       string
	Access     string
	Scopes     []string
	Expiry     string
	ExpiryDate string
	Error      string // a problem of the whole form (a key limit, say)
	Problems   map[string]string
}

// keyForm is the rotate or revoke dialog shown again, open, after its
// POST failed: which key, what was chosen, and what is wrong.
type keyForm struct {
	Open     bool
	URL      string
	Name     string
	Grace    string
	Error    string
	Problems map[string]string
}

type graceOption struct {
	Value, Label string
}

// graces are the rotate dialog's choices, as the contract spells them.
var graces = []struct {
	d            time.Duration
	value, label string
}{
	{0, "0s", "Now"}, {time.Hour, "1h", "In 1 hour"}, {24 * time.Hour, "24h", "In 24 hours"}, {168 * time.Hour, "168h", "In 7 days"},
}

// keysPerPage is how many keys a page of the keys table shows: enough to
// scan, few enough that a narrow screen is not a long scroll.
const keysPerPage = 25

// defaultGrace is the rotate dialog's choice until the user makes one: the
// old key keeps working a day, so that what still uses it does not break.
const defaultGrace = "24h"

func where(p *page) service.Where {
	if p.Project != nil {
		return service.Where{ProjectID: p.Project.ID}
	}
	return service.Where{}
}

func keysURL(p *page) string {
	if p.Project != nil {
		return projectURL(p) + "/keys"
	}
	return orgURL(p) + "/keys"
}

// readOnly is the "read-only" access choice: see keys and the audit log.
func readOnly(p *page) []string {
	if p.Project != nil {
		return []string{keyward.ScopeKeysRead, keyward.ScopeAuditRead}
	}
	return []string{keyward.ScopeProjectsRead, keyward.ScopeKeysRead, keyward.ScopeMembersRead, keyward.ScopeAuditRead}
}

func (d *dashboard) keysPage(w http.ResponseWriter, r *http.Request, p *page) error {
	data, err := d.keysData(r, p, readKeysQuery(r.URL.Query()))
	if err != nil {
		return err
	}
	v, gone := d.takeOnce(r, p)
	if s, ok := v.(*newSecret); ok {
		data.Secret, data.Rotated = s.Key, s.Rotated
	} else if gone {
		p.Flash = &flash{Message: "A new key's secret is shown only once, and it was shown already. If it was not copied, rotate the key to get a new secret."}
	}
	return d.renderKeys(w, r, http.StatusOK, p, data)
}

func (d *dashboard) renderKeys(w http.ResponseWriter, r *http.Request, status int, p *page, data *keysData) error {
	title := "Org API keys"
	if p.Project != nil {
		title = p.Project.Name + ": API keys"
	}
	return d.render(w, r, status, "keys", p, title, "keys", data)
}

// keysData lists the page of keys q asks for and works out, with the
// service's Abilities, which actions each row offers.
func (d *dashboard) keysData(r *http.Request, p *page, q keysQuery) (*keysData, error) {
	res, q, note, err := d.listKeys(r, p, q)
	if err != nil {
		return nil, err
	}
	now := d.clock.Now()
	base := keysURL(p)
	data := &keysData{
		Base: base, Query: q, QueryNote: note, Sorts: keySorts,
		Here:        q.url(base),
		Clear:       keysQuery{Status: q.Status, Sort: q.Sort}.url(base),
		SortCreated: q.sortLink(base, keyward.OrderNewest, keyward.OrderOldest),
		SortUsed:    q.sortLink(base, keyward.OrderUsed, keyward.OrderUsedLeast),
		AriaCreated: q.ariaSort(keyward.OrderNewest, keyward.OrderOldest),
		AriaUsed:    q.ariaSort(keyward.OrderUsed, keyward.OrderUsedLeast),
		Create:      createForm{Access: "full", Expiry: "never"},
	}
	data.Owners = d.ownerChoices(r, p, q.Owner)
	if p.Project != nil {
		uq, current := usageQueryOf(r.URL.Query(), now)
		u, err := d.svc.ProjectUsage(r.Context(), p.Actor, p.Project.ID, uq)
		if err != nil {
			return nil, err
		}
		data.Usage = newUsageChart("usage", "Requests to this project's keys by outcome", &u.KeyUsage, base, current)
		data.Usage.TopFailures = u.TopByFailures
	}
	for _, c := range keyStatuses {
		at := q.at("")
		at.Status = c.Value
		c.URL = at.url(base)
		data.Statuses = append(data.Statuses, c)
	}
	if res.Prev != "" {
		data.First, data.Prev = q.at("").url(base), q.at(res.Prev).url(base)
	}
	if res.Next != "" {
		data.Next = q.at(res.Next).url(base)
	}
	all := keyward.OrgScopes
	if p.Project != nil {
		all = append(slices.Clone(keyward.ProjectScopes), p.Project.CustomScopes...)
	}
	for _, k := range res.Keys {
		row := keyRow{Key: k, CanChange: p.Ab.CanChangeKey(k)}
		row.FullAccess = sameScopes(k.Scopes, all)
		if k.LastUsedAt != nil {
			row.LastUsed = ago(now.Sub(*k.LastUsedAt))
		}
		// An expiring key was rotated already: only its replacement can be.
		row.CanRotate = row.CanChange && k.ReplacedBy == nil
		if k.Status == keyward.StatusExpiring && k.ExpiresAt != nil {
			row.Countdown = countdown(*k.ExpiresAt, now)
		}
		data.Rows = append(data.Rows, row)
	}
	d.nameKeys(r, p, data.Rows)
	if p.Project != nil {
		data.CanCreate = p.Ab.CreateKeys
		data.Scopes = append(slices.Clone(keyward.ProjectScopes), p.Project.CustomScopes...)
	} else {
		data.CanCreate = p.Ab.ManageOrg
		data.Scopes = keyward.OrgScopes
	}
	data.ScopeChoices = data.Scopes
	if q.Scope != "" && !slices.Contains(data.Scopes, q.Scope) {
		data.ScopeChoices = append(slices.Clone(data.Scopes), q.Scope)
	}
	path, header := "/v1/whoami", "x-api-key"
	if p.Project == nil {
		path, header = "/v1/org/whoami", "x-org-api-key"
	}
	data.Example = "curl " + d.svc.PublicLink(path) + ` -H "` + header + `: $KEYWARD_KEY"`
	for _, g := range graces {
		if g.d <= p.Org.Settings.RotationMaxGrace.Std() {
			data.Graces = append(data.Graces, graceOption{Value: g.value, Label: g.label})
		}
	}
	// Until the user chooses: a day, or the longest the org allows below it.
	for _, g := range data.Graces {
		data.DefaultGrace = g.Value
		if g.Value == defaultGrace {
			break
		}
	}
	return data, nil
}

func (d *dashboard) createKey(w http.ResponseWriter, r *http.Request, p *page) error {
	f := createForm{
		Name: r.PostFormValue("name"), Access: r.PostFormValue("access"), Scopes: r.PostForm["scopes"],
		Expiry: r.PostFormValue("expiry"), ExpiryDate: r.PostFormValue("expiry_date"), Problems: map[string]string{},
	}
	in := keyward.CreateKeyInput{Name: f.Name}
	switch f.Access {
	case "full":
	case "read-only":
		in.Scopes = readOnly(p)
	case "custom":
		in.Scopes = f.Scopes
		if len(in.Scopes) == 0 {
			f.Problems["scopes"] = "choose at least one scope"
		}
	default:
		f.Problems["access"] = "choose full, read-only or custom"
	}
	switch f.Expiry {
	case "never":
	case "7", "30", "60", "90":
		n, _ := strconv.Atoi(f.Expiry)
		in.ExpiresIn = new(keyward.Duration(time.Duration(n) * 24 * time.Hour))
	case "date":
		// The key works until the start of that day (UTC).
		t, err := time.Parse(time.DateOnly, f.ExpiryDate)
		if err != nil {
			f.Problems["expiry_date"] = "must be a date"
		}
		in.ExpiresAt = &t
	default:
		f.Problems["expiry"] = "choose never, 7, 30, 60 or 90 days, or a date"
	}
	var err error
	var k *keyward.Key
	if len(f.Problems) == 0 {
		k, err = d.svc.CreateKey(r.Context(), p.Actor, where(p), in)
		if err != nil && !fixable(err) {
			return err
		}
		for field, problem := range problems(err) {
			if field == "expires_at" || field == "expires_in" {
				field = "expiry"
				if f.Expiry == "date" {
					field = "expiry_date" // a past date is the date field's problem
				}
			}
			f.Problems[field] = problem
		}
	}
	if err != nil || len(f.Problems) > 0 {
		// A failed create changes nothing: the page is answered with the
		// dialog open again, what was typed, and each problem inside it
		// next to its field (a reload posts again, harmlessly).
		data, lerr := d.keysData(r, p, keysQuery{Status: "active"})
		if lerr != nil {
			return lerr
		}
		f.Open = true
		if err != nil && len(keyward.AsError(err).Details) == 0 {
			f.Error = keyward.AsError(err).Message
		} else {
			f.Error = "The key was not created: see the problem marked below."
		}
		data.Create = f
		status := http.StatusBadRequest
		if err != nil {
			status = httpStatus(keyward.ErrorCode(err))
		}
		return d.renderKeys(w, r, status, p, data)
	}
	return d.redirectOnce(w, r, p, keysURL(p), &newSecret{Key: k}, "Key “"+k.Name+"” created.")
}

// keyFailed answers a failed rotate or revoke: a fixable error re-opens
// its dialog on the keys page, with the problem inside it (4xx, nothing
// changed); any other error goes to the error page.
func (d *dashboard) keyFailed(w http.ResponseWriter, r *http.Request, p *page, q keysQuery, set func(*keysData) *keyForm, f keyForm, err error) error {
	if !fixable(err) {
		return err
	}
	data, lerr := d.keysData(r, p, q)
	if lerr != nil {
		return lerr
	}
	e := keyward.AsError(err)
	f.Open, f.Problems = true, problems(err)
	if len(e.Details) == 0 {
		f.Error = e.Message
	}
	if f.Name == "" {
		for _, row := range data.Rows {
			if row.ID == r.PathValue("key") {
				f.Name = row.Name
			}
		}
	}
	*set(data) = f
	return d.renderKeys(w, r, httpStatus(e.Code), p, data)
}

func (d *dashboard) rotateKey(w http.ResponseWriter, r *http.Request, p *page) error {
	f := keyForm{URL: keysURL(p) + "/" + r.PathValue("key") + "/rotate", Grace: r.PostFormValue("grace")}
	rotate := func(data *keysData) *keyForm { return &data.Rotate }
	grace, err := keyward.ParseDuration(f.Grace)
	if err != nil {
		return d.keyFailed(w, r, p, keysQuery{Status: "active"}, rotate, f, keyward.Invalid(keyward.FieldError{Field: "grace", Problem: "choose when the old key stops working"}))
	}
	k, err := d.svc.RotateKey(r.Context(), p.Actor, where(p), r.PathValue("key"), keyward.RotateInput{GracePeriod: new(keyward.Duration(grace))})
	if err != nil {
		if problem, ok := problems(err)["grace_period"]; ok { // the form calls it grace
			err = keyward.Invalid(keyward.FieldError{Field: "grace", Problem: problem})
		}
		return d.keyFailed(w, r, p, keysQuery{Status: "active"}, rotate, f, err)
	}
	msg := "Key “" + k.Name + "” rotated. The old key stopped working."
	if grace > 0 {
		msg = "Key “" + k.Name + "” rotated. The old key keeps working for " + graceText(grace) + "."
	}
	return d.redirectOnce(w, r, p, keysURL(p), &newSecret{Key: k, Rotated: true}, msg)
}

// revokeKey revokes a key once REVOKE was typed. The dialog's button
// enforces that in the browser; this checks it again for any other client.
// The form carries the page's query, so the page comes back as it was.
func (d *dashboard) revokeKey(w http.ResponseWriter, r *http.Request, p *page) error {
	confirm := r.PostFormValue("confirm") // parses the form
	q := readKeysQuery(r.PostForm)
	f := keyForm{URL: keysURL(p) + "/" + r.PathValue("key") + "/revoke"}
	revoke := func(data *keysData) *keyForm { return &data.Revoke }
	if confirm != "REVOKE" {
		return d.keyFailed(w, r, p, q, revoke, f, keyward.Invalid(keyward.FieldError{
			Field: "confirm", Problem: "type REVOKE to revoke the key; it was not revoked"}))
	}
	k, err := d.svc.RevokeKey(r.Context(), p.Actor, where(p), r.PathValue("key"), keyward.RevokeInput{})
	if err != nil {
		return d.keyFailed(w, r, p, q, revoke, f, err)
	}
	return d.redirect(w, r, q.url(keysURL(p)), "Key “"+k.Name+"” revoked. It stopped working and cannot be restored.")
}

func graceText(g time.Duration) string {
	for _, o := range graces {
		if o.d == g {
			return o.label[len("In "):]
		}
	}
	return g.String()
}

// ago says how long ago d was, as people say it: "just now", "3 min ago",
// "5 h ago", "2 days ago".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}
