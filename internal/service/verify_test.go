package service_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// TestVerifyStatusAtNow: verify answers with the key's status at the time
// of the answer, from the cache as from the store: active, then expiring
// once rotated (the rotation invalidates the cached key, and the key read
// again carries its new status), then expired after the grace period,
// which only the clock changes.
func TestVerifyStatusAtNow(t *testing.T) {
	env := kwtest.NewEnv(t)
	ctx := context.Background()
	p := env.MustProject(t, "verify")
	caller := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "backend"})
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "customer"})
	callerKey, err := env.Service.Authenticate(ctx, caller.Secret, keyward.KindProject, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	actor := service.KeyActor(callerKey, service.Origin{})
	status := func() keyward.KeyStatus {
		t.Helper()
		res, err := env.Service.Verify(ctx, actor, p.ID, keyward.VerifyInput{Key: k.Secret})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid {
			return keyward.KeyStatus(res.Code)
		}
		return res.Key.Status
	}
	for range 2 { // from the store, then from the cache
		if got := status(); got != keyward.StatusActive {
			t.Fatalf("status %q, want active", got)
		}
	}
	if _, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RotateInput{GracePeriod: dur("1h")}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := status(); got != keyward.StatusExpiring {
			t.Fatalf("status %q after rotation, want expiring", got)
		}
	}
	env.Clock.Advance(time.Hour)
	if got := status(); got != keyward.KeyStatus(keyward.VerifyExpired) {
		t.Fatalf("status %q after the grace period, want %s", got, keyward.VerifyExpired)
	}
}
