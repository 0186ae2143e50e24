package service_test

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// BenchmarkAuthenticateCached is the verification hot path once a key is in
// the cache: parse and checksum, HMAC digest, cache hit, status and
// allowlist checks, last-used note. Target: ≤ 500 ns/op and 0 allocs/op.
func BenchmarkAuthenticateCached(b *testing.B) {
	env := kwtest.NewEnv(b)
	p := env.MustProject(b, "bench")
	k := env.MustKey(b, nil, p.ID, keyward.CreateKeyInput{IPAllowlist: []string{"127.0.0.0/8"}})
	if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateUncached forces a store read each time (the cost a
// node pays while its invalidation feed is down).
func BenchmarkAuthenticateUncached(b *testing.B) {
	env := kwtest.NewEnv(b)
	p := env.MustProject(b, "bench")
	k := env.MustKey(b, nil, p.ID, keyward.CreateKeyInput{})
	env.Service.Cache().SetTrusted(false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateCachedRateLimited is the hot path for a key with a
// rate limit, counted by the in-memory limiter (a limit it never reaches).
func BenchmarkAuthenticateCachedRateLimited(b *testing.B) {
	env := kwtest.NewEnv(b)
	p := env.MustProject(b, "bench")
	k := env.MustKey(b, nil, p.ID, keyward.CreateKeyInput{RateLimit: &keyward.RateLimit{Limit: 1_000_000, Window: keyward.Duration(time.Second)}})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n++; n%500_000 == 0 {
			env.Clock.Advance(time.Second) // a new window, before the limit
		}
		if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
			b.Fatal(err)
		}
	}
}
