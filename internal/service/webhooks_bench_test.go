package service_test

import (
	"fmt"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// BenchmarkCreateKeyWebhooks is what webhooks add to a change: creating
// and revoking a key (two audited changes) on SQLite with no endpoint
// (one read of the org's endpoints each) and with three subscribed (a
// message and three deliveries written in each transaction).
func BenchmarkCreateKeyWebhooks(b *testing.B) {
	for _, endpoints := range []int{0, 3} {
		b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) {
			env := kwtest.NewEnv(b)
			p := env.MustProject(b, "bench")
			for i := range endpoints {
				if _, err := env.Service.CreateWebhook(ctx, env.Owner(), service.WebhookInput{URL: fmt.Sprintf("https://hooks.example.com/%d", i)}); err != nil {
					b.Fatal(err)
				}
			}
			w := service.Where{ProjectID: p.ID}
			b.ReportAllocs()
			for b.Loop() {
				k, err := env.Service.CreateKey(ctx, env.Owner(), w, keyward.CreateKeyInput{Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := env.Service.RevokeKey(ctx, env.Owner(), w, k.ID, keyward.RevokeInput{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
