package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// revoked marks a key revoked at t, with its digest erased.
func revoked(t time.Time) func(*keyward.Key) {
	return func(k *keyward.Key) {
		k.RevokedAt, k.Digest = &t, nil
		k.RevokedBy = &keyward.ActorRef{Type: keyward.ActorSystem}
	}
}

// expires sets a key's expiry.
func expires(t time.Time) func(*keyward.Key) {
	return func(k *keyward.Key) { k.ExpiresAt = &t }
}

// ownedBy sets a key's owner.
func ownedBy(u *keyward.User) func(*keyward.Key) {
	return func(k *keyward.Key) { k.OwnerUserID = &u.ID }
}

// replaced marks a key as rotated: it is expiring until its expiry.
func replaced(until time.Time) func(*keyward.Key) {
	return func(k *keyward.Key) {
		k.ExpiresAt = &until
		k.ReplacedBy = ptr(keyward.NewID(keyward.PrefixKey))
	}
}

var keyTests = []test{
	{"RoundTripEveryField", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		p := e.project(o)
		k := &keyward.Key{
			ID: keyward.NewID(keyward.PrefixKey), Kind: keyward.KindProject, Name: unicodeName,
			Hint: "kwp_…x7Qa", ProjectID: p.ID, OrgID: o.ID,
			Scopes:    []string{keyward.ScopeKeysRead, "orders:read"},
			CreatedAt: base, CreatedBy: keyward.ActorRef{Type: keyward.ActorUser, ID: u.ID},
			OwnerUserID: &u.ID, ExpiresAt: ptr(base.Add(48 * time.Hour)),
			LastUsedAt: ptr(base.Add(time.Microsecond)), RevokedAt: ptr(base.Add(time.Hour)),
			RevokedBy:    &keyward.ActorRef{Type: keyward.ActorKey, ID: keyward.NewID(keyward.PrefixKey)},
			RevokeReason: ptr("leaked 🔥"), IPAllowlist: []string{"10.0.0.0/8", "2001:db8::1"},
			Metadata:   map[string]string{"team": "payments", "ключ": "значение"},
			ReplacedBy: ptr(keyward.NewID(keyward.PrefixKey)), Digest: digest(),
			RateLimit: &keyward.RateLimit{Limit: 100, Window: keyward.Duration(90 * time.Second)},
		}
		mustNil(t, "CreateKey", e.s.CreateKey(e.ctx, k))
		got, err := e.s.GetKey(e.ctx, k.ID)
		mustNil(t, "GetKey", err)
		diff(t, "GetKey", k, got)
	}},
	{"RoundTripMinimalOrgKey", func(t *testing.T, e *env) {
		o := e.org()
		k := newKey(o, nil, func(k *keyward.Key) { k.Scopes, k.IPAllowlist, k.Metadata = nil, nil, nil })
		mustNil(t, "CreateKey", e.s.CreateKey(e.ctx, k))
		got, err := e.s.GetKey(e.ctx, k.ID)
		mustNil(t, "GetKey", err)
		// Lists and maps read back empty, never nil, so JSON shows [] and {}.
		k.Scopes, k.IPAllowlist, k.Metadata = []string{}, []string{}, map[string]string{}
		diff(t, "GetKey", k, got)
		if got.Scopes == nil || got.IPAllowlist == nil || got.Metadata == nil {
			t.Errorf("GetKey returned nil lists or maps: %#v", got)
		}
		if got.Status != "" {
			t.Errorf("Status = %q; stores leave it to the service", got.Status)
		}
		if got.RateLimit != nil {
			t.Errorf("RateLimit = %+v for a key without one, want nil", got.RateLimit)
		}
	}},
	{"GetByDigest", func(t *testing.T, e *env) {
		o := e.org()
		k := e.key(o, e.project(o))
		got, err := e.s.GetKeyByDigest(e.ctx, k.Digest)
		mustNil(t, "GetKeyByDigest", err)
		diff(t, "GetKeyByDigest", k, got)

		_, err = e.s.GetKeyByDigest(e.ctx, digest())
		wantCode(t, "GetKeyByDigest(unknown)", err, keyward.CodeNotFound)
		_, err = e.s.GetKeyByDigest(e.ctx, nil)
		wantCode(t, "GetKeyByDigest(nil)", err, keyward.CodeNotFound)
		_, err = e.s.GetKeyByDigest(e.ctx, []byte{})
		wantCode(t, "GetKeyByDigest(empty)", err, keyward.CodeNotFound)
		_, err = e.s.GetKey(e.ctx, keyward.NewID(keyward.PrefixKey))
		wantCode(t, "GetKey(unknown)", err, keyward.CodeNotFound)
	}},
	{"DuplicateDigestConflicts", func(t *testing.T, e *env) {
		o := e.org()
		k := e.key(o, nil)
		dup := newKey(o, nil, func(d *keyward.Key) { d.Digest = k.Digest })
		wantCode(t, "CreateKey(same digest)", e.s.CreateKey(e.ctx, dup), keyward.CodeConflict)
		// Many revoked keys share a NULL digest.
		e.key(o, nil, revoked(base))
		e.key(o, nil, revoked(base))
	}},
	{"UpdateWritesEveryMutableField", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		k := e.key(o, e.project(o))
		k.Name, k.Scopes = unicodeName, []string{keyward.ScopeKeysVerify}
		k.IPAllowlist, k.Metadata = []string{"192.0.2.0/24"}, map[string]string{"env": "prod"}
		k.OwnerUserID, k.ExpiresAt = &u.ID, ptr(base.Add(time.Hour))
		k.ReplacedBy = ptr(keyward.NewID(keyward.PrefixKey))
		k.RateLimit = &keyward.RateLimit{Limit: 3, Window: keyward.Duration(time.Second)}
		mustNil(t, "UpdateKey", e.s.UpdateKey(e.ctx, k))
		got, err := e.s.GetKey(e.ctx, k.ID)
		mustNil(t, "GetKey", err)
		diff(t, "after UpdateKey", k, got)

		k.OwnerUserID, k.ExpiresAt, k.ReplacedBy, k.RateLimit = nil, nil, nil, nil
		k.RevokedAt, k.RevokeReason = ptr(base.Add(time.Minute)), ptr("")
		k.RevokedBy = &keyward.ActorRef{Type: keyward.ActorUser, ID: u.ID}
		mustNil(t, "UpdateKey(clear, revoke)", e.s.UpdateKey(e.ctx, k))
		got, err = e.s.GetKey(e.ctx, k.ID)
		mustNil(t, "GetKey", err)
		diff(t, "after clearing and revoking", k, got)

		missing := newKey(o, nil)
		wantCode(t, "UpdateKey(unknown)", e.s.UpdateKey(e.ctx, missing), keyward.CodeNotFound)
	}},
	{"DigestErased", func(t *testing.T, e *env) {
		o := e.org()
		k := e.key(o, e.project(o))
		d := k.Digest
		revoked(base)(k)
		mustNil(t, "UpdateKey(revoke)", e.s.UpdateKey(e.ctx, k))
		_, err := e.s.GetKeyByDigest(e.ctx, d)
		wantCode(t, "GetKeyByDigest(erased)", err, keyward.CodeNotFound)
		got, err := e.s.GetKey(e.ctx, k.ID)
		mustNil(t, "GetKey(revoked)", err)
		diff(t, "revoked key", k, got)
		if got.Digest != nil {
			t.Errorf("Digest = %x after erasing, want nil", got.Digest)
		}
		// The erased digest is free again (a NULL never collides).
		e.key(o, nil, func(n *keyward.Key) { n.Digest = d })
	}},
	{"TouchKeys", func(t *testing.T, e *env) {
		o := e.org()
		k1, k2 := e.key(o, nil), e.key(o, nil, func(k *keyward.Key) { k.LastUsedAt = ptr(base.Add(time.Hour)) })
		untouched := e.key(o, nil)
		mustNil(t, "TouchKeys", e.s.TouchKeys(e.ctx, map[string]keyward.KeyUse{
			k1.ID:                            {At: base.Add(time.Minute), IP: "203.0.113.9", UserAgent: "curl/8.5"},
			k2.ID:                            {At: base.Add(time.Minute), IP: "203.0.113.10"}, // older than stored: ignored
			keyward.NewID(keyward.PrefixKey): {At: base},                                      // unknown: skipped
		}))
		mustNil(t, "TouchKeys(empty)", e.s.TouchKeys(e.ctx, nil))
		k1.LastUsedAt = ptr(base.Add(time.Minute))
		k1.LastUsedIP, k1.LastUsedUserAgent = ptr("203.0.113.9"), ptr("curl/8.5")
		for _, want := range []*keyward.Key{k1, k2, untouched} {
			got, err := e.s.GetKey(e.ctx, want.ID)
			mustNil(t, "GetKey", err)
			diff(t, "after TouchKeys", want.LastUsedAt, got.LastUsedAt)
			diff(t, "last_used_ip after TouchKeys", want.LastUsedIP, got.LastUsedIP)
			diff(t, "last_used_user_agent after TouchKeys", want.LastUsedUserAgent, got.LastUsedUserAgent)
		}
		mustNil(t, "TouchKeys(newer)", e.s.TouchKeys(e.ctx, map[string]keyward.KeyUse{k2.ID: {At: base.Add(2 * time.Hour), IP: "2001:db8::1"}}))
		got, err := e.s.GetKey(e.ctx, k2.ID)
		mustNil(t, "GetKey", err)
		diff(t, "after a newer touch", ptr(base.Add(2*time.Hour)), got.LastUsedAt)
		diff(t, "ip after a newer touch", ptr("2001:db8::1"), got.LastUsedIP)
		diff(t, "user agent after a newer touch", (*string)(nil), got.LastUsedUserAgent)
		list, err := e.s.ListKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindOrg, Status: "all", Now: base})
		mustNil(t, "ListKeys", err)
		for _, k := range list {
			if k.ID == k1.ID {
				diff(t, "listed last_used_ip", k1.LastUsedIP, k.LastUsedIP)
			}
		}
	}},
}
