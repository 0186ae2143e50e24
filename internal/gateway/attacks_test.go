package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/gateway"
)

// rawDo writes raw, a request as a client could send it byte for byte
// (what http.Client would refuse or normalize), to the gateway and reads
// the answer.
func (s *setup) rawDo(t *testing.T, raw string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", s.gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// noUpstream fails when a request reached the upstream.
func (s *setup) noUpstream(t *testing.T, what string) {
	t.Helper()
	select {
	case got := <-s.upstream:
		t.Errorf("%s reached the upstream: %s %v", what, got.path, got.header)
	default:
	}
}

// attackRoutes are a typical configuration with a public prefix and a
// catch-all that needs any valid key.
var attackRoutes = []gateway.Route{
	{Match: "/"},
	{Match: "GET /orders/", Scopes: []string{"orders:read"}},
	{Match: "GET /static/", Public: true},
}

// A public prefix or a less demanding route must not reach another path
// of the upstream through a dot segment the gateway routes one way and
// the upstream resolves another: "..;" (Tomcat, Spring), percent-encoded
// dots or slashes (upstreams that decode, WHATWG URL parsers), a
// backslash (servers that take it for a slash).
func TestDotSegmentsAreRefused(t *testing.T) {
	s := newSetup(t, attackRoutes)
	reader := s.key(t, keyward.CreateKeyInput{Name: "writer", Scopes: []string{"orders:write"}})
	for _, target := range []string{
		"/static/..;/orders/1",
		"/static/%2e%2e/orders/1",
		"/static/%2E./orders/1",
		"/static/..%2forders/1",
		"/static/..%5corders/1",
		"/static/..\\orders/1",
		"/static/.;/..;/orders/1",
		"/static/%252e%252e/orders/1",
		"/x/..;/orders/1",
	} {
		status, body := s.rawDo(t, "GET "+target+" HTTP/1.1\r\nHost: api\r\nx-api-key: "+reader.Secret+"\r\n\r\n")
		if status != http.StatusBadRequest || errorCode(t, body) != keyward.CodeInvalidRequest {
			t.Errorf("GET %s: %d %s, want 400 INVALID_REQUEST", target, status, body)
		}
		s.noUpstream(t, "GET "+target)
	}
	// Dots inside a name are no dot segment.
	if status, body := s.rawDo(t, "GET /static/a..b/.well-known/x.css HTTP/1.1\r\nHost: api\r\n\r\n"); status != 200 {
		t.Fatalf("a name with dots: %d %s", status, body)
	}
	<-s.upstream
}

// A method is case-sensitive to the gateway's routes but not to every
// upstream (some upper-case it): "get" must not pass as an unscoped
// method and be served as GET.
func TestLowerCaseMethodIsRefused(t *testing.T) {
	s := newSetup(t, attackRoutes)
	writer := s.key(t, keyward.CreateKeyInput{Name: "writer", Scopes: []string{"orders:write"}})
	for _, m := range []string{"get", "Get", "gET"} {
		status, body := s.rawDo(t, m+" /orders/1 HTTP/1.1\r\nHost: api\r\nx-api-key: "+writer.Secret+"\r\n\r\n")
		if status != http.StatusMethodNotAllowed || errorCode(t, body) != keyward.CodeMethodNotAllowed {
			t.Errorf("%s /orders/1 with a key without orders:read: %d %s, want 405", m, status, body)
		}
		s.noUpstream(t, m+" /orders/1")
	}
}

// Servers that hand headers to code as variables (CGI, WSGI, Rack, PHP)
// turn "Keyward_Key_Id" and "Keyward-Key-Id" into the same name: a
// client's header spelled with underscores must not reach the upstream.
func TestIdentityHeadersWithUnderscoresAreDropped(t *testing.T) {
	s := newSetup(t, attackRoutes)
	for _, raw := range []string{
		"GET /static/x HTTP/1.1\r\nHost: api\r\nKeyward_Key_Id: key_forged\r\nKEYWARD_PROJECT_ID: prj_forged\r\nkeyward_scopes: orders:write\r\nKeyward-Owner_Id: usr_forged\r\n\r\n",
	} {
		if status, body := s.rawDo(t, raw); status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		got := <-s.upstream
		for name := range got.header {
			if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(name, "_", "-")), "keyward-") {
				t.Errorf("the client's %s: %q reached the upstream", name, got.header[name])
			}
		}
	}
}
