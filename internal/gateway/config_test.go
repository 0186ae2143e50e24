package gateway_test

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/gateway"
)

// A configuration with a mistake is refused at start, and the error names
// the line of the mistake.
func TestConfigErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct {
		name, file, want string
	}{
		{"syntax", "{\n  \"routes\": [\n    {\"match\": \"GET /a\",}\n  ]\n}", "3: "},
		{"unknown field", "{\n  \"routes\": [\n    {\"match\": \"GET /a\",\n     \"scope\": [\"a:b\"]}\n  ]\n}", "4: "},
		{"wrong type", "{\n  \"routes\": [\n    {\"match\": \"GET /a\", \"public\": \"yes\"}\n  ]\n}", "3: "},
		{"bad scope", "{\n  \"routes\": [\n    {\"match\": \"GET /a\"},\n\n    {\"match\": \"GET /b\", \"scopes\": [\"Orders\"]}\n  ]\n}", "5: routes[1] \"GET /b\": scope \"Orders\""},
		{"public with scopes", "{\"routes\": [\n {\"match\": \"GET /a\", \"public\": true, \"scopes\": [\"a:b\"]}]}", "2: routes[0]"},
		{"bad pattern", "{\"routes\": [\n\n {\"match\": \"GET a\"}]}", "3: routes[0] \"GET a\""},
		{"conflict", "{\"routes\": [\n {\"match\": \"GET /a/{x}\"},\n {\"match\": \"GET /a/{y}\"}]}", "3: routes[1]"},
		{"empty match", "{\"routes\": [\n {\"scopes\": [\"a:b\"]}]}", "2: routes[0] \"\": match is empty"},
		{"bad upstream", "{\"upstream\": \"localhost:3000\"}", "upstream"},
		{"two values", "{}\n{}", "2: more than one"},
	} {
		_, err := gateway.ParseConfig([]byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	cfg, err := gateway.ParseConfig([]byte(`{"upstream": "http://127.0.0.1:3000", "routes": [
		{"match": "GET /orders/", "scopes": ["orders:read"]},
		{"match": "GET /status", "public": true}]}`))
	if err != nil || len(cfg.Routes) != 2 || cfg.Routes[0].Scopes[0] != "orders:read" || !cfg.Routes[1].Public {
		t.Fatalf("a good file: %+v, %v", cfg, err)
	}
}
