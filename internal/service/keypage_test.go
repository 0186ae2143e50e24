package service_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// Pages go forward and back with their filters: the previous page of a
// page is the one that led to it, and going back reaches the first page
// whole, with no previous page.
func TestKeyPagesBothWays(t *testing.T) {
	env := kwtest.NewEnv(t)
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(20)})
	p := env.MustProject(t, "P", "billing:read")
	var pay []string
	for i := range 7 {
		in := keyward.CreateKeyInput{Name: fmt.Sprintf("payments %d", i), Scopes: []string{keyward.ScopeKeysRead, "billing:read"}}
		pay = append(pay, env.MustKey(t, nil, p.ID, in).ID)
		env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: fmt.Sprintf("deploys %d", i), Scopes: []string{keyward.ScopeKeysRead}})
	}
	slices.Reverse(pay) // newest first

	for _, q := range []service.ListKeysQuery{
		{Search: "PAYMENTS", Limit: 3},
		{Scope: "billing:read", Limit: 3},
		{Search: "pay", Order: keyward.OrderOldest, Limit: 3},
		{Search: "pay", Order: keyward.OrderUsed, Limit: 3}, // never used: by id, newest first
	} {
		want := slices.Clone(pay)
		if q.Order == keyward.OrderOldest {
			slices.Reverse(want)
		}
		var pages [][]string
		var prevs []string
		for {
			kp, err := env.Service.KeyPage(ctx, env.Owner(), where(p.ID), q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			pages = append(pages, ids(kp.Keys))
			prevs = append(prevs, kp.Prev)
			if kp.Next == "" || len(pages) > 5 {
				break
			}
			q.Cursor = kp.Next
		}
		if diff := cmp.Diff([][]string{want[:3], want[3:6], want[6:]}, pages); diff != "" {
			t.Errorf("%+v: pages forward (-want +got):\n%s", q, diff)
		}
		if prevs[0] != "" {
			t.Errorf("%+v: the first page has a previous page", q)
		}
		// Back from the last page, then back again: the pages seen forward.
		q.Cursor = prevs[2]
		kp, err := env.Service.KeyPage(ctx, env.Owner(), where(p.ID), q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[3:6], ids(kp.Keys)); diff != "" || kp.Prev == "" || kp.Next == "" {
			t.Errorf("%+v: back to page 2 (-want +got):\n%s; prev %q next %q", q, diff, kp.Prev, kp.Next)
		}
		q.Cursor = kp.Prev
		kp, err = env.Service.KeyPage(ctx, env.Owner(), where(p.ID), q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[:3], ids(kp.Keys)); diff != "" || kp.Prev != "" || kp.Next == "" {
			t.Errorf("%+v: back to page 1 (-want +got):\n%s; prev %q next %q", q, diff, kp.Prev, kp.Next)
		}
	}

	// A page that starts at the second key: its previous page is the
	// first page, whole (three keys, not the one before it), with none
	// before that.
	q := service.ListKeysQuery{Search: "pay", Limit: 1}
	q = service.ListKeysQuery{Search: "pay", Limit: 3, Cursor: mustPage(t, env, p.ID, q).Next}
	second := mustPage(t, env, p.ID, q)
	if diff := cmp.Diff(pay[1:4], ids(second.Keys)); diff != "" {
		t.Errorf("the page after the first key (-want +got):\n%s", diff)
	}
	q.Cursor = second.Prev
	first := mustPage(t, env, p.ID, q)
	if diff := cmp.Diff(pay[:3], ids(first.Keys)); diff != "" || first.Prev != "" {
		t.Errorf("back from the second key (-want +got):\n%s; prev %q", diff, first.Prev)
	}

	// The API's shape of the same page: data and next_cursor.
	page, err := env.Service.ListKeys(ctx, env.Owner(), where(p.ID), service.ListKeysQuery{Search: "pay", Limit: 3})
	if err != nil || page.NextCursor == nil || len(page.Data) != 3 {
		t.Fatalf("ListKeys: %+v, %v", page, err)
	}
}

func mustPage(t *testing.T, env *kwtest.Env, projectID string, q service.ListKeysQuery) *service.KeyPage {
	t.Helper()
	kp, err := env.Service.KeyPage(ctx, env.Owner(), where(projectID), q)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func ids(keys []*keyward.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}
