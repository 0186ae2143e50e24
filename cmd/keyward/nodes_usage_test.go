package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
)

// TestNodesUsageExact: three nodes count the outcomes of verifications of
// the same keys at once; after a graceful stop of every node (whose last
// flush writes what the once-a-second flushes had not), the stored sums
// are exactly what the clients were answered.
func TestNodesUsageExact(t *testing.T) {
	c := newCluster(t, "")
	ctx := context.Background()
	keys := c.org.Org().ProjectKeys(c.project)
	target, err := keys.Create(ctx, keyward.CreateKeyInput{Name: "target", Scopes: []string{keyward.ScopeKeysRead},
		IPAllowlist: []string{"127.0.0.0/8"}, RateLimit: &keyward.RateLimit{Limit: 10, Window: keyward.Duration(3600e9)}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.org.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := c.org.Org().ProjectKeys(other.ID).Create(ctx, keyward.CreateKeyInput{Name: "stranger", Scopes: []string{keyward.ScopeKeysVerify}})
	if err != nil {
		t.Fatal(err)
	}

	// Each node gets n verifications of every kind; the rate limit (per
	// node, without Redis) turns some valid ones into rate_limited: the
	// answers say which.
	const n = 25
	kinds := []struct {
		secret string // the verifier's
		in     keyward.VerifyInput
	}{
		{c.verifier, keyward.VerifyInput{Key: target.Secret, IP: "127.0.0.1"}},
		{c.verifier, keyward.VerifyInput{Key: target.Secret, IP: "192.0.2.1"}},
		{c.verifier, keyward.VerifyInput{Key: target.Secret, IP: "127.0.0.1", Scopes: []string{keyward.ScopeKeysWrite}}},
		{stranger.Secret, keyward.VerifyInput{Key: target.Secret, IP: "127.0.0.1"}},
	}
	var mu sync.Mutex
	answered := map[string]int64{}
	var verifierAuths, strangerAuths int64
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		for _, k := range kinds {
			cl, err := client.New(client.WithBaseURL(nd.url), client.WithAPIKey(k.secret), client.WithRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for range n {
					res, err := cl.Verify(ctx, k.in)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					answered[res.Code]++
					if k.secret == c.verifier {
						verifierAuths++
					} else {
						strangerAuths++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if answered[keyward.VerifyRateLimited] == 0 || answered[keyward.VerifyValid] == 0 {
		t.Fatalf("answers %v: want both valid and rate limited ones", answered)
	}
	for _, nd := range c.nodes {
		nd.stop(t)
	}

	u, err := url.Parse(c.admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + c.db
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	sums := func(keyID string, span int) keyward.UsageCounts {
		var v [keyward.NumOutcomes]int64
		err := conn.QueryRow(ctx, `SELECT COALESCE(SUM(valid),0)::bigint, COALESCE(SUM(invalid),0)::bigint, COALESCE(SUM(expired),0)::bigint,
			COALESCE(SUM(insufficient_scope),0)::bigint, COALESCE(SUM(ip_not_allowed),0)::bigint, COALESCE(SUM(rate_limited),0)::bigint
			FROM key_usage WHERE key_id = $1 AND span = $2`, keyID, span).Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5])
		if err != nil {
			t.Fatal(err)
		}
		return keyward.CountsOf(v)
	}
	want := keyward.UsageCounts{Valid: answered[keyward.VerifyValid], Invalid: answered[keyward.VerifyInvalid],
		InsufficientScope: answered[keyward.VerifyInsufficientScope], IPNotAllowed: answered[keyward.VerifyIPNotAllowed],
		RateLimited: answered[keyward.VerifyRateLimited]}
	if want.Total() != int64(len(c.nodes)*len(kinds)*n) || want.Invalid != int64(len(c.nodes)*n) {
		t.Fatalf("answers %v do not add up", answered)
	}
	for _, span := range []int{60, 3600, 86400} {
		if got := sums(target.ID, span); got != want {
			t.Errorf("target's %d s buckets sum to %+v, want %+v", span, got, want)
		}
		if got := sums(stranger.ID, span); got != (keyward.UsageCounts{Valid: strangerAuths}) {
			t.Errorf("stranger's %d s buckets sum to %+v, want %d valid", span, got, strangerAuths)
		}
	}
	var verifierID string
	if err := conn.QueryRow(ctx, `SELECT id FROM keys WHERE name = 'verifier' AND project_id = $1`, c.project).Scan(&verifierID); err != nil {
		t.Fatal(err)
	}
	if got := sums(verifierID, 60); got != (keyward.UsageCounts{Valid: verifierAuths}) {
		t.Errorf("verifier's minute buckets sum to %+v, want %d valid", got, verifierAuths)
	}
}

// TestUsageSurvivesGracefulRestart: a SQLite node counts verifications,
// is stopped gracefully at once (before a once-a-second flush could write
// them all) and started again: the counts and the key's last use are
// there.
func TestUsageSurvivesGracefulRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the process tests")
	}
	dir := t.TempDir()
	orgKey, db := bootstrapSQLite(t, dir)
	start := func(i int) (*node, *client.Client) {
		n := startNodeCmd(t, dir, i, runKeyward("serve", "--addr", "127.0.0.1:0", "--database", db, "--log-format", "json"))
		n.waitListening(t)
		org, err := client.New(client.WithBaseURL(n.url), client.WithOrgAPIKey(orgKey), client.WithRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		return n, org
	}
	ctx := context.Background()
	n, org := start(0)
	p, err := org.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	target, err := org.Org().ProjectKeys(p.ID).Create(ctx, keyward.CreateKeyInput{Name: "target", Scopes: []string{keyward.ScopeKeysRead}})
	if err != nil {
		t.Fatal(err)
	}
	const uses = 40
	for i := range uses {
		in := keyward.VerifyInput{Key: target.Secret, IP: "198.51.100.7"}
		if i%4 == 0 {
			in.Scopes = []string{keyward.ScopeKeysWrite}
		}
		if _, err := org.Org().Verify(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	n.stop(t)

	n, org = start(1)
	resp, err := http.NewRequestWithContext(ctx, "GET", n.url+"/v1/org/projects/"+p.ID+"/keys/"+target.ID+"/usage?granularity=minute", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Set("X-Org-Api-Key", orgKey)
	res, err := http.DefaultClient.Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var u keyward.KeyUsage
	if err := json.NewDecoder(res.Body).Decode(&u); err != nil || res.StatusCode != 200 {
		t.Fatalf("usage: %d %v", res.StatusCode, err)
	}
	if want := (keyward.UsageCounts{Valid: uses * 3 / 4, InsufficientScope: uses / 4}); u.Totals != want {
		t.Errorf("after a graceful restart the counts are %+v, want %+v", u.Totals, want)
	}
	k, err := org.Org().ProjectKeys(p.ID).Get(ctx, target.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.LastUsedAt == nil || k.LastUsedIP == nil || *k.LastUsedIP != "198.51.100.7" {
		t.Errorf("last use after the restart: %v from %v, want 198.51.100.7", k.LastUsedAt, k.LastUsedIP)
	}
}
