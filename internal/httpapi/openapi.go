package httpapi

import (
	"maps"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// OpenAPI returns the OpenAPI 3.1 document of every route, generated from
// the route table and the Go types the routes take and return.
func (a *API) OpenAPI() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	paths := map[string]map[string]any{}
	errorRef := g.schema(reflect.TypeOf(ErrorBody{}))
	for _, rt := range a.routes() {
		op := map[string]any{"summary": rt.Summary}
		var params []any
		for _, name := range pathParams(rt.Path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, name := range rt.Query {
			params = append(params, map[string]any{"name": name, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		for _, name := range rt.Headers {
			params = append(params, map[string]any{"name": name, "in": "header", "required": false, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.In != nil {
			op["requestBody"] = map[string]any{
				"required": rt.Method != "POST" || !strings.HasSuffix(rt.Path, "}/rotate") && !strings.HasSuffix(rt.Path, "}/revoke"),
				"content":  map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.In))}},
			}
		}
		ok := map[string]any{"description": "Success"}
		if rt.Out != nil {
			mediaType := "application/json"
			if rt.Stream {
				mediaType = "text/event-stream" // Out is the data of each event
			}
			ok["content"] = map[string]any{mediaType: map[string]any{"schema": g.schema(reflect.TypeOf(rt.Out))}}
		}
		if len(rt.OutHeaders) > 0 {
			headers := map[string]any{}
			for _, name := range rt.OutHeaders {
				headers[name] = map[string]any{"schema": map[string]any{"type": "string"}}
			}
			ok["headers"] = headers
		}
		op["responses"] = map[string]any{
			itoa(rt.Status): ok,
			"default": map[string]any{"description": "An error: {\"error\": {code, message, status, request_id, details?}} (README, Error codes)",
				"content": map[string]any{"application/json": map[string]any{"schema": errorRef}}},
		}
		if rt.AltStatus != 0 {
			alt := map[string]any{"description": rt.AltSummary}
			if content, has := ok["content"]; has {
				alt["content"] = content
			}
			op["responses"].(map[string]any)[itoa(rt.AltStatus)] = alt
		}
		switch rt.Auth {
		case authProject:
			op["security"] = []any{map[string]any{"projectKey": []any{}}, map[string]any{"bearer": []any{}}}
		case authOrg:
			op["security"] = []any{map[string]any{"orgKey": []any{}}, map[string]any{"bearer": []any{}}}
		case authProxy:
			op["security"] = []any{map[string]any{"proxyKey": []any{}}}
		}
		path := strings.Replace(rt.Path, "...}", "}", 1) // a ServeMux wildcard for the rest of the path
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		methods := []string{rt.Method}
		if rt.Method == "" {
			methods = anyMethod
		}
		for _, m := range methods {
			mop := op
			if len(methods) > 1 {
				mop = maps.Clone(op)
			}
			mop["operationId"] = operationID(m, rt.Path)
			paths[path][strings.ToLower(m)] = mop
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "keyward", "version": "1", "description": "Self-hosted API keys: issue, verify, rotate and revoke."},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"projectKey": map[string]any{"type": "apiKey", "in": "header", "name": "x-api-key"},
				"orgKey":     map[string]any{"type": "apiKey", "in": "header", "name": "x-org-api-key"},
				"bearer":     map[string]any{"type": "http", "scheme": "bearer"},
				"proxyKey":   map[string]any{"type": "apiKey", "in": "header", "name": HeaderProxyKey},
			},
		},
	}
}

// anyMethod are the operations documented for a route of every method:
// all that OpenAPI names.
var anyMethod = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

var paramRE = regexp.MustCompile(`\{([a-z_]+)(?:\.\.\.)?\}`)

func pathParams(path string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// operationID is a stable name such as "post_v1_org_keys_id_rotate".
func operationID(method, path string) string {
	p := strings.NewReplacer("/", "_", "{", "", "}", "", "...", "", ".", "_").Replace(path)
	return strings.ToLower(method) + p
}

func itoa(n int) string { return strconv.Itoa(n) }

// schemaGen turns Go types into JSON Schemas, naming structs as components.
type schemaGen struct {
	components map[string]any
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(keyward.Duration(0))
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case durationType:
		return map[string]any{"type": "string", "description": "a duration as people write it: \"90s\", \"30m\", \"24h\", \"7d\" (any Go duration string such as \"1h30m\" is read too)"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint8:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := componentName(t)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, done := g.components[name]; done {
			return ref
		}
		g.components[name] = map[string]any{} // placeholder against recursion
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if !f.IsExported() || tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		g.components[name] = s
		return ref
	}
	return map[string]any{}
}

// componentName names a struct type, generic instances included
// ("Page[keyward.Key]" becomes "PageKey").
func componentName(t reflect.Type) string {
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		inner := name[i+1 : len(name)-1]
		if j := strings.LastIndexByte(inner, '.'); j >= 0 {
			inner = inner[j+1:]
		}
		name = name[:i] + inner
	}
	return name
}
