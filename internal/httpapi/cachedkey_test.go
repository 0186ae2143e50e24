package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/verify"
)

// Keys in the verification cache are shared by every request that reads
// them, on every core, without a lock: a request that wrote into one would
// change what every other request sees, racing. So each path that reads a
// cached key is run here, and each cached key must afterwards be exactly
// what it was (the same entry, deeply equal to a copy taken before).
func TestCachedKeysAreNeverChanged(t *testing.T) {
	s := newSetup(t)
	srv := s.srv
	ctx := context.Background()
	s.ok(t, "PATCH", "/v1/org/settings", `{"max_keys_per_user": 10}`).want(t, 200)
	limited := srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "limited",
		RateLimit: &keyward.RateLimit{Limit: 1, Window: keyward.Duration(time.Hour)}})
	client := srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "a client's",
		Scopes: []string{"orders:read"}, IPAllowlist: []string{"192.0.2.0/24"}, Metadata: map[string]string{"tier": "gold"},
		RateLimit: &keyward.RateLimit{Limit: 100, Window: keyward.Duration(time.Minute)}})
	rotated := srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "rotated"})
	s.pk(t, "POST", "/v1/keys/"+rotated.ID+"/rotate", `{"grace_period":"1h"}`).want(t, 201)
	secrets := map[string]string{"project": s.key.Secret, "limited": limited.Secret, "client": client.Secret, "rotated": rotated.Secret, "org": srv.OrgKey}

	// The watcher applies the log's changes (these keys' creations) to the
	// cache by dropping the keys they name: wait until it has, or it could
	// drop a key just loaded below.
	head, err := srv.Store.LatestKeyChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		changed := srv.Service.Cache().Changed()
		if pos, _ := srv.Service.Cache().Position(); pos >= head {
			break
		}
		select {
		case <-changed:
		case <-time.After(10 * time.Second): // a hang guard
			t.Fatal("the watcher never applied the keys' creations")
		}
	}

	// Load every key into the cache, through the API as a caller would.
	for _, name := range []string{"project", "limited", "rotated"} {
		do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", secrets[name]).want(t, 200)
	}
	do(t, srv, "GET", "/v1/org/whoami", nil, "x-org-api-key", srv.OrgKey).want(t, 200)
	s.pk(t, "POST", "/v1/verify", map[string]any{"key": client.Secret, "ip": "192.0.2.7"}).want(t, 200)

	digester := apikey.NewDigester(srv.Pepper)
	cached := func(t *testing.T, name string) *keyward.Key {
		t.Helper()
		k, err := srv.Service.Cache().Get(ctx, digester.Sum(secrets[name]), srv.Clock.Now(), func(context.Context, verify.Digest) (*keyward.Key, error) {
			return nil, errors.New("not in the cache")
		})
		if err != nil || k == nil {
			t.Fatalf("key %q is not in the cache: %v", name, err)
		}
		return k
	}
	held := map[string]*keyward.Key{}
	before := map[string]*keyward.Key{}
	for name := range secrets {
		held[name] = cached(t, name)
		before[name] = deepCopy(held[name])
	}

	minSeq := func(seq int64) []string {
		return []string{httpapi.MinChangeSeqHeader, strconv.FormatInt(seq, 10)}
	}
	verifyBody := map[string]any{"key": client.Secret, "scopes": []string{"orders:read"}, "ip": "192.0.2.7"}
	paths := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"whoami", func(t *testing.T) { s.pk(t, "GET", "/v1/whoami", nil).want(t, 200) }},
		{"whoami in a grace period", func(t *testing.T) {
			do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", rotated.Secret).want(t, 200)
		}},
		{"org whoami", func(t *testing.T) {
			do(t, srv, "GET", "/v1/org/whoami", nil, "x-org-api-key", srv.OrgKey).want(t, 200)
		}},
		{"verify", func(t *testing.T) { s.pk(t, "POST", "/v1/verify", verifyBody).want(t, 200) }},
		{"verify, refused", func(t *testing.T) {
			s.pk(t, "POST", "/v1/verify", map[string]any{"key": client.Secret, "scopes": []string{"keys:write"}, "ip": "198.51.100.1"}).want(t, 200)
		}},
		{"verify a key in its grace period", func(t *testing.T) {
			s.pk(t, "POST", "/v1/verify", map[string]any{"key": rotated.Secret}).want(t, 200)
		}},
		{"org verify", func(t *testing.T) {
			do(t, srv, "POST", "/v1/org/verify", verifyBody, "x-org-api-key", srv.OrgKey).want(t, 200)
		}},
		{"SDK verify at its stream's position", func(t *testing.T) {
			do(t, srv, "POST", "/v1/verify", verifyBody, append([]string{"x-api-key", s.key.Secret}, minSeq(0)...)...).want(t, 200)
		}},
		{"SDK verify ahead of the cache", func(t *testing.T) {
			do(t, srv, "POST", "/v1/verify", verifyBody, append([]string{"x-api-key", s.key.Secret}, minSeq(1<<40)...)...).want(t, 200)
		}},
		{"management route", func(t *testing.T) { s.pk(t, "GET", "/v1/keys?limit=5", nil).want(t, 200) }},
		{"org management route", func(t *testing.T) { s.ok(t, "GET", "/v1/org/projects/"+s.project.ID+"/keys", nil).want(t, 200) }},
		{"refused for its address", func(t *testing.T) {
			do(t, srv, "GET", "/v1/keys", nil, "x-api-key", client.Secret).wantError(t, 403, keyward.CodeIPNotAllowed)
		}},
		{"rate limited", func(t *testing.T) {
			do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", limited.Secret) // the one request of the hour, or already spent
			do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", limited.Secret).wantError(t, 429, keyward.CodeRateLimited)
		}},
		{"last use recorded", func(t *testing.T) {
			// The recorder writes what verifications noted; Run's last
			// flush, when its context ends, writes it now.
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { srv.Service.Run(runCtx); close(done) }()
			stop()
			<-done
			k, err := srv.Service.GetKey(ctx, srv.Owner(), service.Where{ProjectID: s.project.ID}, s.key.ID)
			if err != nil || k.LastUsedAt == nil {
				t.Fatalf("last use not written: %v, %v", k, err)
			}
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			p.run(t)
			for name := range secrets {
				now := cached(t, name)
				if now != held[name] {
					t.Fatalf("key %q was loaded again: the cache entry changed, so nothing was compared", name)
				}
				if changed := changedFields(before[name], now); len(changed) > 0 {
					t.Errorf("%s changed the cached key %q: %s", p.name, name, strings.Join(changed, "; "))
					before[name] = deepCopy(now) // report each change once
				}
			}
		})
	}
}

