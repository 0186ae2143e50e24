package httpapi

import (
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/keyward/keyward"
)

// OpenAPI returns the OpenAPI 3.1 document of every route, generated from
// the route table and the Go types the routes take and return, with the
// bounds of openapi_rules.go.
func (a *API) OpenAPI() map[string]any {
	g := newSchemaGen()
	paths := obj{}
	for _, rt := range a.routes() {
		op := g.operation(rt)
		path := strings.Replace(rt.Path, "...}", "}", 1) // a ServeMux wildcard for the rest of the path
		item, _ := paths[path].(obj)
		if item == nil {
			item = obj{}
			paths[path] = item
		}
		if rt.Method != "" {
			op["operationId"] = rt.ID
			item[strings.ToLower(rt.Method)] = op
			continue
		}
		for _, m := range anyMethod { // a route of every method: one operation each
			mop := deepCopy(op).(obj)
			mop["operationId"] = rt.ID + m[:1] + strings.ToLower(m[1:])
			item[strings.ToLower(m)] = mop
		}
	}
	headers := obj{}
	for name, h := range responseHeaders {
		headers[name] = h
	}
	return obj{
		"openapi": "3.1.0",
		"info":    obj{"title": "keyward", "version": "1", "description": "Self-hosted API keys: issue, verify, rotate and revoke."},
		// Relative: the server this document was read from.
		"servers": []any{obj{"url": "/", "description": "The keyward server that serves this document"}},
		"tags":    openapiTags,
		"paths":   paths,
		"components": obj{
			"schemas":   g.components,
			"responses": g.responses,
			"headers":   headers,
			"securitySchemes": obj{
				"projectKey":    obj{"type": "apiKey", "in": "header", "name": "x-api-key", "description": "A project key (kwp_…)."},
				"projectBearer": obj{"type": "http", "scheme": "bearer", "bearerFormat": "kwp_…", "description": "A project key (kwp_…) as a bearer token."},
				"orgKey":        obj{"type": "apiKey", "in": "header", "name": "x-org-api-key", "description": "An org key (kwo_…)."},
				"orgBearer":     obj{"type": "http", "scheme": "bearer", "bearerFormat": "kwo_…", "description": "An org key (kwo_…) as a bearer token."},
				"proxyKey":      obj{"type": "apiKey", "in": "header", "name": HeaderProxyKey, "description": "The proxy's own project key, with keys:verify."},
			},
		},
	}
}

// anyMethod are the operations documented for a route of every method:
// all that OpenAPI names.
var anyMethod = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// operation describes one route (its operationId aside).
func (g *schemaGen) operation(rt route) obj {
	op := obj{"summary": rt.Summary, "tags": []any{rt.Tag}, "security": security(rt.Auth)}
	if params := parameters(rt); len(params) > 0 {
		op["parameters"] = params
	}
	if rt.In != nil {
		// Rotating and revoking take an optional body; every other
		// body is required.
		optional := rt.Method == "POST" && (strings.HasSuffix(rt.Path, "}/rotate") || strings.HasSuffix(rt.Path, "}/revoke"))
		op["requestBody"] = obj{
			"required": !optional,
			"content":  obj{"application/json": obj{"schema": g.schema(reflect.TypeOf(rt.In), input)}},
		}
	}
	always := []string{"X-Request-Id"}
	if rt.Auth != authNone {
		always = append(always, rateLimitHeaders...)
	}
	ok := obj{"description": "Success", "headers": headerRefs(append(always, rt.OutHeaders...))}
	if rt.Out != nil && rt.Status != http.StatusNoContent {
		mediaType := "application/json"
		if rt.Stream {
			mediaType = "text/event-stream" // Out is the data of each event
		}
		ok["content"] = obj{mediaType: obj{"schema": g.schema(reflect.TypeOf(rt.Out), output)}}
	}
	responses := obj{strconv.Itoa(rt.Status): ok}
	if rt.AltStatus != 0 {
		alt := deepCopy(ok).(obj)
		alt["description"] = rt.AltSummary
		responses[strconv.Itoa(rt.AltStatus)] = alt
	}
	for _, status := range errorStatuses(rt) {
		responses[strconv.Itoa(status)] = g.errorResponse(status, rt.Auth)
	}
	op["responses"] = responses
	return op
}

