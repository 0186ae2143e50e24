package service_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// sent is a message written for an endpoint, decoded.
type sent struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// hook adds an endpoint (a URL nothing listens on: these tests read what
// was written, no worker runs) and returns its id.
func hook(t *testing.T, env *kwtest.Env, events ...string) string {
	t.Helper()
	ep, err := env.Service.CreateWebhook(context.Background(), env.Owner(), service.WebhookInput{URL: "http://127.0.0.1:9/hook", Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return ep.ID
}

// written returns the messages written for endpoint id, oldest first.
func written(t *testing.T, env *kwtest.Env, id string) []sent {
	t.Helper()
	ctx := context.Background()
	ds, err := env.Store.ListWebhookDeliveries(ctx, id, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sent, len(ds))
	for i, d := range ds {
		m, err := env.Store.GetWebhookMessage(ctx, d.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(m.Payload, &out[len(ds)-1-i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func types(ms []sent) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Type
	}
	return out
}

func wantTypes(t *testing.T, got []sent, want ...string) {
	t.Helper()
	g := types(got)
	if len(g) != len(want) {
		t.Fatalf("events %v, want %v", g, want)
	}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("events %v, want %v", g, want)
		}
	}
}

// TestMemberRemovedTellsWhatBecameOfTheirKeys: member.removed names the
// member and each key's fate; each revoked key also has its key.revoked.
func TestMemberRemovedTellsWhatBecameOfTheirKeys(t *testing.T) {
	ctx := context.Background()
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	leaver := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	k1 := env.MustKey(t, env.User(leaver), p.ID, keyward.CreateKeyInput{})
	k2 := env.MustKey(t, env.User(leaver), p.ID, keyward.CreateKeyInput{})
	id := hook(t, env, keyward.EventMemberRemoved, keyward.EventKeyRevoked)
	if err := env.Service.RemoveMember(ctx, env.Owner(), leaver, keyward.RemoveMemberInput{}); err != nil {
		t.Fatal(err)
	}
	got := written(t, env, id)
	wantTypes(t, got, keyward.EventKeyRevoked, keyward.EventKeyRevoked, keyward.EventMemberRemoved)
	m := got[2].Data
	user, _ := m["user"].(map[string]any)
	keys, _ := m["keys"].([]any)
	if user["id"] != leaver || user["email"] == "" || m["key_handling"] != "revoke" || len(keys) != 2 {
		t.Fatalf("member.removed data = %v", m)
	}
	fates := map[any]any{}
	for _, k := range keys {
		f := k.(map[string]any)
		fates[f["key_id"]] = f["action"]
	}
	if fates[k1.ID] != "revoked" || fates[k2.ID] != "revoked" {
		t.Fatalf("fates = %v", fates)
	}
}

// TestLeakedKeyEvents: a leaked key the policy revokes fires key.leaked
// and key.revoked; a flagged one only key.leaked.
func TestLeakedKeyEvents(t *testing.T) {
	ctx := context.Background()
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	id := hook(t, env)
	revoked := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	report := func(k *keyward.Key) {
		t.Helper()
		if _, err := env.Service.ReportLeaks(ctx, service.Origin{}, []service.LeakReport{{Token: k.Secret, URL: "https://example.com/leak", Source: "content"}}); err != nil {
			t.Fatal(err)
		}
	}
	report(revoked)
	flag := keyward.LeakFlag
	if _, err := env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{LeakPolicy: &flag}); err != nil {
		t.Fatal(err)
	}
	flagged := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	report(flagged)
	got := written(t, env, id)
	wantTypes(t, got, keyward.EventKeyCreated, keyward.EventKeyLeaked, keyward.EventKeyRevoked, keyward.EventKeyCreated, keyward.EventKeyLeaked)
	key := func(m sent) map[string]any { k, _ := m.Data["key"].(map[string]any); return k }
	if got[1].Data["url"] != "https://example.com/leak" || got[1].Data["action"] != keyward.LeakRevoked || key(got[2])["id"] != revoked.ID || got[2].Data["reason"] != "leaked" {
		t.Fatalf("revoked leak: %v / %v", got[1].Data, got[2].Data)
	}
	if got[4].Data["action"] != keyward.LeakFlagged || key(got[4])["status"] != "active" {
		t.Fatalf("flagged leak: %v", got[4].Data)
	}
}

// TestRefusedChangeWritesNoEvent: the event lives in the change's
// transaction; a change refused halfway writes none.
func TestRefusedChangeWritesNoEvent(t *testing.T) {
	ctx := context.Background()
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	id := hook(t, env)
	one := 1
	if _, err := env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{MaxKeysPerProject: &one}); err != nil {
		t.Fatal(err)
	}
	env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	_, err := env.Service.CreateKey(ctx, env.Owner(), service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "over"})
	if kwtest.Code(err) != keyward.CodeKeyLimitReached {
		t.Fatalf("CreateKey over the limit: %v", err)
	}
	wantTypes(t, written(t, env, id), keyward.EventKeyCreated)
}

