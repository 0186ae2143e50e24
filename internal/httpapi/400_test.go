package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/httpapi"
)

func TestBadRequests(t *testing.T) {
	s := newSetup(t)
	long := strings.Repeat("é", 201)
	cases := []struct {
		name, method, path, body string
		field                    string // a details field expected, if any
	}{
		{"malformed json", "POST", "/v1/keys", `{"name": `, ""},
		{"not an object", "POST", "/v1/keys", `[1,2]`, "body"},
		{"unknown field", "POST", "/v1/keys", `{"name":"a","owner":"me"}`, "owner"},
		{"wrong type", "POST", "/v1/keys", `{"name": 5}`, "name"},
		{"wrong nested type", "POST", "/v1/keys", `{"name":"a","scopes":"keys:read"}`, "scopes"},
		{"trailing data", "POST", "/v1/keys", `{"name":"a"} {"name":"b"}`, ""},
		{"empty body", "POST", "/v1/keys", ``, ""},
		{"name too long", "POST", "/v1/keys", `{"name":"` + long + `"}`, "name"},
		{"blank name", "POST", "/v1/keys", `{"name":"   "}`, "name"},
		{"control chars", "POST", "/v1/keys", `{"name":"a\u0007b"}`, "name"},
		{"unknown scope", "POST", "/v1/keys", `{"name":"a","scopes":["root"]}`, "scopes"},
		{"bad cidr", "POST", "/v1/keys", `{"name":"a","ip_allowlist":["10.0.0.0/33"]}`, "ip_allowlist"},
		{"past expiry", "POST", "/v1/keys", `{"name":"a","expires_at":"2000-01-01T00:00:00Z"}`, "expires_at"},
		{"both expiries", "POST", "/v1/keys", `{"name":"a","expires_at":"2099-01-01T00:00:00Z","expires_in":"1h"}`, "expires_at"},
		{"bad duration", "POST", "/v1/keys", `{"name":"a","expires_in":"soon"}`, "expires_in"},
		{"bad grace", "POST", "/v1/keys/" + s.key.ID + "/rotate", `{"grace_period":"169h"}`, "grace_period"},
		{"widen on patch", "PATCH", "/v1/keys/" + s.key.ID, `{"scopes":["admin:all"]}`, "scopes"},
		{"bad limit", "GET", "/v1/keys?limit=500", ``, "limit"},
		{"non-numeric limit", "GET", "/v1/keys?limit=ten", ``, "limit"},
		{"bad cursor", "GET", "/v1/keys?cursor=!!", ``, "cursor"},
		{"bad status", "GET", "/v1/keys?status=sleeping", ``, "status"},
		{"bad since", "GET", "/v1/audit-events?since=yesterday", ``, "since"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			e := s.pk(t, c.method, c.path, body).wantError(t, 400, keyward.CodeInvalidRequest)
			if c.field != "" && (len(e.Details) == 0 || e.Details[0].Field != c.field) {
				t.Fatalf("details = %+v, want field %q", e.Details, c.field)
			}
		})
	}
	assertKeyCount(t, s, 1) // no bad request wrote anything
}

func TestInvalidUTF8(t *testing.T) {
	s := newSetup(t)
	body := []byte(`{"name":"bad ` + "\xff\xfe" + `"}`)
	s.pk(t, "POST", "/v1/keys", body).wantError(t, 400, keyward.CodeInvalidRequest)
	assertKeyCount(t, s, 1)
}

func TestAmbiguousCredentials(t *testing.T) {
	s := newSetup(t)
	other := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{})
	for _, h := range [][]string{
		{"x-api-key", s.key.Secret, "Authorization", "Bearer " + other.Secret},
		{"x-api-key", s.key.Secret, "x-org-api-key", s.srv.OrgKey},
		{"x-api-key", s.key.Secret, "x-api-key", other.Secret},
	} {
		do(t, s.srv, "GET", "/v1/whoami", nil, h...).wantError(t, 400, keyward.CodeAmbiguousCredentials)
	}
}

func TestPayloadTooLarge(t *testing.T) {
	s := newSetup(t)
	big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	s.pk(t, "POST", "/v1/keys", big).wantError(t, 413, keyward.CodePayloadTooLarge)
	// The limit itself is allowed: 1 MiB exactly, one byte more is not.
	small := `{"name":"edge"}`
	atLimit := small + strings.Repeat(" ", httpapi.MaxBodyBytes-len(small))
	s.pk(t, "POST", "/v1/keys", atLimit).want(t, 201)
	s.pk(t, "POST", "/v1/keys", atLimit+" ").wantError(t, 413, keyward.CodePayloadTooLarge)
	assertKeyCount(t, s, 2)
}

func TestUnsupportedMediaType(t *testing.T) {
	s := newSetup(t)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "", "application/jsonp"} {
		rawPost(t, s, "/v1/keys", ct, `{"name":"a"}`).wantError(t, 415, keyward.CodeUnsupportedMediaType)
	}
	rawPost(t, s, "/v1/keys", "application/json; charset=utf-8", `{"name":"a"}`).want(t, 201)
	assertKeyCount(t, s, 2)
}

// rawPost sends body with exactly the given Content-Type (none when "").
func rawPost(t *testing.T, s *setup, path, ctype, body string) *resp {
	t.Helper()
	req, err := http.NewRequest("POST", s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("x-api-key", s.key.Secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return &resp{Status: res.StatusCode, Header: res.Header, Body: raw}
}

func assertKeyCount(t *testing.T, s *setup, want int) {
	t.Helper()
	var page keyward.Page[keyward.Key]
	s.ok(t, "GET", "/v1/org/projects/"+s.project.ID+"/keys?status=all", nil).want(t, 200).decode(t, &page)
	if len(page.Data) != want {
		t.Fatalf("project has %d keys, want %d", len(page.Data), want)
	}
}
