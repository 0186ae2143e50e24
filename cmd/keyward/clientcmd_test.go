package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// Keys the CLI tests put in the environment. They are well-formed but
// never checked: the fake API only records them.
const (
	cliProjectKey = "kwp_0123456789abcdefghijABCDEFGHIJ000000"
	cliOrgKey     = "kwo_0123456789abcdefghijABCDEFGHIJ000000"
)

// fakeAPI is a small stand-in for the keyward API that records requests.
type fakeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []string // "METHOD /path" of each request
	hdrs   []http.Header
	bodies [][]byte
}

// newFakeAPI serves a few canned answers of the HTTP contract.
func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	key := func(id string, status keyward.KeyStatus) keyward.Key {
		return keyward.Key{ID: id, Kind: keyward.KindProject, Name: "CI deploys", Hint: "kwp_…x7Qa",
			ProjectID: "prj_1", OrgID: "org_1", Scopes: []string{"keys:read"}, Status: status,
			CreatedAt: created, CreatedBy: keyward.ActorRef{Type: "user", ID: "usr_1"},
			IPAllowlist: []string{}, Metadata: map[string]string{}}
	}
	withSecret := func(k keyward.Key) keyward.Key { k.Secret = "kwp_SECRETsecretSECRETsecretSECRET123456"; return k }

	mux := http.NewServeMux()
	for _, base := range []string{"/v1/keys", "/v1/org/projects/prj_1/keys"} {
		mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
			next := "cur_2"
			cliJSON(w, 200, keyward.Page[keyward.Key]{Data: []keyward.Key{key("key_1", keyward.StatusActive)}, NextCursor: &next})
		})
		mux.HandleFunc("POST "+base, func(w http.ResponseWriter, r *http.Request) {
			var in keyward.CreateKeyInput
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" {
				cliError(w, 400, "INVALID_REQUEST", "Invalid name: required")
				return
			}
			k := withSecret(key("key_new", keyward.StatusActive))
			k.Name, k.Scopes, k.IPAllowlist = in.Name, in.Scopes, in.IPAllowlist
			cliJSON(w, 201, k)
		})
		mux.HandleFunc("GET "+base+"/key_1", func(w http.ResponseWriter, r *http.Request) {
			cliJSON(w, 200, key("key_1", keyward.StatusActive))
		})
		mux.HandleFunc("GET "+base+"/key_gone", func(w http.ResponseWriter, r *http.Request) {
			cliJSON(w, 200, key("key_gone", keyward.StatusRevoked))
		})
		mux.HandleFunc("POST "+base+"/key_1/revoke", func(w http.ResponseWriter, r *http.Request) {
			cliJSON(w, 200, key("key_1", keyward.StatusRevoked))
		})
		mux.HandleFunc("POST "+base+"/key_1/rotate", func(w http.ResponseWriter, r *http.Request) {
			cliJSON(w, 201, withSecret(key("key_2", keyward.StatusActive)))
		})
	}
	mux.HandleFunc("GET /v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		cliJSON(w, 200, keyward.Whoami{KeyID: "key_me", Kind: keyward.KindProject, ProjectID: "prj_1", OrgID: "org_1", Scopes: []string{"keys:read"}})
	})
	mux.HandleFunc("GET /v1/org/whoami", func(w http.ResponseWriter, r *http.Request) {
		cliJSON(w, 200, keyward.Whoami{KeyID: "key_org", Kind: keyward.KindOrg, OrgID: "org_1", Scopes: []string{"projects:read"}})
	})
	project := keyward.Project{ID: "prj_1", OrgID: "org_1", Name: "Shop", Slug: "shop", CustomScopes: []string{}, CreatedAt: created, UpdatedAt: created}
	mux.HandleFunc("GET /v1/org/projects", func(w http.ResponseWriter, r *http.Request) {
		cliJSON(w, 200, keyward.Page[keyward.Project]{Data: []keyward.Project{project}})
	})
	mux.HandleFunc("POST /v1/org/projects", func(w http.ResponseWriter, r *http.Request) {
		cliJSON(w, 201, project)
	})
	mux.HandleFunc("GET /v1/org/projects/prj_1", func(w http.ResponseWriter, r *http.Request) {
		cliJSON(w, 200, project)
	})
	mux.HandleFunc("DELETE /v1/org/projects/prj_1", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		cliError(w, 404, "NOT_FOUND", "No such key")
	})

	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.seen = append(f.seen, r.Method+" "+r.URL.Path)
		f.hdrs = append(f.hdrs, r.Header.Clone())
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests returns "METHOD /path" of every request so far.
func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// lastBody decodes the body of the last request into v.
func (f *fakeAPI) lastBody(t *testing.T, v any) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		t.Fatal("no request")
	}
	if err := json.Unmarshal(f.bodies[len(f.bodies)-1], v); err != nil {
		t.Fatalf("request body %s: %v", f.bodies[len(f.bodies)-1], err)
	}
}

func cliJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func cliError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Request-Id", "req_test")
	cliJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg, "status": status, "request_id": "req_test"}})
}

// runCLI runs the keyward command in-process with the given stdin and
// environment keys, against url.
func runCLI(t *testing.T, url, projectKey, orgKey, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("KEYWARD_URL", url)
	t.Setenv("KEYWARD_API_KEY", projectKey)
	t.Setenv("KEYWARD_ORG_API_KEY", orgKey)
	var out, errb bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func TestAPIErrorIsPrintedWithCodeAndRequestID(t *testing.T) {
	api := newFakeAPI(t)
	_, _, err := runCLI(t, api.URL, cliProjectKey, "", "", "keys", "get", "key_nope")
	if err == nil || describe(err) != "NOT_FOUND: No such key (req_test)" {
		t.Errorf("error = %v, want NOT_FOUND: No such key (req_test)", err)
	}
}

func TestMissingKeyMakesNoRequest(t *testing.T) {
	api := newFakeAPI(t)
	for _, args := range [][]string{{"keys", "list"}, {"projects", "list"}, {"whoami"}, {"keys", "list", "--project", "prj_1"}} {
		_, _, err := runCLI(t, api.URL, "", "", "", args...)
		if err == nil || !strings.Contains(err.Error(), "KEYWARD_") {
			t.Errorf("%v: error = %v, want one naming the environment variable", args, err)
		}
	}
	if got := api.requests(); len(got) != 0 {
		t.Errorf("requests = %v, want none", got)
	}
}

func TestInvalidOutput(t *testing.T) {
	api := newFakeAPI(t)
	_, _, err := runCLI(t, api.URL, cliProjectKey, "", "", "keys", "list", "--output", "yaml")
	if err == nil || !strings.Contains(err.Error(), "--output") {
		t.Errorf("error = %v, want an --output error", err)
	}
}
