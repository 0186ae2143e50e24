package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/kwtest"
)

// resp is a finished HTTP exchange.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request to srv. body may be nil, a string (sent as is) or a
// value (sent as JSON). headers are name, value pairs.
func do(t *testing.T, srv *kwtest.Server, method, path string, body any, headers ...string) *resp {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &resp{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// decode unmarshals the body into v.
func (r *resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.Body, err)
	}
}

// want checks the status of a successful response.
func (r *resp) want(t *testing.T, status int) *resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	return r
}

// wantError checks the full error contract (README, Error codes): status, code, the
// body's status and request id, and the X-Request-Id header equal to it.
func (r *resp) wantError(t *testing.T, status int, code string) httpapi.ErrorDetail {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	var body httpapi.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %q does not match the contract: %v", r.Body, err)
	}
	e := body.Error
	if e.Code != code || e.Status != status || e.Message == "" {
		t.Fatalf("error = %+v, want code %s status %d and a message", e, code, status)
	}
	if !keyward.ValidID(keyward.PrefixRequest, e.RequestID) || r.Header.Get("X-Request-Id") != e.RequestID {
		t.Fatalf("request_id %q, X-Request-Id %q: want equal req_ ids", e.RequestID, r.Header.Get("X-Request-Id"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	return e
}

// setup is a server with a project and a full-access project key.
type setup struct {
	srv     *kwtest.Server
	project *keyward.Project
	key     *keyward.Key // has Secret
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Billing API", "orders:read")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "CI deploys"})
	return &setup{srv: srv, project: p, key: k}
}

// pk sends a request with the project key in x-api-key.
func (s *setup) pk(t *testing.T, method, path string, body any) *resp {
	t.Helper()
	return do(t, s.srv, method, path, body, "x-api-key", s.key.Secret)
}

// ok sends a request with the org key in x-org-api-key.
func (s *setup) ok(t *testing.T, method, path string, body any) *resp {
	t.Helper()
	return do(t, s.srv, method, path, body, "x-org-api-key", s.srv.OrgKey)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
