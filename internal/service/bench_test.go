package service_test

import (
	"testing"

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
