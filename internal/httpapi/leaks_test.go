package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// scanner is a secret-scanning service: its signing key and the keys file
// an operator gives keyward for it.
type scanner struct {
	id   string
	priv *ecdsa.PrivateKey
}

func newScanner(t *testing.T, id string) *scanner {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &scanner{id: id, priv: priv}
}

// keysFile is the scanners' public keys as such services publish them.
func keysFile(t *testing.T, scanners ...*scanner) []byte {
	t.Helper()
	type entry struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	}
	var doc struct {
		PublicKeys []entry `json:"public_keys"`
	}
	for _, s := range scanners {
		der, err := x509.MarshalPKIXPublicKey(&s.priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		doc.PublicKeys = append(doc.PublicKeys, entry{KeyIdentifier: s.id, Key: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), IsCurrent: true})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *scanner) sign(t *testing.T, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

type leakSetup struct {
	env *kwtest.Env
	url string
	pid string
}

func newLeakSetup(t *testing.T, scanners ...*scanner) *leakSetup {
	t.Helper()
	env := kwtest.NewEnv(t)
	var keys httpapi.LeakReportKeys
	if len(scanners) > 0 {
		var err error
		if keys, err = httpapi.ParseLeakReportKeys(keysFile(t, scanners...)); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(checkExchanges(t, httpapi.New(httpapi.Config{Service: env.Service, Logger: kwtest.Logger(t), LeakReportKeys: keys})))
	t.Cleanup(srv.Close)
	return &leakSetup{env: env, url: srv.URL, pid: env.MustProject(t, "Shop").ID}
}

// report posts a report body with the given key id and signature.
func (s *leakSetup) report(t *testing.T, body []byte, keyID, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/v1/leak-reports", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if keyID != "" {
		req.Header.Set(httpapi.HeaderLeakKeyID, keyID)
	}
	if sig != "" {
		req.Header.Set(httpapi.HeaderLeakSignature, sig)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// whoami is the status of GET /v1/whoami with key.
func (s *leakSetup) whoami(t *testing.T, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/v1/whoami", nil)
	req.Header.Set("x-api-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

func reportBody(t *testing.T, reports ...service.LeakReport) []byte {
	t.Helper()
	b, err := json.Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// leakEvents are the org's key.leaked audit events.
func (s *leakSetup) leakEvents(t *testing.T) []*keyward.AuditEvent {
	t.Helper()
	page, err := s.env.Service.ListOrgAudit(context.Background(), s.env.Owner(), service.AuditQuery{Action: service.AuditKeyLeaked})
	if err != nil {
		t.Fatal(err)
	}
	return page.Data
}

// A signed report of a live key revokes it (the default policy): the key
// stops verifying, its leak is recorded with the URL, and the audit log
// says where it was found. The answer is the same as for tokens that are
// no keys at all.
func TestLeakReportRevokesALiveKey(t *testing.T) {
	sc := newScanner(t, "scanner-1")
	s := newLeakSetup(t, sc)
	k := s.env.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "leaky"})
	other := s.env.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "fine"})
	if code := s.whoami(t, k.Secret); code != 200 {
		t.Fatalf("before the report: %d", code) // cached now
	}
	url := "https://github.com/octo/app/blob/abc/config.env"
	body := reportBody(t, service.LeakReport{Token: k.Secret, Type: "keyward_project_key", URL: url, Source: "content"})
	code, answer := s.report(t, body, sc.id, sc.sign(t, body))
	if code != 200 || strings.TrimSpace(answer) != "[]" {
		t.Fatalf("report: %d %s", code, answer)
	}
	if code := s.whoami(t, k.Secret); code != 401 {
		t.Fatalf("the leaked key still authenticates: %d", code)
	}
	if code := s.whoami(t, other.Secret); code != 200 {
		t.Fatalf("another key: %d", code)
	}
	got, err := s.env.Store.GetKey(context.Background(), k.ID)
	if err != nil || got.RevokedAt == nil || got.RevokeReason == nil || !strings.Contains(*got.RevokeReason, url) || got.RevokedBy.Type != keyward.ActorSystem {
		t.Fatalf("key after the report: %+v, %v", got, err)
	}
	leaks, err := s.env.Service.KeyLeaks(context.Background(), []string{k.ID, other.ID})
	if err != nil || len(leaks) != 1 || leaks[k.ID].URL != url || leaks[k.ID].Action != keyward.LeakRevoked {
		t.Fatalf("leak records: %+v, %v", leaks, err)
	}
	evs := s.leakEvents(t)
	if len(evs) != 1 || evs[0].Target.ID != k.ID || evs[0].Details["url"] != url || evs[0].Details["action"] != keyward.LeakRevoked || evs[0].Actor.Type != keyward.ActorSystem {
		t.Fatalf("audit: %+v", evs)
	}
	if b, _ := json.Marshal(evs); bytes.Contains(b, []byte(k.Secret)) {
		t.Fatal("the audit event holds the secret")
	}

	// Tokens that are no live keys get the very same answer, and change
	// nothing: unknown, malformed, the revoked key again.
	unknown := apikey.Generate(apikey.PrefixProject)
	body = reportBody(t, service.LeakReport{Token: unknown, URL: url}, service.LeakReport{Token: "kwp_nope", URL: url}, service.LeakReport{Token: k.Secret, URL: url})
	code, answer2 := s.report(t, body, sc.id, sc.sign(t, body))
	if code != 200 || answer2 != answer {
		t.Fatalf("unknown tokens: %d %q, want the same answer as for a live key (%q)", code, answer2, answer)
	}
	if n := len(s.leakEvents(t)); n != 1 {
		t.Fatalf("%d key.leaked events after a report of no live key, want still 1", n)
	}
}

// With the org's leak_policy set to flag, a reported key keeps working and
// is marked leaked.
func TestLeakReportFlagPolicy(t *testing.T) {
	sc := newScanner(t, "scanner-1")
	s := newLeakSetup(t, sc)
	flag := keyward.LeakFlag
	if st, err := s.env.Service.UpdateSettings(context.Background(), s.env.Owner(), keyward.SettingsPatch{LeakPolicy: &flag}); err != nil || st.LeakPolicy != keyward.LeakFlag {
		t.Fatalf("settings: %+v %v", st, err)
	}
	k := s.env.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "flagged"})
	body := reportBody(t, service.LeakReport{Token: k.Secret, URL: "https://example.com/paste/1"})
	if code, answer := s.report(t, body, sc.id, sc.sign(t, body)); code != 200 {
		t.Fatalf("report: %d %s", code, answer)
	}
	if code := s.whoami(t, k.Secret); code != 200 {
		t.Fatalf("a flagged key must keep working: %d", code)
	}
	leaks, _ := s.env.Service.KeyLeaks(context.Background(), []string{k.ID})
	if leaks[k.ID] == nil || leaks[k.ID].Action != keyward.LeakFlagged {
		t.Fatalf("leak record: %+v", leaks)
	}
	if evs := s.leakEvents(t); len(evs) != 1 || evs[0].Details["action"] != keyward.LeakFlagged {
		t.Fatalf("audit: %+v", evs)
	}
	// The same report again (a replay, or the scanner sending it twice)
	// tells nothing new; the key found somewhere else does.
	if code, _ := s.report(t, body, sc.id, sc.sign(t, body)); code != 200 {
		t.Fatalf("report again: %d", code)
	}
	if n := len(s.leakEvents(t)); n != 1 {
		t.Fatalf("%d key.leaked events after the same report twice, want 1", n)
	}
	elsewhere := reportBody(t, service.LeakReport{Token: k.Secret, URL: "https://example.com/paste/2"})
	if code, _ := s.report(t, elsewhere, sc.id, sc.sign(t, elsewhere)); code != 200 {
		t.Fatalf("report elsewhere: %d", code)
	}
	if evs := s.leakEvents(t); len(evs) != 2 || evs[0].Details["url"] != "https://example.com/paste/2" {
		t.Fatalf("after a report from elsewhere: %+v", evs)
	}
	bad := "delete"
	if _, err := s.env.Service.UpdateSettings(context.Background(), s.env.Owner(), keyward.SettingsPatch{LeakPolicy: &bad}); keyward.ErrorCode(err) != keyward.CodeInvalidRequest || !strings.Contains(err.Error(), "leak_policy") {
		t.Fatalf("a bad leak_policy: %v", err)
	}
}

