package storetest

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// changes returns every change after since, failing the test on an error.
func (e *env) changes(since int64) []keyward.KeyChange {
	e.t.Helper()
	cs, err := e.s.KeyChanges(e.ctx, since, 0)
	mustNil(e.t, "KeyChanges", err)
	return cs
}

// latest returns LatestKeyChange, failing the test on an error.
func (e *env) latest() int64 {
	e.t.Helper()
	seq, err := e.s.LatestKeyChange(e.ctx)
	mustNil(e.t, "LatestKeyChange", err)
	return seq
}

func changeKeyID(c keyward.KeyChange) string { return c.KeyID }

// checkChanges fails the test unless cs are numbered above since in
// strictly increasing order, with plausible times.
func checkChanges(t *testing.T, since int64, cs []keyward.KeyChange) {
	t.Helper()
	prev := since
	for _, c := range cs {
		if c.Seq <= prev {
			t.Errorf("change %+v: seq %d not above the previous %d", c, c.Seq, prev)
		}
		prev = c.Seq
		if c.At.Location() != time.UTC || !c.At.Equal(c.At.Truncate(time.Microsecond)) {
			t.Errorf("change %+v: time not UTC microseconds", c)
		}
		// The store's clock, not the test's: only check that it is sane.
		if d := time.Since(c.At); d > time.Hour || d < -time.Hour {
			t.Errorf("change %+v: time %v is %v away from now", c, c.At, d)
		}
	}
}

