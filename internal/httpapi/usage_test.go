package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/kwtest"
)

// usageFixture is a server with a project P holding a verifier (keys:verify
// and keys:read), a target key with an allowlist and a rate limit, and a
// key that expires; and a project Q whose verifier lacks keys:read.
type usageFixture struct {
	srv                       *kwtest.Server
	p, q                      *keyward.Project
	verifier, target, expires *keyward.Key
	otherVerifier             *keyward.Key
}

func newUsageFixture(t *testing.T) *usageFixture {
	srv := kwtest.NewServer(t)
	f := &usageFixture{srv: srv}
	f.p = srv.MustProject(t, "P")
	f.q = srv.MustProject(t, "Q")
	f.verifier = srv.MustKey(t, nil, f.p.ID, keyward.CreateKeyInput{Name: "verifier", Scopes: []string{keyward.ScopeKeysVerify, keyward.ScopeKeysRead}})
	f.target = srv.MustKey(t, nil, f.p.ID, keyward.CreateKeyInput{Name: "target", Scopes: []string{keyward.ScopeKeysRead},
		IPAllowlist: []string{"127.0.0.0/8"}, RateLimit: &keyward.RateLimit{Limit: 5, Window: keyward.Duration(time.Hour)}})
	in := keyward.Duration(time.Hour)
	f.expires = srv.MustKey(t, nil, f.p.ID, keyward.CreateKeyInput{Name: "expires", Scopes: []string{keyward.ScopeKeysRead}, ExpiresIn: &in})
	f.otherVerifier = srv.MustKey(t, nil, f.q.ID, keyward.CreateKeyInput{Name: "other", Scopes: []string{keyward.ScopeKeysVerify}})
	return f
}

// verify asks keyward, with verifier's key, about key.
func (f *usageFixture) verify(t *testing.T, verifier *keyward.Key, key string, ip string, scopes ...string) keyward.VerifyResult {
	t.Helper()
	var res keyward.VerifyResult
	do(t, f.srv, "POST", "/v1/verify", keyward.VerifyInput{Key: key, IP: ip, Scopes: scopes}, "X-Api-Key", verifier.Secret).want(t, 200).decode(t, &res)
	return res
}

