package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
)

var leakTests = []test{
	{"LatestReportPerKey", func(t *testing.T, e *env) {
		org := e.org()
		p := e.project(org)
		k1, k2, k3 := e.key(org, p), e.key(org, p), e.key(org, p)
		got, err := e.s.KeyLeaks(e.ctx, nil)
		mustNil(t, "KeyLeaks(nil)", err)
		diff(t, "KeyLeaks(nil)", map[string]*keyward.KeyLeak{}, got)

		first := &keyward.KeyLeak{KeyID: k1.ID, OrgID: org.ID, FoundAt: base, URL: "https://example.com/a", Source: "content", Action: keyward.LeakFlagged}
		mustNil(t, "PutKeyLeak", e.s.PutKeyLeak(e.ctx, first))
		later := &keyward.KeyLeak{KeyID: k1.ID, OrgID: org.ID, FoundAt: base.Add(time.Hour), URL: "https://example.com/" + unicodeName, Source: "", Action: keyward.LeakRevoked}
		mustNil(t, "PutKeyLeak again", e.s.PutKeyLeak(e.ctx, later))
		other := &keyward.KeyLeak{KeyID: k2.ID, OrgID: org.ID, FoundAt: base, URL: "https://example.com/b", Source: "commit", Action: keyward.LeakRevoked}
		mustNil(t, "PutKeyLeak other", e.s.PutKeyLeak(e.ctx, other))

		got, err = e.s.KeyLeaks(e.ctx, []string{k1.ID, k2.ID, k3.ID, "key_unknown"})
		mustNil(t, "KeyLeaks", err)
		diff(t, "KeyLeaks", map[string]*keyward.KeyLeak{k1.ID: later, k2.ID: other}, got)
	}},
}
