package main

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Neither Traefik nor Envoy can be installed here (Debian packages
// neither), so their configurations under deploy/forward-auth are checked
// against the documented formats instead: every field must be one the
// format has, at the place it has it, with a value of its type (a schema
// of the part of each format the files use, written from Traefik's
// dynamic configuration reference and Envoy's v3 API), and what forward
// authentication needs must be there: the proxy's key sent, the identity
// headers copied, neither key sent upstream, keyward unreachable failing
// closed.

// The identity headers keyward answers with (internal/httpapi).
var fwdIdentityHeaders = []string{"Keyward-Key-Id", "Keyward-Project-Id", "Keyward-Owner-Id", "Keyward-Scopes", "Keyward-Metadata"}

func TestForwardAuthTraefikConfig(t *testing.T) {
	doc := parseConfig(t, "traefik.yml")
	if errs := traefikSchema.check("", doc); len(errs) > 0 {
		t.Fatalf("traefik.yml does not follow Traefik's dynamic configuration format:\n%s", strings.Join(errs, "\n"))
	}
	for _, err := range traefikRules(doc) {
		t.Error(err)
	}
}

func TestForwardAuthEnvoyConfig(t *testing.T) {
	doc := parseConfig(t, "envoy.yaml")
	if errs := envoySchema.check("", doc); len(errs) > 0 {
		t.Fatalf("envoy.yaml does not follow Envoy's v3 bootstrap format:\n%s", strings.Join(errs, "\n"))
	}
	for _, err := range envoyRules(doc) {
		t.Error(err)
	}
}

// The checks above would miss nothing they are meant to catch: a
// misspelled field, a field in the wrong place, a wrong type, or a
// configuration that lets the client's key through.
func TestForwardAuthConfigChecksBite(t *testing.T) {
	for _, c := range []struct {
		file, old, new string
		rules          bool // caught by the rules rather than the schema
	}{
		{"traefik.yml", "authResponseHeaders:", "authResponseHeader:", false},
		{"traefik.yml", "trustForwardHeader: false", "trustForwardHeader: nope", false},
		{"traefik.yml", "      forwardAuth:", "      forwardauth:", false},
		{"traefik.yml", `          X-Api-Key: ""`, `          X-Api-Keys: ""`, true},
		{"traefik.yml", `        - "keyward-strip"` + "\n      service: \"api\"\n    api:", "      service: \"api\"\n    api:", true},
		{"traefik.yml", `          - "Keyward-Metadata"`, `          - "Keyward-Meta"`, true},
		{"envoy.yaml", "status_on_error:", "status_on_eror:", false},
		{"envoy.yaml", "port_value: 8080", "port_value: eighty", false},
		{"envoy.yaml", "code: ServiceUnavailable", "code: Forbidden", true},
		{"envoy.yaml", "failure_mode_allow: false", "failure_mode_allow: true", true},
		{"envoy.yaml", "                        - authorization\n", "", true},
		{"envoy.yaml", "                              - exact: keyward-owner-id\n", "", true},
		{"envoy.yaml", "path_prefix: /v1/forward-auth", "path_prefix: /v1/verify", true},
	} {
		text := readConfig(t, c.file)
		if !strings.Contains(text, c.old) {
			t.Fatalf("%s has no %q", c.file, c.old)
		}
		doc, err := parseYAML(strings.Replace(text, c.old, c.new, 1))
		if err != nil {
			t.Fatalf("%s with %q: %v", c.file, c.new, err)
		}
		schema, rules := traefikSchema, traefikRules
		if c.file == "envoy.yaml" {
			schema, rules = envoySchema, envoyRules
		}
		errs := schema.check("", doc)
		if c.rules {
			if len(errs) > 0 {
				t.Fatalf("%s with %q: the schema refused it (%v); the rules were to", c.file, c.new, errs)
			}
			errs = rules(doc)
		}
		if len(errs) == 0 {
			t.Errorf("%s with %q instead of %q passed", c.file, c.new, c.old)
		}
	}
}

func parseConfig(t *testing.T, name string) any {
	t.Helper()
	doc, err := parseYAML(readConfig(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// A schema node checks a parsed value at path and returns what is wrong.
type schema interface {
	check(path string, v any) []string
}

// object is a mapping with these fields only.
type object map[string]schema

func (o object) check(path string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{path + ": want a mapping"}
	}
	var errs []string
	for _, k := range sortedKeys(m) {
		f, known := o[k]
		if !known {
			errs = append(errs, fmt.Sprintf("%s: unknown field %q (fields of the format known here: %s)", path, k, strings.Join(sortedKeys(o), ", ")))
			continue
		}
		errs = append(errs, f.check(path+"."+k, m[k])...)
	}
	return errs
}

// oneOf is an object with exactly one of its fields set (a protobuf oneof,
// or Traefik's one middleware type per middleware).
type oneOf object

func (o oneOf) check(path string, v any) []string {
	if m, ok := v.(map[string]any); ok && len(m) != 1 {
		return []string{fmt.Sprintf("%s: want exactly one of %s", path, strings.Join(sortedKeys(o), ", "))}
	}
	return object(o).check(path, v)
}

// listOf is a sequence of items.
type listOf struct{ item schema }

func (l listOf) check(path string, v any) []string {
	items, ok := v.([]any)
	if !ok {
		return []string{path + ": want a sequence"}
	}
	var errs []string
	for i, it := range items {
		errs = append(errs, l.item.check(fmt.Sprintf("%s[%d]", path, i), it)...)
	}
	return errs
}

// mapOf is a mapping from names of the user's choosing to values.
type mapOf struct{ value schema }

func (m mapOf) check(path string, v any) []string {
	mm, ok := v.(map[string]any)
	if !ok {
		return []string{path + ": want a mapping"}
	}
	var errs []string
	for _, k := range sortedKeys(mm) {
		errs = append(errs, m.value.check(path+"."+k, mm[k])...)
	}
	return errs
}

// scalarOf is a scalar matching a pattern (what the type's text may be);
// plain ones may not be quoted (a quoted true is a string).
type scalarOf struct {
	what  string
	re    *regexp.Regexp
	plain bool
}

func (s scalarOf) check(path string, v any) []string {
	sc, ok := v.(yamlScalar)
	if !ok || !s.re.MatchString(sc.Text) || (s.plain && sc.Quoted) {
		return []string{fmt.Sprintf("%s: want %s, got %v", path, s.what, v)}
	}
	return nil
}

// typed is a protobuf Any: "@type" names the message, whose fields follow.
type typed map[string]object

func (t typed) check(path string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{path + ": want a mapping"}
	}
	url, _ := m["@type"].(yamlScalar)
	fields, known := t[url.Text]
	if !known {
		return []string{fmt.Sprintf("%s: @type %q is not one of %s", path, url.Text, strings.Join(sortedKeys(t), ", "))}
	}
	with := object{"@type": str}
	for k, f := range fields {
		with[k] = f
	}
	return with.check(path, v)
}

var (
	str      = scalarOf{"a string", regexp.MustCompile(`^.*$`), false}
	boolean  = scalarOf{"true or false", regexp.MustCompile(`^(true|false)$`), true}
	integer  = scalarOf{"an integer", regexp.MustCompile(`^[0-9]+$`), false}
	duration = scalarOf{"a duration (\"2s\", \"0.25s\")", regexp.MustCompile(`^[0-9]+(\.[0-9]+)?s$`), false}
)

func enum(values ...string) schema {
	return scalarOf{"one of " + strings.Join(values, ", "), regexp.MustCompile(`^(` + strings.Join(values, "|") + `)$`), false}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// traefikSchema is the part of Traefik's dynamic configuration (file
// provider) the file uses: routers, the headers and forwardAuth
// middlewares, load-balanced services.
var traefikSchema = object{
	"http": object{
		"routers": mapOf{object{
			"rule": str, "middlewares": listOf{str}, "service": str, "entryPoints": listOf{str}, "priority": integer,
		}},
		"middlewares": mapOf{oneOf{
			"headers": object{
				"customRequestHeaders": mapOf{str}, "customResponseHeaders": mapOf{str},
			},
			"forwardAuth": object{
				"address": str, "trustForwardHeader": boolean, "authResponseHeaders": listOf{str},
				"authResponseHeadersRegex": str, "authRequestHeaders": listOf{str},
				"tls": object{"ca": str, "cert": str, "key": str, "insecureSkipVerify": boolean},
			},
		}},
		"services": mapOf{object{
			"loadBalancer": object{"servers": listOf{object{"url": str}}, "passHostHeader": boolean},
		}},
	},
}

// Envoy's field types, for the part of the v3 API the file uses.
var (
	envoySocketAddress = object{"socket_address": object{"address": str, "port_value": integer, "protocol": enum("TCP", "UDP")}}
	envoyStringMatcher = oneOf{"exact": str, "prefix": str, "suffix": str, "contains": str}
	envoyStringList    = object{"patterns": listOf{envoyStringMatcher}}
	envoyMutations     = object{
		"request_mutations": listOf{oneOf{
			"remove": str,
			"append": object{
				"header":        object{"key": str, "value": str},
				"append_action": enum("APPEND_IF_EXISTS_OR_ADD", "ADD_IF_ABSENT", "OVERWRITE_IF_EXISTS_OR_ADD", "OVERWRITE_IF_EXISTS"),
			},
		}},
	}
	envoyHeaderMutation         = "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"
	envoyHeaderMutationPerRoute = "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutationPerRoute"
	envoyExtAuthz               = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"
	envoyRouter                 = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
	envoyHCM                    = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	envoyHTTPFilters            = typed{
		envoyHeaderMutation: {"mutations": envoyMutations, "most_specific_header_mutations_wins": boolean},
		envoyExtAuthz: {
			"failure_mode_allow":    boolean,
			"status_on_error":       object{"code": enum("BadRequest", "Unauthorized", "Forbidden", "InternalServerError", "BadGateway", "ServiceUnavailable", "GatewayTimeout")},
			"allowed_headers":       envoyStringList,
			"transport_api_version": enum("V3"),
			"http_service": object{
				"server_uri":            object{"uri": str, "cluster": str, "timeout": duration},
				"path_prefix":           str,
				"authorization_request": object{"headers_to_add": listOf{object{"key": str, "value": str}}},
				"authorization_response": object{
					"allowed_upstream_headers": envoyStringList, "allowed_upstream_headers_to_append": envoyStringList,
					"allowed_client_headers": envoyStringList, "allowed_client_headers_on_success": envoyStringList,
				},
			},
		},
		envoyRouter: {},
	}
)

var envoySchema = object{
	"static_resources": object{
		"listeners": listOf{object{
			"name":    str,
			"address": envoySocketAddress,
			"filter_chains": listOf{object{"filters": listOf{object{
				"name": str,
				"typed_config": typed{envoyHCM: {
					"stat_prefix":                  str,
					"common_http_protocol_options": object{"headers_with_underscores_action": enum("ALLOW", "REJECT_REQUEST", "DROP_HEADER")},
					"use_remote_address":           boolean,
					"route_config": object{"virtual_hosts": listOf{object{
						"name": str, "domains": listOf{str}, "request_headers_to_remove": listOf{str},
						"routes": listOf{object{
							"match":                     oneOf{"prefix": str, "path": str},
							"route":                     object{"cluster": str},
							"request_headers_to_remove": listOf{str},
							"typed_per_filter_config":   mapOf{typed{envoyHeaderMutationPerRoute: {"mutations": envoyMutations}}},
						}},
					}}},
					"http_filters": listOf{object{"name": str, "typed_config": envoyHTTPFilters}},
				}},
			}}}},
		}},
		"clusters": listOf{object{
			"name": str, "type": enum("STATIC", "STRICT_DNS", "LOGICAL_DNS"), "connect_timeout": duration,
			"load_assignment": object{
				"cluster_name": str,
				"endpoints":    listOf{object{"lb_endpoints": listOf{object{"endpoint": object{"address": envoySocketAddress}}}}},
			},
		}},
	},
}

// at walks a parsed document: string keys into mappings, ints into
// sequences; nil when the path leads nowhere.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// items is a sequence's items (none for anything else).
func items(v any) []any {
	l, _ := v.([]any)
	return l
}

func text(v any) string {
	s, _ := v.(yamlScalar)
	return s.Text
}

func texts(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, it := range l {
		out = append(out, text(it))
	}
	return out
}

func lower(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}

// sameSet reports whether a and b hold the same names, case aside.
func sameSet(a, b []string) bool {
	a, b = lower(a), lower(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// traefikRules: the forwardAuth middleware asks keyward's route with the
// headers it needs and copies every identity header; every router that
// uses it sets the proxy's key before it and strips both keys after it;
// every router's middlewares and service exist.
func traefikRules(doc any) []string {
	var errs []string
	mws, _ := at(doc, "http", "middlewares").(map[string]any)
	var auth string
	for name, mw := range mws {
		if fa := at(mw, "forwardAuth"); fa != nil {
			auth = name
			if a := text(at(fa, "address")); !strings.HasSuffix(a, "/v1/forward-auth") {
				errs = append(errs, fmt.Sprintf("forwardAuth %s asks %q, not keyward's /v1/forward-auth", name, a))
			}
			if got := texts(at(fa, "authResponseHeaders")); !sameSet(got, fwdIdentityHeaders) {
				errs = append(errs, fmt.Sprintf("forwardAuth %s copies %q, want every identity header %q", name, got, fwdIdentityHeaders))
			}
			for _, h := range []string{"X-Api-Key", "Authorization", "Keyward-Proxy-Key", "Keyward-Required-Scopes"} {
				if !slices.Contains(lower(texts(at(fa, "authRequestHeaders"))), strings.ToLower(h)) {
					errs = append(errs, fmt.Sprintf("forwardAuth %s does not send %s to keyward", name, h))
				}
			}
			if text(at(fa, "trustForwardHeader")) == "true" {
				errs = append(errs, fmt.Sprintf("forwardAuth %s trusts the client's X-Forwarded-*", name))
			}
		}
	}
	if auth == "" {
		return append(errs, "no forwardAuth middleware")
	}
	// sets reports the value a headers middleware gives header, if any.
	sets := func(mw, header string) (string, bool) {
		h, _ := at(mws, mw, "headers", "customRequestHeaders").(map[string]any)
		for k, v := range h {
			if strings.EqualFold(k, header) {
				return text(v), true
			}
		}
		return "", false
	}
	routers, _ := at(doc, "http", "routers").(map[string]any)
	if len(routers) == 0 {
		errs = append(errs, "no routers")
	}
	for _, name := range sortedKeys(routers) {
		chain := texts(at(routers[name], "middlewares"))
		for _, m := range chain {
			if _, ok := mws[m]; !ok {
				errs = append(errs, fmt.Sprintf("router %s uses middleware %q, which is not defined", name, m))
			}
		}
		if at(doc, "http", "services", text(at(routers[name], "service"))) == nil {
			errs = append(errs, fmt.Sprintf("router %s uses a service that is not defined", name))
		}
		i := slices.Index(chain, auth)
		if i < 0 {
			errs = append(errs, fmt.Sprintf("router %s does not check keys (%s)", name, auth))
			continue
		}
		keyBefore := false
		for _, m := range chain[:i] {
			if v, ok := sets(m, "Keyward-Proxy-Key"); ok && v != "" {
				keyBefore = true
			}
		}
		if !keyBefore {
			errs = append(errs, fmt.Sprintf("router %s does not set Keyward-Proxy-Key before %s", name, auth))
		}
		for _, h := range []string{"X-Api-Key", "Authorization", "Keyward-Proxy-Key"} {
			stripped := false
			for _, m := range chain[i+1:] {
				if v, ok := sets(m, h); ok && v == "" {
					stripped = true
				}
			}
			if !stripped {
				errs = append(errs, fmt.Sprintf("router %s sends %s upstream (no headers middleware after %s sets it to \"\")", name, h, auth))
			}
		}
	}
	return errs
}

// envoyRules: header_mutation, then ext_authz, then the router; ext_authz
// fails closed with 503, asks keyward's route with the proxy's key and
// the headers it needs and copies every identity header; the client's
// Keyward-* headers are removed before the check, and neither key goes
// upstream; every cluster named exists.
func envoyRules(doc any) []string {
	var errs []string
	hcm := at(doc, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config")
	if got := text(at(hcm, "common_http_protocol_options", "headers_with_underscores_action")); got != "DROP_HEADER" {
		errs = append(errs, fmt.Sprintf("headers_with_underscores_action is %q, want DROP_HEADER (a client's Keyward_Key_Id reaches CGI-style servers as Keyward-Key-Id)", got))
	}
	var order []string
	var authz, mutation any
	for _, f := range items(at(hcm, "http_filters")) {
		tc := at(f, "typed_config")
		order = append(order, text(at(tc, "@type")))
		switch text(at(tc, "@type")) {
		case envoyExtAuthz:
			authz = tc
		case envoyHeaderMutation:
			mutation = tc
		}
	}
	if want := []string{envoyHeaderMutation, envoyExtAuthz, envoyRouter}; !slices.Equal(order, want) {
		errs = append(errs, fmt.Sprintf("http_filters are %q, want %q", order, want))
	}
	if text(at(hcm, "use_remote_address")) != "true" {
		errs = append(errs, "use_remote_address is not true: X-Forwarded-For would not end with the client")
	}
	clusters := map[string]bool{}
	for _, c := range items(at(doc, "static_resources", "clusters")) {
		clusters[text(at(c, "name"))] = true
	}
	if authz == nil || mutation == nil {
		return append(errs, "no ext_authz or header_mutation filter")
	}
	if text(at(authz, "failure_mode_allow")) != "false" {
		errs = append(errs, "failure_mode_allow is not false: keyward unreachable would let requests through")
	}
	if text(at(authz, "status_on_error", "code")) != "ServiceUnavailable" {
		errs = append(errs, "status_on_error is not ServiceUnavailable (503)")
	}
	svc := at(authz, "http_service")
	if text(at(svc, "path_prefix")) != "/v1/forward-auth" {
		errs = append(errs, fmt.Sprintf("path_prefix %q, want /v1/forward-auth", text(at(svc, "path_prefix"))))
	}
	if !clusters[text(at(svc, "server_uri", "cluster"))] {
		errs = append(errs, "server_uri names a cluster that is not defined")
	}
	hasKey := false
	for _, h := range items(at(svc, "authorization_request", "headers_to_add")) {
		if strings.EqualFold(text(at(h, "key")), "Keyward-Proxy-Key") && text(at(h, "value")) != "" {
			hasKey = true
		}
	}
	if !hasKey {
		errs = append(errs, "the check does not carry Keyward-Proxy-Key (headers_to_add)")
	}
	exacts := func(v any) []string {
		var out []string
		for _, p := range items(at(v, "patterns")) {
			out = append(out, text(at(p, "exact")))
		}
		return out
	}
	for _, h := range []string{"x-api-key", "x-forwarded-for", "keyward-required-scopes"} {
		if !slices.Contains(lower(exacts(at(authz, "allowed_headers"))), h) {
			errs = append(errs, fmt.Sprintf("allowed_headers do not send %s to keyward", h))
		}
	}
	if got := exacts(at(svc, "authorization_response", "allowed_upstream_headers")); !sameSet(got, fwdIdentityHeaders) {
		errs = append(errs, fmt.Sprintf("allowed_upstream_headers are %q, want every identity header", got))
	}
	var removed []string
	for _, m := range items(at(mutation, "mutations", "request_mutations")) {
		removed = append(removed, text(at(m, "remove")))
	}
	for _, h := range append(slices.Clone(fwdIdentityHeaders), "Keyward-Proxy-Key", "Keyward-Required-Scopes") {
		if !slices.Contains(lower(removed), strings.ToLower(h)) {
			errs = append(errs, fmt.Sprintf("header_mutation does not remove the client's %s before the check", h))
		}
	}
	for i, vh := range items(at(hcm, "route_config", "virtual_hosts")) {
		for _, h := range []string{"x-api-key", "authorization"} {
			if !slices.Contains(lower(texts(at(vh, "request_headers_to_remove"))), h) {
				errs = append(errs, fmt.Sprintf("virtual host %d sends %s upstream", i, h))
			}
		}
		for _, r := range items(at(vh, "routes")) {
			if !clusters[text(at(r, "route", "cluster"))] {
				errs = append(errs, fmt.Sprintf("a route of virtual host %d names a cluster that is not defined", i))
			}
			for name := range mapOrNil(at(r, "typed_per_filter_config")) {
				if name != "envoy.filters.http.header_mutation" {
					errs = append(errs, fmt.Sprintf("per-route config for %q, a filter not in the chain", name))
				}
			}
		}
	}
	return errs
}

func mapOrNil(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
