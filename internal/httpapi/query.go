package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// auditQuery are the filters of the audit log endpoints.
var auditQuery = []string{"action", "actor", "since", "until", "limit", "cursor"}

// keyListQuery are the search, filters, order and page of the key lists,
// named as in the dashboard's address of its keys page.
var keyListQuery = []string{"q", "status", "owner", "scope", "sort", "limit", "cursor"}

func keyListQueryOf(r *http.Request) (service.ListKeysQuery, error) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return service.ListKeysQuery{}, err
	}
	return service.ListKeysQuery{
		Search: q.Get("q"), Status: q.Get("status"), OwnerUserID: q.Get("owner"), Scope: q.Get("scope"),
		Order: keyward.KeyOrder(q.Get("sort")), Limit: limit, Cursor: q.Get("cursor"),
	}, nil
}

// keyListParams names the service's problems with a key list's query by
// the parameters that carried them.
func keyListParams(err error) error {
	var e *keyward.Error
	if !errors.As(err, &e) || e.Code != keyward.CodeInvalidRequest {
		return err
	}
	details := slices.Clone(e.Details)
	for i, d := range details {
		switch d.Field {
		case "search":
			details[i].Field = "q"
		case "order":
			details[i].Field = "sort"
		}
	}
	return keyward.Invalid(details...)
}

// checkQuery refuses a query that names a parameter the route does not
// declare (its Query), or one parameter twice, as decode refuses unknown
// and repeated members of a body: a misspelt filter must not silently
// list everything. Each problem names the parameter.
func checkQuery(rawQuery string, declared []string) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return keyward.Errorf(keyward.CodeInvalidRequest, "The query string is not valid: each parameter is name=value, escaped as in a URL")
	}
	var bad []keyward.FieldError
	for name, values := range q {
		switch {
		case !slices.Contains(declared, name):
			if len(name) > 60 || !utf8.ValidString(name) {
				name = "(unnamed)"
			}
			problem := "is not a known query parameter"
			if len(declared) > 0 {
				problem += " here; known: " + strings.Join(declared, ", ")
			}
			bad = append(bad, keyward.FieldError{Field: name, Problem: problem})
		case len(values) > 1:
			bad = append(bad, keyward.FieldError{Field: name, Problem: "is given more than once"})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.SortFunc(bad, func(a, b keyward.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return keyward.Invalid(bad...)
}

// limitParam reads the optional limit of a list: 0 when absent, else 1
// to service.MaxPageSize.
func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) > 9 {
		return 0, keyward.Invalid(keyward.FieldError{Field: "limit", Problem: "must be a whole number"})
	}
	if n < 1 || n > service.MaxPageSize {
		return 0, keyward.Invalid(keyward.FieldError{Field: "limit", Problem: "must be between 1 and " + strconv.Itoa(service.MaxPageSize)})
	}
	return n, nil
}

// timeParam reads an optional RFC 3339 time query parameter.
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, keyward.Invalid(keyward.FieldError{Field: name, Problem: "must be an RFC 3339 time"})
	}
	return t.UTC(), nil
}

func auditQueryOf(r *http.Request) (service.AuditQuery, error) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return service.AuditQuery{}, err
	}
	since, err := timeParam(r, "since")
	if err != nil {
		return service.AuditQuery{}, err
	}
	until, err := timeParam(r, "until")
	if err != nil {
		return service.AuditQuery{}, err
	}
	return service.AuditQuery{
		Action: q.Get("action"), ActorID: q.Get("actor"), Since: since, Until: until,
		Limit: limit, Cursor: q.Get("cursor"),
	}, nil
}
