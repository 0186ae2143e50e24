package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward"
)

// Denied attempts repeated on several nodes add to one audit event: the
// count is kept by the shared database, not by each node.
func TestRepeatedDenialsAcrossNodesAreOneEvent(t *testing.T) {
	nodes, res := newCluster(t, 2, "")
	c := newLoopbackClient(t)
	call := func(url, method, path, body, header, key string, into any) int {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set(header, key)
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		raw, _ := io.ReadAll(r.Body)
		if into != nil {
			if err := json.Unmarshal(raw, into); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, r.StatusCode, raw)
			}
		}
		return r.StatusCode
	}
	orgKey := res.OrgKey.Secret
	var p keyward.Project
	call(nodes[0].url, "POST", "/v1/org/projects", `{"name":"Billing"}`, "x-org-api-key", orgKey, &p)
	var weak keyward.Key
	call(nodes[0].url, "POST", "/v1/org/projects/"+p.ID+"/keys", `{"name":"reader","scopes":["keys:read"]}`, "x-org-api-key", orgKey, &weak)
	if weak.Secret == "" {
		t.Fatalf("no key: %+v", weak)
	}

	const n = 200
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				if st := call(nodes[i%2].url, "POST", "/v1/keys", `{"name":"more"}`, "x-api-key", weak.Secret, nil); st != 403 {
					t.Errorf("attempt %d: status %d, want 403", i, st)
					return
				}
			}
		})
	}
	wg.Wait()

	var page keyward.Page[keyward.AuditEvent]
	call(nodes[1].url, "GET", "/v1/org/audit-events?action=key.create&actor="+weak.ID, "", "x-org-api-key", orgKey, &page)
	sum := 0
	for _, e := range page.Data {
		sum += e.Count
	}
	// The test runs on the real clock: a minute may end during it.
	if sum != n || len(page.Data) == 0 || len(page.Data) > 2 {
		t.Fatalf("%d events with counts summing to %d, want 1 (or 2 across a minute's end) summing to %d", len(page.Data), sum, n)
	}
}
