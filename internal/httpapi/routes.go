package httpapi

import (
	"context"
	"strconv"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// authKind says which credential a route takes.
type authKind int

const (
	authNone    authKind = iota
	authProject          // x-api-key or Bearer with a kwp_ key
	authOrg              // x-org-api-key or Bearer with a kwo_ key
	authProxy            // Keyward-Proxy-Key with a kwp_ key: a proxy asking about its client's key (forwardauth.go)
)

func (k authKind) kind() keyward.KeyKind {
	if k == authOrg {
		return keyward.KindOrg
	}
	return keyward.KindProject
}

// route is one endpoint: how it is reached, what it takes and returns (for
// the OpenAPI document) and the handler.
type route struct {
	Method string // "" takes every method (forward authentication: proxies send the client's)
	// Path is a ServeMux pattern's path; a trailing {name...} takes the
	// rest of the path.
	Path    string
	ID      string // the operationId ("createKey"); a route of every method adds the method ("forwardAuthGet")
	Tag     string // the group of the OpenAPI document it is listed in (openapiTags)
	Summary string
	Auth    authKind
	Query   []string // query parameters it reads
	// AnyQuery routes read no query parameter and refuse none: the
	// forward-auth route is called with the proxied request's own.
	AnyQuery bool
	Headers  []string // request headers it reads, for the OpenAPI document
	// OutHeaders are the headers of its success answer, for the OpenAPI
	// document.
	OutHeaders []string
	In         any  // request body type, or nil
	Out        any  // response body type, or nil
	Status     int  // status on success
	Stream     bool // on success the handler has written the response itself (server-sent events)
	// Hot routes answer from the key cache, whose store reads carry their
	// own deadline (verify.LoadTimeout); every other route runs under
	// requestTimeout (see bounded). A deadline per request would cost the
	// hot path allocations.
	Hot    bool
	Handle func(*call) (any, error)

	// AltStatus is another success status with the same body, which the
	// handler answers by returning a withStatus (AltSummary says when).
	AltStatus  int
	AltSummary string

	// Errors are the error statuses the route answers besides those that
	// every route of its kind does (see errorStatuses): 404 for what a
	// body names, 409 for a conflict with the stored state.
	Errors []int
}

// routes is the whole API. The OpenAPI document is generated from this
// table and the mux is built from it, so the two cannot drift apart.
func (a *API) routes() []route {
	rs := []route{
		{Method: "GET", Path: "/healthz", ID: "getHealth", Tag: tagService, Summary: "Process is up", Out: health{}, Status: 200,
			Handle: func(c *call) (any, error) { return health{Status: "ok"}, nil }},
		{Method: "GET", Path: "/readyz", ID: "getReadiness", Tag: tagService, Summary: "The store is reachable; the invalidation feeds' and the cache lease's state", Out: readiness{}, Status: 200,
			Handle: a.ready},
		{Method: "GET", Path: "/openapi.json", ID: "getOpenAPI", Tag: tagService, Summary: "This API's OpenAPI 3.1 document", Out: map[string]any{}, Status: 200,
			Handle: func(c *call) (any, error) { return a.OpenAPI(), nil }},

		{Method: "GET", Path: "/v1/whoami", ID: "getWhoami", Tag: tagVerification, Summary: "The calling key", Auth: authProject, Out: keyward.Whoami{}, Status: 200, Hot: true,
			Handle: a.whoami},
		{Method: "GET", Path: "/v1/audit-events", ID: "listAuditEvents", Tag: tagAudit, Summary: "The project's audit log", Auth: authProject, Query: auditQuery, Out: keyward.Page[keyward.AuditEvent]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				q, err := auditQueryOf(c.r)
				if err != nil {
					return nil, err
				}
				q.ProjectID = c.actor.Key.ProjectID
				return a.svc.ListProjectAudit(c.r.Context(), c.actor, q)
			}},
		{Method: "POST", Path: "/v1/verify", ID: "verifyKey", Tag: tagVerification, Summary: "Verify a key a client presented to your API", Auth: authProject, In: keyward.VerifyInput{}, Out: keyward.VerifyResult{}, Status: 200, Hot: true,
			Headers: []string{MinChangeSeqHeader}, OutHeaders: []string{ChangeSeqHeader},
			Handle: func(c *call) (any, error) { return a.verify(c, c.actor.Key.ProjectID) }},

		{Method: "GET", Path: "/v1/key-changes", ID: "streamKeyChanges", Tag: tagVerification, Summary: "Server-sent events naming the project's keys that changed, for SDKs that cache verifications", Auth: authProject, Out: keyChangesEvent{}, Status: 200, Stream: true,
			Handle: func(c *call) (any, error) { return nil, a.keyChanges(c, c.actor.Key.ProjectID) }},

		{Method: "GET", Path: "/v1/org/whoami", ID: "getOrgWhoami", Tag: tagVerification, Summary: "The calling org key", Auth: authOrg, Out: keyward.Whoami{}, Status: 200,
			Handle: a.whoami},
		{Method: "POST", Path: "/v1/org/verify", ID: "verifyKeyInOrg", Tag: tagVerification, Summary: "Verify a project key of any project of the org", Auth: authOrg, In: keyward.VerifyInput{}, Out: keyward.VerifyResult{}, Status: 200, Hot: true,
			Headers: []string{MinChangeSeqHeader}, OutHeaders: []string{ChangeSeqHeader},
			Handle: func(c *call) (any, error) { return a.verify(c, "") }},
		{Method: "GET", Path: "/v1/org/key-changes", ID: "streamOrgKeyChanges", Tag: tagVerification, Summary: "Server-sent events naming the org's project keys that changed, for SDKs that cache verifications", Auth: authOrg, Out: keyChangesEvent{}, Status: 200, Stream: true,
			Handle: func(c *call) (any, error) { return nil, a.keyChanges(c, "") }},
		{Method: "GET", Path: "/v1/org/audit-events", ID: "listOrgAuditEvents", Tag: tagAudit, Summary: "The org's audit log", Auth: authOrg, Query: append([]string{"project_id"}, auditQuery...), Out: keyward.Page[keyward.AuditEvent]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				q, err := auditQueryOf(c.r)
				if err != nil {
					return nil, err
				}
				q.ProjectID = c.r.URL.Query().Get("project_id")
				return a.svc.ListOrgAudit(c.r.Context(), c.actor, q)
			}},
	}
	rs = append(rs, a.keyRoutes("/v1/keys", authProject, func(c *call) service.Where {
		return service.Where{ProjectID: c.actor.Key.ProjectID}
	})...)
	rs = append(rs, a.keyRoutes("/v1/org/projects/{project_id}/keys", authOrg, func(c *call) service.Where {
		return service.Where{ProjectID: c.r.PathValue("project_id")}
	})...)
	rs = append(rs, a.keyRoutes("/v1/org/keys", authOrg, func(c *call) service.Where {
		return service.Where{}
	})...)
	rs = append(rs, a.usageRoutes()...)
	rs = append(rs, a.projectRoutes()...)
	rs = append(rs, a.memberRoutes()...)
	rs = append(rs, a.settingsRoutes()...)
	rs = append(rs, a.forwardAuthRoutes()...)
	rs = append(rs, a.leakRoutes()...)
	rs = append(rs, a.webhookRoutes()...)
	return rs
}

