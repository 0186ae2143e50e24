package service

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
)

// usageFlushEvery is how often last-used times are written.
const usageFlushEvery = time.Second

// usagePrecision is how far a key's noted time may lag its last use: a
// note less than this after the time already noted changes nothing, so a
// key in use on every core moves its time once a millisecond, not on every
// request. The time kept is always one at which the key was used.
const usagePrecision = int64(time.Millisecond)

// usageRecorder batches last_used_at writes: a verification only notes the
// time in memory, and run writes all pending times in one transaction per
// interval, never one write per request.
type usageRecorder struct {
	store keyward.Store
	log   *slog.Logger

	// cur holds the uses noted since the last flush. Noting a key already
	// in it only reads shared memory (and once a millisecond raises the
	// key's time), so requests with the same key on several cores do not
	// take turns with a lock or a cache line. flush swaps in a new
	// generation; see note for why no use is lost.
	cur atomic.Pointer[usageGen]
}

// usageGen maps a key id to its latest use in the generation (*lastUse).
type usageGen struct{ uses sync.Map }

// lastUse is a key's latest use in a generation: when, in Unix
// nanoseconds, and from which client. The two are set one after the
// other, so under concurrent uses the client may be that of another use
// within the same millisecond.
type lastUse struct {
	ns  atomic.Int64
	src atomic.Pointer[useSource]
}

// useSource is the client of a use. A new one is made only when the
// client changes (or once per generation), not per use.
type useSource struct {
	ip netip.Addr
	ua string
}

// maxUserAgent is how much of a user agent is kept, in bytes.
const maxUserAgent = 256

func newUsageRecorder(st keyward.Store, log *slog.Logger) *usageRecorder {
	u := &usageRecorder{store: st, log: log}
	u.cur.Store(new(usageGen))
	return u
}

// note records that key id was used at t by the client at ip with user
// agent ua ("" when not known).
//
// A note that races a flush is never lost: it raises the time in the
// generation it loaded, then loads the current generation again. If flush
// swapped generations before that second load, the note is made again in
// the new one; if after, the swap (and so flush's reading of the old
// generation) comes after the raise, which flush then sees.
func (u *usageRecorder) note(id string, t time.Time, ip netip.Addr, ua string) {
	ns := t.UnixNano()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent] // made valid UTF-8 when written
	}
	for {
		g := u.cur.Load()
		v, ok := g.uses.Load(id)
		if !ok {
			v, _ = g.uses.LoadOrStore(id, new(lastUse))
		}
		lu := v.(*lastUse)
		if raise(&lu.ns, ns) {
			if src := lu.src.Load(); src == nil || src.ip != ip || src.ua != ua {
				lu.src.Store(&useSource{ip: ip, ua: ua})
			}
		}
		if u.cur.Load() == g {
			return
		}
	}
}

// raise sets v to ns if ns is at least usagePrecision later (v starts at
// zero: the first note sets it), and reports whether it did.
func raise(v *atomic.Int64, ns int64) bool {
	for {
		old := v.Load()
		if ns-old < usagePrecision {
			return false
		}
		if v.CompareAndSwap(old, ns) {
			return true
		}
	}
}

// flush writes the pending times. On failure they are kept for the next try.
func (u *usageRecorder) flush(ctx context.Context) error {
	old := u.cur.Swap(new(usageGen))
	batch := map[string]keyward.KeyUse{}
	old.uses.Range(func(id, v any) bool {
		lu := v.(*lastUse)
		use := keyward.KeyUse{At: time.Unix(0, lu.ns.Load()).UTC()}
		if src := lu.src.Load(); src != nil {
			if src.ip.IsValid() {
				use.IP = src.ip.Unmap().String()
			}
			use.UserAgent = strings.ToValidUTF8(src.ua, "")
		}
		batch[id.(string)] = use
		return true
	})
	if len(batch) == 0 {
		return nil
	}
	err := u.store.TouchKeys(ctx, batch)
	if err != nil {
		for id, use := range batch {
			ip, _ := netip.ParseAddr(use.IP)
			u.note(id, use.At, ip, use.UserAgent)
		}
	}
	return err
}