var keyChangeTests = []test{
	{"EmptyLog", func(t *testing.T, e *env) {
		diff(t, "LatestKeyChange on a new store", int64(0), e.latest())
		diff(t, "KeyChanges on a new store", []keyward.KeyChange{}, e.changes(0))
	}},
	{"KeyWritesRecordTheirKeys", func(t *testing.T, e *env) {
		o := e.org()
		p, other := e.project(o), e.project(o)
		since := e.latest()

		orgKey := e.key(o, nil)
		k1, k2 := e.key(o, p), e.key(o, p)
		kept := e.key(o, other)
		upd := *k1
		upd.Name = "renamed"
		mustNil(t, "UpdateKey", e.s.UpdateKey(e.ctx, &upd))
		mustNil(t, "DeleteProject", e.s.DeleteProject(e.ctx, p.ID))

		cs := e.changes(since)
		checkChanges(t, since, cs)
		got := ids(cs, changeKeyID)
		want := []string{orgKey.ID, k1.ID, k2.ID, kept.ID, k1.ID}
		if len(got) != len(want)+2 {
			t.Fatalf("changes = %q, want %q then the 2 keys of the deleted project", got, want)
		}
		diff(t, "changes of CreateKey and UpdateKey", want, got[:len(want)])
		deleted := slices.Sorted(slices.Values(got[len(want):]))
		diff(t, "changes of DeleteProject", slices.Sorted(slices.Values([]string{k1.ID, k2.ID})), deleted)
		diff(t, "LatestKeyChange", cs[len(cs)-1].Seq, e.latest())

		// Each change names the org and project of its key, the deleted
		// project's too, so a stream can show each org only its own.
		owner := map[string][2]string{orgKey.ID: {o.ID, ""}, k1.ID: {o.ID, p.ID}, k2.ID: {o.ID, p.ID}, kept.ID: {o.ID, other.ID}}
		for _, c := range cs {
			diff(t, "owner of change "+c.KeyID, owner[c.KeyID], [2]string{c.OrgID, c.ProjectID})
		}
	}},
	{"RecordKeyChangesNamesKeysUnchanged", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		orgKey, k1, k2 := e.key(o, nil), e.key(o, p), e.key(o, p)
		since := e.latest()

		mustNil(t, "RecordKeyChanges(none)", e.s.RecordKeyChanges(e.ctx, nil))
		diff(t, "changes after RecordKeyChanges(none)", []keyward.KeyChange{}, e.changes(since))
		missing := keyward.NewID(keyward.PrefixKey)
		mustNil(t, "RecordKeyChanges", e.s.RecordKeyChanges(e.ctx, []string{k2.ID, orgKey.ID, missing}))
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			return q.RecordKeyChanges(e.ctx, []string{k1.ID})
		})
		mustNil(t, "RecordKeyChanges in InTx", err)
		// A transaction that fails records nothing.
		boom := errors.New("boom")
		err = e.s.InTx(e.ctx, func(q keyward.Queries) error {
			mustNil(t, "RecordKeyChanges in a failing InTx", q.RecordKeyChanges(e.ctx, []string{k2.ID}))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want %v", err, boom)
		}

		cs := e.changes(since)
		checkChanges(t, since, cs)
		got := ids(cs, changeKeyID)
		diff(t, "keys named", slices.Sorted(slices.Values([]string{k2.ID, orgKey.ID})), slices.Sorted(slices.Values(got[:2])))
		diff(t, "key named in InTx", []string{k1.ID}, got[2:])
		owner := map[string][2]string{orgKey.ID: {o.ID, ""}, k1.ID: {o.ID, p.ID}, k2.ID: {o.ID, p.ID}}
		for _, c := range cs {
			diff(t, "owner of change "+c.KeyID, owner[c.KeyID], [2]string{c.OrgID, c.ProjectID})
		}
		got1, err := e.s.GetKey(e.ctx, k1.ID)
		mustNil(t, "GetKey", err)
		diff(t, "key after RecordKeyChanges", k1.Name, got1.Name)
	}},
	{"FailedWritesRecordNothing", func(t *testing.T, e *env) {
		o := e.org()
		p, empty := e.project(o), e.project(o)
		k := e.key(o, p)
		since := e.latest()

		dup := *k
		dup.Digest = digest()
		wantCode(t, "CreateKey(duplicate id)", e.s.CreateKey(e.ctx, &dup), keyward.CodeConflict)
		missing := newKey(o, p)
		wantCode(t, "UpdateKey(missing)", e.s.UpdateKey(e.ctx, missing), keyward.CodeNotFound)
		wantCode(t, "DeleteProject(missing)",
			e.s.DeleteProject(e.ctx, keyward.NewID(keyward.PrefixProject)), keyward.CodeNotFound)
		mustNil(t, "DeleteProject(no keys)", e.s.DeleteProject(e.ctx, empty.ID))
		// The same, inside a transaction that commits.
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			wantCode(t, "CreateKey(duplicate id) in InTx", q.CreateKey(e.ctx, &dup), keyward.CodeConflict)
			wantCode(t, "UpdateKey(missing) in InTx", q.UpdateKey(e.ctx, missing), keyward.CodeNotFound)
			return nil
		})
		mustNil(t, "InTx", err)

		diff(t, "changes after failed writes", []keyward.KeyChange{}, e.changes(since))
		diff(t, "LatestKeyChange after failed writes", since, e.latest())
	}},
	{"RolledBackTxRecordsNothing", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		old := e.key(o, p)
		since := e.latest()
		boom := errors.New("boom")
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			mustNil(t, "CreateKey", q.CreateKey(e.ctx, newKey(o, p)))
			upd := *old
			upd.Name = "renamed"
			mustNil(t, "UpdateKey", q.UpdateKey(e.ctx, &upd))
			mustNil(t, "DeleteProject", q.DeleteProject(e.ctx, p.ID))
			// The transaction sees its own changes.
			cs, err := q.KeyChanges(e.ctx, since, 0)
			mustNil(t, "KeyChanges in the transaction", err)
			if len(cs) != 4 {
				t.Errorf("KeyChanges in the transaction = %+v, want 4 changes", cs)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		diff(t, "changes after rollback", []keyward.KeyChange{}, e.changes(since))
		diff(t, "LatestKeyChange after rollback", since, e.latest())

		// A committed transaction records its writes, in order.
		var created *keyward.Key
		err = e.s.InTx(e.ctx, func(q keyward.Queries) error {
			created = newKey(o, p)
			if err := q.CreateKey(e.ctx, created); err != nil {
				return err
			}
			upd := *old
			upd.Name = "renamed"
			return q.UpdateKey(e.ctx, &upd)
		})
		mustNil(t, "InTx", err)
		cs := e.changes(since)
		checkChanges(t, since, cs)
		diff(t, "changes of the committed transaction", []string{created.ID, old.ID}, ids(cs, changeKeyID))
	}},
	{"Paging", func(t *testing.T, e *env) {
		o := e.org()
		since := e.latest()
		var want []string
		for range 5 {
			want = append(want, e.key(o, nil).ID)
		}
		all := e.changes(since)
		checkChanges(t, since, all)
		diff(t, "all changes", want, ids(all, changeKeyID))

		var got []keyward.KeyChange
		for cur, pages := since, 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			page, err := e.s.KeyChanges(e.ctx, cur, 2)
			mustNil(t, "KeyChanges", err)
			if len(page) > 2 {
				t.Fatalf("KeyChanges(limit 2) returned %d changes", len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			cur = page[len(page)-1].Seq
		}
		diff(t, "changes read 2 at a time", all, got)

		// Paging from the middle.
		mid, err := e.s.KeyChanges(e.ctx, all[2].Seq, 0)
		mustNil(t, "KeyChanges(from the middle)", err)
		diff(t, "changes after the third", all[3:], mid)
		end, err := e.s.KeyChanges(e.ctx, all[4].Seq, 10)
		mustNil(t, "KeyChanges(from the end)", err)
		diff(t, "changes after the last", []keyward.KeyChange{}, end)
		diff(t, "LatestKeyChange", all[4].Seq, e.latest())
	}},
	{"DefaultLimit", func(t *testing.T, e *env) {
		const n = 1001
		o := e.org()
		since := e.latest()
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			for range n {
				if err := q.CreateKey(e.ctx, newKey(o, nil)); err != nil {
					return err
				}
			}
			return nil
		})
		mustNil(t, "InTx(create keys)", err)
		for _, limit := range []int{0, -1} {
			cs, err := e.s.KeyChanges(e.ctx, since, limit)
			mustNil(t, "KeyChanges", err)
			diff(t, "changes returned with no limit", 1000, len(cs))
		}
		cs, err := e.s.KeyChanges(e.ctx, since, n+10)
		mustNil(t, "KeyChanges(large limit)", err)
		diff(t, "changes returned with a larger limit", n, len(cs))
		checkChanges(t, since, cs)
	}},
	{"PruneKeepsNumbersGrowing", func(t *testing.T, e *env) {
		o := e.org()
		since := e.latest()
		first := e.key(o, nil)
		cs := e.changes(since)
		if len(cs) != 1 {
			t.Fatalf("changes = %+v, want 1", cs)
		}
		c1 := cs[0]
		// The store stamps changes with its own clock: write until a change
		// lands at a later microsecond.
		var c2 keyward.KeyChange
		for i := 0; ; i++ {
			if i == 100 {
				t.Fatal("the store's change times do not advance")
			}
			time.Sleep(time.Millisecond)
			upd := *first
			upd.Name = "renamed"
			mustNil(t, "UpdateKey", e.s.UpdateKey(e.ctx, &upd))
			cs = e.changes(since)
			if c2 = cs[len(cs)-1]; c2.At.After(c1.At) {
				break
			}
		}
		last := c2.Seq

		mustNil(t, "PruneKeyChanges(at the first change)", e.s.PruneKeyChanges(e.ctx, c1.At))
		diff(t, "changes after pruning nothing", cs, e.changes(since))

		mustNil(t, "PruneKeyChanges(at the last change)", e.s.PruneKeyChanges(e.ctx, c2.At))
		diff(t, "changes after pruning all but the last", []keyward.KeyChange{c2}, e.changes(since))
		diff(t, "LatestKeyChange after pruning older changes", last, e.latest())

		mustNil(t, "PruneKeyChanges(everything)", e.s.PruneKeyChanges(e.ctx, c2.At.Add(time.Hour)))
		diff(t, "changes after pruning everything", []keyward.KeyChange{}, e.changes(since))

		// Numbers are never reused, even when the newest were pruned.
		k := e.key(o, nil)
		cs = e.changes(since)
		if len(cs) != 1 || cs[0].KeyID != k.ID || cs[0].Seq <= last {
			t.Errorf("changes after prune and a new key = %+v, want one change for %s numbered above %d", cs, k.ID, last)
		}
		diff(t, "LatestKeyChange after a new key", cs[0].Seq, e.latest())
	}},
	{"ReaderFollowingTheLogMissesNothing", func(t *testing.T, e *env) {
		// Writers commit concurrently, each pausing inside its transaction,
		// while a reader follows the log by number as nodes do: every change
		// must reach the reader, so no change may become visible after one
		// numbered above it.
		o := e.org()
		since := e.latest()
		const writers, each = 8, 10
		var mu sync.Mutex
		var written []string
		stop := make(chan struct{})
		seen := map[string]bool{}
		readerDone := make(chan struct{})
		cur := since
		follow := func() {
			cs, err := e.s.KeyChanges(e.ctx, cur, 0)
			if err != nil {
				t.Errorf("KeyChanges: %v", err)
				return
			}
			for _, c := range cs {
				seen[c.KeyID] = true
				cur = c.Seq
			}
		}
		go func() {
			defer close(readerDone)
			for {
				select {
				case <-stop:
					return
				default:
				}
				follow()
			}
		}()
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for range each {
					k := newKey(o, nil)
					err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
						if err := q.CreateKey(e.ctx, k); err != nil {
							return err
						}
						time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
						return nil
					})
					if err != nil {
						t.Errorf("InTx(CreateKey): %v", err)
						return
					}
					mu.Lock()
					written = append(written, k.ID)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(stop)
		<-readerDone
		follow() // the last commits
		var missed []string
		for _, id := range written {
			if !seen[id] {
				missed = append(missed, id)
			}
		}
		if len(missed) > 0 {
			t.Errorf("the reader never saw %d of %d changes: %q", len(missed), len(written), missed)
		}
	}},
}
