package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
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
