package httpapi

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// How the OpenAPI document describes Go types: a JSON Schema for each
// type, by reflection on its fields and their json tags, refined member by
// member by memberRules (openapi_rules.go), where the service's bounds
// are stated.

// obj is a JSON object of the document.
type obj = map[string]any

// use says which way a type crosses the wire. The server writes every
// member without omitempty, null for a nil pointer. It reads a member
// with null as if it were left out, except in a PATCH body, where null
// clears the members its clears table names and is refused elsewhere
// (patch.go).
type use int

const (
	output use = iota // a response body
	input             // a request body
)

// schemaGen turns Go types into JSON Schemas, naming structs as
// components; it also holds the error responses operations share
// (errorResponse).
type schemaGen struct {
	components obj
	done       map[string]bool // component name and use: already described
	responses  obj
}

func newSchemaGen() *schemaGen {
	return &schemaGen{components: obj{}, done: map[string]bool{}, responses: obj{}}
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[keyward.Duration]()
)

// schema describes t, used as u. Whether a member may be null is the
// member's matter (see object), so pointers are described as what they
// point to.
func (g *schemaGen) schema(t reflect.Type, u use) obj {
	switch t {
	case timeType:
		return obj{"type": "string", "format": "date-time"}
	case durationType:
		return obj{"type": "string", "pattern": keyward.DurationPattern,
			"description": `A duration as people write it: "90s", "30m", "24h", "7d" (a Go duration such as "1h30m" or days and a Go duration such as "1d12h" are read too).`}
	}
	if values, ok := enums[t]; ok { // a component, so that clients share one type
		g.components[t.Name()] = obj{"type": "string", "enum": values}
		return obj{"$ref": "#/components/schemas/" + t.Name()}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem(), u)
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return obj{"type": "integer"}
	case reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice:
		return obj{"type": "array", "items": g.schema(t.Elem(), u)}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return obj{"type": "object", "additionalProperties": true} // any JSON values, null included
		}
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem(), u)}
	case reflect.Interface:
		return obj{}
	case reflect.Struct:
		if t.Name() == "" { // an anonymous struct: described in place
			return g.object(t, "", u)
		}
		return g.component(t, componentName(t), u)
	}
	panic(fmt.Sprintf("openapi: no schema for %v", t))
}

// component describes struct t as the component name, and returns a
// reference to it. A name stands for one schema: a type whose input and
// output schemas differ needs a variant name for one of them (a
// memberRule's as).
func (g *schemaGen) component(t reflect.Type, name string, u use) obj {
	ref := obj{"$ref": "#/components/schemas/" + name}
	key := fmt.Sprint(name, "/", u)
	if g.done[key] {
		return ref
	}
	g.done[key] = true // before describing it: a recursive type refers to itself
	s := g.object(t, name, u)
	if old, ok := g.components[name]; ok && !reflect.DeepEqual(old, s) {
		panic("openapi: component " + name + " differs as input and output; name a variant of one (memberRule.as)")
	}
	g.components[name] = s
	return ref
}

// variant describes t, a struct or a slice of them, with its structs
// named name.
func (g *schemaGen) variant(t reflect.Type, name string, u use) obj {
	switch t.Kind() {
	case reflect.Pointer:
		return g.variant(t.Elem(), name, u)
	case reflect.Slice:
		return obj{"type": "array", "items": g.variant(t.Elem(), name, u)}
	}
	return g.component(t, name, u)
}

// object is the schema of struct t, the component name: its members, each
// refined by its memberRule, which are required and which may be null.
func (g *schemaGen) object(t reflect.Type, name string, u use) obj {
	clearable, patch := patchClearable[t]
	patch = patch && u == input
	loose := lenient[t] && u == input
	props := obj{}
	required := []string{}
	for f := range fields(t) {
		member, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if member == "" {
			member = f.Name
		}
		rule := memberRules[name+"."+member]
		var s obj
		switch {
		case rule.whole != nil:
			s = deepCopy(rule.whole).(obj)
		case rule.as != "":
			s = g.variant(f.Type, rule.as, u)
		default:
			s = g.schema(f.Type, u)
		}
		merge(s, rule.schema)
		omitted := strings.Contains(opts, "omitempty")
		pointer := f.Type.Kind() == reflect.Pointer
		optional := omitted || rule.optional || patch || loose || u == input && pointer
		var nullable bool
		switch {
		case patch:
			nullable = slices.Contains(clearable, member)
		case u == input:
			nullable = optional // null is the same as leaving it out
		default:
			nullable = pointer && !omitted
		}
		if nullable {
			s = obj{"anyOf": []any{s, obj{"type": "null"}}}
		}
		props[member] = s
		if !optional {
			required = append(required, member)
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": loose}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// fields are the exported fields of struct t that encoding/json reads and
// writes: an embedded struct without a json name gives its own fields, as
// encoding/json promotes them.
func fields(t reflect.Type) func(yield func(reflect.StructField) bool) {
	return func(yield func(reflect.StructField) bool) {
		var walk func(t reflect.Type) bool
		walk = func(t reflect.Type) bool {
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
					if !walk(f.Type) {
						return false
					}
					continue
				}
				if !f.IsExported() || name == "-" {
					continue
				}
				if !yield(f) {
					return false
				}
			}
			return true
		}
		walk(t)
	}
}

// merge writes the members of extra into s; where both hold an object
// (items, additionalProperties, propertyNames), into that object.
func merge(s, extra obj) {
	for k, v := range extra {
		if sub, ok := v.(obj); ok {
			if into, ok := s[k].(obj); ok {
				merge(into, sub)
				continue
			}
		}
		s[k] = deepCopy(v) // the rules' objects stay as they are
	}
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case obj:
		c := make(obj, len(v))
		for k, e := range v {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// componentName names a struct type, generic instances included
// ("Page[*keyward.Key]" becomes "PageKey"), in upper camel case.
func componentName(t reflect.Type) string {
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		inner := name[i+1 : len(name)-1]
		if j := strings.LastIndexByte(inner, '.'); j >= 0 {
			inner = inner[j+1:]
		}
		name = name[:i] + inner
	}
	return strings.ToUpper(name[:1]) + name[1:] // unexported types too: "readiness" becomes "Readiness"
}
