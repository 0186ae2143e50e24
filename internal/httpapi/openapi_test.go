package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

var update = flag.Bool("update", false, "rewrite golden files")

const openapiGolden = "../../docs/openapi.json"

// The committed OpenAPI document must match what the code serves; run
// `go test ./internal/httpapi -run OpenAPI -update` after changing a route.
func TestOpenAPIGolden(t *testing.T) {
	s := newSetup(t)
	r := do(t, s.srv, "GET", "/openapi.json", nil).want(t, 200)
	var doc map[string]any
	r.decode(t, &doc)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(openapiGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(openapiGolden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("docs/openapi.json is out of date with the routes; run: go test ./internal/httpapi -run OpenAPI -update")
	}
}

// Every operation in the document is a live route, and every route the
// server answers is in the document.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := newSetup(t)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	do(t, s.srv, "GET", "/openapi.json", nil).want(t, 200).decode(t, &doc)
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	n := 0
	for path, ops := range doc.Paths {
		concrete := param.ReplaceAllString(path, "x")
		for method := range ops {
			n++
			r := do(t, s.srv, strings.ToUpper(method), concrete, nil)
			if r.Status == 404 || r.Status == 405 {
				var body struct{ Error struct{ Message string } }
				_ = json.Unmarshal(r.Body, &body)
				if strings.HasPrefix(body.Error.Message, "No such route") || r.Status == 405 {
					t.Errorf("%s %s is documented but not routed (%d)", method, path, r.Status)
				}
			}
		}
		// Any undocumented method on a documented path is a 405.
		if _, ok := ops["put"]; !ok {
			do(t, s.srv, "PUT", concrete, nil).wantError(t, 405, keyward.CodeMethodNotAllowed)
		}
	}
	if n < 40 {
		t.Fatalf("only %d operations documented", n)
	}
	if _, ok := doc.Paths["/v1/keys/{id}/rotate"]["post"]; !ok {
		t.Fatal("rotate is not documented")
	}
}

// Where the document and the server used to disagree, they agree: the
// check of every exchange (openapi_check_test.go) holds each answer
// against the document; these pin the answers.
func TestOpenAPIAgreement(t *testing.T) {
	s := newSetup(t)
	checked := report.count()
	defer func() {
		if n := report.count() - checked; n < 15 {
			t.Errorf("only %d exchanges were checked against the OpenAPI document: does its router still find the operations?", n)
		}
	}()
	// POST /v1/verify: "key" is required (an empty one is a key that is
	// not valid); null is the same as leaving a member out.
	s.pk(t, "POST", "/v1/verify", `{}`).wantError(t, 400, keyward.CodeInvalidRequest)
	s.pk(t, "POST", "/v1/verify", `{"key":null}`).wantError(t, 400, keyward.CodeInvalidRequest)
	var res keyward.VerifyResult
	s.pk(t, "POST", "/v1/verify", `{"key":"","scopes":null,"ip":null}`).want(t, 200).decode(t, &res)
	if res.Valid || res.Code != keyward.VerifyInvalid {
		t.Fatalf("an empty key: %+v", res)
	}
	s.pk(t, "POST", "/v1/verify", map[string]any{"key": s.key.Secret, "scopes": nil}).want(t, 200).decode(t, &res)
	if !res.Valid {
		t.Fatalf("scopes null: %+v", res)
	}
	do(t, s.srv, "POST", "/v1/verify", map[string]any{"key": s.key.Secret}, "x-api-key", s.key.Secret, "Keyward-Min-Change-Seq", "soon").
		wantError(t, 400, keyward.CodeInvalidRequest)
	do(t, s.srv, "POST", "/v1/verify", map[string]any{"key": s.key.Secret}, "x-api-key", s.key.Secret, "Keyward-Min-Change-Seq", "0").want(t, 200)

	// A page holds 1 to 200; "limit=" is left out.
	for q, status := range map[string]int{"0": 400, "201": 400, "-1": 400, "1": 200, "200": 200, "": 200} {
		if r := s.pk(t, "GET", "/v1/keys?limit="+q, nil); r.Status != status {
			t.Errorf("limit=%s: %d, want %d", q, r.Status, status)
		}
	}

	// Times are RFC 3339.
	s.pk(t, "GET", "/v1/audit-events?since=2020-01-01", nil).wantError(t, 400, keyward.CodeInvalidRequest)
	s.pk(t, "GET", "/v1/audit-events?since=2020-01-01T00:00:00Z&until=2030-01-01T00:00:00.5%2B01:00", nil).want(t, 200)

	// A request body's optional members may be null.
	var k keyward.Key
	s.pk(t, "POST", "/v1/keys", `{"name":"n","scopes":null,"metadata":null,"ip_allowlist":null,"expires_in":null,"rate_limit":null}`).want(t, 201).decode(t, &k)
	if len(k.Scopes) != len(s.key.Scopes) {
		t.Fatalf("scopes null gave %v, want the maker's %v", k.Scopes, s.key.Scopes)
	}

	// A project role in a request is the project and the role; a user_id
	// beside them (which the document's first version required) is
	// ignored.
	for i, role := range []string{
		`{"project_id":"` + s.project.ID + `","role":"viewer"}`,
		`{"project_id":"` + s.project.ID + `","role":"viewer","user_id":"usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}`,
	} {
		var m keyward.Member
		s.ok(t, "POST", "/v1/org/members", `{"email":"p`+strconv.Itoa(i)+`@example.com","role":"member","projects":[`+role+`]}`).want(t, 201).decode(t, &m)
		if len(m.Projects) != 1 || m.Projects[0].UserID != m.UserID || m.Projects[0].Role != keyward.ProjectViewer {
			t.Fatalf("project roles %+v of member %s", m.Projects, m.UserID)
		}
	}

	// The document is JSON, and says so.
	if ct := do(t, s.srv, "GET", "/openapi.json", nil).want(t, 200).Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}