// health is the body of /healthz.
type health struct {
	Status string `json:"status"`
}

// readiness is the body of /readyz. A feed that is down does not make the
// node unready: its cache lease still bounds how stale it can be.
type readiness struct {
	Status string `json:"status"`
	// Feeds are the invalidation feeds by name ("postgres", "redis",
	// "local"), each "up" or "down".
	Feeds map[string]string `json:"feeds,omitempty"`
	// CacheLeaseMS is the cache lease's length, and ChangeLogReadAgoMS how
	// long ago the last successful read of the change log began, in
	// milliseconds: the key cache answers only while the age is under the
	// lease. Both are absent without a lease (a single SQLite node). An
	// age above the lease for long means the node cannot read its store:
	// it then answers from the store or with 503, never from memory.
	CacheLeaseMS       int64  `json:"cache_lease_ms,omitempty"`
	ChangeLogReadAgoMS *int64 `json:"change_log_read_ago_ms,omitempty"`
}

// readyTimeout bounds /readyz: a load balancer's probe must get an answer
// while the store hangs, not wait with it.
const readyTimeout = time.Second

func (a *API) ready(c *call) (any, error) {
	ctx, cancel := context.WithTimeout(c.r.Context(), readyTimeout)
	defer cancel()
	if err := a.svc.Ping(ctx); err != nil {
		return nil, keyward.Unavailable(err)
	}
	r := readiness{Status: "ready"}
	if a.feeds != nil {
		r.Feeds = map[string]string{}
		for name, up := range a.feeds() {
			r.Feeds[name] = either(up, "up", "down")
		}
	}
	if cache := a.svc.Cache(); cache.Leased() {
		r.CacheLeaseMS = cache.LeaseLength().Milliseconds()
		if age, ok := cache.LeaseAge(); ok {
			ms := age.Milliseconds()
			r.ChangeLogReadAgoMS = &ms
		}
	}
	return r, nil
}

func either(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// whoami describes the calling key, in the call's own Whoami.
func (a *API) whoami(c *call) (any, error) {
	c.whoami = *a.svc.Whoami(c.actor)
	return &c.whoami, nil
}

func (a *API) verify(c *call, projectID string) (any, error) {
	in := &c.verifyIn
	if err := decodeVerify(c.r, in); err != nil {
		return nil, err
	}
	// An SDK whose change stream has delivered every change up to min asks
	// for an answer at least that fresh (see keyChanges).
	min := int64(-1)
	if h := c.r.Header.Get(MinChangeSeqHeader); h != "" { // no error value to make when absent
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 0 {
			return nil, keyward.Invalid(keyward.FieldError{Field: MinChangeSeqHeader, Problem: "must be a whole number, 0 or more"})
		}
		min = n
	}
	res, seq, vouched, err := a.svc.VerifyAtLeast(c.r.Context(), c.actor, projectID, *in, min)
	if err != nil {
		return nil, err
	}
	if vouched {
		c.w.Header()[ChangeSeqHeader] = []string{strconv.FormatInt(seq, 10)}
	}
	return res, nil
}