// security is the credentials a route takes: none for the public ones.
func security(auth authKind) []any {
	switch auth {
	case authProject:
		return []any{obj{"projectKey": []any{}}, obj{"projectBearer": []any{}}}
	case authOrg:
		return []any{obj{"orgKey": []any{}}, obj{"orgBearer": []any{}}}
	case authProxy:
		return []any{obj{"proxyKey": []any{}}}
	}
	return []any{}
}

// parameters are a route's path, query and header parameters.
func parameters(rt route) []any {
	var params []any
	for _, name := range pathParams(rt.Path) {
		params = append(params, obj{"name": name, "in": "path", "required": true, "schema": obj{"type": "string"}})
	}
	for _, name := range rt.Query {
		params = append(params, param(name, "query", queryParams))
	}
	for _, name := range rt.Headers {
		params = append(params, param(name, "header", headerParams))
	}
	return params
}

func param(name, in string, known map[string]obj) obj {
	p, ok := known[name]
	if !ok {
		panic("openapi: the " + in + " parameter " + name + " is not described (openapi_rules.go)")
	}
	out := deepCopy(p).(obj)
	out["name"], out["in"], out["required"] = name, in, false
	if in == "query" {
		out["allowEmptyValue"] = true // the server reads "name=" as if it were left out
	}
	return out
}

var paramRE = regexp.MustCompile(`\{([a-z_]+)(?:\.\.\.)?\}`)

func pathParams(path string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// headerRefs refers to the response headers named.
func headerRefs(names []string) obj {
	out := obj{}
	for _, name := range names {
		if _, ok := responseHeaders[name]; !ok {
			panic("openapi: the response header " + name + " is not described (openapi_rules.go)")
		}
		out[name] = obj{"$ref": "#/components/headers/" + name}
	}
	return out
}

// errorStatuses are the statuses of the errors rt answers, each with the
// error body: those every route of its kind can answer, and its own
// (route.Errors).
func errorStatuses(rt route) []int {
	out := []int{http.StatusInternalServerError} // a panic is recovered as INTERNAL
	out = append(out, rt.Errors...)
	if strings.HasPrefix(rt.Path, "/v1/") || rt.Path == "/readyz" {
		out = append(out, http.StatusServiceUnavailable) // the store cannot be read
	}
	if strings.HasPrefix(rt.Path, "/v1/") {
		out = append(out, http.StatusBadRequest) // a query parameter the route does not take, at least
	}
	if rt.Auth != authNone {
		out = append(out, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests)
	}
	if rt.In != nil {
		out = append(out, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if len(pathParams(rt.Path)) > 0 && rt.Auth != authProxy { // forward authentication does not read its path
		out = append(out, http.StatusNotFound)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// errorResponse refers to the error answer with status to a request of
// a route of auth, described once in components/responses.
func (g *schemaGen) errorResponse(status int, auth authKind) obj {
	variant := map[authKind]string{authNone: "", authProject: "Keyed", authOrg: "Keyed", authProxy: "Proxy"}[auth]
	name := "Error" + strconv.Itoa(status) + variant
	ref := obj{"$ref": "#/components/responses/" + name}
	if _, done := g.responses[name]; done {
		return ref
	}
	headers := []string{"X-Request-Id"}
	if auth != authNone {
		headers = append(headers, rateLimitHeaders...)
	}
	switch status {
	case http.StatusUnauthorized:
		headers = append(headers, "WWW-Authenticate")
	case http.StatusTooManyRequests:
		headers = append(headers, "Retry-After")
	}
	if auth == authProxy {
		headers = append(headers, HeaderErrorCode)
	}
	var codes []string
	for _, code := range keyward.ErrorCodes {
		if StatusOf(code) != status || code == keyward.CodeMethodNotAllowed ||
			code == keyward.CodeProxyMisconfigured && auth != authProxy {
			continue
		}
		codes = append(codes, code)
	}
	g.responses[name] = obj{
		"description": http.StatusText(status) + ": " + strings.Join(codes, ", ") + " (the error body names it)",
		"headers":     headerRefs(headers),
		"content":     obj{"application/json": obj{"schema": g.schema(reflect.TypeFor[ErrorBody](), output)}},
	}
	return ref
}
