package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

var keyListTests = []test{
	{"StatusFilters", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		active := e.key(o, p)
		activeExp := e.key(o, p, expires(base.Add(time.Hour)))
		expiring := e.key(o, p, replaced(base.Add(time.Minute)))
		expiredNow := e.key(o, p, expires(base)) // expiry == now: expired
		expired := e.key(o, p, expires(base.Add(-time.Second)))
		revokedKey := e.key(o, p, revoked(base.Add(-time.Hour)))
		revokedExp := e.key(o, p, expires(base.Add(-time.Hour)), revoked(base.Add(-2*time.Hour)))
		e.key(o, e.project(o)) // another project
		e.key(o, nil)          // an org key

		want := map[string][]*keyward.Key{
			"":         {expiring, activeExp, active},
			"active":   {expiring, activeExp, active},
			"expiring": {expiring},
			"expired":  {expired, expiredNow},
			"revoked":  {revokedExp, revokedKey},
			"all":      {revokedExp, revokedKey, expired, expiredNow, expiring, activeExp, active},
		}
		for status, keys := range want {
			got, err := e.s.ListKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Status: status, Now: base})
			mustNil(t, "ListKeys", err)
			diff(t, "ListKeys(status "+status+")", keys, got)
			// The filters agree with the domain's own status rule.
			for _, k := range got {
				s := k.StatusAt(base)
				ok := map[string]bool{
					"": k.Usable(base), "active": k.Usable(base), "all": true, "expiring": s == keyward.StatusExpiring,
					"expired": s == keyward.StatusExpired, "revoked": s == keyward.StatusRevoked,
				}[status]
				if !ok {
					t.Errorf("status %q listed key %s whose StatusAt is %q", status, k.ID, s)
				}
			}
		}
		diff(t, "expiring key's status", keyward.StatusExpiring, expiring.StatusAt(base))

		// Later, the expiring and timed keys have expired too.
		later := base.Add(2 * time.Hour)
		got, err := e.s.ListKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Now: later})
		mustNil(t, "ListKeys", err)
		diff(t, "active keys later", []string{active.ID}, ids(got, keyID))
		got, err = e.s.ListKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Status: "expired", Now: later})
		mustNil(t, "ListKeys", err)
		diff(t, "expired keys later", []string{expired.ID, expiredNow.ID, expiring.ID, activeExp.ID}, ids(got, keyID))
	}},
	{"KindAndOwnerFilters", func(t *testing.T, e *env) {
		o, ann, bob := e.org(), e.user("Ann"), e.user("Bob")
		p1, p2 := e.project(o), e.project(o)
		a1 := e.key(o, p1, ownedBy(ann))
		b1 := e.key(o, p1, ownedBy(bob))
		a2 := e.key(o, p2, ownedBy(ann))
		orgKey := e.key(o, nil)
		e.key(e.org(), nil) // another org

		for _, c := range []struct {
			name string
			f    keyward.KeyFilter
			want []*keyward.Key
		}{
			{"whole org", keyward.KeyFilter{OrgID: o.ID}, []*keyward.Key{orgKey, a2, b1, a1}},
			{"org keys", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindOrg}, []*keyward.Key{orgKey}},
			{"project keys", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject}, []*keyward.Key{a2, b1, a1}},
			{"project", keyward.KeyFilter{OrgID: o.ID, ProjectID: p1.ID}, []*keyward.Key{b1, a1}},
			{"owner", keyward.KeyFilter{OrgID: o.ID, OwnerUserID: ann.ID}, []*keyward.Key{a2, a1}},
			{"owner in project", keyward.KeyFilter{OrgID: o.ID, ProjectID: p2.ID, OwnerUserID: ann.ID}, []*keyward.Key{a2}},
		} {
			c.f.Now = base
			got, err := e.s.ListKeys(e.ctx, c.f)
			mustNil(t, "ListKeys", err)
			diff(t, "ListKeys("+c.name+")", c.want, got)
		}
	}},
	{"Pagination", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		var made []string
		for range 7 {
			made = append(made, e.key(o, p).ID)
		}
		e.key(o, p, revoked(base)) // not in the default (active) filter
		slices.Reverse(made)       // newest first

		var seen []string
		var after *keyward.KeyPos
		for page := 0; ; page++ {
			got, err := e.s.ListKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Now: base, After: after, Limit: 3})
			mustNil(t, "ListKeys", err)
			if len(got) == 0 {
				break
			}
			if len(got) > 3 || page > 3 {
				t.Fatalf("page %d has %d keys, limit 3", page, len(got))
			}
			seen = append(seen, ids(got, keyID)...)
			after = &keyward.KeyPos{ID: got[len(got)-1].ID}
			// Keys created between page reads are newer than every cursor,
			// so later pages do not change.
			e.key(o, p)
		}
		diff(t, "keys seen across pages", made, seen)

		all, err := e.s.ListKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Now: base})
		mustNil(t, "ListKeys", err)
		if len(all) != 7+3 {
			t.Errorf("ListKeys(no limit) = %d keys, want 10", len(all))
		}
	}},
	{"CountUsable", func(t *testing.T, e *env) {
		o, ann, bob := e.org(), e.user("Ann"), e.user("Bob")
		p1, p2 := e.project(o), e.project(o)
		e.key(o, p1, ownedBy(ann))
		e.key(o, p1, ownedBy(ann), replaced(base.Add(time.Minute))) // expiring counts
		e.key(o, p1, ownedBy(ann), expires(base))                   // expired does not
		e.key(o, p1, ownedBy(ann), revoked(base))                   // revoked does not
		e.key(o, p1, ownedBy(bob))
		e.key(o, p1) // no owner (made by an org key)
		e.key(o, p2, ownedBy(ann))
		e.key(o, nil)
		e.key(o, nil, revoked(base))
		e.key(e.org(), nil)

		for _, c := range []struct {
			name string
			f    keyward.KeyFilter
			want int
		}{
			{"org", keyward.KeyFilter{OrgID: o.ID}, 6},
			{"org keys", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindOrg}, 1},
			{"project", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject, ProjectID: p1.ID}, 4},
			{"owner in project", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject, ProjectID: p1.ID, OwnerUserID: ann.ID}, 2},
			{"owner in org", keyward.KeyFilter{OrgID: o.ID, OwnerUserID: ann.ID}, 3},
			// Status, search, scope and place do not narrow a count.
			{"ignores status", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindOrg, Status: "all", After: &keyward.KeyPos{ID: "key_0"}}, 1},
			{"ignores search", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindOrg, Search: "nothing like it", Scope: "none:such"}, 1},
			// A positive Limit caps the count, as a limit check needs:
			// min(count, Limit), the same on every store.
			{"capped below", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject, ProjectID: p1.ID, Limit: 3}, 3},
			{"capped at", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject, ProjectID: p1.ID, Limit: 4}, 4},
			{"cap above", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject, ProjectID: p1.ID, Limit: 5}, 4},
			{"capped owner", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject, ProjectID: p1.ID, OwnerUserID: ann.ID, Limit: 1}, 1},
			// Ann has 5 keys, 3 usable: the expired and revoked ones do not
			// count toward the cap.
			{"cap skips unusable", keyward.KeyFilter{OrgID: o.ID, OwnerUserID: ann.ID, Limit: 4}, 3},
			{"capped org keys", keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindOrg, Limit: 1}, 1},
			{"cap above org", keyward.KeyFilter{OrgID: o.ID, Limit: 100}, 6},
		} {
			c.f.Now = base
			n, err := e.s.CountUsableKeys(e.ctx, c.f)
			mustNil(t, "CountUsableKeys", err)
			diff(t, "CountUsableKeys("+c.name+")", c.want, n)
		}
		n, err := e.s.CountUsableKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, ProjectID: p1.ID, Now: base.Add(time.Hour)})
		mustNil(t, "CountUsableKeys", err)
		diff(t, "CountUsableKeys(project, after the grace period)", 3, n)
	}},
}
