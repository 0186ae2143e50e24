package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// named sets a key's name and hint.
func named(name, hint string) func(*keyward.Key) {
	return func(k *keyward.Key) { k.Name, k.Hint = name, hint }
}

// scoped sets a key's scopes.
func scoped(scopes ...string) func(*keyward.Key) {
	return func(k *keyward.Key) { k.Scopes = scopes }
}

// used sets when a key was last used.
func used(t time.Time) func(*keyward.Key) {
	return func(k *keyward.Key) { k.LastUsedAt = &t }
}

var keySearchTests = []test{
	{"SearchAndScope", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		pay := e.key(o, p, named("Payments API", "kwp_…Q1aa"), scoped(keyward.ScopeKeysRead, "billing:read"))
		payCI := e.key(o, p, named("payments_ci", "kwp_…Q1bb"), scoped(keyward.ScopeKeysWrite))
		hinted := e.key(o, p, named("deploys", "kwp_…Y0pi"), scoped(keyward.ScopeKeysRead, keyward.ScopeKeysWrite))
		gone := e.key(o, p, named("payments old", "kwp_…Q1cc"), revoked(base.Add(-time.Hour)))
		e.key(o, e.project(o), named("payments", "kwp_…Q1dd")) // another project

		for _, c := range []struct {
			name string
			f    keyward.KeyFilter
			want []*keyward.Key
		}{
			{"name, any case", keyward.KeyFilter{Search: "PAYMENTS"}, []*keyward.Key{payCI, pay}},
			{"hint", keyward.KeyFilter{Search: "y0PI"}, []*keyward.Key{hinted}},
			{"part of a hint", keyward.KeyFilter{Search: "q1"}, []*keyward.Key{payCI, pay}},
			{"no wildcards", keyward.KeyFilter{Search: "%"}, nil},
			{"underscore is a letter", keyward.KeyFilter{Search: "s_c"}, []*keyward.Key{payCI}},
			{"with status", keyward.KeyFilter{Search: "payments", Status: "all"}, []*keyward.Key{gone, payCI, pay}},
			{"nothing", keyward.KeyFilter{Search: "nothing like it"}, nil},
			{"built-in scope", keyward.KeyFilter{Scope: keyward.ScopeKeysWrite}, []*keyward.Key{hinted, payCI}},
			{"custom scope", keyward.KeyFilter{Scope: "billing:read"}, []*keyward.Key{pay}},
			{"part of a scope is not a scope", keyward.KeyFilter{Scope: "keys"}, nil},
			{"scope and search", keyward.KeyFilter{Scope: keyward.ScopeKeysRead, Search: "pay"}, []*keyward.Key{pay}},
		} {
			c.f.OrgID, c.f.ProjectID, c.f.Now = o.ID, p.ID, base
			got, err := e.s.ListKeys(e.ctx, c.f)
			mustNil(t, "ListKeys", err)
			diff(t, "ListKeys("+c.name+")", ids(c.want, keyID), ids(got, keyID))
		}
	}},
	{"Orders", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		// Made oldest first; two share a last use, two were never used.
		k1 := e.key(o, p, used(base.Add(-time.Hour)))
		k2 := e.key(o, p)
		k3 := e.key(o, p, used(base.Add(-time.Minute)))
		k4 := e.key(o, p, used(base.Add(-time.Hour)))
		k5 := e.key(o, p)
		k6 := e.key(o, p, used(base.Add(-2*time.Hour)))
		e.key(o, p, used(base), revoked(base)) // not active

		want := map[keyward.KeyOrder][]*keyward.Key{
			keyward.OrderNewest:    {k6, k5, k4, k3, k2, k1},
			keyward.OrderOldest:    {k1, k2, k3, k4, k5, k6},
			keyward.OrderUsed:      {k3, k4, k1, k6, k5, k2},
			keyward.OrderUsedLeast: {k2, k5, k6, k1, k4, k3},
		}
		for _, order := range keyward.KeyOrders {
			name := "order " + string(order)
			f := keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Now: base, Order: order}
			got, err := e.s.ListKeys(e.ctx, f)
			mustNil(t, "ListKeys", err)
			diff(t, name, ids(want[order], keyID), ids(got, keyID))

			// Pages of 2 forward from each place, and back from each place:
			// the keys right after or right before it, in the order.
			all := want[order]
			for i, k := range all {
				f.After, f.Limit = &keyward.KeyPos{ID: k.ID, LastUsedAt: k.LastUsedAt}, 2
				f.Back = false
				got, err := e.s.ListKeys(e.ctx, f)
				mustNil(t, "ListKeys", err)
				diff(t, name+" after "+k.ID, ids(all[i+1:min(i+3, len(all))], keyID), ids(got, keyID))
				f.Back = true
				got, err = e.s.ListKeys(e.ctx, f)
				mustNil(t, "ListKeys", err)
				diff(t, name+" before "+k.ID, ids(all[max(0, i-2):i], keyID), ids(got, keyID))
			}
		}

		// Walking back from past the end reaches every key, in order.
		f := keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Now: base, Order: keyward.OrderUsed, Back: true, Limit: 4,
			After: &keyward.KeyPos{ID: "key_"}} // below every id, never used: the very end
		got, err := e.s.ListKeys(e.ctx, f)
		mustNil(t, "ListKeys", err)
		diff(t, "last page of order used", ids(want[keyward.OrderUsed][2:], keyID), ids(got, keyID))

		_, err = e.s.ListKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, Order: "sideways"})
		wantCode(t, "ListKeys(unknown order)", err, keyward.CodeInvalidRequest)
	}},
}
