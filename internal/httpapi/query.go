package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// auditQuery are the filters of the audit log endpoints.
var auditQuery = []string{"action", "actor", "since", "until", "limit", "cursor"}

// intParam reads an optional integer query parameter (0 when absent).
func intParam(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) > 9 {
		return 0, keyward.Invalid(keyward.FieldError{Field: name, Problem: "must be a whole number"})
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
	limit, err := intParam(r, "limit")
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
