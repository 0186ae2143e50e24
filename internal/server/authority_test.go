package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// whoamiScopes asks node url who key is and returns its scopes (nil when
// the node did not answer 200).
func whoamiScopes(t *testing.T, url, key string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/whoami", nil)
	req.Header.Set("x-api-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return nil
	}
	var w keyward.Whoami
	if err := json.NewDecoder(res.Body).Decode(&w); err != nil {
		t.Fatal(err)
	}
	return w.Scopes
}

// demotionSetup makes a project with a custom scope and a developer who
// owns a full key of it.
func demotionSetup(t *testing.T, svc *service.Service, res *service.BootstrapResult) (owner *service.Actor, p *keyward.Project, dev *keyward.Member, k *keyward.Key) {
	t.Helper()
	ctx := context.Background()
	owner = service.UserActor(res.User.ID, res.Org.ID, service.Origin{})
	p, err := svc.CreateProject(ctx, owner, keyward.CreateProjectInput{Name: "Shop", CustomScopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	dev, err = svc.AddMember(ctx, owner, keyward.AddMemberInput{Email: "dev@example.com", Role: keyward.OrgMember,
		Projects: []keyward.ProjectMember{{ProjectID: p.ID, Role: keyward.ProjectDeveloper}}})
	if err != nil {
		t.Fatal(err)
	}
	k, err = svc.CreateKey(ctx, service.UserActor(dev.UserID, res.Org.ID, service.Origin{}), service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "dev's"})
	if err != nil {
		t.Fatal(err)
	}
	return owner, p, dev, k
}

func setProjectRole(t *testing.T, svc *service.Service, owner *service.Actor, p *keyward.Project, userID string, role keyward.ProjectRole) {
	t.Helper()
	_, err := svc.UpdateMember(context.Background(), owner, userID, keyward.MemberPatch{Projects: []keyward.ProjectMember{{ProjectID: p.ID, Role: role}}})
	if err != nil {
		t.Fatal(err)
	}
}

// A demotion through one node narrows the owner's keys on that node from
// the next request, and on every other node as a revoke propagates: by
// PostgreSQL NOTIFY or by Redis. Once a node has answered with the
// narrowed key, it never answers with the wider one again.
func TestDemotionPropagatesAcrossNodes(t *testing.T) {
	for _, feed := range []string{"notify", "redis"} {
		t.Run(feed, func(t *testing.T) {
			redisURL := ""
			if feed == "redis" {
				if redisURL = os.Getenv("KEYWARD_TEST_REDIS"); redisURL == "" {
					t.Skip("KEYWARD_TEST_REDIS not set: skipping the Redis feed")
				}
			}
			nodes, res := newCluster(t, 3, redisURL)
			owner, p, dev, k := demotionSetup(t, nodes[0].srv.Service, res)
			full := []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite, keyward.ScopeKeysVerify, keyward.ScopeAuditRead, "orders:read"}
			viewer := []string{keyward.ScopeKeysRead, keyward.ScopeAuditRead}
			var lags []time.Duration
			for round := range 10 {
				role, before, after := keyward.ProjectViewer, full, viewer
				if round%2 == 1 {
					role, before, after = keyward.ProjectDeveloper, viewer, full
				}
				for i, nd := range nodes { // every cache holds the key as it is
					if got := whoamiScopes(t, nd.url, k.Secret); !slices.Equal(got, before) {
						t.Fatalf("round %d node %d: scopes %q before the change, want %q", round, i, got, before)
					}
				}
				setProjectRole(t, nodes[0].srv.Service, owner, p, dev.UserID, role)
				returned := time.Now()
				if got := whoamiScopes(t, nodes[0].url, k.Secret); !slices.Equal(got, after) {
					t.Fatalf("round %d: the node that changed the role answered %q on the next request, want %q", round, got, after)
				}
				for i, nd := range nodes[1:] {
					for {
						got := whoamiScopes(t, nd.url, k.Secret)
						if slices.Equal(got, after) {
							lags = append(lags, time.Since(returned))
							break
						}
						if !slices.Equal(got, before) && got != nil { // nil: 503 while failing closed
							t.Fatalf("round %d node %d: scopes %q", round, i+1, got)
						}
						if time.Since(returned) > 10*time.Second { // a hang guard, not a bound
							t.Fatalf("round %d node %d: still answering %q 10 s after the change", round, i+1, got)
						}
					}
					if got := whoamiScopes(t, nd.url, k.Secret); !slices.Equal(got, after) {
						t.Fatalf("round %d node %d: went back to %q", round, i+1, got)
					}
				}
			}
			report(t, "role change ("+feed+")", lags)
		})
	}
}

// The SDK's local cache drops a key whose owner is demoted, as it does a
// revoked one: a custom scope the owner's role no longer allows is refused
// within the propagation bound, and never accepted again once refused.
func TestSDKLocalCacheSeesDemotion(t *testing.T) {
	nodes, res := newCluster(t, 2, "")
	owner, p, dev, k := demotionSetup(t, nodes[0].srv.Service, res)
	ctx := context.Background()
	lb, lc := startLocalCache(t, nodes, owner, p)

	in := keyward.VerifyInput{Key: k.Secret, Scopes: []string{"orders:read"}}
	deadline := time.Now().Add(10 * time.Second)
	for { // until the key is answered from memory
		before := lb.verifies.Load()
		v, err := lc.Verify(ctx, in)
		if err != nil || v.Code != keyward.VerifyValid {
			t.Fatalf("Verify before the demotion = %+v, %v", v, err)
		}
		if lb.verifies.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the key was never answered from memory (live=%v)", lc.Live())
		}
	}
	setProjectRole(t, nodes[1].srv.Service, owner, p, dev.UserID, keyward.ProjectViewer)
	returned := time.Now()
	for {
		v, err := lc.Verify(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if v.Code == keyward.VerifyInsufficientScope {
			break
		}
		if v.Code != keyward.VerifyValid || time.Since(returned) > 10*time.Second { // a hang guard, not a bound
			t.Fatalf("Verify after the demotion = %+v (%v later)", v, time.Since(returned))
		}
	}
	t.Logf("SDK local cache: demotion through another node refused after %v", time.Since(returned))
	for range 50 {
		if v, err := lc.Verify(ctx, in); err != nil || v.Code != keyward.VerifyInsufficientScope {
			t.Fatalf("Verify after it was refused = %+v, %v", v, err)
		}
	}
}