// changedFields names the fields of b that differ from a, with both values.
func changedFields(a, b *keyward.Key) []string {
	var out []string
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s %v → %v", va.Type().Field(i).Name, va.Field(i).Interface(), vb.Field(i).Interface()))
		}
	}
	return out
}

// deepCopy copies a value and everything it points to.
func deepCopy[T any](v *T) *T {
	out := new(T)
	copyInto(reflect.ValueOf(out).Elem(), reflect.ValueOf(v).Elem())
	return out
}

func copyInto(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if !src.IsNil() {
			dst.Set(reflect.New(src.Type().Elem()))
			copyInto(dst.Elem(), src.Elem())
		}
	case reflect.Slice:
		if !src.IsNil() {
			dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
			for i := range src.Len() {
				copyInto(dst.Index(i), src.Index(i))
			}
		}
	case reflect.Map:
		if !src.IsNil() {
			dst.Set(reflect.MakeMapWithSize(src.Type(), src.Len()))
			for it := src.MapRange(); it.Next(); {
				v := reflect.New(src.Type().Elem()).Elem()
				copyInto(v, it.Value())
				dst.SetMapIndex(it.Key(), v)
			}
		}
	case reflect.Struct:
		dst.Set(src) // unexported fields (time.Time's) as they are
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				copyInto(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
