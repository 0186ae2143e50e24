package httpapi

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every rule of openapi_rules.go refines something the document has: a
// misspelt component or member would silently state nothing.
func TestOpenAPIRulesApply(t *testing.T) {
	doc := (&API{}).OpenAPI()
	schemas := doc["components"].(obj)["schemas"].(obj)
	for key := range memberRules {
		component, member, _ := strings.Cut(key, ".")
		s, ok := schemas[component].(obj)
		if !ok {
			t.Errorf("memberRules[%q]: no component %s", key, component)
			continue
		}
		if _, ok := s["properties"].(obj)[member]; !ok {
			t.Errorf("memberRules[%q]: %s has no member %s", key, component, member)
		}
	}
	used := map[string]bool{}
	for _, rt := range (&API{}).routes() {
		for _, name := range append(append([]string{}, rt.Query...), rt.Headers...) {
			used[name] = true
		}
	}
	for name := range queryParams {
		if !used[name] {
			t.Errorf("queryParams[%q]: no route takes it", name)
		}
	}
	for name := range headerParams {
		if !used[name] {
			t.Errorf("headerParams[%q]: no route takes it", name)
		}
	}
}

// Operations have readable, unique ids and a declared tag; every one
// states its security (none for the public ones) and answers X-Request-Id.
func TestOpenAPIOperations(t *testing.T) {
	doc := (&API{}).OpenAPI()
	tags := map[string]bool{}
	for _, tag := range doc["tags"].([]any) {
		tags[tag.(obj)["name"].(string)] = true
	}
	readable := regexp.MustCompile(`^[a-z]+[A-Za-z]*$`)
	ids := map[string]string{}
	for path, item := range doc["paths"].(obj) {
		for method, o := range item.(obj) {
			op := o.(obj)
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if !readable.MatchString(id) {
				t.Errorf("%s: operationId %q is not lower camel case", where, id)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("%s and %s share the operationId %q", where, other, id)
			}
			ids[id] = where
			for _, tag := range op["tags"].([]any) {
				if !tags[tag.(string)] {
					t.Errorf("%s: tag %q is not declared", where, tag)
				}
			}
			if _, ok := op["security"]; !ok {
				t.Errorf("%s: no security", where)
			}
			for status, r := range op["responses"].(obj) {
				resp := r.(obj)
				if ref, ok := resp["$ref"].(string); ok {
					resp = doc["components"].(obj)["responses"].(obj)[strings.TrimPrefix(ref, "#/components/responses/")].(obj)
				}
				if _, ok := resp["headers"].(obj)["X-Request-Id"]; !ok {
					t.Errorf("%s %s: no X-Request-Id", where, status)
				}
			}
		}
	}
	for _, id := range []string{"createKey", "listProjectKeys", "rotateOrgKey", "verifyKey", "getHealth", "forwardAuthGet"} {
		if _, ok := ids[id]; !ok {
			t.Errorf("no operation %s", id)
		}
	}
}

// The pattern of since and until takes what timeParam reads.
func TestOpenAPITimePattern(t *testing.T) {
	re := regexp.MustCompile(rfc3339)
	for _, s := range []string{
		"2020-01-01T00:00:00Z", "2020-01-01T00:00:00.123+01:00", "2020-01-01T00:00:00,5Z", "2020-01-01T00:00:00-08:00",
		"2020-01-01", "2020-01-01t00:00:00z", "2020-01-01 00:00:00Z", "2020-01-01T00:00Z", "2020-01-01T00:00:00+0100",
		"2020-01-01T00:00:00.Z", "+2020-01-01T00:00:00Z", "",
	} {
		_, err := time.Parse(time.RFC3339Nano, s)
		if re.MatchString(s) != (err == nil) {
			t.Errorf("%q: pattern %v, time.Parse error %v", s, re.MatchString(s), err)
		}
	}
}
