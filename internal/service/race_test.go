package service_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// A project admin who keeps adding themselves back while the owner removes
// them cannot undo the removal, nor make it fail. On PostgreSQL the re-add
// once checked its role, then waited on the owner's removal and wrote the
// role back after it (the owner's 200 said it was gone); or the two
// deadlocked and the owner got 503. Every change now takes the org's lock
// before it reads the roles it decides on.
func TestRemovalWinsOverARacingSelfReAdd(t *testing.T) {
	env := kwtest.NewEnvOn(t, kwtest.NewPostgresStore(t))
	p := env.MustProject(t, "P")
	for round := range 8 {
		email := uniq("pa") + "@example.com"
		pa := env.MustMember(t, email, keyward.OrgMember, p.ID, keyward.ProjectAdmin)
		self := env.User(pa.UserID)
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for !stop.Load() {
					// Racing writers: some are refused by design; the test
					// checks what is left.
					_, _ = env.Service.AddProjectMember(ctx, self, p.ID, email, keyward.ProjectAdmin)
				}
			})
		}
		_, err := env.Service.UpdateMember(ctx, env.Owner(), pa.UserID, keyward.MemberPatch{
			Projects: []keyward.ProjectMember{{ProjectID: p.ID, Role: ""}}})
		stop.Store(true)
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: the owner's removal failed: %v", round, err)
		}
		if pm, err := env.Store.GetProjectMember(ctx, p.ID, pa.UserID); keyward.ErrorCode(err) != keyward.CodeNotFound {
			t.Fatalf("round %d: after the owner's removal returned, the admin is back: %+v, %v", round, pm, err)
		}
		if _, err := env.Service.CreateKey(ctx, self, service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "back"}); err == nil {
			t.Fatalf("round %d: the removed admin still creates keys", round)
		}
	}
}