// TestExpiryNoticesOnceEach: key.expiring 7 days and 1 day before, and
// key.expired after, each once, even with two nodes looking; a key with
// less than a day left gets only the 1-day notice; a key replaced by
// rotation and a revoked key get none.
func TestExpiryNoticesOnceEach(t *testing.T) {
	ctx := context.Background()
	env := kwtest.NewEnv(t)
	other, err := service.New(service.Config{Store: env.Store, Clock: env.Clock, Pepper: env.Pepper, Logger: kwtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	p := env.MustProject(t, "P")
	many := 100
	if _, err := env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{MaxKeysPerUser: &many}); err != nil {
		t.Fatal(err)
	}
	id := hook(t, env, keyward.EventKeyExpiring, keyward.EventKeyExpired)
	at := func(d time.Duration) *time.Time { x := env.Clock.Now().Add(d); return &x }
	env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "week", ExpiresAt: at(10 * 24 * time.Hour)})
	env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "soon", ExpiresAt: at(12 * time.Hour)})
	old := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "rotated", ExpiresAt: at(3 * 24 * time.Hour)})
	if _, err := env.Service.RotateKey(ctx, env.Owner(), service.Where{ProjectID: p.ID}, old.ID, keyward.RotateInput{}); err != nil {
		t.Fatal(err)
	}
	gone := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "revoked", ExpiresAt: at(2 * 24 * time.Hour)})
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), service.Where{ProjectID: p.ID}, gone.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}

	look := func() {
		t.Helper()
		for _, s := range []*service.Service{env.Service, other} {
			if _, err := s.SendExpiryNotices(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	notice := func(m sent) string {
		k, _ := m.Data["key"].(map[string]any)
		w, _ := m.Data["within"].(string)
		return m.Type + " " + k["name"].(string) + " " + w
	}
	step := func(d time.Duration, want ...string) {
		t.Helper()
		env.Clock.Advance(d)
		look()
		look()
		var got []string
		for _, m := range written(t, env, id) {
			got = append(got, notice(m))
		}
		if len(got) != len(want) {
			t.Fatalf("at +%v: notices %q, want %q", d, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("at +%v: notices %q, want %q", d, got, want)
			}
		}
	}
	// "rotated" below is the new key, which kept the old one's expiry;
	// the old one (replaced) gets nothing.
	const (
		s1 = "key.expiring soon 1d"
		s2 = "key.expired soon "
		r1 = "key.expiring rotated 7d"
		r2 = "key.expiring rotated 1d"
		r3 = "key.expired rotated "
		w1 = "key.expiring week 7d"
		w2 = "key.expiring week 1d"
		w3 = "key.expired week "
	)
	step(0, s1, r1)
	step(12*time.Hour, s1, r1, s2)
	step(48*time.Hour, s1, r1, s2, r2)
	step(12*time.Hour, s1, r1, s2, r2, r3, w1)
	step(150*time.Hour, s1, r1, s2, r2, r3, w1, w2)
	step(18*time.Hour, s1, r1, s2, r2, r3, w1, w2, w3)
	step(30*24*time.Hour, s1, r1, s2, r2, r3, w1, w2, w3)
	for _, m := range written(t, env, id) {
		if k, _ := m.Data["key"].(map[string]any); k["id"] == old.ID || k["id"] == gone.ID {
			t.Fatalf("a notice for a replaced or revoked key: %v", m)
		}
	}
}