// TestUsageCountsByOutcome sends a known mix of verifications and
// authentications and reads the counts back, per key and per project,
// through the project and the org routes.
func TestUsageCountsByOutcome(t *testing.T) {
	f := newUsageFixture(t)
	srv := f.srv
	start := srv.Clock.Now()
	want := map[string]int{}
	// want counts the target's outcomes.
	check := func(res keyward.VerifyResult, code string) {
		t.Helper()
		if res.Code != code {
			t.Fatalf("verify: %s, want %s", res.Code, code)
		}
		want[code]++
	}
	for range 2 {
		check(f.verify(t, f.verifier, f.target.Secret, "127.0.0.1"), keyward.VerifyValid)
	}
	check(f.verify(t, f.verifier, f.target.Secret, "192.0.2.7"), keyward.VerifyIPNotAllowed)
	for range 3 {
		check(f.verify(t, f.verifier, f.target.Secret, "127.0.0.1", keyward.ScopeKeysWrite), keyward.VerifyInsufficientScope)
	}
	// Another project's verifier: the known key is invalid there.
	check(f.verify(t, f.otherVerifier, f.target.Secret, "127.0.0.1"), keyward.VerifyInvalid)
	// Unknown keys are counted against no key.
	f.verify(t, f.verifier, "kwp_notakey", "127.0.0.1")
	// The key authenticates itself: a use by its own client, whose address
	// and user agent become its last use.
	srv.Clock.Advance(time.Second)
	do(t, srv, "GET", "/v1/whoami", nil, "X-Api-Key", f.target.Secret, "User-Agent", "usage-test/1.0").want(t, 200)
	want[keyward.VerifyValid]++
	for range 2 {
		check(f.verify(t, f.verifier, f.target.Secret, "127.0.0.1"), keyward.VerifyValid)
	}
	check(f.verify(t, f.verifier, f.target.Secret, "127.0.0.1"), keyward.VerifyRateLimited)
	// Over its limit, the key's own request is rate limited too.
	do(t, srv, "GET", "/v1/whoami", nil, "X-Api-Key", f.target.Secret).want(t, 429)
	want[keyward.VerifyRateLimited]++

	if err := srv.Service.FlushUsage(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCounts := keyward.UsageCounts{Valid: int64(want[keyward.VerifyValid]), Invalid: int64(want[keyward.VerifyInvalid]),
		InsufficientScope: int64(want[keyward.VerifyInsufficientScope]), IPNotAllowed: int64(want[keyward.VerifyIPNotAllowed]),
		RateLimited: int64(want[keyward.VerifyRateLimited])}
	q := url.Values{"granularity": {"minute"}, "since": {start.Add(-time.Minute).Format(time.RFC3339)}, "until": {start.Add(5 * time.Minute).Format(time.RFC3339)}}.Encode()
	for _, route := range []struct{ path, header, secret string }{
		{"/v1/keys/" + f.target.ID + "/usage?" + q, "X-Api-Key", f.verifier.Secret},
		{"/v1/org/projects/" + f.p.ID + "/keys/" + f.target.ID + "/usage?" + q, "X-Org-Api-Key", srv.OrgKey},
	} {
		var u keyward.KeyUsage
		do(t, srv, "GET", route.path, nil, route.header, route.secret).want(t, 200).decode(t, &u)
		if u.Totals != wantCounts {
			t.Errorf("%s: totals %+v, want %+v", route.path, u.Totals, wantCounts)
		}
		if len(u.Buckets) != 6 || u.Granularity != "minute" {
			t.Errorf("%s: %d %s buckets, want 6 minutes", route.path, len(u.Buckets), u.Granularity)
		}
		var sum keyward.UsageCounts
		for _, b := range u.Buckets {
			sum.Add(b.UsageCounts)
		}
		if sum != wantCounts {
			t.Errorf("%s: buckets sum to %+v, want %+v", route.path, sum, wantCounts)
		}
	}
	// The hour and day buckets hold the same counts.
	for _, g := range []string{"hour", "day"} {
		var u keyward.KeyUsage
		do(t, srv, "GET", "/v1/keys/"+f.target.ID+"/usage?granularity="+g, nil, "X-Api-Key", f.verifier.Secret).want(t, 200).decode(t, &u)
		if u.Totals != wantCounts {
			t.Errorf("%s totals %+v, want %+v", g, u.Totals, wantCounts)
		}
	}

	// The key's last use: the address and user agent of its own request.
	var k keyward.Key
	do(t, srv, "GET", "/v1/keys/"+f.target.ID, nil, "X-Api-Key", f.verifier.Secret).want(t, 200).decode(t, &k)
	if k.LastUsedAt == nil || k.LastUsedIP == nil || *k.LastUsedIP != "127.0.0.1" || k.LastUsedUserAgent == nil || *k.LastUsedUserAgent != "usage-test/1.0" {
		t.Errorf("last use: at %v ip %v agent %v, want 127.0.0.1 and usage-test/1.0", k.LastUsedAt, deref(k.LastUsedIP), deref(k.LastUsedUserAgent))
	}

	// The project's summary: the verifier's own authentications are valid
	// uses of it, and only the target failed.
	var pu keyward.ProjectUsage
	do(t, srv, "GET", "/v1/usage", nil, "X-Api-Key", f.verifier.Secret).want(t, 200).decode(t, &pu)
	// The verifier authenticated once per verify it sent: 2+1+3+1+2+1
	// through P's verifier (Q's is Q's).
	wantProject := wantCounts
	wantProject.Valid += 10
	if pu.Totals != wantProject {
		t.Errorf("project totals %+v, want %+v", pu.Totals, wantProject)
	}
	if len(pu.TopByFailures) != 1 || pu.TopByFailures[0].KeyID != f.target.ID || pu.TopByFailures[0].Failures != wantCounts.Failures() {
		t.Errorf("top keys by failures: %+v, want the target alone with %d", pu.TopByFailures, wantCounts.Failures())
	}
	if len(pu.TopByUse) != 2 || pu.TopByUse[0].Name == "" {
		t.Errorf("top keys by use: %+v, want the verifier and the target, named", pu.TopByUse)
	}
	var orgPU keyward.ProjectUsage
	do(t, srv, "GET", "/v1/org/projects/"+f.p.ID+"/usage", nil, "X-Org-Api-Key", srv.OrgKey).want(t, 200).decode(t, &orgPU)
	if orgPU.Totals != pu.Totals {
		t.Errorf("org route's project totals %+v, want %+v", orgPU.Totals, pu.Totals)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestUsageExpiredCounted: a key used after its expiry counts as expired,
// in the bucket of the time it was used.
func TestUsageExpiredCounted(t *testing.T) {
	f := newUsageFixture(t)
	f.srv.Clock.Advance(2 * time.Hour)
	if res := f.verify(t, f.verifier, f.expires.Secret, ""); res.Code != keyward.VerifyExpired {
		t.Fatalf("verify: %s, want expired", res.Code)
	}
	do(t, f.srv, "GET", "/v1/whoami", nil, "X-Api-Key", f.expires.Secret).want(t, 401)
	if err := f.srv.Service.FlushUsage(context.Background()); err != nil {
		t.Fatal(err)
	}
	var u keyward.KeyUsage
	do(t, f.srv, "GET", "/v1/keys/"+f.expires.ID+"/usage?granularity=minute", nil, "X-Api-Key", f.verifier.Secret).want(t, 200).decode(t, &u)
	if u.Totals != (keyward.UsageCounts{Expired: 2}) {
		t.Errorf("totals %+v, want 2 expired", u.Totals)
	}
	last := u.Buckets[len(u.Buckets)-1]
	if last.Expired != 2 || !last.Start.Equal(f.srv.Clock.Now().Truncate(time.Minute)) {
		t.Errorf("last bucket %+v, want the 2 in the current minute", last)
	}
}

// TestUsageAccessAndBadInput: who may read usage, and the answers to a
// bad range.
func TestUsageAccessAndBadInput(t *testing.T) {
	f := newUsageFixture(t)
	srv := f.srv
	// A key without keys:read.
	r := do(t, srv, "GET", "/v1/keys/"+f.otherVerifier.ID+"/usage", nil, "X-Api-Key", f.otherVerifier.Secret).want(t, 403)
	wantCode(t, r, keyward.CodePermissionDenied)
	do(t, srv, "GET", "/v1/usage", nil, "X-Api-Key", f.otherVerifier.Secret).want(t, 403)
	// Another project's key is not found.
	do(t, srv, "GET", "/v1/keys/"+f.otherVerifier.ID+"/usage", nil, "X-Api-Key", f.verifier.Secret).want(t, 404)
	do(t, srv, "GET", "/v1/org/projects/"+f.p.ID+"/keys/"+f.otherVerifier.ID+"/usage", nil, "X-Org-Api-Key", srv.OrgKey).want(t, 404)
	// A project key gets no credential report.
	do(t, srv, "GET", "/v1/org/credential-report", nil, "X-Api-Key", f.verifier.Secret).want(t, 403)

	now := srv.Clock.Now()
	path := "/v1/keys/" + f.target.ID + "/usage?"
	for _, tc := range []struct{ query, field string }{
		{"granularity=weekly", "granularity"},
		{"since=yesterday", "since"},
		{"until=2026-13-01T00:00:00Z", "until"},
		{url.Values{"since": {now.Format(time.RFC3339)}, "until": {now.Add(-time.Hour).Format(time.RFC3339)}}.Encode(), "since"},
		{url.Values{"granularity": {"minute"}, "since": {now.Add(-72 * time.Hour).Format(time.RFC3339)}}.Encode(), "since"},
		{url.Values{"granularity": {"minute"}, "since": {now.Add(-30 * time.Hour).Format(time.RFC3339)}, "until": {now.Add(-29 * time.Hour).Format(time.RFC3339)}}.Encode(), "since"},
		{url.Values{"granularity": {"hour"}, "since": {now.AddDate(-1, 0, 0).Format(time.RFC3339)}}.Encode(), "since"},
		{"bucket=hour", "bucket"},
	} {
		wantField(t, do(t, srv, "GET", path+tc.query, nil, "X-Api-Key", f.verifier.Secret), tc.field)
	}
}

// wantCode checks an error body's code.
func wantCode(t *testing.T, r *resp, code string) {
	t.Helper()
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	r.decode(t, &body)
	if body.Error.Code != code {
		t.Errorf("code %q, want %q; body %s", body.Error.Code, code, r.Body)
	}
}

// TestUsageRetention: minute buckets go after a day, hour buckets after 90
// days, day buckets stay.
func TestUsageRetention(t *testing.T) {
	f := newUsageFixture(t)
	srv := f.srv
	ctx := context.Background()
	used := srv.Clock.Now()
	f.verify(t, f.verifier, f.target.Secret, "127.0.0.1")
	if err := srv.Service.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(span time.Duration) int64 {
		rows, err := srv.Store.Usage(ctx, keyward.UsageFilter{KeyID: f.target.ID, Span: span, Since: used.Add(-48 * time.Hour), Until: used.Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, r := range rows {
			n += r.Counts.Valid
		}
		return n
	}
	steps := []struct {
		advance             time.Duration
		minute, hour, daily int64
	}{
		{0, 1, 1, 1},
		{23 * time.Hour, 1, 1, 1},
		{2 * time.Hour, 0, 1, 1},
		{88 * 24 * time.Hour, 0, 1, 1},
		{2 * 24 * time.Hour, 0, 0, 1},
	}
	for _, s := range steps {
		srv.Clock.Advance(s.advance)
		if err := srv.Service.PruneUsage(ctx); err != nil {
			t.Fatal(err)
		}
		if m, h, d := count(keyward.SpanMinute), count(keyward.SpanHour), count(keyward.SpanDay); m != s.minute || h != s.hour || d != s.daily {
			t.Fatalf("%s after the use: minute %d hour %d day %d, want %d %d %d", srv.Clock.Now().Sub(used), m, h, d, s.minute, s.hour, s.daily)
		}
	}
}

// TestCredentialReport: every key of the org, in JSON and in CSV that
// reads back with encoding/csv, without a secret.
func TestCredentialReport(t *testing.T) {
	f := newUsageFixture(t)
	srv := f.srv
	do(t, srv, "GET", "/v1/whoami", nil, "X-Api-Key", f.target.Secret, "User-Agent", "=cmd|' /C calc'!A0").want(t, 200)
	if err := srv.Service.FlushUsage(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rep keyward.CredentialReport
	do(t, srv, "GET", "/v1/org/credential-report", nil, "X-Org-Api-Key", srv.OrgKey).want(t, 200).decode(t, &rep)
	secrets := []string{srv.OrgKey, f.verifier.Secret, f.target.Secret, f.expires.Secret, f.otherVerifier.Secret}
	ids := map[string]keyward.CredentialReportRow{}
	for _, k := range rep.Keys {
		ids[k.KeyID] = k
	}
	for _, k := range []*keyward.Key{f.verifier, f.target, f.expires, f.otherVerifier} {
		if _, ok := ids[k.ID]; !ok {
			t.Errorf("key %s missing from the report", k.ID)
		}
	}
	if len(rep.Keys) != 5 { // and the bootstrap org key
		t.Errorf("%d keys in the report, want 5", len(rep.Keys))
	}
	tr := ids[f.target.ID]
	if tr.LastUsedAt == nil || deref(tr.LastUsedIP) != "127.0.0.1" || tr.OwnerEmail != "owner@example.com" || len(tr.Scopes) != 1 {
		t.Errorf("target's row %+v", tr)
	}
	if ids[f.expires.ID].ExpiresAt == nil {
		t.Errorf("expiring key's row has no expiry")
	}

	r := do(t, srv, "GET", "/v1/org/credential-report.csv", nil, "X-Org-Api-Key", srv.OrgKey).want(t, 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, s := range secrets {
		if bytes.Contains(r.Body, []byte(s)) || strings.Contains(string(mustJSON(t, rep)), s) {
			t.Fatalf("the report holds a secret")
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not read back: %v\n%s", err, r.Body)
	}
	if !slices.Equal(rows[0], httpapi.CredentialCSVHeader) || len(rows) != 1+len(rep.Keys) {
		t.Fatalf("CSV header %v and %d rows, want %v and %d", rows[0], len(rows)-1, httpapi.CredentialCSVHeader, len(rep.Keys))
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			t.Fatalf("row %v has %d cells", row, len(row))
		}
		if row[col("key_id")] == f.target.ID {
			if agent := row[col("last_used_user_agent")]; agent != "'=cmd|' /C calc'!A0" {
				t.Errorf("user agent cell %q: a formula must be defused", agent)
			}
			if row[col("last_used_ip")] != "127.0.0.1" || row[col("owner_email")] != "owner@example.com" || row[col("scopes")] != keyward.ScopeKeysRead {
				t.Errorf("target's CSV row %v", row)
			}
		}
	}
}