// Only a report signed by a configured key is read; anything else is
// refused before the tokens are looked at, and changes nothing.
func TestLeakReportSignatures(t *testing.T) {
	sc, stranger := newScanner(t, "scanner-1"), newScanner(t, "scanner-2")
	s := newLeakSetup(t, sc)
	k := s.env.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "target"})
	body := reportBody(t, service.LeakReport{Token: k.Secret, URL: "https://example.com/x"})
	tampered := reportBody(t, service.LeakReport{Token: k.Secret, URL: "https://example.com/y"})
	for _, c := range []struct {
		name, id, sig string
		body          []byte
	}{
		{"no signature", sc.id, "", body},
		{"no key id", "", sc.sign(t, body), body},
		{"unknown key id", "scanner-9", sc.sign(t, body), body},
		{"signed by another key", sc.id, stranger.sign(t, body), body},
		{"a stranger naming its own id", stranger.id, stranger.sign(t, body), body},
		{"tampered body", sc.id, sc.sign(t, body), tampered},
		{"not base64", sc.id, "!!!", body},
	} {
		code, answer := s.report(t, c.body, c.id, c.sig)
		var e struct{ Error keyward.Error }
		if code != 401 || json.Unmarshal([]byte(answer), &e) != nil || e.Error.Code != keyward.CodeUnauthenticated {
			t.Errorf("%s: %d %s, want 401 UNAUTHENTICATED", c.name, code, answer)
		}
	}
	if code := s.whoami(t, k.Secret); code != 200 {
		t.Fatalf("an unsigned report changed the key: %d", code)
	}
	// Bad bodies, signed.
	for _, c := range []struct {
		name string
		body []byte
		code int
	}{
		{"not an array", []byte(`{"token": "x"}`), 400},
		{"too many tokens", reportBody(t, make([]service.LeakReport, service.MaxLeakReports+1)...), 400},
		{"too large", append([]byte(`[{"token":"`), append(bytes.Repeat([]byte("a"), 1<<20), []byte(`"}]`)...)...), 413},
	} {
		if code, answer := s.report(t, c.body, sc.id, sc.sign(t, c.body)); code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, answer, c.code)
		}
	}
	// No keys configured: the route is not there.
	none := newLeakSetup(t)
	if code, _ := none.report(t, body, sc.id, sc.sign(t, body)); code != 404 {
		t.Fatalf("without --leak-report-keys: %d, want 404", code)
	}
}
