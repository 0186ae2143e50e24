package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/keyward/keyward"
)

// checkMembers refuses what encoding/json accepts silently in a request
// body: a member name given twice in one object (encoding/json keeps the
// last, so {"scopes":["keys:read"],"scopes":null} would ask for every
// scope), and a member of a struct spelled in another case ("Scopes":
// encoding/json matches names case-insensitively). It applies at every
// depth (rate_limit, projects[…], metadata), to the body of a request whose
// value decoded into a value of type t without error, so body is valid
// JSON. The error names the field as a dotted path.
func checkMembers(body []byte, t reflect.Type) error {
	c := memberChecker{b: body}
	c.space()
	return c.value(shapeOf(t))
}

// shape is what checkMembers knows of a Go type: a struct's member names,
// a map's or a slice's element. nil is a type whose members are not
// checked against names (custom unmarshalers, scalars): only duplicates.
type shape struct {
	fields map[string]*shape // struct: exact member name → its shape
	names  []string          // struct: the member names, for the case check
	isMap  bool
	elem   *shape // map values, slice elements
}

var (
	built    sync.Map // reflect.Type → *shape, for every request after the first
	shapesMu sync.Mutex
	shapes   = map[reflect.Type]*shape{} // under shapesMu
	unmarsh  = reflect.TypeFor[json.Unmarshaler]()
)

// shapeOf returns t's shape, built once per type.
func shapeOf(t reflect.Type) *shape {
	if s, ok := built.Load(t); ok {
		return s.(*shape)
	}
	shapesMu.Lock()
	defer shapesMu.Unlock()
	s := buildShape(t, map[reflect.Type]*shape{})
	built.Store(t, s)
	return s
}

func buildShape(t reflect.Type, building map[reflect.Type]*shape) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := shapes[t]; ok {
		return s
	}
	if s, ok := building[t]; ok { // a recursive type
		return s
	}
	if reflect.PointerTo(t).Implements(unmarsh) || t.Implements(unmarsh) {
		return nil
	}
	s := &shape{}
	building[t] = s
	switch t.Kind() {
	case reflect.Struct:
		s.fields = map[string]*shape{}
		addFields(s, t, building)
	case reflect.Map:
		s.isMap, s.elem = true, buildShape(t.Elem(), building)
	case reflect.Slice, reflect.Array:
		s.elem = buildShape(t.Elem(), building)
	default:
		s = nil
	}
	shapes[t] = s
	return s
}

// addFields adds the members encoding/json decodes into struct t: exported
// fields by their tag's name (or their own), and those of embedded structs
// without a tag.
func addFields(s *shape, t reflect.Type, building map[reflect.Type]*shape) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			addFields(s, ft, building)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = buildShape(f.Type, building)
		s.names = append(s.names, name)
	}
}

// memberChecker walks a valid JSON text. path holds the names of the
// members it is inside of, for errors.
type memberChecker struct {
	b    []byte
	i    int
	path [][]byte
}

func (c *memberChecker) space() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// value checks the value at c.i, of shape s, and moves past it.
func (c *memberChecker) value(s *shape) error {
	if c.i >= len(c.b) {
		return nil
	}
	switch c.b[c.i] {
	case '{':
		return c.object(s)
	case '[':
		return c.array(s)
	case '"':
		c.str()
		return nil
	}
	for c.i < len(c.b) { // a number, true, false or null
		switch c.b[c.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return nil
		}
		c.i++
	}
	return nil
}

func (c *memberChecker) array(s *shape) error {
	var elem *shape
	if s != nil && !s.isMap {
		elem = s.elem
	}
	c.i++ // [
	for {
		c.space()
		if c.i >= len(c.b) || c.b[c.i] == ']' {
			c.i++
			return nil
		}
		if err := c.value(elem); err != nil {
			return err
		}
		c.space()
		if c.i < len(c.b) && c.b[c.i] == ',' {
			c.i++
		}
	}
}

// smallObject is how many member names an object keeps in a slice before
// it switches to a map to find duplicates.
const smallObject = 16

func (c *memberChecker) object(s *shape) error {
	var small [smallObject][]byte
	seen := small[:0]
	var many map[string]struct{}
	c.i++ // {
	for {
		c.space()
		if c.i >= len(c.b) || c.b[c.i] == '}' {
			c.i++
			return nil
		}
		name := c.str()
		dup := false
		if many != nil {
			_, dup = many[string(name)]
			many[string(name)] = struct{}{}
		} else {
			for _, n := range seen {
				if bytes.Equal(n, name) {
					dup = true
					break
				}
			}
			if seen = append(seen, name); len(seen) > smallObject {
				many = make(map[string]struct{}, 2*smallObject)
				for _, n := range seen {
					many[string(n)] = struct{}{}
				}
			}
		}
		if dup {
			return c.fail(name, "appears more than once; send each member once")
		}
		var member *shape
		switch {
		case s == nil:
		case s.isMap:
			member = s.elem
		case s.fields != nil:
			var ok bool
			if member, ok = s.fields[string(name)]; !ok { // no allocation: a map lookup by string(bytes)
				for _, n := range s.names {
					if strings.EqualFold(n, string(name)) {
						c.path = append(c.path, []byte(n))
						return c.fail(nil, "is spelled "+quoteName(name)+"; member names are case-sensitive")
					}
				}
			}
		}
		c.space()
		c.i++ // :
		c.space()
		c.path = append(c.path, name)
		if err := c.value(member); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
		c.space()
		if c.i < len(c.b) && c.b[c.i] == ',' {
			c.i++
		}
	}
}

// str reads a string at c.i and returns its value: a part of the body, or
// a copy when it has escapes.
func (c *memberChecker) str() []byte {
	start := c.i
	c.i++ // "
	escaped := false
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case '\\':
			escaped = true
			c.i += 2
			continue
		case '"':
			c.i++
			raw := c.b[start:c.i]
			if !escaped {
				return raw[1 : len(raw)-1]
			}
			var s string
			_ = json.Unmarshal(raw, &s)
			return []byte(s)
		}
		c.i++
	}
	return c.b[start:]
}

// fail is INVALID_REQUEST naming the member at c.path (and name, when it is
// not on the path yet).
func (c *memberChecker) fail(name []byte, problem string) error {
	field := string(bytes.Join(c.path, []byte(".")))
	if name != nil {
		if field != "" {
			field += "."
		}
		field += string(name)
	}
	if len(field) > 100 || !utf8.ValidString(field) {
		field = "(unnamed)"
	}
	return keyward.Invalid(keyward.FieldError{Field: field, Problem: problem})
}

// quoteName quotes a client's member name for a message, shortened.
func quoteName(name []byte) string {
	if len(name) > 60 {
		name = name[:60]
	}
	return `"` + strings.ToValidUTF8(string(name), "") + `"`
}
