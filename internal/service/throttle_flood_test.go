package service_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/ratelimit"
)

// A flood of unknown keys from more addresses than the in-memory limiter
// keeps counters for once made it evict counters at random, the keys'
// rate-limit budgets among them: a used-up key got a fresh budget. The
// address throttle now counts in a table of its own.
func TestAddressFloodKeepsKeyBudgets(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a flood of 100,000 addresses")
	}
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{RateLimit: &keyward.RateLimit{Limit: 3, Window: keyward.Duration(24 * time.Hour)}})
	for range 3 {
		_, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP)
		wantCode(t, err, "")
	}
	bad := apikey.Generate(apikey.PrefixProject) // one unknown key: the flood is of addresses
	// Each pass over a full table evicts a tenth of its counters at random:
	// six tables' worth of addresses left a budget standing about once in
	// two hundred runs.
	for i := range 6 * ratelimit.DefaultMaxEntries {
		from := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if _, err := env.Service.Authenticate(ctx, bad, keyward.KindProject, from); err == nil {
			t.Fatal("a bad key authenticated")
		}
	}
	_, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP)
	wantCode(t, err, keyward.CodeRateLimited)
}
