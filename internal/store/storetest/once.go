package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

var onceTests = []test{
	{"TakenOnceBySessionBeforeExpiry", func(t *testing.T, e *env) {
		u := e.user("once")
		s1, s2 := e.session(u), e.session(u)
		now := base
		v := &keyward.OnceValue{ID: keyward.NewID("once"), SessionID: s1.ID, Sealed: []byte("sealed"), ExpiresAt: now.Add(time.Hour)}
		mustNil(t, "PutOnce", e.s.PutOnce(e.ctx, v, now))
		wantCode(t, "PutOnce(same id)", e.s.PutOnce(e.ctx, v, now), keyward.CodeConflict)

		_, err := e.s.TakeOnce(e.ctx, v.ID, s2.ID, now)
		wantCode(t, "TakeOnce by another session", err, keyward.CodeNotFound)
		got, err := e.s.TakeOnce(e.ctx, v.ID, s1.ID, now)
		mustNil(t, "TakeOnce", err)
		diff(t, "TakeOnce", v, got)
		_, err = e.s.TakeOnce(e.ctx, v.ID, s1.ID, now)
		wantCode(t, "TakeOnce again", err, keyward.CodeNotFound)

		old := &keyward.OnceValue{ID: keyward.NewID("once"), SessionID: s1.ID, Sealed: []byte("x"), ExpiresAt: now.Add(time.Minute)}
		mustNil(t, "PutOnce", e.s.PutOnce(e.ctx, old, now))
		_, err = e.s.TakeOnce(e.ctx, old.ID, s1.ID, now.Add(time.Minute))
		wantCode(t, "TakeOnce once expired", err, keyward.CodeNotFound)
	}},
	{"ConcurrentTakesOneWins", func(t *testing.T, e *env) {
		u := e.user("once")
		s := e.session(u)
		now := time.Now().UTC()
		v := &keyward.OnceValue{ID: keyward.NewID("once"), SessionID: s.ID, Sealed: []byte("sealed"), ExpiresAt: now.Add(time.Hour)}
		mustNil(t, "PutOnce", e.s.PutOnce(e.ctx, v, now))
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Go(func() {
				if _, err := e.s.TakeOnce(e.ctx, v.ID, s.ID, now); err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		diff(t, "takes that got the value", 1, won)
	}},
	{"GoesWithItsSession", func(t *testing.T, e *env) {
		u := e.user("once")
		s := e.session(u)
		now := time.Now().UTC()
		v := &keyward.OnceValue{ID: keyward.NewID("once"), SessionID: s.ID, Sealed: []byte("sealed"), ExpiresAt: now.Add(time.Hour)}
		mustNil(t, "PutOnce", e.s.PutOnce(e.ctx, v, now))
		mustNil(t, "DeleteSession", e.s.DeleteSession(e.ctx, s.ID))
		_, err := e.s.TakeOnce(e.ctx, v.ID, s.ID, now)
		wantCode(t, "TakeOnce after sign-out", err, keyward.CodeNotFound)
	}},
	{"PutPrunesExpired", func(t *testing.T, e *env) {
		u := e.user("once")
		s := e.session(u)
		old := &keyward.OnceValue{ID: keyward.NewID("once"), SessionID: s.ID, Sealed: []byte("x"), ExpiresAt: base.Add(time.Minute)}
		mustNil(t, "PutOnce", e.s.PutOnce(e.ctx, old, base))
		later := base.Add(time.Hour)
		fresh := &keyward.OnceValue{ID: keyward.NewID("once"), SessionID: s.ID, Sealed: []byte("y"), ExpiresAt: later.Add(time.Minute)}
		mustNil(t, "PutOnce", e.s.PutOnce(e.ctx, fresh, later))
		// Taken with a clock before its expiry, the old value is gone all the same.
		_, err := e.s.TakeOnce(e.ctx, old.ID, s.ID, base)
		wantCode(t, "TakeOnce of a value pruned by a later put", err, keyward.CodeNotFound)
	}},
}
