package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/keyward/keyward"
)

// Config is what `keyward proxy` reads from its --config file (JSON).
//
//	{
//	  "upstream": "http://127.0.0.1:3000",
//	  "routes": [
//	    {"match": "GET /orders/", "scopes": ["orders:read"]},
//	    {"match": "POST /orders", "scopes": ["orders:write"]},
//	    {"match": "GET /status", "public": true}
//	  ]
//	}
//
// A route's match is an http.ServeMux pattern ("[METHOD ][HOST]/PATH",
// "/" ends a prefix, {name} a segment); the most specific pattern wins, as
// in the ServeMux. A request that matches no route is refused (404): a
// path is proxied only when a route names it. Without a file, or without
// routes, every path needs a valid key and no scope.
type Config struct {
	Upstream string  `json:"upstream"`
	Routes   []Route `json:"routes"`
}

// Route protects the paths its pattern matches.
type Route struct {
	Match  string   `json:"match"`
	Scopes []string `json:"scopes,omitempty"` // every one required
	Public bool     `json:"public,omitempty"` // no key needed; a key sent anyway is not read, and still removed

	line int // where the route starts in the file, for errors
}

// DefaultRoutes protect every path with a valid key.
var DefaultRoutes = []Route{{Match: "/"}}

// LoadConfig reads and checks the file at path. Every error names the file
// and, when it can, the line.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator names the file to read
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return cfg, nil
}

// ParseConfig reads a configuration and checks it; errors start with the
// line they are about ("12: …").
func ParseConfig(b []byte) (*Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%d: %w", lineOf(b, decodeOffset(b, dec, err)), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%d: more than one JSON value in the file", lineOf(b, dec.InputOffset()))
	}
	routeLines(b, cfg.Routes)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// check validates what JSON decoding cannot: the upstream and each route.
func (cfg *Config) check() error {
	if cfg.Upstream != "" {
		if err := checkUpstream(cfg.Upstream); err != nil {
			return fmt.Errorf("1: upstream: %w", err)
		}
	}
	mux := http.NewServeMux()
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		if err := r.check(mux); err != nil {
			return fmt.Errorf("%d: routes[%d] %q: %w", r.line, i, r.Match, err)
		}
	}
	return nil
}

func (r *Route) check(mux *http.ServeMux) error {
	if strings.TrimSpace(r.Match) == "" {
		return errors.New("match is empty; write a pattern such as \"GET /orders/\"")
	}
	if r.Public && len(r.Scopes) > 0 {
		return errors.New("a public route takes no scopes")
	}
	for _, s := range r.Scopes {
		if !keyward.ValidScopeName(s) {
			return fmt.Errorf("scope %q is not a scope name (letters, digits, \"_-.\", with one \":\" as in orders:read)", s)
		}
	}
	// The ServeMux is the judge of patterns: it panics on a malformed
	// one and on two routes that match the same requests.
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%v", p)
			}
		}()
		mux.Handle(r.Match, http.NotFoundHandler())
	}()
	return err
}

// checkUpstream accepts an absolute http or https URL.
func checkUpstream(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q: want http://HOST[:PORT] or https://…", raw)
	}
	return nil
}

// decodeOffset is where in the input a decoding error was found.
func decodeOffset(in []byte, dec *json.Decoder, err error) int64 {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return syn.Offset
	case errors.As(err, &typ):
		return typ.Offset
	}
	// An unknown field: the decoder has read past the object; find the
	// field's name as a key in the input.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if m := regexp.MustCompile(regexp.QuoteMeta(name) + `\s*:`).FindIndex(in); m != nil {
			return int64(m[0])
		}
	}
	return dec.InputOffset()
}

// lineOf is the 1-based line of byte offset off in b.
func lineOf(b []byte, off int64) int {
	off = min(max(off, 0), int64(len(b)))
	return 1 + bytes.Count(b[:off], []byte("\n"))
}

// routeLines records the line each element of the "routes" array starts
// on, by walking the file's tokens (the file has decoded already, so it is
// well-formed).
func routeLines(b []byte, routes []Route) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return
		}
		if key != "routes" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return
		}
		for i := 0; dec.More() && i < len(routes); i++ {
			start := dec.InputOffset()
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return
			}
			// InputOffset before an element is the end of the previous
			// token: the element starts at its first non-space byte after.
			rest := b[start:]
			start += int64(len(rest) - len(bytes.TrimLeft(rest, " \t\r\n,")))
			routes[i].line = lineOf(b, start)
		}
		return
	}
}
